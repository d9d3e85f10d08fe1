"""Buyer sessions as rules, with the clock passed in: 10 minutes idle ends them; the device cookie is required."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from ecancel.buyers.models import BuyerSession
from ecancel.buyers.services.sessions import LAST_SEEN_RESOLUTION, SessionEnded, session_open, session_resume
from tests.buyers.journey import CTX, case_for_buyers, qr

pytestmark = pytest.mark.django_db


def test_idle_for_ten_minutes_ends_the_session_and_activity_keeps_it(office: Any) -> None:
    handoff = qr(case_for_buyers(office))
    start = timezone.now()
    entry = session_open(token=handoff.raw, device="", now=start, ctx=CTX)
    assert entry.session is not None and entry.cookie and entry.device
    later = start + dt.timedelta(minutes=9, seconds=59)
    assert session_resume(cookie=entry.cookie, device=entry.device, now=later).pk == entry.session.pk
    # Activity at 9:59 restarts the clock: 19:58 after the start is still within 10 minutes of it.
    assert session_resume(cookie=entry.cookie, device=entry.device, now=later + dt.timedelta(minutes=9, seconds=59))
    with pytest.raises(SessionEnded):
        session_resume(cookie=entry.cookie, device=entry.device, now=later + dt.timedelta(minutes=20, seconds=1))
    # Once ended it stays ended, even at an earlier moment.
    with pytest.raises(SessionEnded):
        session_resume(cookie=entry.cookie, device=entry.device, now=start)


def test_a_session_needs_its_own_device_cookie(office: Any) -> None:
    handoff = qr(case_for_buyers(office))
    now = timezone.now()
    entry = session_open(token=handoff.raw, device="", now=now, ctx=CTX)
    other = session_open(token=handoff.raw, device="", now=now, ctx=CTX)
    for cookie, device in ((entry.cookie, ""), (entry.cookie, other.device), ("", entry.device), ("x", entry.device)):
        with pytest.raises(SessionEnded):
            session_resume(cookie=cookie, device=device, now=now)
    # The same phone (device cookie) opening the QR again keeps its device.
    again = session_open(token=handoff.raw, device=entry.device, now=now, ctx=CTX)
    assert again.device == entry.device and again.cookie != entry.cookie


def test_an_invalid_token_opens_no_session(office: Any) -> None:
    entry = session_open(token="not-a-token", device="", now=timezone.now(), ctx=CTX)
    assert entry.session is None and entry.cookie == ""


def test_the_idle_clock_is_written_at_most_every_half_minute(office: Any) -> None:
    handoff = qr(case_for_buyers(office))
    start = timezone.now()
    entry = session_open(token=handoff.raw, device="", now=start, ctx=CTX)
    assert entry.session is not None

    def stored() -> dt.datetime:
        return BuyerSession.objects.get(pk=entry.session.pk).last_seen_at  # type: ignore[union-attr]

    session_resume(cookie=entry.cookie, device=entry.device, now=start + LAST_SEEN_RESOLUTION / 2)
    assert stored() == start, "a poll a few seconds after the last request writes nothing"
    session_resume(cookie=entry.cookie, device=entry.device, now=start + LAST_SEEN_RESOLUTION)
    assert stored() == start + LAST_SEEN_RESOLUTION
