"""Identity providers: the protocol in ``base``, the offline engine in ``local``, Tencent Cloud in
``tencent``, a deterministic test double in ``null``. ``identity_provider()`` returns the configured one."""

from __future__ import annotations

from django.conf import settings

from ecancel.core.backends import load
from ecancel.identity.providers.base import IdentityProvider

SHORT_NAMES = {
    "local": "ecancel.identity.providers.local.LocalProvider",
    "tencent": "ecancel.identity.providers.tencent.TencentProvider",
    "null": "ecancel.identity.providers.null.NullProvider",
}


def identity_provider(name: str | None = None) -> IdentityProvider:
    """The provider named by ``ECANCEL_IDENTITY_PROVIDER`` (or ``name``).

    Cheap to build: providers read their settings when called, and the local engine's models are
    cached per process in ``identity.faces``.
    """
    provider: IdentityProvider = load(
        "ECANCEL_IDENTITY_PROVIDER",
        IdentityProvider,
        short_names=SHORT_NAMES,
        value=name or settings.ECANCEL_IDENTITY_PROVIDER,
    )
    return provider
