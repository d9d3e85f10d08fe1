"""The API's one error shape (401/403/404/405/422/500) and its two ways in: staff session and bearer token."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from ecancel.accounts.models import ApiToken, Organisation, User
from ecancel.audit.models import AuditEvent
from tests.conftest import logged_in_client
from tests.factories import contract_with_buyers

SHAPE = {"code", "message", "message_en", "fields"}


def _bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_no_credentials_is_401_with_the_shape(client: Client, db: None) -> None:
    response = client.get("/api/filing/contracts")
    assert response.status_code == 401
    body = response.json()
    assert set(body) == SHAPE
    assert body["code"] == "unauthorized"
    assert body["message"].startswith("请先登录")
    assert body["message_en"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("raw", ["ect_not-a-real-token", "not-even-prefixed", ""])
def test_bad_tokens_are_401(client: Client, db: None, raw: str) -> None:
    assert client.get("/api/filing/contracts", **_bearer(raw)).status_code == 401


def test_revoked_token_is_401(client: Client, developer: Organisation, developer_token: str) -> None:
    assert client.get("/api/filing/contracts", **_bearer(developer_token)).status_code == 200
    call_command("api_token", "revoke", developer_token[:12], stdout=StringIO())
    assert client.get("/api/filing/contracts", **_bearer(developer_token)).status_code == 401


def test_only_the_hash_is_stored(developer: Organisation, developer_token: str) -> None:
    token = ApiToken.objects.get(organisation=developer)
    assert developer_token not in (token.token_hash, token.prefix)
    assert token.prefix == developer_token[:12]
    assert len(token.token_hash) == 64


def test_token_use_is_recorded(client: Client, developer: Organisation, developer_token: str) -> None:
    client.get("/api/filing/contracts", **_bearer(developer_token))
    assert ApiToken.objects.get(organisation=developer).last_used_at is not None


def test_notary_token_does_not_see_filing_routes(client: Client, notary_office: Organisation) -> None:
    out = StringIO()
    call_command("api_token", "create", "--organisation", notary_office.name, "--name", "case system", stdout=out)
    raw = out.getvalue().strip()
    assert raw.startswith("ect_")
    response = client.get("/api/filing/contracts", **_bearer(raw))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_command_creates_lists_and_revokes(client: Client, developer: Organisation) -> None:
    out = StringIO()
    call_command("api_token", "create", "--organisation", str(developer.pk), "--name", "ERP", stdout=out)
    raw = out.getvalue().strip()
    assert client.get("/api/filing/contracts", **_bearer(raw)).status_code == 200
    listing = StringIO()
    call_command("api_token", "list", stdout=listing)
    assert raw[:12] in listing.getvalue()
    assert raw not in listing.getvalue()
    token = ApiToken.objects.get(prefix=raw[:12])
    call_command("api_token", "revoke", str(token.pk), stdout=StringIO())
    assert client.get("/api/filing/contracts", **_bearer(raw)).status_code == 401
    tags = set(AuditEvent.objects.values_list("tag", flat=True))
    assert {"accounts.api_token.created", "accounts.api_token.revoked"} <= tags
    with pytest.raises(CommandError):
        call_command("api_token", "revoke", str(token.pk), stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("api_token", "create", "--organisation", "no such organisation", "--name", "x")


def test_command_lists_revocation_dates_in_local_time(developer: Organisation, developer_token: str) -> None:
    # 17:30 UTC on 1 January is already 2 January in Asia/Shanghai.
    evening = dt.datetime(2026, 1, 1, 17, 30, tzinfo=dt.UTC)
    ApiToken.objects.filter(prefix=developer_token[:12]).update(revoked_at=evening)
    listing = StringIO()
    call_command("api_token", "list", stdout=listing)
    assert "已吊销 2026-01-02" in listing.getvalue()


def test_validation_errors_are_422_with_fields(client: Client, developer_token: str) -> None:
    response = client.get(
        "/api/filing/contracts", {"page": 0, "status": "bogus", "q": "x" * 101}, **_bearer(developer_token)
    )
    assert response.status_code == 422
    body = response.json()
    assert set(body) == SHAPE
    assert body["code"] == "validation_failed"
    assert set(body["fields"]) == {"page", "status", "q"}
    assert body["fields"]["status"] == {"message": "取值不在允许范围内", "message_en": "Not one of the allowed values"}
    assert body["fields"]["q"]["message"] == "内容过长"
    assert body["fields"]["page"]["message"] == "数值过小"


def test_bad_path_parameter_is_422(client: Client, developer_token: str) -> None:
    response = client.get("/api/filing/contracts/not-a-uuid", **_bearer(developer_token))
    assert response.status_code == 422
    assert response.json()["fields"]["contract_id"]["message"] == "应为有效的 UUID 编号"


def test_wrong_method_is_405_with_the_shape(client: Client, developer_token: str) -> None:
    response = client.delete("/api/filing/contracts", **_bearer(developer_token))
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


def test_unknown_address_is_404_with_the_shape(client: Client, db: None) -> None:
    response = client.get("/api/no/such/thing")
    assert response.status_code == 404
    assert set(response.json()) == SHAPE


def test_unexpected_error_is_500_without_a_trace(
    client: Client, developer_token: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import ecancel.api.filing

    def broken(**kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(ecancel.api.filing, "contract_list", broken)
    response = client.get("/api/filing/contracts", **_bearer(developer_token))
    assert response.status_code == 500
    body = response.json()
    assert set(body) == SHAPE
    assert body["code"] == "internal_error"
    assert "secret internal detail" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert "secret internal detail" in caplog.text


def test_session_needs_csrf_for_unsafe_methods(operator: User, developer: Organisation) -> None:
    contract = contract_with_buyers(1, seller=developer)
    client = logged_in_client(operator)
    client.handler.enforce_csrf_checks = True
    assert client.get(f"/api/filing/contracts/{contract.pk}").status_code == 200
    refused = client.post(
        "/api/filing/applications", {"contract_id": str(contract.pk)}, content_type="application/json"
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    client.get("/operator/contracts/")  # a page sets the CSRF cookie, as in a browser
    token = client.cookies["csrftoken"].value
    accepted = client.post(
        "/api/filing/applications",
        {"contract_id": "not-a-uuid"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert accepted.status_code == 422


def test_tokens_need_no_csrf(client: Client, developer_token: str) -> None:
    response = client.post(
        "/api/filing/applications",
        {"contract_id": "not-a-uuid"},
        content_type="application/json",
        **_bearer(developer_token),
    )
    assert response.status_code == 422


def test_openapi_document_and_local_docs(client: Client, db: None) -> None:
    schema = client.get("/api/openapi.json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["info"]["title"] == "ecancel"
    assert document["info"]["version"] == "1"
    assert "/api/filing/contracts" in document["paths"]
    assert "/api/filing/contracts/{contract_id}" in document["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn." not in html and "https://" not in html
    asset = client.get("/static/ninja/swagger-ui-bundle.js")
    assert asset.status_code == 200
    # Read to its end, which closes the file; closing the response by hand would also close the test's connection.
    assert b"".join(asset.streaming_content)  # type: ignore[attr-defined]
