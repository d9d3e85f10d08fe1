"""Text the API accepts: no control characters, in any field or query parameter.

PostgreSQL cannot store NUL in text at all (the insert fails), and the other C0 controls are never
part of a name, an address or a search; both databases must answer the same, so the API refuses
them before any service runs. TAB, LF and CR are allowed everywhere: the free-text fields (reasons,
addresses) legitimately carry pasted line breaks, and a stray one in a single-line field does no harm.

One check for every operation (:func:`refuse_control_characters`, installed on the whole API) and one
statement of the rule in the OpenAPI document (:func:`declare_plain_text`), so no schema has to
remember it field by field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel

from ecancel.core.errors import FieldMessage, ValidationFailed

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The same rule as a JSON Schema (ECMA-262) pattern for the OpenAPI document.
PLAIN_TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"

CONTROL_CHARACTER_MESSAGE = FieldMessage(
    _("不能包含控制字符（如 NUL）；换行和制表符可以"),
)


def _offending(value: Any, name: str) -> Iterator[str]:
    """The client-side names (``applicants.0.name``) of every text under ``value`` that holds a control character."""
    if isinstance(value, str):
        if CONTROL_CHARACTERS.search(value):
            yield name or "__all__"
    elif isinstance(value, BaseModel):
        for attribute, field in type(value).model_fields.items():
            yield from _offending(getattr(value, attribute), _join(name, field.alias or attribute))
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and CONTROL_CHARACTERS.search(key):
                yield name or "__all__"
            yield from _offending(item, _join(name, str(key)))
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            yield from _offending(item, _join(name, str(index)))


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def offending_fields(arguments: dict[str, Any]) -> list[str]:
    """Names as the client sent them: a schema argument (body, ``Query[...]``) contributes its own field names."""
    names: list[str] = []
    for argument, value in arguments.items():
        names.extend(_offending(value, "" if isinstance(value, BaseModel) else argument))
    return names


def refuse_control_characters(view: Callable[..., Any]) -> Callable[..., Any]:
    """An operation decorator: the validated arguments are checked before the view (and so any service) runs."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        names = offending_fields(kwargs)
        if names:
            raise ValidationFailed(
                _("提交的内容有误，请按字段提示修改"),
                fields=dict.fromkeys(names, CONTROL_CHARACTER_MESSAGE),
            )
        return view(request, *args, **kwargs)

    return checked


def declare_plain_text(document: dict[str, Any]) -> None:
    """Give every free string a client sends (query parameters, request bodies) the plain-text pattern."""
    components = document.get("components", {}).get("schemas", {})
    seen: set[str] = set()

    def constrain(schema: Any) -> None:
        if not isinstance(schema, dict):
            return
        reference = schema.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/components/schemas/"):
            name = reference.rsplit("/", 1)[1]
            if name not in seen:
                seen.add(name)
                constrain(components.get(name))
            return
        if schema.get("type") == "string" and not {"enum", "const", "format", "pattern"} & schema.keys():
            schema["pattern"] = PLAIN_TEXT_PATTERN
        for key in ("items", "additionalProperties"):
            constrain(schema.get(key))
        for key in ("anyOf", "oneOf", "allOf"):
            for part in schema.get(key, []):
                constrain(part)
        for part in schema.get("properties", {}).values():
            constrain(part)

    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                constrain(parameter.get("schema"))
            for media in operation.get("requestBody", {}).get("content", {}).values():
                constrain(media.get("schema"))
