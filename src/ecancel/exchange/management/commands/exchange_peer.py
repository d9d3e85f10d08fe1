"""Configure how organisations hosted by another deployment are reached and checked.

    ecancel exchange_peer import identity.json           # the other side's `exchange_identity`
    ecancel exchange_peer set ORG_ID --url https://peer.example/exchange/ --hmac-secret-file secret.txt
    ecancel exchange_peer set ORG_ID --url ... --public-key BASE64
    ecancel exchange_peer set ORG_ID --add-pin SHA256 --remove-pin SHA256   # its document-signing keys
    ecancel exchange_peer deactivate ORG_ID
    ecancel exchange_peer list

Secrets are read from a file or an environment variable, never from the command line. An import replaces the
organisation's document-signing pins with those in the file (an older file without them keeps them); to rotate a
key with overlap, ``--add-pin`` the new one first and ``--remove-pin`` the old one once it signs no more.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import Organisation
from ecancel.core.commands import LocalisedCommand
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError
from ecancel.exchange.models import Peer, Transport
from ecancel.exchange.routing import is_hosted
from ecancel.exchange.services import peer_deactivate, peer_document_pins_change, peer_set


def _pins(entry: dict[str, Any]) -> list[str] | None:
    """The pins an identity file states for one organisation; None from a file made before pins were exported."""
    if "document_signing_pins" not in entry:
        return None
    pins = entry["document_signing_pins"]
    if not isinstance(pins, list):
        raise TypeError("document_signing_pins is not a list")
    return [str(pin) for pin in pins]


class Command(LocalisedCommand):
    help = "Configure exchange peers (organisations hosted by another deployment)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="load the other deployment's exchange_identity output")
        imp.add_argument("file", help="JSON file, or - for standard input")
        imp.add_argument("--endpoint", default="", help="override the endpoint URL in the file")
        put = sub.add_parser("set", help="add or change one peer")
        put.add_argument("organisation", help="organisation UUID")
        put.add_argument("--transport", choices=Transport.values, default=Transport.HTTP)
        put.add_argument("--url", default="", help="the peer's /exchange/ URL (HTTP transport)")
        put.add_argument("--public-key", default="", help="base64 Ed25519 public key")
        put.add_argument("--hmac-secret-file", default="", help="file holding the shared secret (≥32 bytes)")
        put.add_argument("--hmac-secret-env", default="", help="environment variable holding the shared secret")
        put.add_argument("--inactive", action="store_true")
        put.add_argument(
            "--add-pin", action="append", default=[], help="pin a document-signing key (SHA-256 of its SPKI, hex)"
        )
        put.add_argument("--remove-pin", action="append", default=[], help="unpin a document-signing key")
        off = sub.add_parser("deactivate", help="stop sending to and accepting from one peer")
        off.add_argument("organisation")
        sub.add_parser("list", help="show peers (never secrets)")

    def handle(self, *args: Any, **options: Any) -> None:
        ctx = RequestContext.system("command")
        try:
            getattr(self, f"_{options['action']}")(options, ctx)
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def _organisation(self, value: str) -> Organisation:
        try:
            organisation = Organisation.objects.filter(pk=value).first()
        except (ValidationError, ValueError, TypeError):
            organisation = None
        if organisation is None:
            raise CommandError(_("未找到机构：%(value)s") % {"value": value})
        return organisation

    def _import(self, options: dict[str, Any], ctx: RequestContext) -> None:
        try:
            text = sys.stdin.read() if options["file"] == "-" else Path(options["file"]).read_text()
            identity = json.loads(text)
            endpoint = options["endpoint"] or identity["endpoint"]
            entries = [
                (str(entry["id"]), str(entry["ed25519_public_key"]), _pins(entry))
                for entry in identity["organisations"]
            ]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(
                _("无法读取对方的 exchange_identity 文件：%(problem)s") % {"problem": f"{exc.__class__.__name__} {exc}"}
            ) from None
        with transaction.atomic():
            for organisation_id, public_key, pins in entries:
                organisation = self._organisation(organisation_id)
                if is_hosted(organisation):
                    self.stdout.write(f"skip {organisation.name}: hosted here")
                    continue
                peer_set(
                    organisation=organisation,
                    transport=Transport.HTTP,
                    endpoint_url=endpoint,
                    public_key=public_key,
                    document_signing_pins=pins,
                    actor=None,
                    ctx=ctx,
                )
                pinned = "unchanged" if pins is None else len(pins)
                self.stdout.write(f"peer {organisation.name}: {endpoint}, document-signing pins: {pinned}")

    def _set(self, options: dict[str, Any], ctx: RequestContext) -> None:
        """How the peer is reached, its pins, or both (in one transaction)."""
        organisation = self._organisation(options["organisation"])
        reach = ("url", "public_key", "hmac_secret_file", "hmac_secret_env", "inactive")
        pins_only = (options["add_pin"] or options["remove_pin"]) and not any(options[name] for name in reach)
        with transaction.atomic():
            if not pins_only:
                self._set_reach(organisation, options, ctx)
            if options["add_pin"] or options["remove_pin"]:
                peer_document_pins_change(
                    organisation=organisation,
                    add=options["add_pin"],
                    remove=options["remove_pin"],
                    actor=None,
                    ctx=ctx,
                )
        self.stdout.write(f"peer {organisation.name} saved")

    def _set_reach(self, organisation: Organisation, options: dict[str, Any], ctx: RequestContext) -> None:
        secret: bytes | None = None
        if options["hmac_secret_file"]:
            secret = Path(options["hmac_secret_file"]).read_bytes().strip()
        elif options["hmac_secret_env"]:
            value = os.environ.get(options["hmac_secret_env"])
            if not value:
                raise CommandError(_("环境变量 %(name)s 为空") % {"name": options["hmac_secret_env"]})
            secret = value.encode()
        peer_set(
            organisation=organisation,
            transport=options["transport"],
            endpoint_url=options["url"],
            public_key=options["public_key"],
            hmac_secret=secret,
            active=not options["inactive"],
            actor=None,
            ctx=ctx,
        )

    def _deactivate(self, options: dict[str, Any], ctx: RequestContext) -> None:
        organisation = self._organisation(options["organisation"])
        peer_deactivate(organisation=organisation, actor=None, ctx=ctx)
        self.stdout.write(f"peer {organisation.name} deactivated")

    def _list(self, options: dict[str, Any], ctx: RequestContext) -> None:
        for peer in Peer.objects.select_related("organisation").order_by("organisation__name"):
            state = "active" if peer.active else "inactive"
            self.stdout.write(
                f"{peer.organisation_id}  {peer.organisation.name}  {peer.transport}  {peer.endpoint_url or '-'}  "
                f"{peer.signing}  {state}  pins: {','.join(peer.document_signing_pins) or '-'}"
            )
