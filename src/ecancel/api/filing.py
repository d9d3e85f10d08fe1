"""Filing side: the developer's filed contracts, for its staff and its integrations."""

# No "from __future__ import annotations": ninja reads the parameter annotations at run time.

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import BaseModel

from ecancel.accounts.auth import OPERATOR_ROLES
from ecancel.accounts.models import OrganisationKind
from ecancel.api.answers import answer_cached
from ecancel.api.auth import require_organisation
from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext
from ecancel.core.paging import PageNumbers, RowsOf
from ecancel.filing.selectors import contract_get, contract_list, contract_row, contract_rows
from ecancel.filing.transitions import ContractStatus

router = Router()


class ProjectOut(BaseModel):
    id: uuid.UUID
    name: str
    presale_permit_no: str
    district: str
    address: str


class UnitOut(BaseModel):
    id: uuid.UUID
    building: str
    room_no: str
    floor: int
    floor_area: Decimal
    usage: str
    status: str
    project: ProjectOut


class BuyerOut(BaseModel):
    position: int
    name: str
    id_type: str
    id_number_masked: str
    phone_masked: str
    region: str
    share: str


class ContractOut(BaseModel):
    """Read from ``contract_rows``: plain rows, not model instances."""

    id: uuid.UUID
    contract_no: str
    filing_no: str
    seller: str
    total_price: Decimal
    payment_method: str
    signed_on: dt.date
    filed_on: dt.date
    status: ContractStatus
    status_label: str
    cancelled_at: dt.datetime | None
    unit: UnitOut
    buyers: list[BuyerOut]


class ContractFilter(Schema):
    q: str = Field("", max_length=100, description="合同编号、备案编号、买受人姓名、房号或楼盘名称")
    status: ContractStatus | None = None


@router.get("/contracts", response=list[ContractOut], summary="已备案合同列表 / Filed contracts")
@answer_cached
@paginate(PageNumbers)
def list_contracts(request: HttpRequest, filters: Query[ContractFilter]) -> object:
    seller = require_organisation(request, OrganisationKind.DEVELOPER, roles=OPERATOR_ROLES).organisation
    return RowsOf(contract_list(seller=seller, query=filters.q, status=filters.status), contract_rows)


@router.get("/contracts/{contract_id}", response=ContractOut, summary="已备案合同详情 / One filed contract")
def get_contract(request: HttpRequest, contract_id: uuid.UUID) -> dict[str, Any]:
    who = require_organisation(request, OrganisationKind.DEVELOPER, roles=OPERATOR_ROLES)
    contract = contract_get(seller=who.organisation, contract_id=contract_id)
    record_event(
        "filing.contract.viewed",
        actor=who.user,
        organisation=who.organisation,
        actor_label=who.label,
        obj=contract,
        data={"personal_data": True},
        ctx=RequestContext.of(request, via="api"),
    )
    return contract_row(contract)
