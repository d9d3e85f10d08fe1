"""The contract page links a contract's open application instead of offering a new one."""

from __future__ import annotations

from django import template

from ecancel.cancellation.models import Application
from ecancel.filing.models import FiledContract

register = template.Library()


@register.simple_tag
def open_application(contract: FiledContract) -> Application | None:
    return Application.objects.open().filter(contract_id=contract.pk, seller_id=contract.seller_id).first()
