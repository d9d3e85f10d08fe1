"""收案 from real, signed materials.pushed messages delivered through the exchange."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from PIL import Image
from pypdf import PdfReader

from ecancel.accounts.models import SELF_TEST_SELLER_ID, NotaryOffice, Organisation, OrganisationKind
from ecancel.audit.models import AuditEvent
from ecancel.buyers.models import HandoffToken
from ecancel.documents import samples
from ecancel.documents.models import StoredDocument
from ecancel.documents.verification import verify_pdf
from ecancel.exchange.messages import MaterialsRepushed
from ecancel.exchange.models import InboxMessage
from ecancel.notary.models import CaseNumberCounter, IntakeRefusal, MaterialKind, NotaryCase, NumberSeries, PartyRole
from ecancel.notary.services.intake import SIGNED_KINDS
from ecancel.notary.transitions import CaseStatus
from tests.at_rest import assert_sealed_at_rest
from tests.factories import DeveloperFactory, NotaryOfficeFactory
from tests.notary.helpers import _rendered, filing_pdfs, push_body, send, sent, signed_filing_pdf

pytestmark = pytest.mark.django_db


def pdf_text(pdf: bytes) -> str:
    return re.sub(r"\s+", "", "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages))


def test_every_pushed_material_is_sealed_at_rest(received_case: NotaryCase) -> None:
    numbers = [party.id_number for party in received_case.parties.all()]
    for material in received_case.materials.all():
        with material.content.open("rb") as handle:
            content = handle.read()
        assert hashlib.sha256(content).hexdigest() == material.sha256
        printed = re.findall(r"\d{17}[\dX]", pdf_text(content)) if material.content_type == "application/pdf" else []
        if material.kind == MaterialKind.APPLICATION_FORM:
            assert printed, "the application form prints ID numbers in full"
        assert_sealed_at_rest(material.content.name, id_numbers=[*numbers, *printed])


def test_push_opens_a_case_with_parties_materials_documents_and_a_qr_link(
    push: Any, seller: Organisation, office: NotaryOffice, client: Client
) -> None:
    before = timezone.now()
    body = push()

    case = NotaryCase.objects.get(application_ref=body["application_ref"])
    year = timezone.localtime(case.received_at).year
    assert case.case_number == f"({year})中证受字第0001号"
    assert case.status == CaseStatus.AWAITING_BUYERS
    assert case.office == office and case.seller == seller
    assert case.contract_no == samples.CONTRACT["contract_no"]
    assert case.agreement_no == samples.AGREEMENT_NO

    buyers = list(case.parties.filter(role=PartyRole.BUYER).order_by("position"))
    assert [(b.name, b.id_number, b.is_mainland) for b in buyers] == [
        (b["name"], b["id_number"], True) for b in samples.BUYERS
    ]

    files = filing_pdfs(seller)
    materials = {m.attachment_name: m for m in case.materials.all()}
    assert set(materials) == set(files)
    for name, content in files.items():
        material = materials[name]
        assert material.sha256 == hashlib.sha256(content).hexdigest()
        # The two forms are signed by the seller; its licence and ID pictures are not documents it signs.
        signed = material.kind in SIGNED_KINDS
        assert (material.signer == seller.name and material.signature_checked) is signed
        with material.content.open("rb") as handle:
            assert handle.read() == content
        assert name not in material.content.name  # server-chosen file names
    assert materials["termination-agreement.pdf"].kind == MaterialKind.TERMINATION_AGREEMENT

    documents = {d.kind: d for d in StoredDocument.objects.filter(subject_ref=f"case:{case.pk}")}
    assert set(documents) == {"notarization_application", "notarization_notice", "intake_record"}
    for document in documents.values():
        assert document.issuer == office.organisation
        with document.content.open("rb") as handle:
            pdf = handle.read()
        report = verify_pdf(pdf)
        assert report.valid, report.problems
        assert {s.signer_organisation for s in report.signatures} == {office.organisation.name}
    with documents["intake_record"].content.open("rb") as handle:
        record = pdf_text(handle.read())
    assert case.case_number in record
    for material in materials.values():
        assert material.sha256 in record

    token = HandoffToken.objects.get(case=case)
    assert token.invalidated_at is None
    assert abs(token.expires_at - case.received_at - dt.timedelta(days=office.handoff_days)) < dt.timedelta(minutes=1)

    (accepted,) = sent(office.organisation, "case.accepted")
    assert accepted["application_ref"] == body["application_ref"] and accepted["version"] == 1
    assert accepted["case_no"] == case.case_number and accepted["case_ref"] == str(case.pk)
    assert dt.datetime.fromisoformat(accepted["handoff_expires_at"]) == token.expires_at
    url = accepted["handoff_url"]
    assert url.startswith(f"{settings.ECANCEL_PUBLIC_URL}/h/")
    raw = urlsplit(url).path.rsplit("/", 1)[1]
    assert len(raw) >= 43 and hashlib.sha256(raw.encode()).hexdigest() == token.token_hash
    assert raw not in str(HandoffToken.objects.values_list().get(pk=token.pk))
    page = client.get(urlsplit(url).path)
    assert page.status_code == 302 and page["Location"] == "/b/"

    tags = list(AuditEvent.objects.filter(occurred_at__gte=before).values_list("tag", flat=True))
    assert "notary.case.opened" in tags and "buyers.handoff.issued" in tags
    assert not sent(office.organisation, "case.refused")


def tampered(pdf: bytes) -> bytes:
    """One byte changed inside the signed content (a digit of the contract number in the page stream)."""
    position = len(pdf) // 3
    return pdf[:position] + bytes([pdf[position] ^ 0x01]) + pdf[position + 1 :]


def assert_refused(office: NotaryOffice, body: dict[str, Any], *words: str) -> str:
    assert not NotaryCase.objects.filter(application_ref=body["application_ref"]).exists()
    assert not HandoffToken.objects.exists()
    refusal = IntakeRefusal.objects.get(application_ref=body["application_ref"])
    (message,) = sent(office.organisation, "case.refused")
    assert message["application_ref"] == body["application_ref"] and message["version"] == body["version"]
    # The message's code tells the filing side the push failed at intake; the row keeps the precise cause.
    assert message["code"] == "materials_invalid" and message["reason"] == refusal.reason
    for word in words:
        assert word in message["reason"], message["reason"]
    assert not sent(office.organisation, "case.accepted")
    assert AuditEvent.objects.filter(tag="notary.intake.refused", result="denied").exists()
    return refusal.code


def test_the_self_tests_case_is_numbered_in_its_own_series_not_the_offices_register(
    push: Any, office: NotaryOffice
) -> None:
    self_test_seller = DeveloperFactory(
        organisation__id=SELF_TEST_SELLER_ID,
        organisation__name="ecancel 自检开发企业（测试）",
        organisation__kind=OrganisationKind.DEVELOPER,
    ).organisation
    files = filing_pdfs(self_test_seller)
    body = push_body(seller=self_test_seller, office=office.organisation, files=files)
    send(
        sender=self_test_seller,
        recipient=office.organisation,
        message_type="materials.pushed",
        body=body,
        attachments=files,
    )
    exercise = NotaryCase.objects.get(application_ref=body["application_ref"])
    year = exercise.year
    assert exercise.case_number == f"({year})中证受字自检第0001号" and exercise.number_series == NumberSeries.SELF_TEST
    assert exercise.is_self_test
    assert not CaseNumberCounter.objects.filter(office=office, series=NumberSeries.REGISTER).exists()

    real = NotaryCase.objects.get(application_ref=push()["application_ref"])
    assert real.case_number == f"({year})中证受字第0001号" and not real.is_self_test, "the register starts at one"


def test_tampered_pdf_is_refused_and_the_seller_told_why(push: Any, seller: Organisation, office: NotaryOffice) -> None:
    files = dict(filing_pdfs(seller))
    files["termination-agreement.pdf"] = tampered(files["termination-agreement.pdf"])
    body = push(files=files)
    code = assert_refused(office, body, "商品房买卖合同终止协议", "电子签名无效", "重新生成")
    assert code == "materials_invalid"
    # The inbox applied the message (the refusal is its effect), it did not reject it.
    assert InboxMessage.objects.get(message_type="materials.pushed").status == "applied"


def test_pdf_signed_by_another_company_is_refused(push: Any, seller: Organisation, office: NotaryOffice) -> None:
    other = DeveloperFactory(organisation__name="另一家置业有限公司（测试）").organisation
    files = dict(filing_pdfs(seller))
    files["application-form.pdf"] = signed_filing_pdf("cancellation_form", other.pk, other.name)
    body = push(files=files)
    assert_refused(office, body, "商品房买卖合同注销备案申请表", f"不是由{seller.name}签章", other.name)


def test_unsigned_pdf_is_refused(push: Any, seller: Organisation, office: NotaryOffice) -> None:
    files = dict(filing_pdfs(seller))
    files["application-form.pdf"] = _rendered("cancellation_form")
    body = push(files=files)
    assert_refused(office, body, "商品房买卖合同注销备案申请表", "电子签名无效")


def test_unreadable_pdf_is_refused_not_left_failing(push: Any, seller: Organisation, office: NotaryOffice) -> None:
    files = dict(filing_pdfs(seller))
    files["application-form.pdf"] = b"%PDF-1.7\n" + b"\x00garbage" * 64
    body = push(files=files)
    assert_refused(office, body, "商品房买卖合同注销备案申请表", "不是有效的 PDF")
    assert InboxMessage.objects.get(message_type="materials.pushed").status == "applied"


def test_push_naming_another_office_is_refused(push: Any, office: NotaryOffice) -> None:
    from tests.factories import NotaryOfficeFactory

    elsewhere = NotaryOfficeFactory().organisation
    body = push(named_office=elsewhere)
    code = assert_refused(office, body, "公证处不一致")
    assert code == "wrong_notary_office"


def test_repush_opens_a_new_case_and_kills_the_old_qr(
    push: Any, seller: Organisation, office: NotaryOffice, client: Client
) -> None:
    first = push()
    old = NotaryCase.objects.get(application_ref=first["application_ref"])
    old_url = sent(office.organisation, "case.accepted")[0]["handoff_url"]

    changes = [{"field": "applicants.1.phone", "label": "买受人李玥的联系电话", "before": "1390", "after": "1391"}]
    push(
        message_type=MaterialsRepushed.TYPE,
        application_ref=first["application_ref"],
        version=2,
        changes=changes,
    )
    new = NotaryCase.objects.get(application_ref=first["application_ref"], application_version=2)
    old.refresh_from_db()
    assert old.status == CaseStatus.SUPERSEDED and old.closed_at is not None
    assert new.previous_case == old and new.changes == [changes[0]]
    assert new.case_number.endswith("第0002号") and new.case_number != old.case_number

    accepted = sent(office.organisation, "case.accepted")
    assert len(accepted) == 2 and accepted[1]["version"] == 2
    new_url = accepted[1]["handoff_url"]
    assert new_url != old_url
    assert "已失效" in client.get(urlsplit(old_url).path).content.decode()
    assert client.get(urlsplit(new_url).path)["Location"] == "/b/"


def test_a_stale_version_changes_nothing(push: Any, office: NotaryOffice) -> None:
    first = push(version=2)
    push(application_ref=first["application_ref"], version=1)
    assert NotaryCase.objects.filter(application_ref=first["application_ref"]).count() == 1
    rejected = InboxMessage.objects.filter(message_type="materials.pushed", status="rejected")
    assert rejected.count() == 1
    assert "第 2 版" in rejected.get().reason
    assert len(sent(office.organisation, "case.accepted")) == 1


def test_repush_to_another_office_closes_the_old_case_without_linking_it(
    push: Any, seller: Organisation, office: NotaryOffice
) -> None:
    from tests.factories import NotaryOfficeFactory
    from tests.notary.helpers import make_case

    elsewhere = make_case(NotaryOfficeFactory(), seller)
    push(
        message_type=MaterialsRepushed.TYPE,
        application_ref=elsewhere.application_ref,
        version=2,
        changes=[{"field": "notary_office", "label": "公证处", "before": "甲", "after": "乙"}],
    )
    new = NotaryCase.objects.get(application_ref=elsewhere.application_ref, application_version=2)
    elsewhere.refresh_from_db()
    assert new.office == office and new.previous_case is None
    assert elsewhere.status == CaseStatus.SUPERSEDED


def test_agent_and_power_of_attorney_are_received(push: Any, seller: Organisation) -> None:
    picture = io.BytesIO()
    Image.new("RGB", (60, 40), (240, 240, 240)).save(picture, format="PNG")
    files = {**filing_pdfs(seller), "power-of-attorney.png": picture.getvalue()}
    agent = {
        "name": "周代理",
        "id_type": "mainland_id",
        "id_number": "442000199001010018",
        "phone": "13700000009",
        "acts_for": [2],
        "power_of_attorney": "power-of-attorney.png",
    }
    body = push(files=files, agent=agent, power_of_attorney=files["power-of-attorney.png"])
    case = NotaryCase.objects.get(application_ref=body["application_ref"])
    party = case.parties.get(role=PartyRole.AGENT)
    assert (party.name, party.acts_for) == ("周代理", [2])
    letter = case.materials.get(kind=MaterialKind.POWER_OF_ATTORNEY)
    assert letter.content_type == "image/png" and not letter.signature_checked
    assert letter.content.name.endswith(".png")
    application = StoredDocument.objects.get(subject_ref=f"case:{case.pk}", kind="notarization_application")
    with application.content.open("rb") as handle:
        text = pdf_text(handle.read())
    assert "周代理" in text and samples.BUYERS[1]["name"] in text


def test_a_reference_another_seller_pushed_is_refused_back_and_stores_nothing(
    push: Any, seller: Organisation, office: NotaryOffice
) -> None:
    """The owner's first push was refused (no case yet): the reference is still the owner's, not the next sender's."""
    owned = push(named_office=NotaryOfficeFactory().organisation)
    reference = owned["application_ref"]
    assert IntakeRefusal.objects.get(application_ref=reference).seller == seller
    attacker = DeveloperFactory().organisation
    files = filing_pdfs(attacker)
    body = push_body(seller=attacker, office=office.organisation, files=files, application_ref=reference, version=2)
    send(sender=attacker, recipient=office.organisation, message_type="materials.pushed", body=body, attachments=files)

    assert not NotaryCase.objects.filter(application_ref=reference).exists()
    assert list(IntakeRefusal.objects.filter(application_ref=reference).values_list("seller", flat=True)) == [seller.pk]
    answer = sent(office.organisation, "case.refused")[-1]
    assert (answer["application_ref"], answer["version"]) == (reference, 2) and "其他出卖人" in answer["reason"]
    event = AuditEvent.objects.get(tag="notary.intake.refused", data__code="foreign_application")
    assert event.data["sender"] == str(attacker.pk)

    push(application_ref=reference, version=2)
    assert NotaryCase.objects.get(application_ref=reference).seller == seller
