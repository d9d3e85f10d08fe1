"""The operator's and the notary clerk's consoles in headless Chromium (issue 14, item 9), at a laptop's size and a
phone's: create, fill, push, the QR appearing by itself, revoke, correct and push again; the clerk's case pages.

The relay is not kicked on commit here: the test delivers each message itself (``relay_due``), after the page is
shown, so the page must pick up the notary office's answers by polling, as it does for an operator. Every page is
screenshotted (``test-artifacts/browser/…``; ``scripts/refresh-screenshots`` copies the chosen ones into
``docs/screenshots/``) and passes the accessibility check.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import Organisation, Role, User
from ecancel.cancellation.models import Application
from ecancel.cancellation.services.drafting import application_create, application_set_reason
from ecancel.cancellation.services.push import application_push
from ecancel.cancellation.transitions import ApplicationStatus
from ecancel.core.context import RequestContext
from ecancel.exchange.services import relay_due
from ecancel.notary.models import NotaryCase, PartyRole
from ecancel.notary.services.acceptance import cases_accept_pending
from ecancel.notary.services.submission import case_party_record_submission
from tests.browser.conftest import PHONE, Shots
from tests.browser.staff import DESKTOP, deliver_everything, in_worker, push_and_confirm, show, signed_in
from tests.factories import UserFactory, contract_with_buyers
from tests.notary.review_data import submitted_buyer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("relay_by_hand"),
]


@pytest.fixture
def chromium(launch: Callable[..., Browser], face_cam: Path) -> Browser:
    return launch(face_cam)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366x900", "390x844"])
def test_operator_pushes_sees_the_qr_arrive_revokes_corrects_and_pushes_again(
    chromium: Browser,
    live_server: object,
    developer: Organisation,
    notary_office: Organisation,
    operator: User,
    shot: Shots,
    viewport: dict[str, int],
) -> None:
    base = str(live_server)
    contract = contract_with_buyers(2, seller=developer)
    page = signed_in(chromium, base, operator, viewport).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(f"{base}/operator/contracts/")
    show(page, shot, "contracts")
    page.goto(f"{base}/operator/contracts/{contract.pk}/")
    show(page, shot, "contract")
    page.locator(f"a[href$='/operator/contracts/{contract.pk}/cancellation/new/']").first.click()
    page.wait_for_url("**/cancellation/new/")
    show(page, shot, "new")
    page.get_by_role("button", name="确定").click()
    page.wait_for_url("**/operator/applications/*/")
    application = Application.objects.get(contract=contract)

    # The draft page is one form, filled top to bottom and saved once.
    page.locator("input[name=reason][value=mutual_agreement]").check()
    page.locator("select[name=notary_office]").select_option(str(notary_office.pk))
    show(page, shot, "draft")
    page.locator("#save-button").click()
    expect(page.locator("#push-button")).to_be_enabled()
    push_and_confirm(page, shot, application.pk)
    expect(page.locator("#qr")).to_have_count(0)

    deliver_everything()  # the office receives, signs its documents and answers with the QR
    expect(page.locator("#qr svg")).to_be_visible(timeout=15_000)  # by polling, no reload
    expect(page.locator("#application-status")).to_have_text("待买受人认证")
    show(page, shot, "qr")

    page.goto(f"{base}/operator/applications/{application.pk}/revoke/")
    show(page, shot, "revoke-confirm")
    page.locator("textarea[name=reason]").fill("申请人联系电话有误")
    page.locator("#confirm-button").click()
    page.wait_for_url(f"**/operator/applications/{application.pk}/")
    expect(page.locator("#revoke-badge")).to_be_visible()
    expect(page.locator("#qr")).to_have_count(0)

    deliver_everything()  # the office closes the case; the page reloads into its draft form by itself
    expect(page.locator("#draft-form")).to_be_visible(timeout=15_000)
    application.refresh_from_db()
    assert (application.status, application.version) == (ApplicationStatus.DRAFT, 2)

    page.locator("input[name='applicants-0-phone']").fill("13900001111")
    page.locator("#save-button").click()
    expect(page.locator("input[name='applicants-0-phone']")).to_have_value("13900001111")
    page.locator("#push-button").click()
    page.wait_for_url("**/push/")
    expect(page.locator("table, ul").filter(has_text="联系电话").first).to_be_visible()
    show(page, shot, "repush-confirm")
    page.locator("#confirm-button").click()
    page.wait_for_url(f"**/operator/applications/{application.pk}/")
    deliver_everything()
    expect(page.locator("#qr svg")).to_be_visible(timeout=15_000)
    show(page, shot, "qr-again")
    page.goto(f"{base}/operator/applications/")
    expect(page.get_by_text(application.number)).to_be_visible()
    show(page, shot, "applications")
    assert errors == []
    application.refresh_from_db()
    assert (application.status, application.version) == (ApplicationStatus.AWAITING_BUYERS, 2)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366x900", "390x844"])
def test_notary_clerk_case_pages(
    chromium: Browser,
    live_server: object,
    developer: Organisation,
    notary_office: Organisation,
    operator: User,
    shot: Shots,
    viewport: dict[str, int],
) -> None:
    base = str(live_server)
    contract = contract_with_buyers(2, seller=developer)
    operator_page = signed_in(chromium, base, operator, viewport).new_page()
    operator_page.goto(f"{base}/operator/contracts/{contract.pk}/cancellation/new/")
    operator_page.get_by_role("button", name="确定").click()
    operator_page.wait_for_url("**/operator/applications/*/")
    operator_page.locator("input[name=reason][value=mutual_agreement]").check()
    operator_page.locator("select[name=notary_office]").select_option(str(notary_office.pk))
    operator_page.locator("#save-button").click()
    operator_page.locator("#push-button").click()
    operator_page.locator("#confirm-button").click()
    operator_page.wait_for_url("**/operator/applications/*/")
    deliver_everything()
    case = NotaryCase.objects.get()

    visitor = chromium.new_context(viewport=viewport, locale="zh-CN").new_page()
    visitor.goto(f"{base}/login/")
    show(visitor, shot, "login")

    clerk = UserFactory(organisation=notary_office, role=Role.NOTARY_CLERK)
    page = signed_in(chromium, base, clerk, viewport).new_page()
    page.goto(f"{base}/notary/")
    expect(page.get_by_text(case.case_number)).to_be_visible()
    show(page, shot, "cases")
    page.goto(f"{base}/notary/cases/{case.pk}/")
    expect(page.get_by_text(contract.contract_no).first).to_be_visible()
    show(page, shot, "case")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366x900", "390x844"])
def test_the_other_console_pages_pass_the_accessibility_check(
    chromium: Browser,
    live_server: object,
    developer: Organisation,
    filing_authority: Organisation,
    notary_office: Organisation,
    operator: User,
    shot: Shots,
    viewport: dict[str, int],
) -> None:
    """The pages the flows above do not pass through: the abandon and agent confirmations, the password page, the
    filing officer's landing page, and the notary's review queue and calendar."""
    base = str(live_server)
    contract = contract_with_buyers(2, seller=developer)
    page = signed_in(chromium, base, operator, viewport).new_page()
    page.goto(f"{base}/operator/contracts/{contract.pk}/cancellation/new/")
    page.get_by_role("button", name="确定").click()
    page.wait_for_url("**/operator/applications/*/")
    application = Application.objects.get(contract=contract)
    for name, path in (
        ("abandon-confirm", f"/operator/applications/{application.pk}/abandon/"),
        ("password", "/account/password/"),
    ):
        page.goto(f"{base}{path}")
        show(page, shot, name)

    officer = UserFactory(organisation=filing_authority, role=Role.FILING_OFFICER)
    officer_page = signed_in(chromium, base, officer, viewport).new_page()
    officer_page.goto(f"{base}/")
    show(officer_page, shot, "filing-officer")

    admin = UserFactory(organisation=notary_office, role=Role.NOTARY_ADMIN)
    admin_page = signed_in(chromium, base, admin, viewport).new_page()
    for name, path in (("review-queue", "/notary/review/"), ("review-calendar", "/notary/review/calendar/")):
        admin_page.goto(f"{base}{path}")
        show(admin_page, shot, name)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366x900", "390x844"])
def test_a_notary_approves_on_the_review_page_and_the_operator_sees_the_certificate(
    chromium: Browser,
    live_server: object,
    developer: Organisation,
    notary_office: Organisation,
    operator: User,
    shot: Shots,
    viewport: dict[str, int],
) -> None:
    """Issue 13: the review page with both buyers' evidence, 核准出证, and the operator's page once the certificate
    came back (the buyers' own pages are walked in test_buyer_journey)."""
    base = str(live_server)
    contract = contract_with_buyers(2, seller=developer)
    actor = Actor.staff(operator)
    ctx = RequestContext.system("test")
    found: dict[str, object] = {}

    def push_and_submit() -> None:
        application = application_create(contract_id=contract.pk, actor=actor, ctx=ctx)
        application_set_reason(application_id=application.pk, reason="mutual_agreement", actor=actor, ctx=ctx)
        application_push(application_id=application.pk, notary_office_id=notary_office.pk, actor=actor, ctx=ctx)
        for _ in range(6):
            if not relay_due() + cases_accept_pending(older_than=timedelta(0), ctx=ctx):
                break
        case = NotaryCase.objects.get(application_ref=application.pk)
        for party in case.parties.filter(role=PartyRole.BUYER):
            submitted_buyer(case, party.position, seal=False)
            case_party_record_submission(party_id=party.pk, verification="face", actor=None, ctx=ctx)
        found.update(application=application, case=case)

    in_worker(push_and_submit)
    deliver_everything()
    case = NotaryCase.objects.get(pk=found["case"].pk)  # type: ignore[attr-defined]
    assert case.status == "under_review"

    notary = UserFactory(organisation=notary_office, role=Role.NOTARY, display_name="陈公证")
    page = signed_in(chromium, base, notary, viewport).new_page()
    page.goto(f"{base}/notary/review/{case.pk}/")
    show(page, shot, "review-case")
    page.get_by_label("我已核对全部材料，决定核准并出具公证书").check()
    page.get_by_role("button", name="核准出证").click()
    expect(page.get_by_text("公证书正在签章")).to_be_visible()
    show(page, shot, "review-approved")

    deliver_everything()
    application = Application.objects.get(pk=found["application"].pk)  # type: ignore[attr-defined]
    assert application.status == ApplicationStatus.CANCELLED
    case.refresh_from_db()
    operator_page = signed_in(chromium, base, operator, viewport).new_page()
    operator_page.goto(f"{base}/operator/applications/{application.pk}/")
    expect(operator_page.get_by_text(case.certificate_no).first).to_be_visible()
    show(operator_page, shot, "application-certificate")
