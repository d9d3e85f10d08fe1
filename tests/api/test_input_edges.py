"""Input at the API's edges: control characters, pages past the end, oversized bodies, the declared answers."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

from ecancel.accounts.models import Organisation
from ecancel.accounts.services import api_token_create
from ecancel.audit.models import AuditEvent
from ecancel.cancellation.models import Application
from ecancel.core.context import RequestContext
from ecancel.filing.models import FiledContract
from tests.factories import contract_with_buyers

SHAPE = {"code", "message", "message_en", "fields"}
NUL_MESSAGE = {
    "message": "不能包含控制字符（如 NUL）；换行和制表符可以",
    "message_en": "Must not contain control characters such as NUL; line breaks and tabs are fine",
}


@pytest.fixture
def api(client: Client, developer_token: str) -> Client:
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {developer_token}"
    return client


@pytest.fixture
def contract(developer: Organisation) -> FiledContract:
    return contract_with_buyers(2, seller=developer)


@pytest.fixture
def application_id(api: Client, contract: FiledContract) -> str:
    response = api.post("/api/filing/applications", {"contract_id": str(contract.pk)}, content_type="application/json")
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def _put(client: Client, url: str, data: dict[str, Any]) -> Any:
    return client.put(url, data, content_type="application/json")


def _refused_for_control_characters(response: Any, *names: str) -> None:
    assert response.status_code == 422, response.content
    body = response.json()
    assert set(body) == SHAPE
    assert body["code"] == "validation_failed"
    assert body["fields"] == dict.fromkeys(names, NUL_MESSAGE)


# --- control characters --------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("text", ["万科\x00", "\x01", "a\x1fb", "\x7f"])
def test_control_characters_in_a_query_parameter_are_422(api: Client, contract: FiledContract, text: str) -> None:
    _refused_for_control_characters(api.get("/api/filing/contracts", {"q": text}), "q")
    _refused_for_control_characters(api.get("/api/filing/applications", {"q": text}), "q")


@pytest.mark.postgres
def test_nul_in_a_body_field_is_422_and_changes_nothing(api: Client, application_id: str) -> None:
    url = f"/api/filing/applications/{application_id}"
    before = api.get(url).json()
    response = _put(
        api, f"{url}/refund", {"refund_amount": "1000.00", "refund_method": "银行\x00转账", "refund_days": 30}
    )
    _refused_for_control_characters(response, "refund_method")
    after = api.get(url).json()
    assert after["refund_method"] == before["refund_method"]
    assert after["version"] == before["version"]
    assert Application.objects.get(pk=application_id).refund_method == before["refund_method"]


@pytest.mark.postgres
def test_nul_deep_in_a_list_names_the_field(api: Client, application_id: str, contract: FiledContract) -> None:
    buyers = list(contract.buyers.order_by("position"))
    applicants = [
        {"name": b.name, "id_type": b.id_type, "id_number": b.id_number, "phone": b.phone, "address": ""}
        for b in buyers
    ]
    applicants[1]["name"] = "李\x00明"
    applicants[0]["address"] = "中山\x0b路"
    response = _put(api, f"/api/filing/applications/{application_id}/applicants", {"applicants": applicants})
    _refused_for_control_characters(response, "applicants.0.address", "applicants.1.name")


@pytest.mark.postgres
def test_nul_in_the_notary_search_is_422(client: Client, notary_office: Organisation) -> None:
    _, raw = api_token_create(organisation=notary_office, name="案件系统", actor=None, ctx=RequestContext.system())
    response = client.get("/api/notary/cases", {"q": "\x00"}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    _refused_for_control_characters(response, "q")


@pytest.mark.postgres
def test_line_breaks_and_tabs_are_text(api: Client, application_id: str) -> None:
    detail = "买受人工作调动，\r\n\t无法继续履行合同"
    response = _put(api, f"/api/filing/applications/{application_id}/reason", {"reason": "other", "detail": detail})
    assert response.status_code == 200, response.content
    assert response.json()["reason_detail"] == detail


# --- pages -----------------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("page", [3, 10**6, 10**30])
def test_a_page_past_the_end_is_empty(api: Client, contract: FiledContract, page: int) -> None:
    response = api.get("/api/filing/contracts", {"page": page, "page_size": 10})
    assert response.status_code == 200, response.content
    assert response.json() == {"items": [], "count": 1}


def test_the_last_page_still_has_its_rows(api: Client, developer: Organisation) -> None:
    for _ in range(3):
        contract_with_buyers(1, seller=developer)
    response = api.get("/api/filing/contracts", {"page": 2, "page_size": 2})
    assert response.status_code == 200
    assert response.json()["count"] == 3
    assert len(response.json()["items"]) == 1


# --- oversized bodies ------------------------------------------------------------------------------------------


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_a_body_over_the_limit_is_413_with_the_shape(api: Client, contract: FiledContract) -> None:
    response = api.post(
        "/api/filing/applications",
        {"contract_id": str(contract.pk), "padding": "x" * 2048},
        content_type="application/json",
    )
    assert response.status_code == 413
    body = response.json()
    assert set(body) == SHAPE
    assert body["code"] == "too_large"


# --- the OpenAPI document --------------------------------------------------------------------------------------


def test_openapi_declares_the_error_answers(client: Client, db: None) -> None:
    document = client.get("/api/openapi.json").json()
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    assert set(document["components"]["schemas"]["ErrorOut"]["required"]) == SHAPE

    def answers(path: str, method: str) -> set[str]:
        responses = document["paths"][path][method]["responses"]
        for status, answer in responses.items():
            if status[0] in "45":
                assert answer["content"] == error, (path, method, status)
        return {status for status in responses if status[0] == "4"}

    assert answers("/api/filing/contracts", "get") == {"401", "404", "422"}
    assert answers("/api/filing/notary-offices", "get") == {"401", "404"}
    assert answers("/api/filing/applications/{application_id}/refund", "put") == {
        "400",
        "401",
        "403",
        "404",
        "409",
        "413",
        "422",
    }
    assert answers("/api/filing/applications/{application_id}/agent", "delete") == {
        "401",
        "403",
        "404",
        "409",
        "422",
    }


def test_openapi_states_the_plain_text_rule(client: Client, db: None) -> None:
    document = client.get("/api/openapi.json").json()
    query = {p["name"]: p["schema"] for p in document["paths"]["/api/filing/contracts"]["get"]["parameters"]}
    assert query["q"]["pattern"].startswith("^[^\\u0000")
    applicant = document["components"]["schemas"]["ApplicantIn"]["properties"]
    assert all("pattern" in applicant[name] for name in ("name", "id_type", "id_number", "phone", "address"))
    # What the API answers is not constrained: stored text is shown as it is.
    assert "pattern" not in document["components"]["schemas"]["ApplicationOut"]["properties"]["number"]


@pytest.mark.postgres
def test_nul_in_the_user_agent_is_recorded_without_it(api: Client, contract: FiledContract) -> None:
    response = api.get(f"/api/filing/contracts/{contract.pk}", HTTP_USER_AGENT="erp\x00client\x01/1")
    assert response.status_code == 200
    event = AuditEvent.objects.get(tag="filing.contract.viewed")
    assert event.user_agent == "erp\ufffdclient\ufffd/1"
