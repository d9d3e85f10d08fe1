"""Password policy: at least 12 characters, common and numeric passwords refused, on the change page too."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from ecancel.accounts.models import User
from ecancel.audit.models import AuditEvent
from tests.conftest import logged_in_client
from tests.factories import TEST_PASSWORD


@pytest.mark.parametrize(
    "password",
    [
        "Short-pw-1",  # 10 characters
        "qwerty123456",  # in the common-passwords list
        "1q2w3e4r5t6y",
        "748392016574",  # numeric only
        "x" * 129,  # absurdly long
    ],
)
def test_weak_passwords_are_refused(password: str, operator: User) -> None:
    with pytest.raises(ValidationError):
        validate_password(password, operator)


@pytest.mark.parametrize("password", ["长城 快递 蓝天 2026", "correct horse battery", "x" * 64])
def test_long_passphrases_are_accepted(password: str, operator: User) -> None:
    validate_password(password, operator)


def _change(client: Client, new: str, old: str = TEST_PASSWORD) -> tuple[int, str]:
    response = client.post("/account/password/", {"old_password": old, "new_password1": new, "new_password2": new})
    return response.status_code, response.content.decode()


def test_change_page_refuses_weak_passwords(operator_client: Client, operator: User) -> None:
    page = operator_client.get("/account/password/")
    assert page.status_code == 200
    assert "修改密码" in page.content.decode()
    status, html = _change(operator_client, "qwerty123456")
    assert status == 200
    assert "errorlist" in html or "field-error" in html
    status, _ = _change(operator_client, "short-one")
    assert status == 200
    operator.refresh_from_db()
    assert operator.check_password(TEST_PASSWORD)


def test_change_needs_the_old_password(operator_client: Client, operator: User) -> None:
    status, _ = _change(operator_client, "a brand new passphrase", old="not the old one")
    assert status == 200
    operator.refresh_from_db()
    assert operator.check_password(TEST_PASSWORD)


def test_change_succeeds_keeps_the_session_and_is_audited(operator: User) -> None:
    client = logged_in_client(operator)
    status, _ = _change(client, "a brand new passphrase")
    assert status == 302
    operator.refresh_from_db()
    assert operator.check_password("a brand new passphrase")
    assert operator.password.startswith("argon2$argon2id$")
    assert client.get("/operator/contracts/").status_code == 200
    assert AuditEvent.objects.filter(tag="accounts.password.changed", actor=operator).exists()


def test_change_page_needs_a_staff_session(client: Client) -> None:
    assert client.get("/account/password/")["Location"].startswith("/login/")
