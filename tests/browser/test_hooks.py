"""Each hook of the buyer scripts in headless Chromium at 390×844, against the test-only pages of pages.py."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.browser import pages
from tests.browser.conftest import Shots, axe_check, phone, scripts_ready
from tests.browser.fakecam import qr_camera
from tests.identity.makers import portrait, to_jpeg

pytestmark = [pytest.mark.browser, pytest.mark.urls("tests.browser.pages"), pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    pages.received.clear()
    pages.poll_calls.clear()
    yield


def open_hook(page: Page, live_server: object, name: str, query: str = "") -> None:
    page.goto(f"{live_server.url}/hooks/{name}/{query}")  # type: ignore[attr-defined]
    scripts_ready(page)


def test_upload_posts_with_progress_and_follows_next(
    page: Page, live_server: object, shot: Shots, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(to_jpeg(portrait()))
    open_hook(page, live_server, "upload")
    expect(page.locator("[data-step]")).to_have_text("第 2 步 / 共 9 步")
    axe_check(page)
    shot(page, "upload")
    progress: list[float] = []
    page.on("console", lambda message: progress.append(float(message.text)) if message.text[:1].isdigit() else None)
    page.evaluate(
        """() => { const bar = document.querySelector('[data-upload-progress]');
        new MutationObserver(() => bar.max && bar.value && console.log(String(bar.value / bar.max)))
          .observe(bar, {attributes: true}); }"""
    )
    page.set_input_files("input[name=photo]", photo)
    page.get_by_role("button", name="上传").click()
    page.wait_for_url("**/hooks/done/")
    shot(page, "done")
    assert pages.received["upload"]["FILES"]["photo"] == [photo.read_bytes()]
    assert progress and progress[-1] == 1.0


def test_upload_network_loss_shows_message_and_retries(page: Page, live_server: object, tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(to_jpeg(portrait()))
    open_hook(page, live_server, "upload")
    page.set_input_files("input[name=photo]", photo)
    page.route("**/hooks/upload/", lambda route: route.abort("internetdisconnected"))
    page.get_by_role("button", name="上传").click()
    expect(page.get_by_role("alert")).to_have_text("网络连接中断，请重试")
    assert "upload" not in pages.received
    page.unroute("**/hooks/upload/")
    page.get_by_role("button", name="上传").click()
    page.wait_for_url("**/hooks/done/")
    assert pages.received["upload"]["FILES"]["photo"] == [photo.read_bytes()]


def draw(page: Page, selector: str, points: list[tuple[float, float]]) -> None:
    box = page.locator(selector).bounding_box()
    assert box
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=5)
    page.mouse.up()


def test_signature_drawn_with_the_pointer_arrives_as_png(page: Page, live_server: object, shot: Shots) -> None:
    open_hook(page, live_server, "signature")
    axe_check(page)
    page.get_by_role("button", name="确认签名").click()
    expect(page.get_by_role("alert")).to_have_text("请先在框内签名")
    draw(page, "[data-signature-pad]", [(30, 150), (90, 40), (150, 150)])
    page.get_by_role("button", name="撤销一笔").click()
    page.get_by_role("button", name="确认签名").click()
    expect(page.get_by_role("alert")).to_have_text("请先在框内签名")
    draw(page, "[data-signature-pad]", [(30, 150), (90, 40), (150, 150), (220, 60), (300, 150)])
    shot(page, "signed")
    page.get_by_role("button", name="确认签名").click()
    page.wait_for_url("**/hooks/done/")
    data_url = pages.received["signature"]["POST"]["signature"]
    assert data_url.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))
    assert image.format == "PNG"
    assert image.getchannel("A").getbbox() is not None  # something was drawn


def test_camera_capture_posts_the_frames(page: Page, live_server: object, shot: Shots) -> None:
    open_hook(page, live_server, "camera")
    expect(page.locator("input[name=video]")).to_be_hidden()
    axe_check(page)
    shot(page, "preview")
    page.get_by_role("button", name="开始拍摄").click()
    page.wait_for_url("**/hooks/done/")
    frames = pages.received["camera"]["FILES"]["frames"]
    assert len(frames) == 3
    assert all(Image.open(io.BytesIO(frame)).size == (640, 480) for frame in frames)


def test_camera_denied_reveals_the_file_input(
    launch: Callable[..., Browser], face_cam: Path, live_server: object, shot: Shots
) -> None:
    page = phone(launch(face_cam, camera_allowed=False)).new_page()
    open_hook(page, live_server, "camera")
    expect(page.get_by_role("alert")).to_have_text("无法使用摄像头")
    expect(page.locator("input[name=video]")).to_be_visible()
    expect(page.get_by_role("button", name="开始拍摄")).to_be_hidden()
    axe_check(page)
    shot(page, "denied")


def test_recording_too_short_is_refused(page: Page, live_server: object) -> None:
    open_hook(page, live_server, "video")
    page.get_by_role("button", name="开始录制").click()
    page.get_by_role("button", name="结束录制").click()
    expect(page.get_by_role("alert")).to_have_text("视频太短")
    expect(page.get_by_role("button", name="提交视频")).to_be_hidden()
    page.get_by_role("button", name="重新录制").click()
    expect(page.get_by_role("button", name="开始录制")).to_be_visible()


def webm_seconds(data: bytes) -> float:
    """The length of a recording from its last video frame's time (MediaRecorder writes no duration)."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        last = max(packet.pts for packet in container.demux(stream) if packet.pts is not None)
        return float(last * stream.time_base)


