"""The common look: header with organisation, user and logout, navigation by role, banner, error pages."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from pytest_django import Settings

from ecancel.accounts.models import Organisation, Role, User
from ecancel.consoles.errors import server_error
from ecancel.core.errors import ValidationFailed, field_error
from tests.conftest import logged_in_client
from tests.factories import UserFactory


def test_header_shows_organisation_user_nav_and_logout(operator_client: Client, operator: User) -> None:
    html = operator_client.get("/operator/contracts/").content.decode()
    assert operator.organisation is not None
    assert operator.organisation.name in html
    assert str(operator) in html
    assert "经办人" in html
    assert 'action="/logout/"' in html
    assert 'href="/operator/contracts/"' in html
    assert 'name="viewport"' in html
    assert "/static/consoles/ecancel.css" in html
    assert "htmx" in html
    assert "https://" not in html  # no CDN, nothing loaded from elsewhere


def test_navigation_follows_the_role(notary_client: Client, notary_office: Organisation) -> None:
    clerk_page = notary_client.get("/account/password/").content.decode()
    assert 'href="/operator/contracts/"' not in clerk_page
    assert 'href="/notary/"' in clerk_page


def test_stylesheet_is_served_locally(client: Client, db: None) -> None:
    response = client.get("/static/consoles/ecancel.css")
    assert response.status_code == 200
    # Reading the stream to its end closes the response (the test client closes it without closing connections).
    css = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert "@media (max-width: 720px)" in css


def test_404_page_in_the_common_look(client: Client, db: None) -> None:
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "页面不存在" in html
    assert "ecancel.css" in html


def test_404_for_unknown_object_in_the_common_look(operator_client: Client) -> None:
    response = operator_client.get("/operator/contracts/00000000-0000-4000-8000-000000000000/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "页面不存在" in html
    assert "Traceback" not in html


def test_500_page_has_no_trace(db: None) -> None:
    request = RequestFactory().get("/operator/contracts/")
    response = server_error(request)
    assert response.status_code == 500
    html = response.content.decode()
    assert "系统暂时无法处理您的请求" in html
    assert "Traceback" not in html


def test_500_on_the_api_is_json(db: None) -> None:
    response = server_error(RequestFactory().get("/api/filing/contracts"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"


def test_error_template_shows_the_page_language_only() -> None:
    error = ValidationFailed(
        _("提交的内容有误，请按字段提示修改"), fields=field_error("id_number", _("请选择公证处")).fields
    )
    with translation.override("zh-hans"):
        html = render_to_string("error.html", {"error": error})
    assert "提交的内容有误" in html and "请选择公证处" in html and "notary office" not in html
    with translation.override("en"):
        html = render_to_string("error.html", {"error": error})
    assert "Some fields are invalid; see the field messages" in html and "choose a notary office" in html.lower()
    assert "提交" not in html and "公证处" not in html


def test_csrf_failure_page_is_friendly(operator: User) -> None:
    client = logged_in_client(operator)
    client.handler.enforce_csrf_checks = True
    response = client.post("/logout/")
    assert response.status_code == 403
    assert "页面已过期" in response.content.decode()


@pytest.mark.parametrize(
    ("role", "target"),
    [(Role.OPERATOR_ADMIN, "/operator/contracts/"), (Role.NOTARY, "/notary/"), (Role.NOTARY_ADMIN, "/notary/")],
)
def test_home_sends_each_role_to_its_console(
    role: str, target: str, developer: Organisation, notary_office: Organisation
) -> None:
    organisation = developer if role == Role.OPERATOR_ADMIN else notary_office
    client = logged_in_client(UserFactory(organisation=organisation, role=role))
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == target


def test_home_sends_system_admin_to_admin(filing_authority: Organisation) -> None:
    admin = UserFactory(organisation=filing_authority, role=Role.SYSTEM_ADMIN, is_staff=True)
    client = logged_in_client(admin)
    response = client.get("/")
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_role_outside_its_kind_of_organisation_counts_for_nothing(notary_office: Organisation) -> None:
    misfiled = UserFactory(organisation=notary_office, role=Role.OPERATOR)
    assert logged_in_client(misfiled).get("/operator/contracts/").status_code == 404


def test_pages_are_not_cached(operator_client: Client) -> None:
    response = operator_client.get("/operator/contracts/")
    assert "no-store" in response["Cache-Control"]


def test_search_as_you_type_returns_only_the_rows(operator_client: Client) -> None:
    response = operator_client.get("/operator/contracts/", {"q": "x"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html
    assert "没有符合条件的合同" in html
    assert "HX-Request" in response["Vary"]


def test_demo_banner_follows_the_setting(operator_client: Client, settings: Settings) -> None:
    assert "演示环境" in operator_client.get("/operator/contracts/").content.decode()
    settings.ECANCEL_DEMO = False
    assert "演示环境" not in operator_client.get("/operator/contracts/").content.decode()


def test_the_filing_officer_lands_on_the_city_view(filing_authority: Organisation) -> None:
    officer = logged_in_client(UserFactory(organisation=filing_authority, role=Role.FILING_OFFICER))
    response = officer.get("/")
    assert response.status_code == 302 and response["Location"] == "/filing/"
    html = officer.get("/filing/").content.decode()
    assert "全市注销情况" in html and 'href="/verify/"' in html


def test_admin_section_names_follow_the_language(filing_authority: Organisation) -> None:
    admin = UserFactory(organisation=filing_authority, role=Role.SYSTEM_ADMIN, is_staff=True, is_superuser=True)
    html = logged_in_client(admin).get("/admin/", headers={"accept-language": "en"}).content.decode()
    for english in ("Notarization", "Documents", "Notifications", "Filing registry", "Organisations and staff"):
        assert english in html, english
