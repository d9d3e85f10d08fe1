"""certificate.issued on the filing side (issue 13, item 5): only a certificate signed with a key pinned for the
office that sends it, unchanged since signing, cancels the filing; then application, contract and unit change in one
transaction."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import Organisation
from ecancel.audit.models import AuditEvent
from ecancel.cancellation.models import CERTIFICATES_FOLDER, Application, ApplicationPush, ReceivedCertificate
from ecancel.cancellation.services import answers
from ecancel.cancellation.services.files import certificate_files_sweep
from ecancel.cancellation.services.push import application_push
from ecancel.cancellation.tasks import sweep_certificate_files
from ecancel.cancellation.transitions import ApplicationStatus
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition
from ecancel.core.storage import folder_names
from ecancel.documents.pki import certificate_pin
from ecancel.documents.pki.backends import deployment_ca, organisation_signing_pins, organisation_subject
from ecancel.documents.pki.local_ca import KeyMaterial, to_asn1
from ecancel.documents.render import render_document
from ecancel.documents.samples import sample
from ecancel.documents.signing import sign_pdf
from ecancel.exchange import keys
from ecancel.exchange.envelope import parse_envelope
from ecancel.exchange.models import Transport
from ecancel.exchange.services import peer_set
from ecancel.exchange.transitions import InboxStatus
from ecancel.filing.transitions import ContractStatus, UnitStatus
from tests.at_rest import assert_sealed_at_rest
from tests.cancellation.conftest import accepted_body, answer_body, notary_says
from tests.cancellation.test_pages import page
from tests.cancellation.test_push_and_answers import all_buyers_submitted
from tests.documents.conftest import pdf_text
from tests.documents.key_stores import p12_file
from tests.documents.signing_support import append_page

pytestmark = pytest.mark.django_db

CERTIFICATE_NO = "(2026)中证字第000001号"


@pytest.fixture(scope="module")
def certificate_pdf() -> bytes:
    example = sample("certificate")
    return render_document("certificate", example.data, images=example.images).pdf


@pytest.fixture
def under_review(
    ready_application: Application,
    notary_office: Organisation,
    developer: Organisation,
    actor: Actor,
    ctx: RequestContext,
) -> Application:
    application_push(application_id=ready_application.pk, notary_office_id=notary_office.pk, actor=actor, ctx=ctx)
    notary_says(notary_office, developer, "case.accepted", accepted_body(ready_application))
    all_buyers_submitted(ready_application, notary_office, developer)
    ready_application.refresh_from_db()
    assert ready_application.status == ApplicationStatus.UNDER_REVIEW
    return ready_application


def second_key(office: Organisation) -> KeyMaterial:
    """Another key with a certificate from this deployment's own CA in the office's very name and code: trusted,
    and the same signer on paper, but not the key the office signs with."""
    return deployment_ca().organisation(dataclasses.replace(organisation_subject(office), key=f"{office.pk}-second"))


def sign_with(pdf: bytes, office: Organisation, material: KeyMaterial, tmp_path: Path) -> bytes:
    """The office's PDF signed with ``material`` (a PKCS#12 file holding it, the production backend)."""
    key_file = p12_file(tmp_path / "second.p12", material, b"second-key")
    with override_settings(
        ECANCEL_SIGNING_BACKEND="ecancel.documents.pki.PKCS12Backend",
        ECANCEL_SIGNING_KEYS={str(office.pk): str(key_file)},
        ECANCEL_SIGNING_KEYS_PASSPHRASE="second-key",
    ):
        return sign_pdf(pdf, organisation=office)


def pin_as_peer(office: Organisation, pins: list[str], ctx: RequestContext) -> None:
    """The office as if hosted elsewhere (still reached in-process here), with the pins its deployment exported."""
    peer_set(
        organisation=office,
        transport=Transport.IN_PROCESS,
        public_key=keys.public_key_b64(office.pk),
        document_signing_pins=pins,
        actor=None,
        ctx=ctx,
    )


def issue(office: Organisation, seller: Organisation, application: Application, pdf: bytes) -> Any:
    push = ApplicationPush.objects.get(application=application, version=application.version)
    body = answer_body(
        application,
        case_ref=push.case_id,
        case_no=push.case_number,
        certificate_no=CERTIFICATE_NO,
        issued_at=timezone.now().isoformat(),
        notary_name="王公证员",
        verification_code="ABCDEFGH2345",
        verification_url="http://127.0.0.1:8000/certificates/verify/",
        certificate={
            "kind": "certificate",
            "title": "公证书",
            "attachment": "certificate.pdf",
            "sha256": hashlib.sha256(pdf).hexdigest(),
        },
    )
    return notary_says(office, seller, "certificate.issued", body, {"certificate.pdf": pdf})


