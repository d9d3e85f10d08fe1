"""/api/filing/applications before the push: create, fill in, check, abandon — as a client would."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.test import Client

from ecancel.accounts.models import Organisation
from ecancel.accounts.services import api_token_create
from ecancel.audit.models import AuditEvent
from ecancel.cancellation.models import Agent, Application
from ecancel.core.context import RequestContext
from ecancel.filing.models import FiledContract
from ecancel.identity.id_numbers import IdType
from tests.cancellation.conftest import pdf_bytes
from tests.factories import contract_with_buyers, mainland_id

API = "/api/filing/applications"


@pytest.fixture
def token(developer: Organisation) -> str:
    _, raw = api_token_create(organisation=developer, name="ERP", actor=None, ctx=RequestContext.system())
    return raw


@pytest.fixture
def api(client: Client, token: str) -> Client:
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def post(client: Client, url: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(url, data or {}, content_type="application/json")


def put(client: Client, url: str, data: dict[str, Any]) -> Any:
    return client.put(url, data, content_type="application/json")


def applicants_payload(body: dict[str, Any], contract: FiledContract, **phones: str) -> dict[str, Any]:
    """What a client sends back: identity as on the contract (it holds the full numbers), contacts as it likes."""
    buyers = {b.position: b for b in contract.buyers.all()}
    return {
        "applicants": [
            {
                "name": a["name"],
                "id_type": a["id_type"],
                "id_number": buyers[a["position"]].id_number,
                "phone": phones.get(str(a["position"]), a["phone"]),
                "address": a["address"],
            }
            for a in body["applicants_detail"]
        ]
    }


@pytest.fixture
def contract(developer: Organisation) -> FiledContract:
    return contract_with_buyers(2, seller=developer)


@pytest.fixture
def created(api: Client, contract: FiledContract) -> dict[str, Any]:
    response = post(api, API, {"contract_id": str(contract.pk)})
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_create_and_read(api: Client, created: dict[str, Any], contract: FiledContract) -> None:
    assert created["status"] == "draft"
    assert created["status_label"] == "草稿"
    assert created["contract_no"] == contract.contract_no
    assert [a["position"] for a in created["applicants_detail"]] == [1, 2]
    buyer = contract.buyers.get(position=1)
    assert created["applicants_detail"][0]["id_number_masked"].endswith(buyer.id_number[-4:])
    assert buyer.id_number not in str(created)
    assert {c["code"]: c["ok"] for c in created["checks"]} == {
        "reason": False,
        "applicants": True,
        "numbers": True,
        "notary_office": False,
        "contract": True,
        "agent": True,
        "seller_papers": True,
    }
    assert created["qr"] is None
    listed = api.get(API).json()
    assert listed["count"] == 1 and listed["items"][0]["number"] == created["number"]
    event = AuditEvent.objects.get(tag="cancellation.application.created")
    assert event.actor_label.startswith("token:")


def test_second_create_names_the_open_one(api: Client, created: dict[str, Any], contract: FiledContract) -> None:
    response = post(api, API, {"contract_id": str(contract.pk)})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "application_exists"
    assert created["number"] in body["message"]


def test_fill_in_everything(
    api: Client, created: dict[str, Any], contract: FiledContract, notary_office: Organisation
) -> None:
    url = f"{API}/{created['id']}"
    assert put(api, f"{url}/reason", {"reason": "other", "detail": "工作调动"}).status_code == 200
    assert (
        put(
            api, f"{url}/refund", {"refund_amount": "500000.00", "refund_method": "转账", "refund_days": 20}
        ).status_code
        == 200
    )
    response = put(api, f"{url}/applicants", applicants_payload(created, contract, **{"1": "13911112222"}))
    assert response.status_code == 200, response.content
    assert response.json()["applicants_detail"][0]["phone"] == "13911112222"
    agent = {
        "name": "赵代理",
        "id_type": IdType.MAINLAND_ID,
        "id_number": mainland_id(777),
        "phone": "13600000000",
        "acts_for": [2],
        "power_of_attorney_base64": base64.b64encode(pdf_bytes()).decode(),
    }
    response = put(api, f"{url}/agent", agent)
    assert response.status_code == 200, response.content
    assert response.json()["agent"]["acts_for"] == [2]
    offices = api.get("/api/filing/notary-offices").json()
    assert str(notary_office.pk) in [o["id"] for o in offices]
    response = put(api, f"{url}/notary-office", {"notary_office_id": str(notary_office.pk)})
    body = response.json()
    assert body["reason_label"] == "工作调动"
    assert body["notary_office"]["name"] == notary_office.name
    assert all(c["ok"] for c in body["checks"])
    assert all(c["ok"] for c in api.get(f"{url}/checks").json())


def test_bad_input_is_422_and_changes_nothing(api: Client, created: dict[str, Any], contract: FiledContract) -> None:
    url = f"{API}/{created['id']}"
    payload = applicants_payload(created, contract, **{"1": "13911112222"})
    payload["applicants"][1]["id_number"] = mainland_id(999)
    response = put(api, f"{url}/applicants", payload)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    assert "不是本合同的买受人" in body["fields"]["applicants.1.id_number"]["message"]
    assert api.get(url).json()["applicants_detail"][0]["phone"] == created["applicants_detail"][0]["phone"]

    response = put(api, f"{url}/reason", {"reason": "whim"})
    assert response.status_code == 422
    assert "reason" in response.json()["fields"]

    response = put(
        api, f"{url}/agent", {"name": "x", "id_type": "mainland_id", "id_number": "1", "phone": "1", "acts_for": [9]}
    )
    assert response.status_code == 422
    assert "acts_for" in response.json()["fields"]
    response = put(
        api,
        f"{url}/agent",
        {
            "name": "赵代理",
            "id_type": "mainland_id",
            "id_number": mainland_id(777),
            "phone": "13600000000",
            "acts_for": [1],
            "power_of_attorney_base64": base64.b64encode(b"plain text").decode(),
        },
    )
    assert response.status_code == 422
    assert "power_of_attorney" in response.json()["fields"]
    assert not Agent.objects.exists()


def test_push_refused_until_checks_pass(api: Client, created: dict[str, Any]) -> None:
    response = post(api, f"{API}/{created['id']}/push")
    assert response.status_code == 422
    body = response.json()
    assert "推送前检查未通过" in body["message"]
    assert set(body["fields"]) == {"reason", "notary_office"}
    assert Application.objects.get().status == "draft"


def test_illegal_moves_are_409(api: Client, created: dict[str, Any]) -> None:
    url = f"{API}/{created['id']}"
    response = post(api, f"{url}/revoke")
    assert response.status_code == 409
    assert "尚未推送" in response.json()["message"]
    assert post(api, f"{url}/abandon", {"version": 1}).status_code == 200
    for path, method in (("reason", put), ("abandon", post), ("push", post), ("revoke", post)):
        response = method(api, f"{url}/{path}", {"reason": "quality"} if path == "reason" else {})
        assert response.status_code == 409, path
        assert response.json()["code"] == "invalid_transition"


def test_stale_version_is_409(api: Client, created: dict[str, Any]) -> None:
    response = post(api, f"{API}/{created['id']}/abandon", {"version": 7})
    assert response.status_code == 409
    assert response.json()["code"] == "stale_version"


def test_another_company_gets_404_everywhere(
    client: Client, created: dict[str, Any], other_developer: Organisation, contract: FiledContract
) -> None:
    _, raw = api_token_create(organisation=other_developer, name="ERP", actor=None, ctx=RequestContext.system())
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    url = f"{API}/{created['id']}"
    calls = [
        client.get(url),
        client.get(f"{url}/checks"),
        put(client, f"{url}/reason", {"reason": "quality"}),
        put(client, f"{url}/refund", {"refund_amount": "1.00", "refund_method": "x", "refund_days": 3}),
        put(client, f"{url}/applicants", {"applicants": []}),
        put(
            client,
            f"{url}/agent",
            {"name": "a", "id_type": "mainland_id", "id_number": "1", "phone": "1", "acts_for": [1]},
        ),
        client.delete(f"{url}/agent"),
        put(client, f"{url}/notary-office", {"notary_office_id": str(created["id"])}),
        post(client, f"{url}/push"),
        post(client, f"{url}/revoke"),
        post(client, f"{url}/abandon"),
        post(client, API, {"contract_id": str(contract.pk)}),
    ]
    assert [r.status_code for r in calls] == [404] * len(calls)
    assert client.get(API).json()["count"] == 0
    assert Application.objects.get().status == "draft"


def test_session_operator_uses_the_same_api(operator_client: Client, contract: FiledContract) -> None:
    response = operator_client.post(API, {"contract_id": str(contract.pk)}, content_type="application/json")
    assert response.status_code == 201
    assert AuditEvent.objects.get(tag="cancellation.application.created").actor_id is not None


def test_notary_staff_and_anonymous_are_kept_out(
    client: Client, notary_client: Client, created: dict[str, Any]
) -> None:
    assert notary_client.get(f"{API}/{created['id']}").status_code == 404
    assert notary_client.get(API).status_code == 404
    client.defaults.pop("HTTP_AUTHORIZATION", None)
    assert client.get(API).status_code == 401


def test_largest_allowed_power_of_attorney_goes_through_the_api(
    api: Client, created: dict[str, Any], contract: FiledContract
) -> None:
    """10 MB is the file limit; its Base64 in JSON must still fit the request-size limit."""
    padded = pdf_bytes() + b"%" + b"0" * (10 * 1024 * 1024 - len(pdf_bytes()) - 3) + b"\n"
    assert len(padded) < 10 * 1024 * 1024
    agent = {
        "name": "赵代理",
        "id_type": IdType.MAINLAND_ID,
        "id_number": mainland_id(778),
        "phone": "13600000000",
        "acts_for": [1],
        "power_of_attorney_base64": base64.b64encode(padded).decode(),
    }
    response = put(api, f"{API}/{created['id']}/agent", agent)
    assert response.status_code == 200, response.content[:300]


def test_a_company_without_its_papers_cannot_push(api: Client, created: dict[str, Any], developer: Any) -> None:
    """The certificate appends the licence and the legal representative's ID: a push without them would open a
    case no notary could ever certify."""
    company = developer.developer
    company.business_licence = ""
    company.save(update_fields=["business_licence"])
    response = api.get(f"{API}/{created['id']}")
    check = next(c for c in response.json()["checks"] if c["code"] == "seller_papers")
    assert check["ok"] is False
    assert "营业执照" in check["problems"][0]["message"]
