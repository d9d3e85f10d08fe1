"""Django admin for organisations, staff and API tokens: system admins only; changes go through services."""

from __future__ import annotations

import pytest
from django.test import Client

from ecancel.accounts.models import ApiToken, Organisation, OrganisationKind, Role, User
from ecancel.accounts.services import api_token_create
from ecancel.audit.models import AuditEvent
from ecancel.core.context import RequestContext
from tests.accounts.conftest import failures_counted
from tests.conftest import logged_in_client
from tests.factories import UserFactory


@pytest.fixture
def admin_client(filing_authority: Organisation) -> Client:
    return logged_in_client(UserFactory(organisation=filing_authority, role=Role.SYSTEM_ADMIN, is_staff=True))


def test_admin_lists_accounts_models(admin_client: Client, developer: Organisation, operator: User) -> None:
    for url in ("/admin/accounts/organisation/", "/admin/accounts/user/", "/admin/accounts/apitoken/"):
        assert admin_client.get(url).status_code == 200, url
    page = admin_client.get(f"/admin/accounts/organisation/{developer.pk}/change/").content.decode()
    assert "统一社会信用代码" in page
    # The stored pictures are named, never linked: stored files have no address of their own.
    stored = str(developer.developer.business_licence.name)
    assert stored in page and f'href="{stored}' not in page and 'href="org/' not in page


def test_staff_who_are_not_system_admins_see_nothing(developer: Organisation) -> None:
    staffish = UserFactory(organisation=developer, role=Role.OPERATOR_ADMIN, is_staff=True)
    client = logged_in_client(staffish)
    assert client.get("/admin/accounts/user/").status_code == 403


def test_unlock_action_lifts_the_users_locks_at_every_address(admin_client: Client, operator: User) -> None:
    for ip in ("198.51.100.1", "198.51.100.2"):
        for _ in range(5):
            Client(REMOTE_ADDR=ip).post("/login/", {"username": operator.username, "password": "wrong-password-1"})
        assert failures_counted(operator, ip) == 5
    response = admin_client.post(
        "/admin/accounts/user/", {"action": "unlock", "_selected_action": [operator.pk]}, follow=True
    )
    assert response.status_code == 200
    assert failures_counted(operator, "198.51.100.1") == failures_counted(operator, "198.51.100.2") == 0
    event = AuditEvent.objects.get(tag="accounts.user.unlocked", object_id=str(operator.pk))
    assert event.data == {"locks_lifted": 2}


def test_reset_authenticator_action(admin_client: Client, operator: User) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=operator, name="lost phone", confirmed=True)
    admin_client.post("/admin/accounts/user/", {"action": "reset_authenticator", "_selected_action": [operator.pk]})
    assert not TOTPDevice.objects.filter(user=operator).exists()
    assert AuditEvent.objects.filter(tag="accounts.totp.reset").exists()


def test_role_must_fit_the_organisation(admin_client: Client, notary_office: Organisation) -> None:
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "username": "wrongrole",
            "display_name": "错配",
            "organisation": str(notary_office.pk),
            "role": Role.OPERATOR,
            "password1": "a long enough passphrase",
            "password2": "a long enough passphrase",
        },
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="wrongrole").exists()
    assert "该角色不属于此类机构" in response.content.decode()


def test_add_staff_with_policy_password(admin_client: Client, developer: Organisation) -> None:
    weak = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "username": "newop",
            "organisation": str(developer.pk),
            "role": Role.OPERATOR,
            "password1": "qwerty123456",
            "password2": "qwerty123456",
        },
    )
    assert weak.status_code == 200
    assert not User.objects.filter(username="newop").exists()
    ok = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "username": "newop",
            "display_name": "新经办人",
            "organisation": str(developer.pk),
            "role": Role.OPERATOR,
            "password1": "a long enough passphrase",
            "password2": "a long enough passphrase",
        },
    )
    assert ok.status_code == 302
    assert User.objects.get(username="newop").organisation == developer


def test_tokens_are_read_only_and_revoked_by_action(admin_client: Client, developer: Organisation) -> None:
    token, _ = api_token_create(organisation=developer, name="ERP", actor=None, ctx=RequestContext.system())
    assert admin_client.get("/admin/accounts/apitoken/add/").status_code == 403
    page = admin_client.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()
    assert token.token_hash in page
    admin_client.post("/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [str(token.pk)]})
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_credit_code_is_validated_in_the_inline(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/accounts/organisation/add/",
        {
            "kind": OrganisationKind.DEVELOPER,
            "name": "校验测试置业有限公司",
            "short_name": "",
            "address": "",
            "phone": "",
            "developer-TOTAL_FORMS": "1",
            "developer-INITIAL_FORMS": "0",
            "developer-MIN_NUM_FORMS": "0",
            "developer-MAX_NUM_FORMS": "1",
            "developer-0-credit_code": "91442000123456789X",
            "developer-0-legal_representative": "张三",
            "developer-0-legal_representative_id_type": "mainland_id",
            "developer-0-legal_representative_id_number": "442000198803140011",
            "notary_office-TOTAL_FORMS": "0",
            "notary_office-INITIAL_FORMS": "0",
            "notary_office-MIN_NUM_FORMS": "0",
            "notary_office-MAX_NUM_FORMS": "1",
        },
    )
    assert response.status_code == 200
    assert not Organisation.objects.filter(name="校验测试置业有限公司").exists()
    assert ApiToken.objects.count() == 0