@pytest.mark.slow
def test_fifteen_second_recording_arrives_as_webm(page: Page, live_server: object, shot: Shots) -> None:
    open_hook(page, live_server, "video")
    axe_check(page)
    shot(page, "ready")
    page.get_by_role("button", name="开始录制").click()
    expect(page.get_by_role("button", name="结束录制")).to_be_visible()
    shot(page, "recording")
    # The recorder stops by itself at the end of the countdown.
    expect(page.get_by_role("button", name="提交视频")).to_be_visible(timeout=30_000)
    shot(page, "recorded")
    page.get_by_role("button", name="提交视频").click()
    page.wait_for_url("**/hooks/done/")
    (video,) = pages.received["video"]["FILES"]["video"]
    assert video[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a WebM file
    assert webm_seconds(video) >= 14


def test_read_all_enables_agree_after_every_document(page: Page, live_server: object) -> None:
    open_hook(page, live_server, "read")
    agree = page.get_by_label("同意继续")
    expect(agree).to_be_disabled()
    for name in ("告知书", "申请表"):
        with page.context.expect_page() as opened:
            page.get_by_role("link", name=name).click()
        opened.value.close()
    expect(agree).to_be_enabled()
    axe_check(page)


def test_poll_replaces_content_then_goes_on(page: Page, live_server: object) -> None:
    open_hook(page, live_server, "poll")
    page.wait_for_url("**/hooks/done/")
    assert len(pages.poll_calls) == 2


def test_entry_page_scans_our_qr_and_opens_the_link(
    launch: Callable[..., Browser], tmp_path: Path, live_server: object, shot: Shots
) -> None:
    link = f"{live_server.url}/h/scanned-token"  # type: ignore[attr-defined]
    page = phone(launch(qr_camera(tmp_path / "qr.y4m", link))).new_page()
    page.goto(f"{live_server.url}/buyer/")  # type: ignore[attr-defined]
    scripts_ready(page)
    expect(page.get_by_role("heading", name="一手房签约公证")).to_be_visible()
    axe_check(page)
    shot(page, "entry")
    page.get_by_role("button", name="立即扫码").click()
    page.wait_for_url(link)


def test_entry_page_refuses_a_qr_of_another_site(
    launch: Callable[..., Browser], tmp_path: Path, live_server: object, shot: Shots
) -> None:
    page = phone(launch(qr_camera(tmp_path / "qr.y4m", "https://elsewhere.example/h/token"))).new_page()
    page.goto(f"{live_server.url}/buyer/")  # type: ignore[attr-defined]
    scripts_ready(page)
    page.get_by_role("button", name="立即扫码").click()
    expect(page.get_by_role("alert")).to_have_text("这不是本公证处的办理二维码，请扫描经办人出示的二维码。")
    shot(page, "not-ours")
    assert "/buyer/" in page.url


@pytest.mark.parametrize("name", ["upload", "signature", "camera", "video", "read"])
def test_pages_fit_a_360_pixel_phone(page: Page, live_server: object, name: str) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    open_hook(page, live_server, name)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360


def test_language_switch_keeps_the_page(page: Page, live_server: object, shot: Shots) -> None:
    open_hook(page, live_server, "upload")
    page.get_by_role("button", name="English").click()
    expect(page.locator("[data-step]")).to_have_text("Step 2 of 9")
    assert page.url.endswith("/hooks/upload/")
    shot(page, "english")
    page.get_by_role("button", name="繁體中文").click()
    expect(page.locator("[data-step]")).to_have_text("第 2 步 / 共 9 步")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
    axe_check(page)


def test_recorder_without_camera_sends_a_chosen_file(
    launch: Callable[..., Browser], face_cam: Path, live_server: object, shot: Shots
) -> None:
    page = phone(launch(face_cam, camera_allowed=False)).new_page()
    open_hook(page, live_server, "video")
    expect(page.get_by_role("alert")).to_have_text("无法使用摄像头或麦克风")
    expect(page.get_by_role("button", name="开始录制")).to_be_hidden()
    shot(page, "denied")
    page.set_input_files(
        "input[name=video]", {"name": "v.webm", "mimeType": "video/webm", "buffer": b"\x1a\x45\xdf\xa3"}
    )
    page.get_by_role("button", name="提交视频").click()
    page.wait_for_url("**/hooks/done/")
    assert pages.received["video"]["FILES"]["video"] == [b"\x1a\x45\xdf\xa3"]
