"""A buyer appears once per contract: compared by the ID number's digest, the number itself being encrypted."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("filing", "0003_id_number_encrypted"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="buyerparty",
            constraint=models.UniqueConstraint(
                fields=("contract", "id_type", "id_number_digest"), name="buyer_once_per_contract"
            ),
        ),
    ]
