"""Errors a person can act on: a code, a Chinese message, the English beside it, field errors.

Services raise these; pages show ``message``; the API answers with ``as_payload()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldMessage:
    zh: str
    en: str

    def as_payload(self) -> dict[str, str]:
        return {"message": self.zh, "message_en": self.en}


@dataclass
class DomainError(Exception):
    """Base of every refusal the system gives a person."""

    zh: str
    en: str
    code: str = "invalid"
    fields: dict[str, FieldMessage] = field(default_factory=dict)
    http_status: int = 400

    def __post_init__(self) -> None:
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"{self.zh} / {self.en}"

    def as_payload(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.zh,
            "message_en": self.en,
            "fields": {name: msg.as_payload() for name, msg in self.fields.items()},
        }


class ValidationFailed(DomainError):
    def __init__(self, zh: str, en: str, *, fields: dict[str, FieldMessage] | None = None) -> None:
        super().__init__(zh=zh, en=en, code="validation_failed", fields=fields or {}, http_status=422)


class InvalidTransition(DomainError):
    def __init__(self, zh: str, en: str, *, code: str = "invalid_transition") -> None:
        super().__init__(zh=zh, en=en, code=code, http_status=409)


class NotFound(DomainError):
    def __init__(self, zh: str = "未找到该记录", en: str = "Not found") -> None:
        super().__init__(zh=zh, en=en, code="not_found", http_status=404)


class PermissionRefused(DomainError):
    def __init__(self, zh: str = "无权执行此操作", en: str = "You are not allowed to do this") -> None:
        super().__init__(zh=zh, en=en, code="forbidden", http_status=403)


def field_error(name: str, zh: str, en: str) -> ValidationFailed:
    """A refusal about one input field."""
    return ValidationFailed(zh, en, fields={name: FieldMessage(zh, en)})
