"""Masking of personal identifiers on screens, in API answers and in logs (PIPL; research/security.md)."""

from __future__ import annotations

from ecancel.identity.id_numbers import mask_id_number


def mask_phone(value: str) -> str:
    """Keep the first three and last four digits: ``139****5678``."""
    if len(value) < 7:
        return "*" * len(value)
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"


__all__ = ["mask_id_number", "mask_phone"]
