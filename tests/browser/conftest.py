"""Headless Chromium at a phone's size with a fake camera, screenshots per step and an accessibility check.

Browser tests are marked ``browser``; they need /usr/bin/chromium (``scripts/setup --test`` installs it).
Screenshots go to $ECANCEL_TEST_ARTIFACTS (default ``test-artifacts/`` at the repository root).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the test's thread; the test's own database calls are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from django.core.servers.basehttp import ThreadedWSGIServer
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from pytest_django.live_server_helper import LiveServer

from tests.browser.fakecam import face_camera

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
BASE_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
]


# The test database is SQLite in memory, one connection the live server's threads and the test share. Two requests
# on it at once break each other ("database table is locked": a page's dozen pictures, a poll during a post), where a
# deployment's connections each wait their turn. So the database work of a request, and the work a test runs
# beside the server (``staff.in_worker``), take turns on this lock.
DATABASE_TURN = threading.Lock()


class OneRequestAtATime(ThreadedWSGIServer):
    """The live server's HTTP server: connections in threads as before, each request's view under DATABASE_TURN."""

    def set_app(self, application: Callable[..., Iterable[bytes]]) -> None:
        def in_turn(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            with DATABASE_TURN:
                return application(environ, start_response)

        super().set_app(in_turn)


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest, django_db_setup: None) -> Iterator[LiveServer]:
    """pytest-django's live server, its requests taking turns on the database (OneRequestAtATime)."""
    address = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    server = LiveServer(address, start=False)
    server.thread.server_class = OneRequestAtATime
    server.start()
    yield server
    server.stop()


def artifacts_dir() -> Path:
    return Path(os.environ.get("ECANCEL_TEST_ARTIFACTS") or ROOT / "test-artifacts")


@pytest.fixture
def playwright(monkeypatch: pytest.MonkeyPatch) -> Iterator[Playwright]:
    """Per test, not per session: Playwright's sync API keeps an event loop running in the thread while it is open,
    which would break later tests in the same worker that run asyncio themselves (PDF signing). The test's own
    database calls are synchronous code inside that loop, hence DJANGO_ALLOW_ASYNC_UNSAFE for its duration."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def launch(playwright: Playwright) -> Iterator[Callable[..., Browser]]:
    """Start Chromium with a camera file; ``camera_allowed=False`` makes every camera request refused."""
    browsers: list[Browser] = []

    def start(camera: Path, *, camera_allowed: bool = True) -> Browser:
        permission = "--use-fake-ui-for-media-stream" if camera_allowed else "--deny-permission-prompts"
        args = [*BASE_ARGS, permission, f"--use-file-for-fake-video-capture={camera}"]
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        browsers.append(browser)
        return browser

    yield start
    for browser in browsers:
        browser.close()


def phone(browser: Browser, storage_state: Any = None) -> BrowserContext:
    """A new phone-sized browser context: its own cookies (a second device), or those of ``storage_state``."""
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        storage_state=storage_state,
    )
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def relay_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages wait in the outbox until the test delivers them (``staff.deliver_everything``), after the page is
    shown, so a page must pick up the other side's answers by polling."""
    monkeypatch.setattr("ecancel.exchange.services._kick_relay", lambda: None)


@pytest.fixture
def face_cam(tmp_path: Path) -> Path:
    return face_camera(tmp_path / "face.y4m")


@pytest.fixture
def page(launch: Callable[..., Browser], face_cam: Path) -> Page:
    """A phone page (390×844) whose camera shows a face."""
    return phone(launch(face_cam)).new_page()


class Shots:
    """Saves a numbered full-page screenshot per step under the artefact folder, one folder per test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def __call__(self, page: Page, step: str) -> Path:
        self.count += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.count:02d}-{step}.png"
        page.screenshot(path=path, full_page=True)
        return path


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shots:
    name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    return Shots(artifacts_dir() / "browser" / name)


@cache
def axe_source() -> str:
    return Path(AXE).read_text()


def axe_check(page: Page) -> None:
    """Run the vendored axe-core on the page; fail on any serious or critical violation."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol, not as a <script> tag: the pages' Content-Security-Policy allows
        # no inline script, and the tests run under it.
        page.evaluate(axe_source() + "\n;0")
    violations = page.evaluate("async () => (await window.axe.run(document, {resultTypes: ['violations']})).violations")
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    report = "\n".join(
        f"{v['impact']} {v['id']}: {v['help']} — " + "; ".join(node["target"][0] for node in v["nodes"][:3])
        for v in bad
    )
    assert not bad, f"accessibility violations on {page.url}:\n{report}"


def scripts_ready(page: Page) -> None:
    """Wait until the buyer scripts have set up every hook on the page."""
    page.wait_for_selector("html[data-scripts-ready=true]", state="attached")
