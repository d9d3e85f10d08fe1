"""A TOTP code sent to two app servers at the same moment logs in once (issue 15 item 7).

Each server reads the device, checks the code against the last time step it took, and saves the new one; without a
row lock both read the old step and both take the code. The first attempt here stops after reading the device, before
checking the code; the second runs meanwhile, as another server's request would.
"""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from ecancel.accounts.models import Role
from ecancel.accounts.services import second_factor_check
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError
from tests.factories import UserFactory
from tests.servers import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HANG = 60  # only a hung test waits this long


def waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        (count,) = cursor.fetchone()
    return bool(count)


def test_one_code_sent_to_two_servers_at_once_is_taken_once(monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (select_for_update is a no-op on SQLite)")
    user = UserFactory(role=Role.NOTARY)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    code = f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"
    read, release = threading.Event(), threading.Event()
    verify = TOTPDevice.verify_token

    def hold_then_verify(self: TOTPDevice, token: str) -> bool:
        if threading.current_thread().name == "first":
            read.set()
            release.wait(HANG)
        return bool(verify(self, token))

    monkeypatch.setattr(TOTPDevice, "verify_token", hold_then_verify)
    outcomes: dict[str, str] = {}

    def attempt() -> None:
        name = threading.current_thread().name
        try:
            second_factor_check(
                user=user, device=TOTPDevice.objects.get(pk=device.pk), token=code, ctx=RequestContext.system("test")
            )
            outcomes[name] = "taken"
        except DomainError as refused:
            outcomes[name] = refused.code
        finally:
            close_old_connections()
            connection.close()

    first = threading.Thread(target=attempt, name="first")
    first.start()
    assert read.wait(HANG)
    second = threading.Thread(target=attempt, name="second")
    second.start()
    # The second attempt either ends (it saw the code as unused) or waits for the first one's row lock.
    wait_for(lambda: not second.is_alive() or waiting_on_a_lock(), bool, "the second attempt", seconds=HANG)
    release.set()
    first.join(HANG)
    second.join(HANG)

    assert outcomes == {"first": "taken", "second": "second_factor_failed"}
