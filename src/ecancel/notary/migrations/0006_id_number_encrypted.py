"""ID numbers encrypted under the key ring, with a keyed digest for look-ups; existing values encrypted here."""

from django.db import migrations

import ecancel.core.encrypted


class Migration(migrations.Migration):
    dependencies = [
        ("notary", "0005_retention"),
    ]

    operations = [
        migrations.AddField(
            model_name="caseparty",
            name="id_number_digest",
            field=ecancel.core.encrypted.LookupDigestField(kind="id_number", source="id_number"),
        ),
        migrations.AlterField(
            model_name="caseparty",
            name="id_number",
            field=ecancel.core.encrypted.EncryptedCharField(max_length=32, verbose_name="证件号码"),
        ),
        migrations.RunPython(
            ecancel.core.encrypted.encrypt_existing("notary", "caseparty"),
            ecancel.core.encrypted.decrypt_existing("notary", "caseparty"),
        ),
    ]
