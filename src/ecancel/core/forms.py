"""Form helpers every console shares."""

from __future__ import annotations

from django import forms

from ecancel.core.errors import DomainError


def add_domain_errors(form: forms.Form, error: DomainError, *, prefix_map: dict[str, str] | None = None) -> None:
    """Put a refusal's field messages on the form's fields (or on the form when no field matches)."""
    placed = False
    for name, message in error.fields.items():
        field = (prefix_map or {}).get(name, name)
        if field in form.fields:
            form.add_error(field, message.message)
            placed = True
    if not placed:
        form.add_error(None, error.message)
