"""Masking of personal identifiers on screens and in API answers (PIPL; research/security.md)."""

from __future__ import annotations

from ecancel.identity.id_numbers import mask_id_number


def mask_id(value: str) -> str:
    """ID numbers are never shown in full: the identity package decides how much stays visible."""
    return mask_id_number(value)


def mask_phone(value: str) -> str:
    """Keep the first three and last four digits: ``139****5678``."""
    if len(value) < 7:
        return "*" * len(value)
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"
