"""``ecancel check`` names every adapter setting whose backend does not import or lacks its protocol's methods."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from pytest_django import Settings

from ecancel.operations.backends import adapter_settings, backends_import


def test_every_configured_backend_imports() -> None:
    assert backends_import() == []
    assert {setting for setting, _, _ in adapter_settings()} == {
        "ECANCEL_SIGNING_BACKEND",
        "ECANCEL_TSA_BACKEND",
        "ECANCEL_EXCHANGE_KEYS_BACKEND",
        "ECANCEL_RATE_LIMIT_BACKEND",
        "ECANCEL_ANSWER_CACHE_BACKEND",
        "ECANCEL_IDENTITY_PROVIDER",
        "ECANCEL_SMS_BACKEND",
        "ECANCEL_WECHAT_BACKEND",
    }


def test_each_wrong_backend_is_named(settings: Settings) -> None:
    settings.ECANCEL_TSA_BACKEND = "ecancel.documents.timestamps.TimestampAuthorty"
    settings.ECANCEL_RATE_LIMIT_BACKEND = "ecancel.documents.timestamps.LocalTimestampBackend"
    settings.ECANCEL_SMS_BACKEND = "carrier-pigeon"

    faults = backends_import()

    assert [fault.id for fault in faults] == ["ecancel.E040"] * 3
    assert [fault.msg.split("=")[0] for fault in faults] == [
        "ECANCEL_TSA_BACKEND",
        "ECANCEL_RATE_LIMIT_BACKEND",
        "ECANCEL_SMS_BACKEND",
    ]
    assert "missing hit, peek, reset, reset_prefix, prune" in faults[1].msg
    with pytest.raises(SystemCheckError, match=r"ecancel\.E040"):
        call_command("check")
