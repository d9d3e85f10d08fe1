from __future__ import annotations

import time

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django import Settings

from ecancel.accounts.models import User


@pytest.fixture
def no_demo(settings: Settings) -> Settings:
    """A production-like deployment: the second factor cannot be skipped."""
    settings.ECANCEL_DEMO = False
    return settings


def totp_code(device: TOTPDevice, *, at: float | None = None) -> str:
    """The code an authenticator app would show now (or at ``at``), from the device's own key."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


def failures_counted(user: User, ip: str = "127.0.0.1") -> int:
    """Failed logins counted for the user's name at the address (the test client's by default)."""
    from ecancel.accounts.services import login_user_key, login_user_rule
    from ecancel.core.ratelimit import rate_limiter

    return rate_limiter().peek(login_user_rule(), login_user_key(user.username) + ip).count
