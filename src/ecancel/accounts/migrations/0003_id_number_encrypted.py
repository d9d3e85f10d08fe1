"""ID numbers encrypted under the key ring, with a keyed digest for look-ups; existing values encrypted here."""

from django.db import migrations

import ecancel.core.encrypted


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_login_lock_per_address"),
    ]

    operations = [
        migrations.AddField(
            model_name="developercompany",
            name="legal_representative_id_number_digest",
            field=ecancel.core.encrypted.LookupDigestField(kind="id_number", source="legal_representative_id_number"),
        ),
        migrations.AlterField(
            model_name="developercompany",
            name="legal_representative_id_number",
            field=ecancel.core.encrypted.EncryptedCharField(max_length=32, verbose_name="法定代表人证件号码"),
        ),
        migrations.RunPython(
            ecancel.core.encrypted.encrypt_existing("accounts", "developercompany"),
            ecancel.core.encrypted.decrypt_existing("accounts", "developercompany"),
        ),
    ]
