"""``ecancel exchange_key_rotate <organisation id>``: a new exchange signing key, announced to every peer.

The old key keeps signing beside the new one for ``ECANCEL_EXCHANGE_KEY_OVERLAP_DAYS``; the peers take the new key
from the announcement and accept either until then. Run again during the overlap it re-announces the same new key.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ecancel.accounts.models import Organisation
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError
from ecancel.exchange.key_rotation import exchange_key_rotate


class Command(BaseCommand):
    help = "Rotate a hosted organisation's exchange signing key and announce the new key to every Ed25519 peer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organisation", help="the hosted organisation's id (see `ecancel exchange_identity`)")

    def handle(self, *args: Any, organisation: str, **options: Any) -> None:
        try:
            found = Organisation.objects.filter(pk=organisation).first()
        except ValidationError:
            found = None
        if found is None:
            raise CommandError(f"no organisation {organisation!r}")
        try:
            public_key, told = exchange_key_rotate(organisation=found, actor=None, ctx=RequestContext.system())
        except DomainError as exc:
            raise CommandError(exc.zh) from exc
        self.stdout.write(f"{found.name}: exchange key {public_key}, announced to {told} peers")
