"""Masking of personal identifiers on screens, in API answers and in logs (PIPL; research/security.md)."""

from __future__ import annotations

from ecancel.identity.id_numbers import mask_id_number


def mask_phone(value: str) -> str:
    """Keep the first three and last four digits: ``139****5678``."""
    if len(value) < 7:
        return "*" * len(value)
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"


def mask_name(value: str) -> str:
    """Keep the first and last character: ``张*三``, ``李*``, ``欧**明``; a single character is hidden."""
    if len(value) <= 1:
        return "*" * len(value)
    if len(value) == 2:
        return f"{value[0]}*"
    return f"{value[0]}{'*' * (len(value) - 2)}{value[-1]}"


__all__ = ["mask_id_number", "mask_name", "mask_phone"]
