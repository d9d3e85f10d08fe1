"""A phone's session on a case: made from a valid hand-off token, ended after ``ECANCEL_BUYER_SESSION_IDLE``.

The idle clock restarts at most every ``LAST_SEEN_RESOLUTION``: a waiting page polls every 1.5 s, and writing the
session on each poll cost a database write per request; so a session ends between 9½ and 10 minutes after the
phone's last request.

The cookie holds 256 random bits and only their SHA-256 is stored. A second, long-lived cookie names the
device; a journey belongs to the device that chose it, so the same phone re-entering from the QR code
resumes where it was and any other phone is refused.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ecancel.audit.services import record_event
from ecancel.buyers.models import BuyerSession, Journey
from ecancel.buyers.selectors import LATEST_CHECK_LOADS, latest_check_of
from ecancel.buyers.services.handoff import HandoffResolution, HandoffStatus, handoff_lookup, token_digest
from ecancel.buyers.transitions import JourneyStatus
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError
from ecancel.core.sql import Loaded, read_first
from ecancel.notary.models import NotaryCase

LAST_SEEN_RESOLUTION = timedelta(seconds=30)

# What a page shows of its session: the case with its office, the journey with both its parties.
PAGE_LOAD = ("case__office__organisation", "journey__buyer", "journey__actor")
# What a status poll reads of it, every 1.5 s from each waiting phone: the session's own clocks, whether the case is
# open, where the journey stands, and the journey's latest check of the purpose polled. The page's load (a
# hundred-odd columns, the parties' ID numbers decrypted) was half of a poll's CPU; anything else a poll happens to
# touch is read when it does. One statement in SQL (``core.sql``): building the ORM's queries, and a second round
# trip, cost more than the rest of the poll.
POLL_LOADS = (
    Loaded(BuyerSession, "s", ("cookie_hash", "device_hash", "last_seen_at", "ended_at", "case_id", "journey_id")),
    Loaded(NotaryCase, "c", ("status",)),
    Loaded(Journey, "j", ("status", "step")),
    *LATEST_CHECK_LOADS,
)
POLL_READ = (
    "FROM buyers_buyersession s JOIN notary_notarycase c ON c.id = s.case_id"
    " LEFT JOIN buyers_journey j ON j.id = s.journey_id"
    " LEFT JOIN buyers_journeycheck jc ON jc.id = ("
    "SELECT latest.id FROM buyers_journeycheck latest WHERE latest.journey_id = s.journey_id AND latest.purpose = %s"
    " ORDER BY latest.at DESC, latest.created_at DESC LIMIT 1)"
    " LEFT JOIN identity_identitycheck ic ON ic.id = jc.check_run_id"
    " WHERE s.cookie_hash = %s AND s.ended_at IS NULL"
)


class SessionEnded(DomainError):
    """No live session: expired after idling, never made, or the case closed. The page asks to scan again."""

    def __init__(self) -> None:
        super().__init__(
            text=_("办理页面已超时（10分钟无操作）或已失效，请重新扫描二维码继续；已完成的步骤不会丢失"),
            code="session_ended",
            http_status=401,
        )


@dataclass(frozen=True)
class Entry:
    """What opening a QR link gave: the resolution, and for a valid token the new session and its cookies."""

    resolution: HandoffResolution
    session: BuyerSession | None = None
    cookie: str = ""
    device: str = ""


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def session_open(*, token: str, device: str, now: datetime, ctx: RequestContext) -> Entry:
    """Exchange a hand-off token for a session. ``device`` is the phone's device cookie ('' for a new phone).

    A phone that already owns an unfinished journey on the case is put back on it.
    """
    resolution = handoff_lookup(raw=token, ctx=ctx, now=now.timestamp())
    if resolution.status is not HandoffStatus.VALID:
        return Entry(resolution)
    case = NotaryCase.objects.get(handoff_tokens__token_hash=token_digest(token))
    device = device or new_secret()
    device_hash = token_digest(device)
    journey = (
        Journey.objects.filter(case=case, device_hash=device_hash)
        .exclude(status=JourneyStatus.SUBMITTED)
        .order_by("-updated_at")
        .first()
    )
    cookie = new_secret()
    session = BuyerSession.objects.create(
        case=case, cookie_hash=token_digest(cookie), device_hash=device_hash, journey=journey, last_seen_at=now
    )
    record_event(
        "buyers.session.opened",
        organisation=case.office.organisation,
        obj=session,
        data={"case": str(case.pk), "resumed": journey is not None},
        ctx=ctx,
    )
    return Entry(resolution, session, cookie, device)


def session_resume(*, cookie: str, device: str, now: datetime, poll: str | None = None) -> BuyerSession:
    """The live session behind a cookie, its idle clock restarted; ``SessionEnded`` otherwise.

    The session must be presented with the device cookie it was made with: a copied session cookie alone
    reaches nothing. ``poll`` (the purpose of the check a waiting page polls) loads only ``POLL_LOADS`` instead of
    what pages show, the latest check in ``session.polled``.
    """
    if not cookie or not device:
        raise SessionEnded
    digest = token_digest(cookie)
    session = _page_session(digest) if poll is None else _polled_session(digest, poll)
    if not secrets.compare_digest(session.device_hash, token_digest(device)):
        raise SessionEnded
    if now - session.last_seen_at > settings.ECANCEL_BUYER_SESSION_IDLE or not session.case.is_open:
        BuyerSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(ended_at=now)
        raise SessionEnded
    if now - session.last_seen_at >= LAST_SEEN_RESOLUTION:
        BuyerSession.objects.filter(pk=session.pk).update(last_seen_at=now)
        session.last_seen_at = now
    return session


def _page_session(cookie_hash: str) -> BuyerSession:
    try:
        return BuyerSession.objects.select_related(*PAGE_LOAD).get(cookie_hash=cookie_hash, ended_at__isnull=True)
    except BuyerSession.DoesNotExist:
        raise SessionEnded from None


def _polled_session(cookie_hash: str, purpose: str) -> BuyerSession:
    found = read_first(POLL_LOADS, POLL_READ, [purpose, cookie_hash])
    if found is None:
        raise SessionEnded
    session, case, journey, latest, check = found
    assert isinstance(session, BuyerSession) and isinstance(case, NotaryCase)
    session.case = case
    session.journey = journey  # type: ignore[assignment]
    session.polled = (purpose, latest_check_of(latest, check))
    return session
