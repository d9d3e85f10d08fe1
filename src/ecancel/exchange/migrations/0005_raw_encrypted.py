"""The exchange's kept message bytes encrypted under the key ring (they name the parties with their ID numbers)."""

from django.db import migrations

import ecancel.core.encrypted


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0004_peer_previous_key"),
    ]

    operations = [
        migrations.AlterField(
            model_name="inboxmessage",
            name="raw",
            field=ecancel.core.encrypted.EncryptedBinaryField(),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="raw",
            field=ecancel.core.encrypted.EncryptedBinaryField(),
        ),
        migrations.RunPython(
            ecancel.core.encrypted.encrypt_existing("exchange", "outboxmessage"),
            ecancel.core.encrypted.decrypt_existing("exchange", "outboxmessage"),
        ),
        migrations.RunPython(
            ecancel.core.encrypted.encrypt_existing("exchange", "inboxmessage"),
            ecancel.core.encrypted.decrypt_existing("exchange", "inboxmessage"),
        ),
    ]
