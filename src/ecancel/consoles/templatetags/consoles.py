"""Template helpers shared by every console page."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

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


@register.filter
def yuan(value: object) -> str:
    """An amount the one way both consoles show it: 2,108,896.00 元."""
    amount = money(value)
    return _("%(amount)s 元") % {"amount": amount} if amount else "—"


@register.filter
def short_hash(value: object) -> SafeString:
    """A SHA-256 as its first 12 characters; the full value one click away (and in the tooltip)."""
    digest = str(value or "")
    if len(digest) <= 16:
        return format_html('<span class="mono">{}</span>', digest)
    return format_html(
        '<details class="hash"><summary class="mono" title="{}">{}…</summary>'
        '<code class="hash__full">{}</code></details>',
        digest,
        digest[:12],
        digest,
    )


@register.filter
def readable_change(change: dict[str, str]) -> dict[str, str]:
    """A change before a re-push, worded for the operator: phones masked, a replaced file named, not hashed.

    Snapshots keep the values as pushed (the notary office receives them); screens show them like every
    other screen does.
    """
    field, before, after = change.get("field", ""), change.get("before", ""), change.get("after", "")
    if field == "refund_amount":
        return {**change, "before": _as_yuan(before), "after": _as_yuan(after)}
    if field.endswith(".phone"):
        return {**change, "before": masking.mask_phone(before), "after": masking.mask_phone(after)}
    if field == "agent.power_of_attorney":
        if before and after:
            summary = _("授权委托书已更换")
        elif after:
            summary = _("已上传授权委托书")
        else:
            summary = _("授权委托书已删除")
        return {**change, "before": _("原文件") if before else "", "after": summary}
    return change


def _as_yuan(value: str) -> str:
    """A pushed amount as the snapshot wrote it (``1,000.00元``), shown as every other amount is."""
    return yuan(value.removesuffix("元").replace(",", "")) if value else ""
