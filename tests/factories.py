"""Factories for test data; every ID number and credit code they make is valid."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from functools import cache
from typing import Any

import factory
from factory.django import DjangoModelFactory
from PIL import Image

from ecancel.accounts.models import DeveloperCompany, NotaryOffice, Organisation, OrganisationKind, Role, User
from ecancel.filing.models import Building, BuyerParty, FiledContract, Project, Unit
from ecancel.filing.transitions import ContractStatus, UnitStatus
from ecancel.identity.id_numbers import IdType

TEST_PASSWORD = "correct-horse-battery-staple-42"

_GB11643_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def mainland_id(n: int, birth: dt.date = dt.date(1988, 3, 14), region: str = "442000") -> str:
    """A valid 18-character 居民身份证 number; the check digit per GB 11643."""
    body = f"{region}{birth:%Y%m%d}{n % 1000:03d}"
    total = sum(int(c) * w for c, w in zip(body, _GB11643_WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def credit_code(n: int) -> str:
    """A valid 统一社会信用代码 per GB 32100."""
    body = f"914420{n:011d}"[:17]
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(body, _CREDIT_WEIGHTS, strict=True))
    return body + _CREDIT_CHARS[(31 - total % 31) % 31]


class OrganisationFactory(DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation

    kind = OrganisationKind.DEVELOPER
    name = factory.Sequence(lambda n: f"测试置业有限公司{n}")
    short_name = factory.LazyAttribute(lambda o: o.name[:6])
    address = "中山市东区测试路1号"


@cache
def paper_picture(colour: tuple[int, int, int]) -> bytes:
    """A small PNG standing in for one of the company's papers (the certificate appends them as pictures)."""
    out = io.BytesIO()
    Image.new("RGB", (120, 80), colour).save(out, format="PNG")
    return out.getvalue()


class DeveloperFactory(DjangoModelFactory[DeveloperCompany]):
    class Meta:
        model = DeveloperCompany

    organisation = factory.SubFactory(OrganisationFactory, kind=OrganisationKind.DEVELOPER)
    credit_code = factory.Sequence(credit_code)
    legal_representative = "张建国"
    legal_representative_id_type = IdType.MAINLAND_ID
    legal_representative_id_number = factory.Sequence(lambda n: mainland_id(500 + n, dt.date(1970, 5, 1)))
    legal_representative_id_front = factory.django.FileField(
        filename="id-front.png", data=factory.LazyFunction(lambda: paper_picture((200, 220, 240)))
    )
    legal_representative_id_back = factory.django.FileField(
        filename="id-back.png", data=factory.LazyFunction(lambda: paper_picture((220, 240, 200)))
    )
    business_licence = factory.django.FileField(
        filename="licence.png", data=factory.LazyFunction(lambda: paper_picture((240, 230, 210)))
    )


class NotaryOfficeFactory(DjangoModelFactory[NotaryOffice]):
    class Meta:
        model = NotaryOffice

    organisation = factory.SubFactory(
        OrganisationFactory, kind=OrganisationKind.NOTARY_OFFICE, name=factory.Sequence(lambda n: f"测试公证处{n}")
    )
    code = factory.Sequence(lambda n: f"GDZS{n:03d}")
    certificate_prefix = "粤中中证字"
    case_prefix = "中证受字"


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"测试人员{n}")
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.OPERATOR
    password = factory.django.Password(TEST_PASSWORD)


class ProjectFactory(DjangoModelFactory[Project]):
    class Meta:
        model = Project

    developer = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"测试花园{n}期")
    presale_permit_no = factory.Sequence(lambda n: f"中山预许字(2026)第{n:04d}号")
    district = "东区"
    address = factory.Sequence(lambda n: f"中山市东区测试路{n}号")


class BuildingFactory(DjangoModelFactory[Building]):
    class Meta:
        model = Building

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"{n % 30 + 1}幢")


class UnitFactory(DjangoModelFactory[Unit]):
    class Meta:
        model = Unit

    building = factory.SubFactory(BuildingFactory)
    room_no = factory.Sequence(lambda n: f"{n % 30 + 1:02d}{n % 4 + 1:02d}")
    floor = factory.LazyAttribute(lambda u: int(u.room_no[:2]))
    floor_area = Decimal("98.36")
    status = UnitStatus.FILED


class FiledContractFactory(DjangoModelFactory[FiledContract]):
    class Meta:
        model = FiledContract

    contract_no = factory.Sequence(lambda n: f"ZS2026{n:06d}")
    filing_no = factory.Sequence(lambda n: f"BA2026{n:06d}")
    seller = factory.SubFactory(OrganisationFactory)
    unit = factory.SubFactory(UnitFactory, building__project__developer=factory.SelfAttribute("....seller"))
    total_price = Decimal("1580000.00")
    signed_on = dt.date(2026, 3, 2)
    filed_on = dt.date(2026, 3, 5)
    status = ContractStatus.FILED


class BuyerFactory(DjangoModelFactory[BuyerParty]):
    class Meta:
        model = BuyerParty

    contract = factory.SubFactory(FiledContractFactory)
    position = 1
    name = factory.Sequence(lambda n: f"李{'明芳玥珺喆堃'[n % 6]}{n}")
    id_type = IdType.MAINLAND_ID
    id_number = factory.Sequence(lambda n: mainland_id(n))
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    region = "中国"
    share = "100%"


def contract_with_buyers(count: int = 1, **kwargs: Any) -> FiledContract:
    contract = FiledContractFactory(**kwargs)
    for position in range(1, count + 1):
        BuyerFactory(contract=contract, position=position, share=f"{100 // count}%")
    return contract
