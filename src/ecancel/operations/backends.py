"""``ecancel check``, in every environment: each adapter setting names a class that imports and provides its
protocol, so a mistyped backend stops ``ecancel up`` (which runs the checks) instead of the first request that
needs it. Only imports: no backend is made and nothing is connected to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

from ecancel.core.backends import backend_class

BACKENDS_TAG = "backends"


def adapter_settings() -> list[tuple[str, type, Mapping[str, str] | None]]:
    """Every setting that chooses a backend: its name, the protocol, and the short names it accepts."""
    from ecancel.core.answers import AnswerStore
    from ecancel.core.ratelimit import RateLimitBackend
    from ecancel.documents.pki import SigningBackend
    from ecancel.documents.timestamps import TimestampAuthority
    from ecancel.exchange.keys import ExchangeKeyBackend
    from ecancel.identity.providers import SHORT_NAMES as IDENTITY_PROVIDERS
    from ecancel.identity.providers.base import IdentityProvider
    from ecancel.notifications.channels import KINDS, Channel, backend_setting, short_names

    return [
        ("ECANCEL_SIGNING_BACKEND", SigningBackend, None),
        ("ECANCEL_TSA_BACKEND", TimestampAuthority, None),
        ("ECANCEL_EXCHANGE_KEYS_BACKEND", ExchangeKeyBackend, None),
        ("ECANCEL_RATE_LIMIT_BACKEND", RateLimitBackend, None),
        ("ECANCEL_ANSWER_CACHE_BACKEND", AnswerStore, None),
        ("ECANCEL_IDENTITY_PROVIDER", IdentityProvider, IDENTITY_PROVIDERS),
        *((backend_setting(kind), Channel, short_names(kind)) for kind in KINDS),
    ]


@register(BACKENDS_TAG)
def backends_import(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    faults: list[CheckMessage] = []
    for setting, protocol, names in adapter_settings():
        try:
            backend_class(setting, protocol, short_names=names)
        except ImproperlyConfigured as wrong:
            faults.append(
                Error(
                    str(wrong),
                    hint=f"Set {setting} to {'a short name or ' if names else ''}the dotted path of a class providing "
                    f"{protocol.__module__}.{protocol.__name__} (the adapter table in docs/architecture.md).",
                    id="ecancel.E040",
                )
            )
    return faults
