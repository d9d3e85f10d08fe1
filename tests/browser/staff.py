"""Staff in Chromium: a session as after a login, or the login itself through its pages; and the relay and the
office's jobs run by hand, so that a test decides when each message arrives."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from django.db import connections
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, BrowserContext, Page, expect

from ecancel.accounts.models import User
from ecancel.core.context import RequestContext
from ecancel.exchange.services import relay_due
from ecancel.notary.services.acceptance import cases_accept_pending
from ecancel.notary.services.approval import cases_certify_pending
from tests.accounts.conftest import totp_code
from tests.browser.conftest import DATABASE_TURN, PHONE, Shots, axe_check
from tests.conftest import logged_in_client
from tests.factories import TEST_PASSWORD

DESKTOP = {"width": 1366, "height": 900}


def in_worker(work: Callable[[], None]) -> None:
    """Run ``work`` in a thread of its own on the test's database connection, as the live server does, in turn
    with the server's requests.

    Playwright keeps an event loop running in the test's thread, and signing and verifying PDFs start their own.
    """
    connection = connections["default"]
    failures: list[BaseException] = []

    def run() -> None:
        connections["default"] = connection
        try:
            work()
        except BaseException as failure:  # noqa: BLE001 - raised again in the test's thread
            failures.append(failure)

    connection.inc_thread_sharing()
    try:
        with DATABASE_TURN:
            worker = threading.Thread(target=run)
            worker.start()
            worker.join()
    finally:
        connection.dec_thread_sharing()
    if failures:
        raise failures[0]


def deliver_everything() -> None:
    """What the relay and the acceptance and certification jobs do, run until nothing is left to do."""

    def work() -> None:
        ctx = RequestContext.system("test")
        for _ in range(6):
            moved = relay_due()
            moved += cases_accept_pending(older_than=timedelta(0), ctx=ctx)
            moved += cases_certify_pending(older_than=timedelta(0), ctx=ctx)
            if not moved:
                return

    in_worker(work)


def staff_context(browser: Browser, viewport: dict[str, int]) -> BrowserContext:
    context = browser.new_context(viewport=viewport, locale="zh-CN", is_mobile=viewport == PHONE)
    context.set_default_timeout(20_000)
    return context


def signed_in(browser: Browser, live_url: str, user: User, viewport: dict[str, int]) -> BrowserContext:
    """A browser whose session passed password and second factor (the test client's session, as after a login)."""
    session = logged_in_client(user).cookies["sessionid"].value
    context = staff_context(browser, viewport)
    context.add_cookies([{"name": "sessionid", "value": session, "url": live_url}])
    return context


def log_in(browser: Browser, live_url: str, user: User, viewport: dict[str, int], shot: Shots) -> Page:
    """A page logged in through the login pages: the password, then the code of the user's authenticator."""
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    page = staff_context(browser, viewport).new_page()
    page.goto(f"{live_url}/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/login/verify/")
    show(page, shot, f"login-code-{user.role}")
    page.get_by_label("动态验证码").fill(totp_code(device))
    page.get_by_role("button", name="验证并登录").click()
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    return page


def show(page: Page, shot: Shots, name: str) -> None:
    page.wait_for_load_state()
    axe_check(page)
    shot(page, name)


def push_and_confirm(page: Page, shot: Shots, application_pk: object) -> None:
    """From the saved draft page: 推送, the confirmation page, 确定; the application is then 已推送."""
    page.locator("#push-button").click()
    page.wait_for_url("**/push/")
    show(page, shot, "push-confirm")
    page.locator("#confirm-button").click()
    page.wait_for_url(f"**/operator/applications/{application_pk}/")
    expect(page.locator("#application-status")).to_have_text("已推送（待公证处受理）")
