"""``ecancel api_token create|list|revoke``: credentials for system integrations of one organisation."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import ApiToken, Organisation
from ecancel.accounts.services import api_token_create, api_token_revoke
from ecancel.core.commands import LocalisedCommand
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError


def find_organisation(ref: str) -> Organisation:
    """By id, exact name, or short name."""
    query = Q(name=ref) | Q(short_name=ref)
    as_uuid = _uuid_or_none(ref)
    if as_uuid is not None:
        query |= Q(pk=as_uuid)
    matches = list(Organisation.objects.filter(query)[:2])
    if len(matches) != 1:
        raise CommandError(_("找不到唯一的机构：%(ref)s") % {"ref": ref})
    return matches[0]


class Command(LocalisedCommand):
    help = "Create, list or revoke per-organisation API tokens (the raw token is printed once, at creation)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="issue a token")
        create.add_argument("--organisation", required=True, help="organisation id, name or short name")
        create.add_argument("--name", required=True, help="what the token is for")
        listing = sub.add_parser("list", help="list tokens (never their values)")
        listing.add_argument("--organisation", help="only this organisation")
        revoke = sub.add_parser("revoke", help="revoke a token")
        revoke.add_argument("token", help="the token's id or its prefix (ect_…)")

    def handle(self, *args: Any, **options: Any) -> None:
        ctx = RequestContext.system(via="cli")
        try:
            if options["action"] == "create":
                organisation = find_organisation(options["organisation"])
                token, raw = api_token_create(organisation=organisation, name=options["name"], actor=None, ctx=ctx)
                self.stdout.write(raw)
                self.stderr.write(
                    _("已为 %(organisation)s 签发令牌 %(prefix)s…（仅显示一次，请妥善保存）")
                    % {"organisation": organisation, "prefix": token.prefix}
                )
            elif options["action"] == "list":
                tokens = ApiToken.objects.select_related("organisation").order_by("organisation__name", "created_at")
                if options.get("organisation"):
                    tokens = tokens.filter(organisation=find_organisation(options["organisation"]))
                for token in tokens:
                    # Dates as people here read them: Asia/Shanghai, not the UTC the row stores.
                    state = (
                        _("已吊销 %(date)s") % {"date": f"{timezone.localtime(token.revoked_at):%Y-%m-%d}"}
                        if token.revoked_at
                        else _("有效")
                    )
                    self.stdout.write(f"{token.pk}  {token.prefix}…  {token.organisation}  {token.name}  {state}")
            else:
                ref = options["token"]
                query = Q(prefix=ref[:12]) if ref.startswith("ect_") else Q(pk=_uuid_or_none(ref))
                matches = list(ApiToken.objects.filter(query)[:2])
                if len(matches) != 1:
                    raise CommandError(_("找不到唯一的令牌：%(ref)s") % {"ref": ref})
                api_token_revoke(token=matches[0], actor=None, ctx=ctx)
                self.stdout.write(_("已吊销 %(prefix)s…") % {"prefix": matches[0].prefix})
        except DomainError as exc:
            raise CommandError(exc.message) from exc


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
