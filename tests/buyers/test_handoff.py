"""The QR landing page /h/<token>: 有效 / 已失效 / 已过期 / 无效链接, never any personal data."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from ecancel.audit.models import AuditEvent
from ecancel.buyers.models import BuyerSession, HandoffToken, InvalidationReason
from ecancel.buyers.services import (
    HandoffStatus,
    IssuedHandoff,
    TooManyLookups,
    handoff_issue,
    handoff_lookup,
    handoff_resolve,
    handoff_revoke,
)
from ecancel.core.context import RequestContext
from ecancel.notary.models import CaseParty
from ecancel.notary.services.revoke import case_revoke

pytestmark = pytest.mark.django_db
CTX = RequestContext.system("test")


def landing(client: Client, raw: str, ip: str = "203.0.113.9") -> tuple[int, str, str]:
    response = client.get(f"/h/{raw}", REMOTE_ADDR=ip)
    html = response.content.decode()
    if response.status_code == 302 and response["Location"] == "/b/":
        return 302, "valid", html  # exchanged for a buyer session: on to the journey, the token left behind
    state = re.search(r'data-state="([a-z]+)"', html)
    return response.status_code, state.group(1) if state else "", html


def personal_data(handoff: IssuedHandoff) -> list[str]:
    case = handoff.token.case
    values = [case.seller_name, case.contract_no, case.case_number, case.location, case.room_no]
    for party in CaseParty.objects.filter(case=case):
        values += [party.name, party.id_number, party.phone, party.id_number[-4:]]
    return values


def assert_no_personal_data(html: str, handoff: IssuedHandoff) -> None:
    for value in personal_data(handoff):
        assert value not in html, value


def test_token_is_opaque_long_and_stored_only_as_its_hash(handoff: IssuedHandoff) -> None:
    assert len(handoff.raw) >= 43  # 32 random bytes, base64url
    token = HandoffToken.objects.get(pk=handoff.token.pk)
    assert token.token_hash == hashlib.sha256(handoff.raw.encode()).hexdigest()
    assert handoff.raw not in repr(HandoffToken.objects.filter(pk=token.pk).values().get())
    for value in personal_data(handoff):
        assert value not in handoff.raw
    assert handoff.url.endswith(f"/h/{handoff.raw}")


def test_valid_code_becomes_a_session_cookie_and_leaves_the_address_bar(client: Client, handoff: IssuedHandoff) -> None:
    status, state, html = landing(client, handoff.raw)
    assert (status, state) == (302, "valid")
    assert_no_personal_data(html, handoff)
    session, device = client.cookies["ecancel_buyer"], client.cookies["ecancel_device"]
    for cookie in (session, device):
        assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert int(device["max-age"]) > 0 and not session["max-age"]
    stored = BuyerSession.objects.get(case=handoff.token.case)
    assert stored.cookie_hash == hashlib.sha256(session.value.encode()).hexdigest()
    assert session.value not in repr(BuyerSession.objects.filter(pk=stored.pk).values().get())
    page = client.get("/b/").content.decode()
    assert 'data-state="choose"' in page and handoff.raw not in page
    for party in CaseParty.objects.filter(case=handoff.token.case):
        assert party.name not in page and party.id_number not in page and party.phone not in page


def test_revoked_case_answers_invalidated(client: Client, handoff: IssuedHandoff) -> None:
    case_revoke(case_id=handoff.token.case_id, actor=None, ctx=CTX)
    status, state, html = landing(client, handoff.raw)
    assert (status, state) == (410, "invalidated")
    assert "二维码已失效" in html
    assert_no_personal_data(html, handoff)


def test_a_new_token_for_the_case_kills_the_old_one(client: Client, handoff: IssuedHandoff) -> None:
    newer = handoff_issue(case=handoff.token.case, actor=None, ctx=CTX)
    assert newer.raw != handoff.raw
    assert landing(client, handoff.raw)[1] == "invalidated"
    assert landing(client, newer.raw)[1] == "valid"
    old = HandoffToken.objects.get(pk=handoff.token.pk)
    assert old.invalidated_reason == InvalidationReason.SUPERSEDED


def test_expired_code_answers_expired(client: Client, handoff: IssuedHandoff, monkeypatch: pytest.MonkeyPatch) -> None:
    token = handoff.token
    assert abs(token.expires_at - token.created_at - dt.timedelta(days=7)) < dt.timedelta(seconds=1)
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + dt.timedelta(days=6, hours=23))
    assert landing(client, handoff.raw)[:2] == (302, "valid")
    monkeypatch.setattr(timezone, "now", lambda: real_now() + dt.timedelta(days=7, minutes=1))
    status, state, html = landing(client, handoff.raw)
    assert (status, state) == (410, "expired")
    assert "二维码已过期" in html
    assert_no_personal_data(html, handoff)


def test_expiry_boundary(handoff: IssuedHandoff) -> None:
    expires_at = handoff.token.expires_at
    assert handoff_resolve(handoff.raw, now=expires_at - dt.timedelta(microseconds=1)).status is HandoffStatus.VALID
    assert handoff_resolve(handoff.raw, now=expires_at).status is HandoffStatus.EXPIRED


def test_revoked_wins_over_expired(client: Client, handoff: IssuedHandoff) -> None:
    handoff_revoke(case=handoff.token.case, reason=InvalidationReason.REVOKED, actor=None, ctx=CTX)
    HandoffToken.objects.filter(pk=handoff.token.pk).update(expires_at=timezone.now() - dt.timedelta(days=1))
    assert landing(client, handoff.raw)[1] == "invalidated"


@pytest.mark.parametrize("raw", ["nope", "A" * 43, "x" * 300])
def test_unknown_token_answers_invalid_link(client: Client, handoff: IssuedHandoff, raw: str) -> None:
    status, state, html = landing(client, raw)
    assert (status, state) == (404, "unknown")
    assert "无效链接" in html


def test_landing_page_headers(client: Client, handoff: IssuedHandoff) -> None:
    response = client.get(f"/h/{handoff.raw}")
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    assert "noindex" in response["X-Robots-Tag"]
    assert client.post(f"/h/{handoff.raw}").status_code == 405


def test_misses_are_throttled_per_address_with_a_clear_answer(
    client: Client, handoff: IssuedHandoff, settings: Settings
) -> None:
    settings.ECANCEL_HANDOFF_MAX_MISSES = 5
    for n in range(5):
        assert landing(client, f"guess{n}", ip="198.51.100.1")[0] == 404
    response = client.get("/h/guess-more", REMOTE_ADDR="198.51.100.1")
    html = response.content.decode()
    assert response.status_code == 429
    assert 'data-state="throttled"' in html
    assert "此网络地址打开无效链接的次数过多，请 10 分钟后再试；也可重新扫描开发企业出示的二维码" in html
    assert "Too many links" not in html  # one language per page
    assert 0 < int(response["Retry-After"]) <= 600
    assert AuditEvent.objects.filter(tag="buyers.handoff.lookup_throttled", ip="198.51.100.1").count() == 1


def test_a_valid_code_opens_even_after_its_address_used_up_its_misses(
    client: Client, handoff: IssuedHandoff, settings: Settings
) -> None:
    # Buyers behind one carrier-NAT address: one of them mistyping links must not lock out the others.
    settings.ECANCEL_HANDOFF_MAX_MISSES = 3
    for n in range(4):
        landing(client, f"guess{n}", ip="198.51.100.1")
    assert landing(client, "guess-more", ip="198.51.100.1")[0] == 429
    assert landing(client, handoff.raw, ip="198.51.100.1")[:2] == (302, "valid")
    case_revoke(case_id=handoff.token.case_id, actor=None, ctx=CTX)
    assert landing(client, handoff.raw, ip="198.51.100.1")[:2] == (410, "invalidated")


def test_the_miss_window_passes_on_the_limiter_clock(handoff: IssuedHandoff, settings: Settings) -> None:
    settings.ECANCEL_HANDOFF_MAX_MISSES = 2
    ctx, start = RequestContext(ip="198.51.100.4"), 1_000_000.0
    for n in range(2):
        handoff_lookup(raw=f"guess{n}", ctx=ctx, now=start)
    with pytest.raises(TooManyLookups):
        handoff_lookup(raw="guess", ctx=ctx, now=start + 599)
    assert handoff_lookup(raw="guess", ctx=ctx, now=start + 600).status is HandoffStatus.UNKNOWN


def test_valid_lookups_do_not_count(client: Client, handoff: IssuedHandoff, settings: Settings) -> None:
    settings.ECANCEL_HANDOFF_MAX_MISSES = 3
    for _ in range(10):
        assert landing(client, handoff.raw, ip="198.51.100.3")[0] == 302
    assert landing(client, "guess", ip="198.51.100.3")[0] == 404
