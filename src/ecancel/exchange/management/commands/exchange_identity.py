"""Print this deployment's exchange identity: endpoint, and each hosted organisation's Ed25519 public key and
the pins of the keys that sign its documents (``exchange.pins``).

Give the output to the peer deployment, which loads it with ``ecancel exchange_peer import``.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from ecancel.accounts.models import Organisation
from ecancel.exchange import keys
from ecancel.exchange.pins import hosted_pins
from ecancel.exchange.routing import hosted_kinds


class Command(BaseCommand):
    help = (
        "Export this deployment's exchange identity (its endpoint, each hosted organisation's Ed25519 key and "
        "document-signing certificate pins)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--endpoint", default=f"{settings.ECANCEL_PUBLIC_URL}/exchange/", help="our /exchange/ URL")

    def handle(self, *args: Any, **options: Any) -> None:
        organisations = Organisation.objects.filter(kind__in=hosted_kinds()).order_by("kind", "name")
        identity = {
            "endpoint": options["endpoint"],
            "organisations": [
                {
                    "id": str(o.pk),
                    "name": o.name,
                    "kind": o.kind,
                    "ed25519_public_key": keys.public_key_b64(o.pk),
                    "document_signing_pins": hosted_pins(o),
                }
                for o in organisations
            ],
        }
        self.stdout.write(json.dumps(identity, ensure_ascii=False, indent=2))
