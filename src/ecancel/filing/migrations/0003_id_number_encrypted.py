"""ID numbers encrypted under the key ring, with a keyed digest for look-ups; existing values encrypted here."""

from django.db import migrations

import ecancel.core.encrypted


class Migration(migrations.Migration):
    dependencies = [
        ("filing", "0002_cancellation_ref_and_issuing_country"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="buyerparty",
            name="buyer_once_per_contract",
        ),
        migrations.AddField(
            model_name="buyerparty",
            name="id_number_digest",
            field=ecancel.core.encrypted.LookupDigestField(kind="id_number", source="id_number"),
        ),
        migrations.AlterField(
            model_name="buyerparty",
            name="id_number",
            field=ecancel.core.encrypted.EncryptedCharField(max_length=32, verbose_name="证件号码"),
        ),
        migrations.RunPython(
            ecancel.core.encrypted.encrypt_existing("filing", "buyerparty"),
            ecancel.core.encrypted.decrypt_existing("filing", "buyerparty"),
        ),
    ]
