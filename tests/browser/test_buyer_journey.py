"""The buyers' phone journey end to end in headless Chromium at 390×844 (issue 12, item 12): the real pages and
scripts, the fake camera for the face checks, a real 15-second recording, a signature drawn with the pointer.
Every step is screenshotted and passes the accessibility check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from pytest_django import Settings

from ecancel.buyers.models import Journey
from ecancel.notary.models import CaseParty, NotaryCase, PartyRole
from ecancel.notary.services.revoke import case_revoke
from ecancel.notary.transitions import CaseStatus
from tests.browser.conftest import Shots, axe_check, phone
from tests.browser.phone_walk import Walk, mainland_to_done, passport_to_done
from tests.buyers.journey import CTX, case_for_buyers, make_foreign, qr
from tests.factories import NotaryOfficeFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def null_identity(settings: Settings) -> None:
    settings.ECANCEL_IDENTITY_PROVIDER = "null"
    settings.ECANCEL_IDENTITY_NULL_OUTCOMES = {}


@pytest.fixture
def case() -> NotaryCase:
    return case_for_buyers(NotaryOfficeFactory(handoff_days=7))


def test_mainland_buyer_on_a_phone(
    launch: Callable[..., Browser], face_cam: Path, live_server: Any, shot: Shots, case: NotaryCase, tmp_path: Path
) -> None:
    walk = Walk(phone(launch(face_cam)).new_page(), live_server.url, shot)
    walk.scan(qr(case).raw)
    mainland_to_done(walk, 1, launch=launch, folder=tmp_path)
    journey = Journey.objects.get(buyer__case=case, buyer__position=1)
    assert journey.status == "submitted" and journey.path == "face"


def test_non_mainland_buyer_records_the_video(
    launch: Callable[..., Browser], face_cam: Path, live_server: Any, shot: Shots, case: NotaryCase
) -> None:
    make_foreign(CaseParty.objects.get(case=case, role=PartyRole.BUYER, position=2))
    walk = Walk(phone(launch(face_cam)).new_page(), live_server.url, shot)
    walk.scan(qr(case).raw)
    passport_to_done(walk, 2)
    journey = Journey.objects.get(buyer__case=case, buyer__position=2)
    assert journey.status == "submitted" and journey.path == "document_video"


def test_second_device_is_refused(
    launch: Callable[..., Browser], face_cam: Path, live_server: Any, shot: Shots, case: NotaryCase
) -> None:
    browser = launch(face_cam)
    raw = qr(case).raw
    first = Walk(phone(browser).new_page(), live_server.url, shot)
    first.scan(raw)
    first.choose(1)
    first.step("first-phone-face", "/b/face/")
    second = Walk(phone(browser).new_page(), live_server.url, shot)
    second.scan(raw)
    second.page.locator("[data-buyer='1']").get_by_role("button", name="我是该买受人").click()
    expect(second.page.get_by_role("alert")).to_contain_text("已在其他设备上办理")
    axe_check(second.page)
    second.shot(second.page, "second-phone-refused")


def test_revoked_qr_is_refused(
    launch: Callable[..., Browser], face_cam: Path, live_server: Any, shot: Shots, case: NotaryCase
) -> None:
    raw = qr(case).raw
    case_revoke(case_id=case.pk, actor=None, ctx=CTX)
    assert NotaryCase.objects.get(pk=case.pk).status == CaseStatus.REVOKED
    page = phone(launch(face_cam)).new_page()
    page.goto(f"{live_server.url}/h/{raw}")
    expect(page.get_by_role("heading", name="二维码已失效")).to_be_visible()
    axe_check(page)
    shot(page, "revoked")