def test_a_valid_certificate_cancels_the_filing_in_one_go(
    under_review: Application,
    notary_office: Organisation,
    developer: Organisation,
    certificate_pdf: bytes,
    operator_client: Client,
) -> None:
    signed = sign_pdf(certificate_pdf, organisation=notary_office)
    received = issue(notary_office, developer, under_review, signed)
    assert received.status == InboxStatus.APPLIED
    under_review.refresh_from_db()
    contract = under_review.contract
    contract.refresh_from_db()
    contract.unit.refresh_from_db()
    assert under_review.status == ApplicationStatus.CANCELLED
    assert contract.status == ContractStatus.CANCELLED and contract.cancellation_ref == CERTIFICATE_NO
    assert contract.unit.status == UnitStatus.AVAILABLE
    kept = ReceivedCertificate.objects.get(application=under_review)
    assert (kept.certificate_no, kept.signed_by, kept.size) == (CERTIFICATE_NO, notary_office.name, len(signed))
    with kept.content.open("rb") as handle:
        assert handle.read() == signed
    printed = re.findall(r"\d{17}[\dX]", pdf_text(signed))
    assert printed, "the certificate prints the ID numbers in full"
    assert_sealed_at_rest(kept.content.name, id_numbers=printed)
    assert AuditEvent.objects.filter(tag="cancellation.application.cancelled_by_certificate").count() == 1
    assert AuditEvent.objects.filter(tag="filing.contract.filing_cancelled").count() == 1

    url = f"/operator/applications/{under_review.pk}/"
    html = page(operator_client, url)
    assert "公证书首页封面" in html and "公证书内容" in html and f"{url}certificate.pdf#page=2" in html
    inline = operator_client.get(f"{url}certificate.pdf")
    assert inline.status_code == 200 and inline.content == signed
    assert "attachment" not in inline["Content-Disposition"]
    download = operator_client.get(f"{url}certificate.pdf?download=1")
    assert "attachment" in download["Content-Disposition"]

    again = issue(notary_office, developer, under_review, signed)
    assert again.status == InboxStatus.REJECTED, "a second certificate for a cancelled application changes nothing"
    assert ReceivedCertificate.objects.count() == 1


def test_a_receipt_that_rolls_back_leaves_no_certificate_file_behind(
    under_review: Application,
    notary_office: Organisation,
    developer: Organisation,
    certificate_pdf: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signed = sign_pdf(certificate_pdf, organisation=notary_office)

    def filing_refuses(**kwargs: Any) -> None:
        raise InvalidTransition("合同状态不允许注销备案", code="contract_not_filed")

    monkeypatch.setattr(answers, "contract_cancel_filing", filing_refuses)
    before = set(folder_names(CERTIFICATES_FOLDER))
    refused = issue(notary_office, developer, under_review, signed)
    assert refused.status == InboxStatus.REJECTED and not ReceivedCertificate.objects.exists()
    (orphan,) = set(folder_names(CERTIFICATES_FOLDER)) - before
    monkeypatch.undo()
    assert issue(notary_office, developer, under_review, signed).status == InboxStatus.APPLIED  # sent again
    kept = ReceivedCertificate.objects.get(application=under_review).content.name
    assert kept.startswith(f"{CERTIFICATES_FOLDER}/{timezone.now():%Y/%m/%d}/") and kept != orphan
    now = timezone.now()

    assert certificate_files_sweep(now=now, ctx=RequestContext.system("test")) == [], "young: may be in flight"
    removed = certificate_files_sweep(now=now + dt.timedelta(hours=2), ctx=RequestContext.system("test"))
    # Earlier tests' rows were rolled back too, so their files go as well: only the kept certificate remains.
    assert orphan in removed and folder_names(CERTIFICATES_FOLDER) == [kept]
    assert AuditEvent.objects.filter(tag="cancellation.certificates.swept").count() == 1


def test_the_certificate_sweep_is_scheduled_and_runs() -> None:
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULE["cancellation-sweep-files"]["task"] == sweep_certificate_files.name
    assert sweep_certificate_files.delay().get() == 0


def test_another_company_cannot_fetch_the_certificate(
    under_review: Application,
    notary_office: Organisation,
    developer: Organisation,
    certificate_pdf: bytes,
    other_developer: Organisation,
) -> None:
    from ecancel.accounts.models import Role
    from tests.conftest import logged_in_client
    from tests.factories import UserFactory

    issue(notary_office, developer, under_review, sign_pdf(certificate_pdf, organisation=notary_office))
    stranger = logged_in_client(UserFactory(organisation=other_developer, role=Role.OPERATOR))
    assert stranger.get(f"/operator/applications/{under_review.pk}/certificate.pdf").status_code == 404


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        pytest.param(fault, reason, id=fault)
        for fault, reason in [
            ("other_office", "不是由发送它的公证处"),
            ("altered", "未通过验证"),
            ("not_a_pdf", "不是可读的PDF文件"),
            ("same_name_other_key", "登记的签章证书"),
            ("unpinned_for_peer", "登记的签章证书"),
            ("peer_without_pins", "exchange_peer import"),
        ]
    ],
)
def test_a_wrong_certificate_is_refused_kept_and_changes_nothing(
    fault: str,
    reason: str,
    under_review: Application,
    notary_office: Organisation,
    other_notary_office: Organisation,
    developer: Organisation,
    certificate_pdf: bytes,
    caplog: pytest.LogCaptureFixture,
    ctx: RequestContext,
    tmp_path: Path,
) -> None:
    if fault == "other_office":
        pdf = sign_pdf(certificate_pdf, organisation=other_notary_office)
    elif fault == "altered":
        pdf = append_page(sign_pdf(certificate_pdf, organisation=notary_office))
    elif fault == "not_a_pdf":
        pdf = b"%PDF-1.7 broken"
    elif fault == "same_name_other_key":
        # Valid, trusted and in the office's name: only the pin tells it from the office's own signature.
        pdf = sign_with(certificate_pdf, notary_office, second_key(notary_office), tmp_path)
    elif fault == "unpinned_for_peer":
        pin_as_peer(notary_office, [certificate_pin(to_asn1(second_key(notary_office).certificate))], ctx)
        pdf = sign_pdf(certificate_pdf, organisation=notary_office)
    else:
        pin_as_peer(notary_office, [], ctx)
        pdf = sign_pdf(certificate_pdf, organisation=notary_office)
    with caplog.at_level(logging.ERROR, logger="ecancel.cancellation.services.answers"):
        received = issue(notary_office, developer, under_review, pdf)
    assert received.status == InboxStatus.REJECTED
    assert received.reason.startswith("公证书") and reason in received.reason, received.reason
    assert received.reason_en.startswith("The notarial certificate"), received.reason_en
    kept = parse_envelope(bytes(received.raw)).attachments["certificate.pdf"]
    assert base64.b64decode(kept["data"]) == pdf, "the refused certificate is kept with the message for inspection"
    assert any(CERTIFICATE_NO in record.getMessage() for record in caplog.records), "an alert is logged"
    under_review.refresh_from_db()
    assert under_review.status == ApplicationStatus.UNDER_REVIEW
    under_review.contract.refresh_from_db()
    assert under_review.contract.status == ContractStatus.CANCELLING
    assert not ReceivedCertificate.objects.exists()
    assert not AuditEvent.objects.filter(tag="filing.contract.filing_cancelled").exists()


