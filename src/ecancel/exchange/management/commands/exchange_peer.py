"""Configure how organisations hosted by another deployment are reached and checked.

    ecancel exchange_peer import identity.json           # the other side's `exchange_identity`
    ecancel exchange_peer set ORG_ID --url https://peer.example/exchange/ --hmac-secret-file secret.txt
    ecancel exchange_peer set ORG_ID --url ... --public-key BASE64
    ecancel exchange_peer deactivate ORG_ID
    ecancel exchange_peer list

Secrets are read from a file or an environment variable, never from the command line.
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
from ecancel.exchange.services import peer_deactivate, peer_set


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
            entries = [(str(entry["id"]), str(entry["ed25519_public_key"])) for entry in identity["organisations"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(
                _("无法读取对方的 exchange_identity 文件：%(problem)s") % {"problem": f"{exc.__class__.__name__} {exc}"}
            ) from None
        with transaction.atomic():
            for organisation_id, public_key in entries:
                organisation = self._organisation(organisation_id)
                if is_hosted(organisation):
                    self.stdout.write(f"skip {organisation.name}: hosted here")
                    continue
                peer_set(
                    organisation=organisation,
                    transport=Transport.HTTP,
                    endpoint_url=endpoint,
                    public_key=public_key,
                    actor=None,
                    ctx=ctx,
                )
                self.stdout.write(f"peer {organisation.name}: {endpoint}")

    def _set(self, options: dict[str, Any], ctx: RequestContext) -> None:
        organisation = self._organisation(options["organisation"])
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
        self.stdout.write(f"peer {organisation.name} saved")

    def _deactivate(self, options: dict[str, Any], ctx: RequestContext) -> None:
        organisation = self._organisation(options["organisation"])
        peer_deactivate(organisation=organisation, actor=None, ctx=ctx)
        self.stdout.write(f"peer {organisation.name} deactivated")

    def _list(self, options: dict[str, Any], ctx: RequestContext) -> None:
        for peer in Peer.objects.select_related("organisation").order_by("organisation__name"):
            state = "active" if peer.active else "inactive"
            self.stdout.write(
                f"{peer.organisation_id}  {peer.organisation.name}  {peer.transport}  {peer.endpoint_url or '-'}  "
                f"{peer.signing}  {state}"
            )
