"""A buyer's phone walking the journey pages in Chromium: the steps the phone-journey tests and the end-to-end run
share. Every page is checked for accessibility and screenshotted on the way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Shots, axe_check, phone, scripts_ready
from tests.browser.fakecam import face_camera
from tests.browser.test_hooks import draw
from tests.buyers.journey import photo
from tests.identity import makers


class Walk:
    """One phone walking the pages: each step is checked for accessibility and screenshotted. Its photos are held at
    its own ``tilt``: two buyers sending the same file is what the notary's review flags."""

    def __init__(self, page: Page, base: str, shot: Shots, *, tilt: float = 0) -> None:
        self.page, self.base, self.shot, self.tilt = page, base, shot, tilt

    def photo(self, name: str) -> dict[str, Any]:
        """A photo of the ID card, turned by the phone's tilt as a hand-held photo is."""
        card = makers.to_jpeg(makers.rotated(makers.render_id_card_front(), self.tilt)) if self.tilt else photo()
        return {"name": name, "mimeType": "image/jpeg", "buffer": card}

    def step(self, name: str, url_part: str) -> None:
        self.page.wait_for_url(f"**{url_part}")
        self.page.wait_for_load_state()
        scripts_ready(self.page)
        axe_check(self.page)
        self.shot(self.page, name)

    def scan(self, raw: str) -> None:
        self.open(f"{self.base}/h/{raw}")

    def open(self, link: str) -> None:
        """Open the QR's link, as the phone does once its camera read the code."""
        self.page.goto(link)
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
            self.page.set_input_files(f"input[name={slot}]", self.photo(f"{slot}.jpg"))
        self.page.get_by_role("button", name="上传", exact=True).click()

    def sign(self) -> None:
        self.step("signature", "/b/signature/")
        draw(self.page, "[data-signature-pad]", [(30, 150), (90, 40), (150, 150), (220, 60), (300, 150)])
        self.shot(self.page, "signed")
        self.page.get_by_role("button", name="确认签名").click()

    def done(self) -> None:
        self.step("done", "/b/done/")
        expect(self.page.get_by_role("heading", name="申请成功")).to_be_visible()


def mainland_to_done(walk: Walk, position: int, *, launch: Callable[..., Browser], folder: Path) -> None:
    """The face path from choosing the buyer to 申请成功: the ID portrait, a face take, the documents, photos, the
    signature and a second face take. That second take is a new one: the same phone (its cookies) in a browser whose
    camera shows the face anew (``folder`` keeps that camera's file)."""
    walk.choose(position)
    walk.step("face-reference", "/b/face/")
    walk.page.set_input_files("input[name=document_front]", walk.photo("id.jpg"))
    walk.page.get_by_role("button", name="上传", exact=True).click()
    expect(walk.page.locator("[data-camera-preview]")).to_be_visible()
    walk.shoot_face("face", "/b/face/")
    walk.read_documents()
    walk.upload_photos(["document_back", "holding"])
    walk.sign()
    walk.step("face-again", "/b/face-again/")
    state = walk.page.context.storage_state()
    walk.page = phone(launch(face_camera(folder / "again.y4m", turned=4)), storage_state=state).new_page()
    walk.page.goto(f"{walk.base}/b/face-again/")
    walk.shoot_face("face-again-new-take", "/b/face-again/")
    walk.done()


def passport_to_done(walk: Walk, position: int) -> None:
    """A passport holder's way from choosing the buyer to 申请成功: the passport read, the documents, photos, the
    signature, a real 15-second recording read aloud, and the final submission."""
    walk.choose(position)
    walk.step("document-kind", "/b/document-kind/")
    expect(walk.page.locator("[data-step]")).to_have_text("第 2 步 / 共 9 步")
    walk.page.get_by_label("护照").check()
    walk.page.get_by_role("button", name="下一步").click()
    walk.step("document-read", "/b/document-read/")
    walk.page.set_input_files("input[name=front]", walk.photo("passport.jpg"))
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
