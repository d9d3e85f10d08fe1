"""Shared fixtures. The environment of the test run is set in tests/settings.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from ecancel.accounts.models import Organisation, OrganisationKind, Role, User
from tests.factories import (
    TEST_PASSWORD,
    DeveloperFactory,
    NotaryOfficeFactory,
    OrganisationFactory,
    UserFactory,
)

if TYPE_CHECKING:
    from tests.s3_server import S3Server


@pytest.fixture(autouse=True)
def source_language() -> None:
    """Each test starts in the source language: a request in English through the test client leaves English
    active in the thread (LocaleMiddleware activates it for the request), which would leak into the next test."""
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def developer(db: None) -> Organisation:
    return DeveloperFactory().organisation


@pytest.fixture
def other_developer(db: None) -> Organisation:
    return DeveloperFactory().organisation


@pytest.fixture
def notary_office(db: None) -> Organisation:
    return NotaryOfficeFactory().organisation


@pytest.fixture
def other_notary_office(db: None) -> Organisation:
    return NotaryOfficeFactory().organisation


@pytest.fixture
def filing_authority(db: None) -> Organisation:
    return OrganisationFactory(kind=OrganisationKind.FILING_AUTHORITY, name="中山市住房和城乡建设局（测试）")


@pytest.fixture
def operator(developer: Organisation) -> User:
    return UserFactory(organisation=developer, role=Role.OPERATOR)


@pytest.fixture
def notary_clerk(notary_office: Organisation) -> User:
    return UserFactory(organisation=notary_office, role=Role.NOTARY_CLERK)


def logged_in_client(user: User) -> Client:
    """A client whose session has passed password and second factor (a confirmed TOTP device), as after a real login."""
    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="test", confirmed=True
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def operator_client(operator: User) -> Client:
    return logged_in_client(operator)


@pytest.fixture
def notary_client(notary_clerk: User) -> Client:
    return logged_in_client(notary_clerk)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A private Redis on 127.0.0.1 for a module's tests of Redis-backed adapters (skipped, saying why, without
    Debian's redis-server)."""
    from tests.redis_server import MISSING, redis_server, redis_server_binary

    if redis_server_binary() is None:
        pytest.skip(MISSING)
    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 on 127.0.0.1, started once for the tests that use it."""
    from tests.s3_server import s3_server as start

    with start() as server:
        yield server


__all__ = ["TEST_PASSWORD"]
