"""Template helpers shared by every console page."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from ecancel.accounts.models import Role
from ecancel.identity import masking

register = template.Library()


@register.filter
def mask_id(value: object) -> str:
    """ID numbers are never shown in full on a screen."""
    return masking.mask_id_number(str(value or ""))


@register.filter
def mask_phone(value: object) -> str:
    return masking.mask_phone(str(value or ""))


@register.simple_tag
def console_side(user: object) -> str:
    """Which navigation a staff member sees: operator, notary, filing, admin, or none."""
    role = getattr(user, "role", "")
    if role in (Role.OPERATOR, Role.OPERATOR_ADMIN):
        return "operator"
    if role in (Role.NOTARY_CLERK, Role.NOTARY, Role.NOTARY_ADMIN):
        return "notary"
    if role == Role.FILING_OFFICER:
        return "filing"
    if role == Role.SYSTEM_ADMIN or getattr(user, "is_superuser", False):
        return "admin"
    return ""


@register.filter
def money(value: object) -> str:
    """Amounts in yuan with thousands separators, as on a contract: 1,580,000.00."""
    try:
        return f"{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return ""
