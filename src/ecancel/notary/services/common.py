"""What the case services share: telling the seller about a case, the buyers who have submitted."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from django.utils import timezone

from ecancel.accounts.models import NotaryOffice
from ecancel.core.context import RequestContext
from ecancel.exchange.messages import Message
from ecancel.exchange.services import outbox_put
from ecancel.notary.models import CaseNumberCounter, CaseParty, CertificateNumberCounter, NotaryCase, PartyRole
from ecancel.notifications.services.notify import notify

logger = logging.getLogger(__name__)


def next_in_year(
    counter: type[CaseNumberCounter | CertificateNumberCounter],
    *,
    office: NotaryOffice,
    at: datetime,
    **series: str,
) -> tuple[int, int]:
    """The year of ``at`` (local time) and the office's next number in it (in ``series``, for a counter that keeps
    several), taken under the counter's row lock: call it in the transaction that records the number, so a rollback
    gives the number back (no gaps, no duplicates)."""
    year = timezone.localtime(at).year
    lookup: dict[str, Any] = {"office": office, "year": year, **series}
    row, _created = counter.objects.select_for_update().get_or_create(**lookup)
    row.last += 1
    row.save(update_fields=["last"])
    return year, row.last


def each_logged(ids: Iterable[UUID], step: Callable[[UUID], bool], what: str) -> int:
    """Run a sweep's ``step`` on each id; how many did something. One that fails is logged and left for the next
    sweep, so one bad case never stops the others."""
    done = 0
    for item in ids:
        try:
            done += step(item)
        except Exception:
            logger.exception("%s %s failed; the next sweep tries again", what, item)
    return done


def submitted_buyers(case: NotaryCase) -> list[CaseParty]:
    return list(case.parties.filter(role=PartyRole.BUYER, submitted_at__isnull=False).order_by("position"))


def tell_seller(
    case: NotaryCase, message: type[Message], *, attachments: Mapping[str, bytes] | None = None, **fields: object
) -> None:
    """A message about ``case`` to the seller who pushed it, naming the application version and the case."""
    body = message.model_validate(
        {
            "application_ref": case.application_ref,
            "version": case.application_version,
            "case_ref": case.pk,
            "case_no": case.case_number,
            **fields,
        }
    )
    outbox_put(
        sender=case.office.organisation,
        recipient=case.seller,
        body=body,
        attachments=attachments,
    )


def buyer_recipient(party: CaseParty) -> str:
    """The key under which a buyer of a case receives notifications and subscribes to them."""
    return f"buyer:{party.pk}"


def case_topic(case: NotaryCase) -> str:
    return f"case:{case.pk}"


def tell_buyer(party: CaseParty, event: str, *, ctx: RequestContext, **params: object) -> None:
    """One notification to one buyer about their case: in-app always, SMS/WeChat if they subscribed. Runs in the
    caller's transaction, so nothing is said about a change that rolls back, and the same change is said once."""
    case = party.case
    notify(
        recipient=buyer_recipient(party),
        topic=case_topic(case),
        event=event,
        params={"case_ref": case.case_number, **params},
        dedupe_key=f"{case_topic(case)}:{event}",
        ctx=ctx,
    )


def tell_buyers(case: NotaryCase, event: str, *, ctx: RequestContext, **params: object) -> None:
    """The same notification to every buyer of the case."""
    for party in case.parties.filter(role=PartyRole.BUYER).select_related("case"):
        tell_buyer(party, event, ctx=ctx, **params)
