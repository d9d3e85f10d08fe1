"""One case through every page in Chromium: the operator logs in, files the cancellation and pushes it; the QR comes
back to the operator's page; two buyers (one with a mainland ID card, one with a passport) read it and finish on
their own phones; a notary logs in, finds the case in the review queue and approves it; the operator's page then
shows the cancelled filing and its certificate, which downloads.

Only the relay and the office's jobs are run by the test (``deliver_everything``), once each page is shown, so every
answer from the other side reaches a page the way it does in production. Screenshots: one folder for the staff
pages, one per buyer's phone (``test-artifacts/browser/…``).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from pytest_django import Settings

from ecancel.accounts.models import Organisation, Role, User
from ecancel.buyers.models import Journey
from ecancel.cancellation.models import Application
from ecancel.cancellation.transitions import ApplicationStatus
from ecancel.filing.models import FiledContract
from ecancel.filing.transitions import ContractStatus
from ecancel.identity.id_numbers import IdType
from ecancel.notary.models import NotaryCase
from ecancel.notary.transitions import CaseStatus
from tests.browser.conftest import Shots, phone
from tests.browser.phone_walk import Walk, mainland_to_done, passport_to_done
from tests.browser.staff import DESKTOP, deliver_everything, log_in, push_and_confirm, show
from tests.factories import BuyerFactory, FiledContractFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("relay_by_hand"),
]


@pytest.fixture(autouse=True)
def null_identity(settings: Settings) -> None:
    settings.ECANCEL_IDENTITY_PROVIDER = "null"
    settings.ECANCEL_IDENTITY_NULL_OUTCOMES = {}


@pytest.fixture(autouse=True)
def public_url(settings: Settings, live_server: Any) -> None:
    """The QR's link leads to the live server, as it leads to the notary office's site in production."""
    settings.ECANCEL_PUBLIC_URL = live_server.url


@pytest.fixture
def contract(developer: Organisation) -> FiledContract:
    """A filed contract of two buyers: a mainland ID card holder and a passport holder."""
    contract = FiledContractFactory(seller=developer)
    BuyerFactory(contract=contract, position=1, share="50%")
    BuyerFactory(
        contract=contract, position=2, share="50%", id_type=IdType.PASSPORT, id_number="E12345678", region="美国"
    )
    return contract


def read_qr(page: Page) -> str:
    """The link in the QR code as the page draws it, read from a picture of it as a phone's camera would."""
    picture = Image.open(io.BytesIO(page.get_by_role("img", name="买受人扫码二维码").screenshot()))
    found = [r.text for r in zxingcpp.read_barcodes(picture) if r.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(found) == 1, found
    return found[0]


def file_and_push(page: Page, shot: Shots, contract: FiledContract, notary_office: Organisation) -> Application:
    """The operator, from the contract list to the push: the application made, filled, checked and pushed."""
    page.get_by_role("link", name=contract.contract_no).click()
    page.wait_for_url(f"**/operator/contracts/{contract.pk}/")
    show(page, shot, "contract")
    page.get_by_role("link", name="新建 商品房买卖合同注销-电子公证").click()
    page.wait_for_url("**/cancellation/new/")
    show(page, shot, "new")
    page.get_by_role("button", name="确定").click()
    page.wait_for_url("**/operator/applications/*/")
    application = Application.objects.get(contract=contract)
    expect(page.locator("#push-button")).to_be_disabled()

    page.get_by_label("双方协商一致解除", exact=True).check()
    applicants = page.locator("fieldset.applicant")
    expect(applicants).to_have_count(2)
    for index, buyer in enumerate(contract.buyers.order_by("position")):
        expect(page.locator(f"input[name='applicants-{index}-name']")).to_have_value(buyer.name)
        expect(page.locator(f"select[name='applicants-{index}-id_type']")).to_have_value(buyer.id_type)
        # The operator types each buyer's document number from the card (it must match the contract's) and the
        # address to write to.
        page.locator(f"input[name='applicants-{index}-id_number']").fill(buyer.id_number)
        page.locator(f"input[name='applicants-{index}-address']").fill(f"中山市东区兴中道{index + 8}号")
    page.locator("select[name=notary_office]").select_option(label=notary_office.name)
    show(page, shot, "draft-filled")
    page.locator("#save-button").click()
    expect(page.locator("input[name='applicants-1-address']")).to_have_value("中山市东区兴中道9号")
    expect(page.locator("#checks li.is-failed")).to_have_count(0)
    show(page, shot, "checks-passed")
    push_and_confirm(page, shot, application.pk)
    show(page, shot, "pushed")
    return application


def assert_pictures_shown(page: Page) -> None:
    """Every picture of the evidence loads (they load lazily, so each is scrolled to first)."""
    pictures = page.locator("img")
    expect(pictures.first).to_be_visible()
    for index in range(pictures.count()):
        pictures.nth(index).scroll_into_view_if_needed()
    page.wait_for_function("() => [...document.images].every(picture => picture.complete)")
    broken = page.evaluate("() => [...document.images].filter(picture => !picture.naturalWidth).map(p => p.src)")
    assert broken == [], broken


def approve(page: Page, shot: Shots, case: NotaryCase) -> None:
    """The notary, from the landing page through the review queue to 核准出证."""
    page.get_by_role("link", name="审核", exact=True).click()
    page.wait_for_url("**/notary/review/")
    row = page.locator(f"tr[data-case='{case.case_number}']")
    expect(row).to_be_visible()
    show(page, shot, "review-queue")
    row.get_by_role("link", name=case.case_number).click()
    page.wait_for_url(f"**/notary/review/{case.pk}/")
    assert_pictures_shown(page)
    show(page, shot, "review-case")
    page.get_by_label("我已核对全部材料，决定核准并出具公证书").check()
    page.get_by_role("button", name="核准出证").click()
    expect(page.get_by_text("公证书正在签章")).to_be_visible()
    show(page, shot, "review-approved")


def test_one_case_through_the_operator_both_buyers_phones_and_the_notary(
    launch: Callable[..., Browser],
    face_cam: Path,
    live_server: Any,
    developer: Organisation,
    notary_office: Organisation,
    operator: User,
    contract: FiledContract,
    shot: Shots,
    tmp_path: Path,
) -> None:
    base = live_server.url
    browser = launch(face_cam)
    errors: list[str] = []

    desk = log_in(browser, base, operator, DESKTOP, shot)
    desk.on("pageerror", lambda error: errors.append(str(error)))
    expect(desk.get_by_role("link", name=contract.contract_no)).to_be_visible()
    show(desk, shot, "contracts")
    application = file_and_push(desk, shot, contract, notary_office)

    deliver_everything()  # the office accepts the case, signs its documents and answers with the QR
    expect(desk.locator("#qr svg")).to_be_visible(timeout=15_000)  # by polling, no reload
    expect(desk.locator("#application-status")).to_have_text("待买受人认证")
    show(desk, shot, "qr")
    link = read_qr(desk)
    assert link == desk.locator("#handoff-url").input_value() and link.startswith(f"{base}/h/")

    mainland = Walk(phone(browser).new_page(), base, Shots(shot.folder / "buyer-1-mainland-id"), tilt=2)
    mainland.open(link)
    mainland_to_done(mainland, 1, launch=launch, folder=tmp_path)
    passport = Walk(phone(browser).new_page(), base, Shots(shot.folder / "buyer-2-passport"), tilt=-3)
    passport.open(link)
    passport_to_done(passport, 2)
    journeys = Journey.objects.filter(buyer__case__application_ref=application.pk).order_by("buyer__position")
    assert [(j.status, j.path) for j in journeys] == [("submitted", "face"), ("submitted", "document_video")]

    deliver_everything()  # both submissions reach the operator
    expect(desk.locator("#application-status")).to_have_text("公证审核中", timeout=15_000)
    expect(desk.locator("#buyers-progress").get_by_text("已提交")).to_have_count(2)
    show(desk, shot, "under-review")

    case = NotaryCase.objects.get(application_ref=application.pk)
    assert case.status == CaseStatus.UNDER_REVIEW
    notary = UserFactory(organisation=notary_office, role=Role.NOTARY, display_name="陈公证")
    approve(log_in(browser, base, notary, DESKTOP, shot), shot, case)

    deliver_everything()  # the certificate is signed, sent to the filing side, and cancels the filing
    expect(desk.locator("#application-status")).to_have_text("已注销", timeout=15_000)
    # The notice the push left ("waiting for the office to accept") went with the status it was about.
    expect(desk.get_by_text("电子材料已生成并推送公证处")).to_have_count(0)
    certificate = desk.locator("#certificate")
    expect(certificate).to_contain_text(NotaryCase.objects.get(pk=case.pk).certificate_no)
    show(desk, shot, "cancelled-with-certificate")
    with desk.expect_download() as download:
        certificate.get_by_role("link", name="下载公证书（PDF）").click()
    pdf = Path(download.value.path()).read_bytes()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.CANCELLED
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == application.certificate.sha256
    assert FiledContract.objects.get(pk=contract.pk).status == ContractStatus.CANCELLED
    assert errors == []
