"""What the self-test needs inside the deployment before it can drive a case over HTTP.

A seller of its own (marked as the self-test's, with specimen papers), a freshly filed contract whose buyers
are the specimen ID card's and passport's holders, an API token for that seller, and a one-run 公证员 account
in the chosen office with a password and authenticator only this run knows. ``retire`` takes the credentials
away again, whatever happened in between: nothing usable is left behind. The filing side's half
(``provision_seller``) and the notary side's (``provision_notary``) can also be prepared in two deployments; the
drive gets both as plain ``Credentials``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from ecancel.accounts.models import (
    SELF_TEST_SELLER_ID,
    ApiToken,
    NotaryOffice,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from ecancel.accounts.services import api_token_create, api_token_revoke
from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext
from ecancel.core.errors import ValidationFailed
from ecancel.demo.seed import DemoDeveloper, developer_company_with_papers
from ecancel.filing.models import Building, FiledContract, Project, Unit
from ecancel.filing.services import BuyerInput, building_create, contract_file, project_create, unit_create
from ecancel.filing.transitions import UnitStatus
from ecancel.identity.id_numbers import IdType
from ecancel.identity.specimens import IdCardFront, Passport

SELLER = DemoDeveloper(
    name="ecancel 自检开发企业（系统自检专用，非真实企业）",
    short_name="ecancel自检",
    credit_serial=99990001,
    address="中山市东区系统自检路1号（自检）",
    phone="0760-00000000",
    legal_representative="自检员",
    legal_representative_sex="男",
    legal_representative_birth=dt.date(1980, 1, 1),
    legal_representative_sequence=901,
    founded=dt.date(2020, 1, 1),
)
PROJECT_PERMIT = "ECANCEL-SELFTEST"
BUILDING = "1栋"
NOTARY_USERNAME_PREFIX = "selftest_notary_"

MAINLAND_CARD = IdCardFront()
PASSPORT = Passport()


@dataclass(frozen=True)
class Authenticator:
    """A TOTP device's secret and parameters, as plain values."""

    key: str
    step: int
    t0: int
    digits: int
    drift: int

    @classmethod
    def of(cls, device: TOTPDevice) -> Authenticator:
        return cls(key=device.key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)

    def code(self) -> str:
        value = TOTP(bytes.fromhex(self.key), self.step, self.t0, self.digits, self.drift).token()
        return f"{value:0{self.digits}d}"


@dataclass(frozen=True)
class Credentials:
    """What a drive needs, as plain values: they can be prepared by other processes (or deployments) than the one
    that drives, and handed over as JSON."""

    office_id: str
    office_name: str
    contract_id: str
    contract_no: str
    seller_token: str
    notary_username: str
    notary_password: str
    notary_authenticator: Authenticator

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Credentials:
        return cls(**{**data, "notary_authenticator": Authenticator(**data["notary_authenticator"])})


@dataclass(frozen=True)
class SellerRun:
    seller: Organisation
    contract: FiledContract
    token: str


@dataclass(frozen=True)
class NotaryRun:
    user: User
    password: str
    device: TOTPDevice


@dataclass(frozen=True)
class Provisioned:
    office: NotaryOffice
    seller: Organisation
    contract: FiledContract
    seller_token: str
    notary_username: str
    notary_password: str
    notary_totp: TOTPDevice

    def credentials(self) -> Credentials:
        return Credentials(
            office_id=str(self.office.organisation_id),
            office_name=self.office.organisation.name,
            contract_id=str(self.contract.pk),
            contract_no=self.contract.contract_no,
            seller_token=self.seller_token,
            notary_username=self.notary_username,
            notary_password=self.notary_password,
            notary_authenticator=Authenticator.of(self.notary_totp),
        )


def office_find(reference: str | None) -> NotaryOffice:
    """By code, name or short name; without one, the deployment's only office."""
    offices = NotaryOffice.objects.select_related("organisation").order_by("code")
    matching = (
        offices.filter(Q(code=reference) | Q(organisation__name=reference) | Q(organisation__short_name=reference))
        if reference
        else offices
    )
    found = list(matching[:2])
    if len(found) == 1:
        return found[0]
    choices = "、".join(f"{o.code}（{o.organisation.name}）" for o in offices[:50])
    if not choices:
        raise ValidationFailed(_("本系统还没有公证处：请先在管理后台添加公证处"))
    if reference:
        raise ValidationFailed(
            _("找不到公证处「%(reference)s」。可选：%(choices)s") % {"reference": reference, "choices": choices}
        )
    raise ValidationFailed(_("本系统有多个公证处，请用 --office 指定其一：%(choices)s") % {"choices": choices})


