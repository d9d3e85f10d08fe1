"""The notary console pages and the /api/notary/cases API, beyond who may see them (test_access_matrix)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from ecancel.accounts.models import NotaryOffice, Organisation, Role, User
from ecancel.accounts.services import api_token_create
from ecancel.audit.models import AuditEvent
from ecancel.consoles.notary.views import age_label
from ecancel.core.context import RequestContext
from ecancel.notary.models import NotaryCase
from ecancel.notary.selectors import case_documents
from tests.conftest import logged_in_client
from tests.factories import DeveloperFactory, UserFactory
from tests.notary.helpers import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk_client(clerk: User) -> Client:
    return logged_in_client(clerk)


def test_age_label() -> None:
    now = timezone.now()
    assert age_label(now - dt.timedelta(seconds=20), now) == "刚刚"
    assert age_label(now - dt.timedelta(minutes=5, seconds=3), now) == "5 分钟前"
    assert age_label(now - dt.timedelta(hours=3, minutes=59), now) == "3 小时前"
    assert age_label(now - dt.timedelta(days=2, hours=1), now) == "2 天前"
    assert age_label(now + dt.timedelta(seconds=5), now) == "刚刚"


def test_list_shows_the_offices_cases_with_status_names_seller_and_age(
    clerk_client: Client, office: NotaryOffice, seller: Organisation
) -> None:
    mine = make_case(office, seller, received_at=timezone.now() - dt.timedelta(hours=3, minutes=5))
    theirs = make_case(NotaryOffice.objects.exclude(pk=office.pk).first() or _other_office(), seller)
    html = clerk_client.get("/notary/").content.decode()
    assert mine.case_number in html and theirs.case_number not in html
    assert "已收案（待买受人认证）" in html and "3 小时前" in html and seller.name in html
    for buyer in mine.parties.all():
        assert buyer.name in html
        assert buyer.id_number not in html


def _other_office() -> NotaryOffice:
    from tests.factories import NotaryOfficeFactory

    office: NotaryOffice = NotaryOfficeFactory()
    return office


def test_search_by_case_number_or_contract_number(
    clerk_client: Client, office: NotaryOffice, seller: Organisation
) -> None:
    first = make_case(office, seller, contract_no="ZS2026777001")
    second = make_case(office, seller, contract_no="ZS2026888002")
    by_contract = clerk_client.get("/notary/", {"q": "888002"}).content.decode()
    assert second.case_number in by_contract and first.case_number not in by_contract
    by_number = clerk_client.get("/notary/", {"q": first.case_number}).content.decode()
    assert first.case_number in by_number and second.case_number not in by_number
    nothing = clerk_client.get("/notary/", {"q": "no-such-thing"}).content.decode()
    assert "没有符合条件的案件" in nothing
    partial = clerk_client.get("/notary/", {"q": "888002"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and second.case_number in partial


def test_list_queries_do_not_grow_with_the_page(
    clerk_client: Client, office: NotaryOffice, seller: Organisation, django_assert_max_num_queries: object
) -> None:
    for _ in range(12):
        make_case(office, seller, buyers=3)
    counts = []
    for per_page in (10, 50):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            response = clerk_client.get("/notary/", {"per_page": per_page})
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    page_two = clerk_client.get("/notary/", {"per_page": 10, "page": 2}).content.decode()
    assert "共 12 件" in page_two and "第 11–12 件" in page_two


def test_detail_shows_materials_documents_and_qr_state_with_masked_ids(
    clerk_client: Client, received_case: NotaryCase
) -> None:
    response = clerk_client.get(f"/notary/cases/{received_case.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert received_case.case_number in html
    for party in received_case.parties.all():
        assert party.name in html
        assert party.id_number not in html and party.id_number[-4:] in html
        assert party.phone not in html
    for material in received_case.materials.all():
        assert material.sha256 in html
        assert f"/notary/cases/{received_case.pk}/materials/{material.pk}?inline=1" in html
    documents = case_documents(received_case)
    assert len(documents) == 3
    for document in documents:
        assert f"/notary/cases/{received_case.pk}/documents/{document.pk}" in html
    assert "终止协议合同公证告知" in html and "收案记录" in html
    assert "有效" in html
    assert AuditEvent.objects.filter(tag="notary.case.viewed", object_id=str(received_case.pk)).exists()


def test_downloads_are_attachments_or_inline_never_sniffed(clerk_client: Client, received_case: NotaryCase) -> None:
    material = received_case.materials.get(attachment_name="application-form.pdf")
    download = clerk_client.get(f"/notary/cases/{received_case.pk}/materials/{material.pk}")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in download["Cache-Control"]
    assert hashlib.sha256(download.content).hexdigest() == material.sha256
    preview = clerk_client.get(f"/notary/cases/{received_case.pk}/materials/{material.pk}", {"inline": "1"})
    assert preview["Content-Disposition"].startswith("inline")
    assert "sandbox" in preview["Content-Security-Policy"]

    document = case_documents(received_case)[0]
    doc = clerk_client.get(f"/notary/cases/{received_case.pk}/documents/{document.pk}")
    assert doc.status_code == 200 and doc["Content-Disposition"].startswith("attachment")
    assert doc["X-Content-Type-Options"] == "nosniff"
    assert hashlib.sha256(b"".join(doc.streaming_content)).hexdigest() == document.sha256  # type: ignore[arg-type]
    doc_inline = clerk_client.get(f"/notary/cases/{received_case.pk}/documents/{document.pk}", {"inline": "1"})
    assert doc_inline["Content-Disposition"].startswith("inline")


def test_a_material_changed_on_disk_is_refused(clerk_client: Client, received_case: NotaryCase) -> None:
    material = received_case.materials.first()
    assert material is not None
    with open(default_storage.path(material.content.name), "ab") as handle:
        handle.write(b"%tampered")
    response = clerk_client.get(f"/notary/cases/{received_case.pk}/materials/{material.pk}")
    assert response.status_code == 409
    assert "已被改动" in response.content.decode()


def test_api_lists_and_shows_cases_with_masked_ids(office: NotaryOffice, received_case: NotaryCase) -> None:
    _, raw = api_token_create(organisation=office.organisation, name="test", actor=None, ctx=RequestContext.system())
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    listing = client.get("/api/notary/cases", {"q": received_case.contract_no}).json()
    assert listing["count"] == 1
    (row,) = listing["items"]
    assert row["case_number"] == received_case.case_number and row["status"] == "awaiting_buyers"
    assert row["applicants"] == [p.name for p in received_case.parties.order_by("position")]

    detail = client.get(f"/api/notary/cases/{received_case.pk}").json()
    assert detail["case_number"] == received_case.case_number
    assert {m["sha256"] for m in detail["materials"]} == {m.sha256 for m in received_case.materials.all()}
    assert {d["kind"] for d in detail["documents"]} == {
        "notarization_application",
        "notarization_notice",
        "intake_record",
    }
    assert detail["handoff"]["state"] == "valid"
    for party in detail["parties"]:
        assert "id_number" not in party
        assert (
            party["id_number_masked"].endswith(received_case.parties.get(name=party["name"]).id_number[-4:])
            and "*" in party["id_number_masked"]
        )

    missing = client.get("/api/notary/cases/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_developer_operators_get_404_everywhere(received_case: NotaryCase) -> None:
    operator = UserFactory(organisation=DeveloperFactory().organisation, role=Role.OPERATOR, password=None)
    client = logged_in_client(operator)
    assert client.get("/notary/").status_code == 404
    assert client.get(f"/notary/cases/{received_case.pk}/").status_code == 404


def test_the_case_list_polls_itself_and_a_new_case_appears_in_the_next_answer(
    clerk_client: Client, office: NotaryOffice, seller: Organisation
) -> None:
    html = clerk_client.get("/notary/", {"q": "第"}).content.decode()
    assert 'hx-trigger="every 10s"' in html and "刚刚更新" in html
    assert 'hx-get="/notary/?q=%E7%AC%AC"' in html, "the same search is asked again"
    arrived = make_case(office, seller)
    fragment = clerk_client.get("/notary/", headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment and arrived.case_number in fragment and 'hx-trigger="every 10s"' in fragment
    other = make_case(_other_office(), seller)
    assert other.case_number not in clerk_client.get("/notary/", headers={"HX-Request": "true"}).content.decode()


def test_the_case_page_shortens_hashes_and_shows_amounts_in_yuan(
    clerk_client: Client, received_case: NotaryCase
) -> None:
    html = clerk_client.get(f"/notary/cases/{received_case.pk}/").content.decode()
    material = received_case.materials.first()
    assert material is not None
    assert f'title="{material.sha256}"' in html and f"{material.sha256[:12]}…" in html
    assert f">{material.sha256}<" in html.replace('<code class="hash__full">', ">"), "full value on demand"
    assert f"{received_case.total_price:,.2f} 元" in html


def test_the_case_page_follows_the_buyers_progress_without_names_in_the_polled_part(
    clerk_client: Client, received_case: NotaryCase
) -> None:
    html = clerk_client.get(f"/notary/cases/{received_case.pk}/").content.decode()
    assert f'hx-get="/notary/cases/{received_case.pk}/status/"' in html
    viewed = AuditEvent.objects.filter(tag="notary.case.viewed").count()
    fragment = clerk_client.get(f"/notary/cases/{received_case.pk}/status/").content.decode()
    assert "未核验" in fragment and 'hx-trigger="every 5s"' in fragment
    for party in received_case.parties.all():
        assert party.name not in fragment
    assert AuditEvent.objects.filter(tag="notary.case.viewed").count() == viewed
    party = received_case.parties.filter(role="buyer").first()
    assert party is not None
    type(party).objects.filter(pk=party.pk).update(submitted_at=timezone.now())
    assert "已提交" in clerk_client.get(f"/notary/cases/{received_case.pk}/status/").content.decode()
    NotaryCase.objects.filter(pk=received_case.pk).update(status="revoked")
    assert "hx-trigger" not in clerk_client.get(f"/notary/cases/{received_case.pk}/status/").content.decode()


def test_api_case_list_reads_any_page_in_four_queries_with_applicants_in_order(
    office: NotaryOffice, django_assert_num_queries: Any
) -> None:
    seller = DeveloperFactory().organisation
    cases = [make_case(office, seller, buyers=1 + n % 3) for n in range(12)]
    _, raw = api_token_create(organisation=office.organisation, name="test", actor=None, ctx=RequestContext.system())
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.get("/api/notary/cases")  # first use records last_used_at
    for page_size in (5, 50):
        # token (with organisation), count, page of cases, their applicants
        with django_assert_num_queries(4):
            listing = client.get("/api/notary/cases", {"page_size": page_size}).json()
        assert len(listing["items"]) == min(page_size, len(cases))
    by_number = {row["case_number"]: row for row in listing["items"]}
    for case in cases:
        row = by_number[case.case_number]
        assert row["applicants"] == list(
            case.parties.filter(role="buyer").order_by("position").values_list("name", flat=True)
        )
        assert row["seller"] == seller.name and row["status_label"] == "已收案（待买受人认证）"
