"""Reads of the filing registry, always scoped to one seller so nobody sees another's contracts."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import Organisation
from ecancel.core.errors import NotFound
from ecancel.filing.models import FiledContract, Project, Unit


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