@pytest.mark.parametrize("signed_with", ["old_key", "new_key"])
def test_while_a_key_is_rotated_both_pinned_keys_are_accepted(
    signed_with: str,
    under_review: Application,
    notary_office: Organisation,
    developer: Organisation,
    certificate_pdf: bytes,
    ctx: RequestContext,
    tmp_path: Path,
) -> None:
    new_key = second_key(notary_office)
    [old_pin] = organisation_signing_pins(notary_office)
    new_pin = certificate_pin(to_asn1(new_key.certificate))
    pin_as_peer(notary_office, [old_pin, new_pin], ctx)
    if signed_with == "old_key":
        pdf = sign_pdf(certificate_pdf, organisation=notary_office)
    else:
        pdf = sign_with(certificate_pdf, notary_office, new_key, tmp_path)

    received = issue(notary_office, developer, under_review, pdf)

    assert received.status == InboxStatus.APPLIED, received.reason
    under_review.refresh_from_db()
    assert under_review.status == ApplicationStatus.CANCELLED
    event = AuditEvent.objects.get(tag="cancellation.application.cancelled_by_certificate")
    assert event.data["signer_keys"] == [old_pin if signed_with == "old_key" else new_pin]


def test_a_reviewed_refusal_shows_its_reason_and_the_operator_may_abandon(
    under_review: Application, notary_office: Organisation, developer: Organisation, operator_client: Client
) -> None:
    push = ApplicationPush.objects.get(application=under_review)
    body = answer_body(
        under_review,
        case_ref=push.case_id,
        case_no=push.case_number,
        code="refused",
        reason_code="identity_mismatch",
        reason="买受人2的证件照片与本人不符",
        refused_at=timezone.now().isoformat(),
    )
    assert notary_says(notary_office, developer, "case.refused", body).status == InboxStatus.APPLIED
    under_review.refresh_from_db()
    assert (under_review.status, under_review.notary_message_code) == (ApplicationStatus.REFUSED, "identity_mismatch")
    url = f"/operator/applications/{under_review.pk}/"
    html = page(operator_client, url)
    assert "身份核验不一致" in html and "买受人2的证件照片与本人不符" in html
    assert f"{url}abandon/" in html and f"{url}push/" in html, "correct and push again, or abandon"
    english = operator_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Identity check does not match" in english