def _buyers() -> list[BuyerInput]:
    return [
        BuyerInput(
            name=MAINLAND_CARD.name,
            id_type=IdType.MAINLAND_ID,
            id_number=MAINLAND_CARD.number,
            phone="13800009901",
            address=MAINLAND_CARD.address,
            share="50%",
        ),
        BuyerInput(
            name=f"{PASSPORT.surname} {PASSPORT.given_names}",
            id_type=IdType.PASSPORT,
            id_number=PASSPORT.number,
            phone="+44 20 7946 0991",
            region="英国",
            address="London, United Kingdom (self-test)",
            share="50%",
            issuing_country=PASSPORT.country,
        ),
    ]


def _seller(ctx: RequestContext) -> Organisation:
    seller, _created = Organisation.objects.get_or_create(
        id=SELF_TEST_SELLER_ID,
        defaults={
            "kind": OrganisationKind.DEVELOPER,
            "name": SELLER.name,
            "short_name": SELLER.short_name,
            "address": SELLER.address,
            "phone": SELLER.phone,
        },
    )
    developer_company_with_papers(seller, SELLER)
    return seller


def _free_unit(seller: Organisation, ctx: RequestContext) -> Unit:
    """A unit for sale in the self-test's building: the last run's unit is for sale again once its filing was
    cancelled; one left filed by a run that stopped half-way is left alone and a new unit is added."""
    project = Project.objects.filter(presale_permit_no=PROJECT_PERMIT).first() or project_create(
        developer=seller,
        name="ecancel 自检楼盘",
        presale_permit_no=PROJECT_PERMIT,
        district="东区",
        address=SELLER.address,
        actor=None,
        ctx=ctx,
    )
    building = Building.objects.filter(project=project, name=BUILDING).first() or building_create(
        project=project, name=BUILDING, actor=None, ctx=ctx
    )
    unit = Unit.objects.filter(building=building, status=UnitStatus.AVAILABLE).order_by("room_no").first()
    if unit is not None:
        return unit
    room = Unit.objects.filter(building=building).count() + 101
    return unit_create(building=building, room_no=str(room), floor=1, floor_area=Decimal("88.00"), actor=None, ctx=ctx)


@transaction.atomic
def provision_notary(*, office: NotaryOffice, ctx: RequestContext) -> NotaryRun:
    """The run's 公证员 in ``office``, with a password and an authenticator only this run knows."""
    user = User.objects.filter(username=f"{NOTARY_USERNAME_PREFIX}{office.code}").first() or User(
        username=f"{NOTARY_USERNAME_PREFIX}{office.code}",
        display_name=_("系统自检（ecancel selftest）"),
        organisation=office.organisation,
        role=Role.NOTARY,
    )
    password = secrets.token_urlsafe(24)
    user.set_password(password)
    user.is_active = True
    user.save()
    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(user=user, name="selftest", confirmed=True)
    record_event("accounts.selftest_notary.enabled", organisation=office.organisation, obj=user, ctx=ctx)
    return NotaryRun(user=user, password=password, device=device)


@transaction.atomic
def provision_seller(*, now: dt.datetime, ctx: RequestContext) -> SellerRun:
    """The self-test's seller with a freshly filed contract and an API token: the filing side's half."""
    seller = _seller(ctx)
    unit = _free_unit(seller, ctx)
    stamp = now.strftime("%Y%m%d%H%M%S") + secrets.token_hex(2).upper()
    today = timezone.localdate(now)
    contract = contract_file(
        seller=seller,
        unit_id=unit.pk,
        contract_no=f"SELFTEST-HT-{stamp}",
        filing_no=f"SELFTEST-BA-{stamp}",
        total_price=Decimal("880000"),
        signed_on=today - dt.timedelta(days=10),
        filed_on=today - dt.timedelta(days=7),
        buyers=_buyers(),
        actor=None,
        ctx=ctx,
    )
    _token, raw = api_token_create(organisation=seller, name=f"selftest {stamp}", actor=None, ctx=ctx)
    return SellerRun(seller=seller, contract=contract, token=raw)


@transaction.atomic
def provision(*, office: NotaryOffice, now: dt.datetime, ctx: RequestContext) -> Provisioned:
    """Both halves, in a deployment that hosts both sides."""
    filing = provision_seller(now=now, ctx=ctx)
    notary = provision_notary(office=office, ctx=ctx)
    return Provisioned(
        office=office,
        seller=filing.seller,
        contract=filing.contract,
        seller_token=filing.token,
        notary_username=notary.user.username,
        notary_password=notary.password,
        notary_totp=notary.device,
    )


@transaction.atomic
def retire(provisioned: Provisioned, *, ctx: RequestContext) -> None:
    """The run's token is revoked and its notary account can no longer log in."""
    for token in ApiToken.objects.filter(organisation=provisioned.seller, revoked_at__isnull=True):
        api_token_revoke(token=token, actor=None, ctx=ctx)
    user = User.objects.get(username=provisioned.notary_username)
    user.set_unusable_password()
    user.is_active = False
    user.save(update_fields=["password", "is_active"])
    TOTPDevice.objects.filter(user=user).delete()
    record_event("accounts.selftest_notary.retired", organisation=provisioned.office.organisation, obj=user, ctx=ctx)
