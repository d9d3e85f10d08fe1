"""Errors a person can act on: a code, a translatable message with named parameters, field errors.

The message is a lazy gettext string (Chinese source) and its parameters; it is rendered in the language
active where it is shown (``message``), and in English for the API's ``message_en`` — never at raise time.
Services raise these; pages show ``message``; the API answers with ``as_payload()``.

A message still written the old way, ``InvalidTransition("中文", "English")``, keeps working while the
conversion script (see docs/development.md) turns it into ``InvalidTransition(_("中文"))``: it shows the
English in English and the Chinese otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

Text = str | Promise


def _english_active() -> bool:
    return (translation.get_language() or "").startswith("en")


class Joined:
    """Names or messages listed in the language active when shown: 「甲」「乙」 / "甲, 乙", or 一；二 / "one; two"."""

    def __init__(self, items: Iterable[Any], *, quoted: bool = False, clauses: bool = False) -> None:
        self.items = list(items)
        self.quoted = quoted
        self.clauses = clauses

    def __str__(self) -> str:
        items = [str(_shown(item)) for item in self.items]
        if _english_active():
            return ("; " if self.clauses else ", ").join(items)
        if self.quoted:
            return "".join(f"「{item}」" for item in items)
        return ("；" if self.clauses else "、").join(items)

    def __bool__(self) -> bool:
        return bool(self.items)


def _shown(value: Any) -> Any:
    """A parameter as shown now: lazy text, nested messages and lists rendered in the active language."""
    if isinstance(value, Promise | Joined):
        return str(value)
    if isinstance(value, FieldMessage | DomainError):
        return value.message
    return value


def render_text(text: Text, params: Mapping[str, Any] | None = None, *, en: str | None = None) -> str:
    """``text`` in the active language with ``params`` filled in (each parameter rendered there too)."""
    if en is not None and _english_active():
        return en
    rendered = str(text)
    if params:
        rendered = rendered % {name: _shown(value) for name, value in params.items()}
    return rendered


def render_english(text: Text, params: Mapping[str, Any] | None = None, *, en: str | None = None) -> str:
    with translation.override("en"):
        return render_text(text, params, en=en)


def render_source(text: Text, params: Mapping[str, Any] | None = None) -> str:
    with translation.override("zh-hans"):
        return render_text(text, params)


class FieldMessage:
    """What is wrong with one input field."""

    def __init__(self, text: Text, en: str | None = None, *, params: Mapping[str, Any] | None = None) -> None:
        self.text = text
        self.params = dict(params or {})
        self.legacy_en = en

    @property
    def message(self) -> str:
        return render_text(self.text, self.params, en=self.legacy_en)

    @property
    def message_en(self) -> str:
        return render_english(self.text, self.params, en=self.legacy_en)

    @property
    def zh(self) -> str:
        return render_source(self.text, self.params)

    @property
    def en(self) -> str:
        return self.message_en

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldMessage) and (self.zh, self.en) == (other.zh, other.en)

    def __hash__(self) -> int:
        return hash((self.zh, self.en))

    def __repr__(self) -> str:
        return f"FieldMessage({self.zh!r})"

    def as_payload(self) -> dict[str, str]:
        return {"message": self.message, "message_en": self.message_en}


class DomainError(Exception):
    """Base of every refusal the system gives a person."""

    def __init__(
        self,
        text: Text = "",
        en: str | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        code: str = "invalid",
        fields: dict[str, FieldMessage] | None = None,
        http_status: int = 400,
        zh: Text | None = None,
    ) -> None:
        self.text: Text = zh if zh is not None else text
        self.params = dict(params or {})
        self.legacy_en = en
        self.code = code
        self.fields = fields or {}
        self.http_status = http_status
        super().__init__(self.text)

    def __str__(self) -> str:
        return self.zh

    @property
    def message(self) -> str:
        """The message in the language active now (the page's or the request's)."""
        return render_text(self.text, self.params, en=self.legacy_en)

    @property
    def message_en(self) -> str:
        return render_english(self.text, self.params, en=self.legacy_en)

    @property
    def zh(self) -> str:
        """The Chinese source, for logs and the audit trail."""
        return render_source(self.text, self.params)

    @property
    def en(self) -> str:
        return self.message_en

    def as_payload(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "message_en": self.message_en,
            "fields": {name: msg.as_payload() for name, msg in self.fields.items()},
        }


class ValidationFailed(DomainError):
    def __init__(
        self,
        text: Text,
        en: str | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        fields: dict[str, FieldMessage] | None = None,
    ) -> None:
        super().__init__(text, en, params=params, code="validation_failed", fields=fields or {}, http_status=422)


class InvalidTransition(DomainError):
    def __init__(
        self,
        text: Text,
        en: str | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        code: str = "invalid_transition",
    ) -> None:
        super().__init__(text, en, params=params, code=code, http_status=409)


class NotFound(DomainError):
    def __init__(
        self, text: Text | None = None, en: str | None = None, *, params: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(text or _("未找到该记录"), en, params=params, code="not_found", http_status=404)


class PermissionRefused(DomainError):
    def __init__(
        self, text: Text | None = None, en: str | None = None, *, params: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(text or _("无权执行此操作"), en, params=params, code="forbidden", http_status=403)


def field_error(
    name: str, text: Text, en: str | None = None, *, params: Mapping[str, Any] | None = None
) -> ValidationFailed:
    """A refusal about one input field."""
    return ValidationFailed(text, en, params=params, fields={name: FieldMessage(text, en, params=params)})
