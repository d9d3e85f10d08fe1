"""Reads of the filing registry, always scoped to one seller so nobody sees another's contracts."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import Organisation
from ecancel.core.errors import NotFound
from ecancel.filing.models import BuyerParty, FiledContract, Project, Unit
from ecancel.filing.transitions import ContractStatus
from ecancel.identity.masking import mask_id_number, mask_phone


def _contracts_of(seller: Organisation) -> QuerySet[FiledContract]:
    return (
        FiledContract.objects.for_seller(seller.pk)
        .select_related("seller", "unit__building__project")
        .prefetch_related("buyers")
    )


def contract_list(*, seller: Organisation, query: str = "", status: str | None = None) -> QuerySet[FiledContract]:
    """The seller's filed contracts, searched by contract/filing number, buyer name, room number or project."""
    contracts = _contracts_of(seller)
    if status:
        contracts = contracts.filter(status=status)
    query = query.strip()
    if query:
        matches = (
            Q(contract_no__icontains=query)
            | Q(filing_no__icontains=query)
            | Q(buyers__name__icontains=query)
            | Q(unit__room_no__icontains=query)
            | Q(unit__building__project__name__icontains=query)
        )
        # Joining buyers can repeat a contract; filter by primary key instead of DISTINCT so ordering stays free.
        contracts = contracts.filter(pk__in=FiledContract.objects.for_seller(seller.pk).filter(matches).values("pk"))
    return contracts


_CONTRACT_COLUMNS = {
    "id": "id",
    "contract_no": "contract_no",
    "filing_no": "filing_no",
    "seller": "seller__name",
    "total_price": "total_price",
    "payment_method": "payment_method",
    "signed_on": "signed_on",
    "filed_on": "filed_on",
    "status": "status",
    "cancelled_at": "cancelled_at",
}
_UNIT_COLUMNS = {
    "id": "unit_id",
    "building": "unit__building__name",
    "room_no": "unit__room_no",
    "floor": "unit__floor",
    "floor_area": "unit__floor_area",
    "usage": "unit__usage",
    "status": "unit__status",
}
_PROJECT_COLUMNS = {
    "id": "unit__building__project_id",
    "name": "unit__building__project__name",
    "presale_permit_no": "unit__building__project__presale_permit_no",
    "district": "unit__building__project__district",
    "address": "unit__building__project__address",
}


def contract_rows(contracts: QuerySet[FiledContract]) -> list[dict[str, Any]]:
    """The contracts as plain rows (project in the unit, buyers masked, in order): what the API shows of each.

    Two queries whatever the number of contracts, and no model instances: the contract list is the API's busiest read.
    """
    found: list[dict[str, Any]] = list(
        contracts.values(*_CONTRACT_COLUMNS.values(), *_UNIT_COLUMNS.values(), *_PROJECT_COLUMNS.values())
    )
    buyers: dict[uuid.UUID, list[dict[str, Any]]] = {row["id"]: [] for row in found}
    parties = BuyerParty.objects.filter(contract_id__in=list(buyers)).order_by("contract_id", "position")
    for party in parties.values("contract_id", "position", "name", "id_type", "id_number", "phone", "region", "share"):
        buyers[party["contract_id"]].append(
            {
                "position": party["position"],
                "name": party["name"],
                "id_type": party["id_type"],
                "id_number_masked": mask_id_number(party["id_number"]),
                "phone_masked": mask_phone(party["phone"]),
                "region": party["region"],
                "share": party["share"],
            }
        )
    rows = []
    for row in found:
        contract = {name: row[column] for name, column in _CONTRACT_COLUMNS.items()}
        contract["status_label"] = str(ContractStatus(contract["status"]).label)
        contract["unit"] = {name: row[column] for name, column in _UNIT_COLUMNS.items()}
        contract["unit"]["project"] = {name: row[column] for name, column in _PROJECT_COLUMNS.items()}
        contract["buyers"] = buyers[row["id"]]
        rows.append(contract)
    return rows


def contract_row(contract: FiledContract) -> dict[str, Any]:
    """One contract as ``contract_rows`` shows it."""
    return contract_rows(FiledContract.objects.filter(pk=contract.pk))[0]


def contract_get(*, seller: Organisation, contract_id: uuid.UUID | str) -> FiledContract:
    """One of the seller's contracts; NotFound (never another company's contract) otherwise."""
    try:
        return _contracts_of(seller).get(pk=contract_id)
    except (FiledContract.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise NotFound(_("未找到该合同")) from exc


def project_list(*, developer: Organisation) -> QuerySet[Project]:
    return Project.objects.filter(developer=developer).prefetch_related("buildings")


def unit_list(
    *, developer: Organisation, project_id: uuid.UUID | str | None = None, status: str | None = None
) -> QuerySet[Unit]:
    """The developer's units, optionally of one project or in one status."""
    units = Unit.objects.filter(building__project__developer=developer).select_related("building__project")
    if project_id is not None:
        units = units.filter(building__project_id=project_id)
    if status:
        units = units.filter(status=status)
    return units
