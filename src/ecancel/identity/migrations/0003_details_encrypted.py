"""Identity checks' details (what was read off a document, the ID number expected) encrypted under the key ring."""

from django.db import migrations

import ecancel.core.encrypted


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0002_evidence_purged"),
    ]

    operations = [
        migrations.AlterField(
            model_name="identitycheck",
            name="details",
            field=ecancel.core.encrypted.EncryptedJSONField(blank=True, default=dict),
        ),
        migrations.RunPython(
            ecancel.core.encrypted.encrypt_existing("identity", "identitycheck"),
            ecancel.core.encrypted.decrypt_existing("identity", "identitycheck"),
        ),
    ]
