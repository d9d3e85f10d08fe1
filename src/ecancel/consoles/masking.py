"""Masking of personal identifiers on screens and in API answers (PIPL; research/security.md)."""

from __future__ import annotations


def mask_id(value: str) -> str:
    """Keep the first three and last four characters of an ID number (fewer for short numbers)."""
    if len(value) <= 4:
        return "*" * len(value)
    keep_head = 3 if len(value) >= 10 else 1
    return f"{value[:keep_head]}{'*' * (len(value) - keep_head - 4)}{value[-4:]}"


def mask_phone(value: str) -> str:
    if len(value) < 7:
        return "*" * len(value)
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"
