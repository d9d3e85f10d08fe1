from __future__ import annotations

import pytest
from django.test import Client

from ecancel.accounts.models import Organisation, Role, User
from ecancel.audit.models import AuditEvent
from ecancel.core.context import RequestContext
from ecancel.filing.models import FiledContract, Project, Unit
from ecancel.filing.services import contract_start_cancellation
from ecancel.filing.transitions import ContractStatus, UnitStatus
from tests.conftest import logged_in_client
from tests.factories import UserFactory


@pytest.fixture
def system_admin(filing_authority: Organisation) -> User:
    return UserFactory(
        organisation=filing_authority, role=Role.SYSTEM_ADMIN, is_staff=True, is_superuser=True, username="sysadmin"
    )


@pytest.fixture
def admin_client(system_admin: User) -> Client:
    return logged_in_client(system_admin)


def buyer_form(contract: FiledContract, phone: str, address: str = "") -> dict[str, str]:
    party = contract.buyers.get()
    return {
        "buyers-TOTAL_FORMS": "1",
        "buyers-INITIAL_FORMS": "1",
        "buyers-MIN_NUM_FORMS": "0",
        "buyers-MAX_NUM_FORMS": "1000",
        "buyers-0-id": str(party.pk),
        "buyers-0-contract": str(contract.pk),
        "buyers-0-phone": phone,
        "buyers-0-address": address,
    }


@pytest.mark.parametrize(
    "url",
    ["/admin/filing/project/", "/admin/filing/unit/", "/admin/filing/filedcontract/", "/admin/audit/auditevent/"],
)
def test_system_admin_sees_the_registry_and_the_audit_log(
    admin_client: Client, contract: FiledContract, url: str
) -> None:
    response = admin_client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("role", [Role.FILING_OFFICER, Role.OPERATOR_ADMIN])
def test_other_staff_do_not_see_them(filing_authority: Organisation, contract: FiledContract, role: str) -> None:
    staff = UserFactory(organisation=filing_authority, role=role, is_staff=True)
    client = logged_in_client(staff)
    for url in [
        "/admin/filing/filedcontract/",
        "/admin/audit/auditevent/",
        f"/admin/filing/filedcontract/{contract.pk}/change/",
    ]:
        assert client.get(url).status_code == 403
    index = client.get("/admin/").content.decode()
    assert "/admin/filing/" not in index and "/admin/audit/" not in index


def test_audit_log_cannot_be_added_changed_or_deleted(admin_client: Client, contract: FiledContract) -> None:
    event = AuditEvent.objects.order_by("id").first()
    assert event is not None
    assert admin_client.get("/admin/audit/auditevent/add/").status_code == 403
    page = admin_client.get(f"/admin/audit/auditevent/{event.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.post(f"/admin/audit/auditevent/{event.pk}/change/", {"tag": "forged"}).status_code == 403
    assert admin_client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.tag != "forged"


def test_contracts_are_not_added_in_admin_and_status_is_read_only(
    admin_client: Client, contract: FiledContract
) -> None:
    assert admin_client.get("/admin/filing/filedcontract/add/").status_code == 403
    response = admin_client.post(
        f"/admin/filing/filedcontract/{contract.pk}/change/",
        {"status": ContractStatus.CANCELLED, "contract_no": "HACKED", **buyer_form(contract, "13600000000")},
    )
    assert response.status_code == 302
    contract.refresh_from_db()
    assert (contract.status, contract.contract_no) == (ContractStatus.FILED, "DEMO-HT-0001")


def test_buyer_contact_is_corrected_through_the_service(
    admin_client: Client, contract: FiledContract, system_admin: User
) -> None:
    response = admin_client.post(
        f"/admin/filing/filedcontract/{contract.pk}/change/", buyer_form(contract, "13600000000", "中山市演示路9号")
    )
    assert response.status_code == 302
    party = contract.buyers.get()
    assert (party.phone, party.address) == ("13600000000", "中山市演示路9号")
    event = AuditEvent.objects.get(tag="filing.buyer.contact_updated")
    assert event.actor == system_admin


def test_bad_phone_is_shown_on_the_form(admin_client: Client, contract: FiledContract) -> None:
    response = admin_client.post(f"/admin/filing/filedcontract/{contract.pk}/change/", buyer_form(contract, "abc"))
    assert response.status_code == 200
    assert "联系电话格式不正确" in response.content.decode()
    assert not AuditEvent.objects.filter(tag="filing.buyer.contact_updated").exists()


def test_contract_under_cancellation_is_view_only(admin_client: Client, contract: FiledContract) -> None:
    contract_start_cancellation(contract_id=contract.pk, actor=None, ctx=RequestContext.system())
    page = admin_client.get(f"/admin/filing/filedcontract/{contract.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    response = admin_client.post(
        f"/admin/filing/filedcontract/{contract.pk}/change/", buyer_form(contract, "13600000000")
    )
    assert response.status_code == 403
    assert contract.buyers.get().phone != "13600000000"


def test_project_with_buildings_is_added_and_audited(admin_client: Client, developer: Organisation) -> None:
    response = admin_client.post(
        "/admin/filing/project/add/",
        {
            "developer": str(developer.pk),
            "name": "演示·新楼盘",
            "presale_permit_no": "中山预许字(2025)第0777号",
            "district": "东区",
            "address": "中山市东区演示路7号",
            "buildings-TOTAL_FORMS": "2",
            "buildings-INITIAL_FORMS": "0",
            "buildings-MIN_NUM_FORMS": "0",
            "buildings-MAX_NUM_FORMS": "1000",
            "buildings-0-name": "1幢",
            "buildings-1-name": "2幢",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    project = Project.objects.get(name="演示·新楼盘")
    assert project.buildings.count() == 2
    tags = list(AuditEvent.objects.filter(data__via="admin").values_list("tag", flat=True))
    assert tags == ["filing.project.created", "filing.building.created", "filing.building.created"]


def test_project_developer_choices_are_developers_only(
    admin_client: Client, developer: Organisation, notary_office: Organisation
) -> None:
    page = admin_client.get("/admin/filing/project/add/").content.decode()
    assert developer.name in page
    assert notary_office.name not in page


def test_unit_status_cannot_be_edited(admin_client: Client, unit: Unit, contract: FiledContract) -> None:
    free = Unit.objects.create(building=unit.building, room_no="0909", floor=9, floor_area="88.00")
    response = admin_client.post(
        f"/admin/filing/unit/{free.pk}/change/",
        {
            "building": str(free.building_id),
            "room_no": "0909",
            "floor": "9",
            "floor_area": "89.00",
            "usage": "住宅",
            "status": UnitStatus.FILED,
        },
    )
    assert response.status_code == 302
    free.refresh_from_db()
    assert (free.status, str(free.floor_area)) == (UnitStatus.AVAILABLE, "89.00")
    assert AuditEvent.objects.filter(tag="filing.unit.changed", data__changed=["floor_area"]).exists()
    # A unit under a filed contract is view-only.
    assert admin_client.post(f"/admin/filing/unit/{unit.pk}/change/", {"floor_area": "1.00"}).status_code == 403
