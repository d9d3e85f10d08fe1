"""The review console through its pages: the queue, assignment, the case's evidence per buyer and its files."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django import Settings

from ecancel.accounts.models import NotaryOffice, Organisation, Role, User
from ecancel.audit.models import AuditEvent
from ecancel.buyers.manifest import manifest_verify
from ecancel.core.calendar import review_due_date
from ecancel.identity.models import ReviewReason
from ecancel.notary.models import CalendarDayKind, CaseParty, NotaryCase, OfficeCalendarDay, PartyRole
from ecancel.notary.review import office_calendar
from tests.conftest import logged_in_client
from tests.factories import NotaryOfficeFactory, UserFactory
from tests.identity import makers
from tests.notary.helpers import make_case
from tests.notary.review_data import picture, submitted_buyer, under_review

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

Capture = Callable[..., AbstractContextManager[Any]]


def staff(office: NotaryOffice, role: str, name: str = "") -> User:
    user: User = UserFactory(organisation=office.organisation, role=role, password=None, display_name=name)
    return user


@pytest.fixture
def notary(office: NotaryOffice) -> User:
    return staff(office, Role.NOTARY, "陈公证")


@pytest.fixture
def admin(office: NotaryOffice) -> User:
    return staff(office, Role.NOTARY_ADMIN, "管理员")


def reviewing(office: NotaryOffice, seller: Organisation, *, days_ago: int = 0, **options: Any) -> NotaryCase:
    received = timezone.now() - dt.timedelta(days=days_ago)
    return under_review(make_case(office, seller, received_at=received, **options))


# --- the queue ------------------------------------------------------------------------------------------


def test_queue_lists_the_offices_cases_under_review_with_age_and_due_date(
    office: NotaryOffice, seller: Organisation, clerk: User
) -> None:
    mine = reviewing(office, seller, days_ago=2)
    waiting = make_case(office, seller)
    theirs = reviewing(NotaryOfficeFactory(), seller)
    html = logged_in_client(clerk).get("/notary/review/").content.decode()
    assert mine.case_number in html
    assert waiting.case_number not in html and theirs.case_number not in html
    due = review_due_date(timezone.localtime(mine.received_at).date(), office_calendar(office))
    assert due.strftime("%Y-%m-%d") in html and "2 天前" in html and "剩余" in html
    # A clerk reads the queue but neither assigns nor opens the evidence.
    assert 'name="notary"' not in html
    assert f"/notary/review/{mine.pk}/" not in html and f"/notary/cases/{mine.pk}/" in html


def test_the_office_calendar_moves_the_due_date(office: NotaryOffice, seller: Organisation, clerk: User) -> None:
    case = reviewing(office, seller)
    accepted = timezone.localtime(case.received_at).date()
    before = review_due_date(accepted, office_calendar(office))
    for n in range(1, 4):
        OfficeCalendarDay.objects.create(
            office=office, day=accepted + dt.timedelta(days=n), kind=CalendarDayKind.HOLIDAY, note="测试假期"
        )
    after = review_due_date(accepted, office_calendar(office))
    assert after > before
    html = logged_in_client(clerk).get("/notary/review/").content.decode()
    assert after.strftime("%Y-%m-%d") in html and before.strftime("%Y-%m-%d") not in html


def test_filters_and_search(office: NotaryOffice, seller: Organisation, notary: User, admin: User) -> None:
    overdue = reviewing(office, seller, days_ago=40)
    fresh = reviewing(office, seller, days_ago=0)
    calendar, today = office_calendar(office), timezone.localdate()
    # Accepted so that the deadline is the first working day from today: due soon, not overdue.
    due_today = reviewing(office, seller)
    deadline = calendar.nth_working_day(today, 1)
    received = timezone.make_aware(dt.datetime.combine(calendar.latest_start_due_by(deadline), dt.time(10)))
    NotaryCase.objects.filter(pk=due_today.pk).update(received_at=received)
    NotaryCase.objects.filter(pk=fresh.pk).update(assignee=notary, assigned_at=timezone.now())
    client = logged_in_client(notary)

    def listed(**query: str) -> set[str]:
        html = client.get("/notary/review/", query).content.decode()
        return {c.case_number for c in (overdue, fresh, due_today) if c.case_number in html}

    assert listed() == {overdue.case_number, fresh.case_number, due_today.case_number}
    assert listed(show="mine") == {fresh.case_number}
    assert listed(show="unassigned") == {overdue.case_number, due_today.case_number}
    assert listed(show="overdue") == {overdue.case_number}
    assert listed(show="due_soon") == {due_today.case_number}
    assert listed(q=fresh.contract_no) == {fresh.case_number}
    assert listed(q=overdue.case_number) == {overdue.case_number}
    buyer = CaseParty.objects.filter(case=due_today, role=PartyRole.BUYER).first()
    assert buyer is not None
    assert listed(q=buyer.name) == {due_today.case_number}
    assert "没有符合条件的待审核案件" in client.get("/notary/review/", {"q": "无此人"}).content.decode()
    assert "已超期" in client.get("/notary/review/", {"show": "overdue"}).content.decode()


def test_queue_queries_do_not_grow_with_the_page(
    office: NotaryOffice, seller: Organisation, admin: User, notary: User
) -> None:
    for n in range(12):
        case = reviewing(office, seller, days_ago=n, buyers=3)
        if n % 2:
            NotaryCase.objects.filter(pk=case.pk).update(assignee=notary)
    client = logged_in_client(admin)
    counts = []
    for per_page in (10, 50):
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/notary/review/", {"per_page": per_page})
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_the_admin_assigns_from_the_queue(
    office: NotaryOffice, seller: Organisation, admin: User, notary: User
) -> None:
    case = reviewing(office, seller)
    client = logged_in_client(admin)
    page = client.get("/notary/review/").content.decode()
    assert f'value="{notary.uuid}"' in page
    answer = client.post(f"/notary/review/{case.pk}/assign/", {"notary": str(notary.uuid)}, follow=True)
    assert "已将" in answer.content.decode() and "陈公证" in answer.content.decode()
    case.refresh_from_db()
    assert case.assignee == notary
    assert AuditEvent.objects.filter(tag="notary.case.assigned", actor=admin, object_id=str(case.pk)).exists()


def test_assigning_another_offices_notary_is_refused_on_the_page(
    office: NotaryOffice, seller: Organisation, admin: User
) -> None:
    case = reviewing(office, seller)
    stranger = staff(NotaryOfficeFactory(), Role.NOTARY, "外处公证员")
    answer = logged_in_client(admin).post(
        f"/notary/review/{case.pk}/assign/", {"notary": str(stranger.uuid)}, follow=True
    )
    assert "外处公证员不是本公证处的工作人员，不能承办本处案件" in answer.content.decode()
    case.refresh_from_db()
    assert case.assignee is None


def test_only_the_admin_of_the_owning_office_may_assign(
    office: NotaryOffice, seller: Organisation, notary: User, clerk: User
) -> None:
    case = reviewing(office, seller)
    for user in (notary, clerk, staff(NotaryOfficeFactory(), Role.NOTARY_ADMIN)):
        answer = logged_in_client(user).post(f"/notary/review/{case.pk}/assign/", {"notary": str(notary.uuid)})
        assert answer.status_code == 404
    case.refresh_from_db()
    assert case.assignee is None


# --- the case's evidence -----------------------------------------------------------------------------------


def test_review_page_only_for_notaries_and_the_admin_of_the_owning_office(
    office: NotaryOffice, seller: Organisation, notary: User, admin: User, clerk: User
) -> None:
    case = reviewing(office, seller)
    evidence = submitted_buyer(case, 1)
    upload = evidence.uploads["document_front"]
    file = evidence.files[0]
    routes = [
        f"/notary/review/{case.pk}/",
        f"/notary/review/{case.pk}/uploads/{upload.pk}",
        f"/notary/review/{case.pk}/check-files/{file.pk}",
        f"/notary/review/{case.pk}/buyers/1/manifest.json",
        f"/notary/review/{case.pk}/buyers/1/manifest.p7s",
    ]
    other_office = NotaryOfficeFactory()
    expected = {
        notary: 200,
        admin: 200,
        clerk: 404,
        staff(other_office, Role.NOTARY): 404,
        staff(other_office, Role.NOTARY_ADMIN): 404,
    }
    for user, status in expected.items():
        client = logged_in_client(user)
        for route in routes:
            assert client.get(route).status_code == status, (user.role, route)
    assert Client().get(routes[0]).status_code == 302
    # A file of another case is not reached through this one, even by its own office's notary.
    other = reviewing(office, seller)
    foreign = submitted_buyer(other, 1)
    client = logged_in_client(notary)
    assert client.get(f"/notary/review/{case.pk}/uploads/{foreign.uploads['holding'].pk}").status_code == 404
    assert client.get(f"/notary/review/{case.pk}/check-files/{foreign.files[0].pk}").status_code == 404
    assert client.get(f"/notary/review/{case.pk}/buyers/2/manifest.json").status_code == 404
    assert client.get(f"/notary/review/{case.pk}/buyers/1/manifest.pdf").status_code == 404


def test_review_page_shows_each_buyer_side_by_side_and_is_audited(
    office: NotaryOffice, seller: Organisation, notary: User
) -> None:
    case = reviewing(office, seller)
    first = submitted_buyer(case, 1)
    second = submitted_buyer(case, 2, video=b"\x1a\x45\xdf\xa3" + b"\x00" * 64)
    response = logged_in_client(notary).get(f"/notary/review/{case.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    for position, evidence in ((1, first), (2, second)):
        party = evidence.journey.buyer
        assert f'data-buyer="{position}"' in html and party.name in html
        assert party.id_number not in html and party.id_number[-4:] in html
        for upload in evidence.uploads.values():
            assert f"/notary/review/{case.pk}/uploads/{upload.pk}" in html
        assert f"/notary/review/{case.pk}/buyers/{position}/manifest.json" in html
    assert "distance=0.31" in html and "阈值" in html and "向左转头" in html and "居民身份证人像面" in html
    assert "其余 2 帧现场画面" in html  # the first camera frame shown, the others listed
    assert "本人自愿申请注销商品房买卖合同，核验码314159" in html and "<video" in html
    assert "已提交" in html and "✓ 一致" in html and "有效（" in html
    assert 'data-flag="' not in html  # nothing to flag on a clean case
    event = AuditEvent.objects.get(tag="notary.review.viewed", object_id=str(case.pk))
    assert event.actor_id == notary.pk and event.data["buyers"] == [1, 2] and event.data["personal_data"]


def test_each_evidence_file_is_streamed_privately_and_audited(
    office: NotaryOffice, seller: Organisation, notary: User
) -> None:
    case = reviewing(office, seller)
    video = makers.make_video(2)
    evidence = submitted_buyer(case, 1, video=video)
    client = logged_in_client(notary)
    photo = evidence.uploads["holding"]
    answer = client.get(f"/notary/review/{case.pk}/uploads/{photo.pk}")
    assert answer.status_code == 200 and answer["Content-Type"] == "image/jpeg"
    assert hashlib.sha256(answer.content).hexdigest() == photo.sha256
    assert "no-store" in answer["Cache-Control"] and "private" in answer["Cache-Control"]
    assert answer["X-Content-Type-Options"] == "nosniff" and "sandbox" in answer["Content-Security-Policy"]
    assert answer["Content-Disposition"].startswith("inline")
    assert client.get(f"/notary/review/{case.pk}/uploads/{photo.pk}", {"download": "1"})[
        "Content-Disposition"
    ].startswith("attachment")
    signature = client.get(f"/notary/review/{case.pk}/uploads/{evidence.uploads['signature'].pk}")
    assert signature["Content-Type"] == "image/png"

    recording = next(f for f in evidence.files if f.role == "video")
    whole = client.get(f"/notary/review/{case.pk}/check-files/{recording.pk}")
    assert whole.status_code == 200 and whole["Content-Type"] == "video/webm" and whole.content == video
    assert whole["Accept-Ranges"] == "bytes"
    part = client.get(f"/notary/review/{case.pk}/check-files/{recording.pk}", HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and part.content == video[100:200]
    assert part["Content-Range"] == f"bytes 100-199/{len(video)}" and "no-store" in part["Cache-Control"]
    tail = client.get(f"/notary/review/{case.pk}/check-files/{recording.pk}", HTTP_RANGE="bytes=-10")
    assert tail.status_code == 206 and tail.content == video[-10:]
    beyond = client.get(f"/notary/review/{case.pk}/check-files/{recording.pk}", HTTP_RANGE=f"bytes={len(video)}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(video)}"

    viewed = AuditEvent.objects.filter(tag="notary.review.evidence_viewed", object_id=str(case.pk), actor=notary)
    assert viewed.count() == 7
    assert {e.data.get("slot") for e in viewed} >= {"holding", "signature"}
    assert {e.data["range"] for e in viewed if e.data.get("role") == "video"} == {
        "",
        "bytes=100-199",
        "bytes=-10",
        f"bytes={len(video)}-",
    }
    reads = AuditEvent.objects.filter(tag="identity.evidence.read", actor=notary)
    assert reads.count() == 7


def test_the_sealed_manifest_and_its_signature_download_and_verify(
    office: NotaryOffice, seller: Organisation, admin: User
) -> None:
    case = reviewing(office, seller)
    submitted_buyer(case, 1)
    client = logged_in_client(admin)
    content = client.get(f"/notary/review/{case.pk}/buyers/1/manifest.json")
    signature = client.get(f"/notary/review/{case.pk}/buyers/1/manifest.p7s")
    assert content["Content-Type"] == "application/json" and content["Content-Disposition"].startswith("attachment")
    assert "no-store" in signature["Cache-Control"]
    assert json.loads(content.content)["case"]["number"] == case.case_number
    assert manifest_verify(content.content, signature.content).valid
    parts = set(
        AuditEvent.objects.filter(tag="notary.review.manifest_downloaded", actor=admin).values_list(
            "data__part", flat=True
        )
    )
    assert parts == {"json", "p7s"}


def test_flags_mismatch_expired_reused_and_manual_review(
    office: NotaryOffice, seller: Organisation, notary: User
) -> None:
    case = reviewing(office, seller, buyers=3)
    shared = picture((1, 2, 3))
    submitted_buyer(case, 1, front=shared)
    submitted_buyer(
        case,
        2,
        read={"name": "张三", "number": "110101199003074514", "valid_to": "2020-01-01"},
        read_reasons=("name_mismatch", "number_mismatch", "document_expired"),
        read_checks={"name_matches_expected": False, "number_matches_expected": False},
        manual_review=ReviewReason.FACE_ATTEMPTS_EXHAUSTED,
    )
    # The third buyer's ID photo is the first buyer's file, byte for byte.
    submitted_buyer(case, 3, front=shared)
    html = logged_in_client(notary).get(f"/notary/review/{case.pk}/").content.decode()
    sections = {n: html.split(f'data-buyer="{n}"')[1].split("data-buyer=")[0] for n in (1, 2, 3)}

    def flags(position: int) -> set[str]:
        return {
            f for f in ("mismatch", "expired", "reused", "manual_review") if f'data-flag="{f}"' in sections[position]
        }

    assert flags(1) == {"reused"} and flags(3) == {"reused"}
    assert flags(2) == {"mismatch", "expired", "manual_review"}
    assert "✗ 不一致" in sections[2] and "人脸核验失败次数过多" in sections[2] and "2020-01-01" in sections[2]
    assert "110101199003074514" not in html


def test_the_push_as_signed_is_compared_with_the_case_record(received_case: NotaryCase, notary: User) -> None:
    submitted_buyer(received_case, 1)
    client = logged_in_client(notary)
    html = client.get(f"/notary/review/{received_case.pk}/").content.decode()
    first = html.split('data-buyer="1"')[1].split("data-buyer=")[0]
    buyer = CaseParty.objects.get(case=received_case, role=PartyRole.BUYER, position=1)
    assert first.count(buyer.name) >= 3  # registered, as pushed, as read
    assert 'data-flag="mismatch"' not in first
    # A case record that no longer reads as the seller's signed push is flagged.
    CaseParty.objects.filter(pk=buyer.pk).update(name="王小明")
    html = client.get(f"/notary/review/{received_case.pk}/").content.decode()
    first = html.split('data-buyer="1"')[1].split("data-buyer=")[0]
    assert 'data-flag="mismatch"' in first and "案件登记的信息与推送的材料不一致" in first


def test_buyer_progress_on_the_case_list_and_page(office: NotaryOffice, seller: Organisation, clerk: User) -> None:
    case = make_case(office, seller, buyers=3)
    submitted_buyer(case, 1)
    submitted_buyer(case, 2, seal=False)
    client = logged_in_client(clerk)
    listed = client.get("/notary/").content.decode()
    assert 'data-progress="submitted"' in listed and 'data-progress="in_progress"' in listed
    assert 'data-progress="not_started"' in listed
    assert "已提交" in listed and "进行中" in listed and "未核验" in listed
    page = client.get(f"/notary/cases/{case.pk}/").content.decode()
    for status in ("submitted", "in_progress", "not_started"):
        assert page.count(f'data-progress="{status}"') == 2  # the progress card and the applicants' table
    live = client.get(f"/notary/cases/{case.pk}/status/").content.decode()
    assert "进行中" in live and "未核验" in live


def test_the_real_journey_reaches_the_review_page(
    office: NotaryOffice, notary: User, settings: Settings, django_capture_on_commit_callbacks: Capture
) -> None:
    settings.ECANCEL_IDENTITY_PROVIDER = "null"
    settings.ECANCEL_IDENTITY_NULL_OUTCOMES = {}
    from tests.buyers.journey import Phone, case_for_buyers, qr
    from tests.buyers.test_journey_pages import mainland_to_done

    case = case_for_buyers(office, buyers=1)
    journey = mainland_to_done(Phone(django_capture_on_commit_callbacks), qr(case))
    case.refresh_from_db()
    assert case.status == "under_review"
    client = logged_in_client(notary)
    assert case.case_number in client.get("/notary/review/").content.decode()
    html = client.get(f"/notary/review/{case.pk}/").content.decode()
    assert journey.buyer.name in html and "再次人脸核验" in html and "有效（" in html
    for key in ("终止协议", "收案记录"):
        assert f"打开《{key}" in html
    assert "与现行文书不同" not in html


def test_the_office_admin_keeps_the_calendar_in_the_console(
    office: NotaryOffice, seller: Organisation, admin: User, notary: User, clerk: User
) -> None:
    client = logged_in_client(admin)
    assert "工作日历" in client.get("/notary/review/").content.decode()
    today = timezone.localdate()
    saved = client.post(
        "/notary/review/calendar/", {"day": today.isoformat(), "kind": "holiday", "note": "测试假日"}, follow=True
    )
    assert saved.status_code == 200 and "测试假日" in saved.content.decode()
    entry = OfficeCalendarDay.objects.get(office=office, day=today)
    weekday = today - dt.timedelta(days=today.weekday())  # this week's Monday
    refused = client.post("/notary/review/calendar/", {"day": weekday.isoformat(), "kind": "working_day"})
    assert refused.status_code == 422 and "无需设为调休上班日" in refused.content.decode()
    assert client.post("/notary/review/calendar/", {"day": "", "kind": "holiday"}).status_code == 422
    assert client.post(f"/notary/review/calendar/{entry.pk}/remove/").status_code == 302
    assert not OfficeCalendarDay.objects.filter(office=office).exists()
    # Only the office's admin: notaries and clerks, and other offices' admins, reach nothing.
    for user in (notary, clerk):
        assert logged_in_client(user).get("/notary/review/calendar/").status_code == 404
    other_admin = staff(NotaryOfficeFactory(), Role.NOTARY_ADMIN)
    entry = OfficeCalendarDay.objects.create(office=office, day=today, kind=CalendarDayKind.HOLIDAY)
    assert logged_in_client(other_admin).post(f"/notary/review/calendar/{entry.pk}/remove/").status_code == 404
    assert OfficeCalendarDay.objects.filter(pk=entry.pk).exists()


def test_review_page_queries_do_not_grow_with_buyers_or_evidence(
    office: NotaryOffice, seller: Organisation, notary: User
) -> None:
    small = reviewing(office, seller, buyers=1)
    submitted_buyer(small, 1)
    large = reviewing(office, seller, buyers=3)
    submitted_buyer(large, 1)
    submitted_buyer(large, 2, video=b"\x1a\x45\xdf\xa3" + bytes(64), manual_review=ReviewReason.FACE_PROCESSING_REFUSED)
    submitted_buyer(large, 3, seal=False)
    client = logged_in_client(notary)
    counts = []
    for case in (small, large):
        client.get(f"/notary/review/{case.pk}/")  # the session and the user, loaded once
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/notary/review/{case.pk}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_the_admin_assigns_from_the_review_page_and_comes_back_to_it(
    office: NotaryOffice, seller: Organisation, admin: User, notary: User
) -> None:
    case = reviewing(office, seller)
    client = logged_in_client(admin)
    page = client.get(f"/notary/review/{case.pk}/").content.decode()
    assert f'value="{notary.uuid}"' in page and 'name="back" value="case"' in page
    answer = client.post(f"/notary/review/{case.pk}/assign/", {"notary": str(notary.uuid), "back": "case"})
    assert answer["Location"] == f"/notary/review/{case.pk}/"
    case.refresh_from_db()
    assert case.assignee == notary
    # A notary sees who has the case, and no form.
    shown = logged_in_client(notary).get(f"/notary/review/{case.pk}/").content.decode()
    assert "陈公证" in shown and 'name="notary"' not in shown
    refused = client.post(f"/notary/review/{case.pk}/assign/", {"notary": "not-a-uuid", "back": "case"}, follow=True)
    assert "请选择本公证处的公证员" in refused.content.decode()
    case.refresh_from_db()
    assert case.assignee == notary
