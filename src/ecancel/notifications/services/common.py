"""Checks shared by the services: the keys callers choose, languages."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ecancel.core.errors import field_error

KEY_LENGTH = 100


def checked_key(value: str, field: str, *, length: int = KEY_LENGTH) -> str:
    """A recipient, topic or dedupe key: not empty, not too long, no control characters."""
    if not value or len(value) > length or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise field_error(field, _("内容为空、过长或含有控制字符"))
    return value


def checked_language(value: str | None) -> str:
    """One of the configured languages; empty means the default language."""
    if not value:
        return str(settings.LANGUAGE_CODE)
    if value not in dict(settings.LANGUAGES):
        raise field_error("language", _("不支持该语言"))
    return value


def audit_label(recipient: str) -> str:
    """Who acted, for the audit log, when a buyer (not a staff user) did."""
    return f"recipient:{recipient}"
