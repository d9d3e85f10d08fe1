"""Registry fixtures made through the filing services, as real input would be."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from ecancel.accounts.models import Organisation, User
from ecancel.core.context import RequestContext
from ecancel.filing.models import Building, FiledContract, Unit
from ecancel.filing.services import BuyerInput, contract_file, project_create, unit_create
from ecancel.identity.id_numbers import IdType, make_mainland_id
from tests.factories import UserFactory


@pytest.fixture
def ctx() -> RequestContext:
    return RequestContext(ip="127.0.0.1", user_agent="pytest")


@pytest.fixture
def clerk(developer: Organisation) -> User:
    return UserFactory(organisation=developer)


@pytest.fixture
def building(developer: Organisation, clerk: User, ctx: RequestContext) -> Building:
    project = project_create(
        developer=developer,
        name="演示·翠湖花园",
        presale_permit_no="中山预许字(2025)第0901号",
        district="东区",
        address="中山市东区演示路1号",
        buildings=["1幢", "2幢"],
        actor=clerk,
        ctx=ctx,
    )
    return project.buildings.get(name="1幢")


def make_unit(building: Building, room_no: str, ctx: RequestContext) -> Unit:
    return unit_create(
        building=building, room_no=room_no, floor=int(room_no[:-2]), floor_area=Decimal("98.50"), actor=None, ctx=ctx
    )


@pytest.fixture
def unit(building: Building, ctx: RequestContext) -> Unit:
    return make_unit(building, "1201", ctx)


def buyer(n: int = 1, **overrides: Any) -> BuyerInput:
    values: dict[str, Any] = {
        "name": f"李玥{n}",
        "id_type": IdType.MAINLAND_ID,
        "id_number": make_mainland_id("442000", dt.date(1990, 1, n), 10 + n),
        "phone": f"1380000{n:04d}",
    }
    values.update(overrides)
    return BuyerInput(**values)


def file_contract(
    seller: Organisation, unit: Unit, ctx: RequestContext, actor: User | None = None, **overrides: Any
) -> FiledContract:
    values: dict[str, Any] = {
        "seller": seller,
        "unit_id": unit.pk,
        "contract_no": "DEMO-HT-0001",
        "filing_no": "DEMO-BA-0001",
        "total_price": Decimal("1880000.00"),
        "signed_on": dt.date(2025, 3, 1),
        "filed_on": dt.date(2025, 3, 4),
        "buyers": [buyer(1)],
        "actor": actor,
        "ctx": ctx,
    }
    values.update(overrides)
    return contract_file(**values)


@pytest.fixture
def contract(developer: Organisation, unit: Unit, clerk: User, ctx: RequestContext) -> FiledContract:
    return file_contract(developer, unit, ctx, actor=clerk)
