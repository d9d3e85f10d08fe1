"""The buyers' phone journey end to end in headless Chromium at 390×844 (issue 12, item 12): the real pages and
scripts, the fake camera for the face checks, a real 15-second recording, a signature drawn with the pointer.
Every step is screenshotted and passes the accessibility check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django import Settings

from ecancel.buyers.models import Journey
from ecancel.notary.models import CaseParty, NotaryCase, PartyRole
from ecancel.notary.services.revoke import case_revoke
from ecancel.notary.transitions import CaseStatus
from tests.browser.conftest import Shots, axe_check, phone, scripts_ready
from tests.browser.fakecam import face_camera
from tests.browser.test_hooks import draw
from tests.buyers.journey import CTX, case_for_buyers, make_foreign, photo, qr
from tests.factories import NotaryOfficeFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def null_identity(settings: Settings) -> None:
    settings.ECANCEL_IDENTITY_PROVIDER = "null"
    settings.ECANCEL_IDENTITY_NULL_OUTCOMES = {}


@pytest.fixture
def case() -> NotaryCase:
    return case_for_buyers(NotaryOfficeFactory(handoff_days=7))


def picture(name: str) -> dict[str, Any]:
    return {"name": name, "mimeType": "image/jpeg", "buffer": photo()}


class Walk:
    """One phone walking the pages: each step is checked for accessibility and screenshotted."""

    def __init__(self, page: Page, base: str, shot: Shots) -> None:
        self.page, self.base, self.shot = page, base, shot

    def step(self, name: str, url_part: str) -> None:
        self.page.wait_for_url(f"**{url_part}")
        self.page.wait_for_load_state()
        scripts_ready(self.page)
        axe_check(self.page)
        self.shot(self.page, name)

    def scan(self, raw: str) -> None:
        self.page.goto(f"{self.base}/h/{raw}")
        self.step("choose", "/b/")

    def choose(self, position: int) -> None:
        self.page.locator(f"[data-buyer='{position}']").get_by_role("button", name="我是该买受人").click()
        self.step("consent", "/b/consent/")
        self.page.locator("[data-consent=face_processing]").get_by_label("同意", exact=True).check()
        self.page.locator("[data-consent=transfer_to_notary]").get_by_label("同意", exact=True).check()
        self.page.get_by_role("button", name="下一步").click()

    def shoot_face(self, name: str, url_part: str) -> None:
        self.step(name, url_part)
        expect(self.page.locator("[data-camera-preview]")).to_be_visible()
        self.page.get_by_role("button", name="开始拍摄").click()

    def read_documents(self) -> None:
        self.step("read", "/b/read/")
        agree = self.page.get_by_label("同意继续")
        expect(agree).to_be_disabled()
        links = self.page.locator("a[data-doc-open]")
        for index in range(links.count()):
            with self.page.context.expect_page() as opened:
                links.nth(index).click()
            opened.value.close()
        expect(agree).to_be_enabled()
        agree.check()
        self.shot(self.page, "read-agreed")
        self.page.get_by_role("button", name="下一步").click()

    def upload_photos(self, slots: list[str]) -> None:
        self.step("uploads", "/b/uploads/")
        for slot in slots:
            self.page.set_input_files(f"input[name={slot}]", picture(f"{slot}.jpg"))
        self.page.get_by_role("button", name="上传", exact=True).click()

    def sign(self) -> None:
        self.step("signature", "/b/signature/")
        draw(self.page, "[data-signature-pad]", [(30, 150), (90, 40), (150, 150), (220, 60), (300, 150)])
        self.shot(self.page, "signed")
        self.page.get_by_role("button", name="确认签名").click()

    def done(self) -> None:
        self.step("done", "/b/done/")
        expect(self.page.get_by_role("heading", name="申请成功")).to_be_visible()


def test_mainland_buyer_on_a_phone(
    launch: Callable[..., Browser], face_cam: Path, live_server: Any, shot: Shots, case: NotaryCase, tmp_path: Path
) -> None:
    walk = Walk(phone(launch(face_cam)).new_page(), live_server.url, shot)
    walk.scan(qr(case).raw)
    walk.choose(1)
    walk.step("face-reference", "/b/face/")
    walk.page.set_input_files("input[name=document_front]", picture("id.jpg"))
    walk.page.get_by_role("button", name="上传", exact=True).click()
    expect(walk.page.locator("[data-camera-preview]")).to_be_visible()
    walk.shoot_face("face", "/b/face/")
    walk.read_documents()
    walk.upload_photos(["document_back", "holding"])
    walk.sign()
    # The second face check is a new take: the same phone (its cookies), the camera showing the face anew.
    walk.step("face-again", "/b/face-again/")
    state = walk.page.context.storage_state()
    walk.page = phone(launch(face_camera(tmp_path / "again.y4m", turned=4)), storage_state=state).new_page()
    walk.page.goto(f"{live_server.url}/b/face-again/")
    walk.shoot_face("face-again-new-take", "/b/face-again/")
    walk.done()
    journey = Journey.objects.get(buyer__case=case, buyer__position=1)
    assert journey.status == "submitted" and journey.path == "face"


def test_non_mainland_buyer_records_the_video(
    launch: Callable[..., Browser], face_cam: Path, live_server: Any, shot: Shots, case: NotaryCase
) -> None:
    make_foreign(CaseParty.objects.get(case=case, role=PartyRole.BUYER, position=2))
    walk = Walk(phone(launch(face_cam)).new_page(), live_server.url, shot)
    walk.scan(qr(case).raw)
    walk.choose(2)
    walk.step("document-kind", "/b/document-kind/")
    expect(walk.page.locator("[data-step]")).to_have_text("第 2 步 / 共 9 步")
    walk.page.get_by_label("护照").check()
    walk.page.get_by_role("button", name="下一步").click()
    walk.step("document-read", "/b/document-read/")
    walk.page.set_input_files("input[name=front]", picture("passport.jpg"))
    walk.page.get_by_role("button", name="上传并识别").click()
    walk.read_documents()
    walk.upload_photos(["document_front", "document_back", "holding"])
    walk.sign()
    walk.step("video", "/b/video/")
    walk.page.get_by_role("button", name="开始录制").click()
    expect(walk.page.get_by_role("button", name="结束录制")).to_be_visible()
    walk.shot(walk.page, "recording")
    expect(walk.page.get_by_role("button", name="提交视频")).to_be_visible(timeout=30_000)
    walk.page.get_by_role("button", name="提交视频").click()
    walk.step("submit", "/b/submit/")
    walk.page.get_by_role("button", name="提交资料，完成").click()
    walk.done()
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
