"""Demo data: a Zhongshan-like but fictitious city, entered through the same services as real input.

Every organisation, project and person here is invented and marked 演示; every ID number and
credit code is valid under the same validators real input meets. Seeding is idempotent: rows
are looked up by their natural keys and only what is missing is created. Organisation ids are
derived from their names, so two deployments seeded separately share them (as the exchange
between a filing and a notary deployment requires).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.files.base import ContentFile
from django.db import transaction

from ecancel.accounts.credit_code import make_credit_code, validate_credit_code
from ecancel.accounts.models import DeveloperCompany, NotaryOffice, Organisation, OrganisationKind, Role, User
from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext
from ecancel.demo import images
from ecancel.filing.models import Building, FiledContract, Project, Unit
from ecancel.filing.services import BuyerInput, building_create, contract_file, project_create, unit_create
from ecancel.identity.id_numbers import (
    IdType,
    make_foreign_permanent_resident_2023,
    make_hk_macao_permit,
    make_mainland_id,
    make_residence_permit,
    make_taiwan_permit,
    validate_id_number,
)

ORG_NAMESPACE = uuid.UUID("6f1c2a52-8d1e-4c55-9a57-0e5c1d3a7b10")
AGENT_PRINCIPAL = "周德堃"
AGENT_NAME = "周文博"
AGENT_REASON = "买受人长期居住海外，经家庭商议退房（演示）"
ZHONGSHAN = "442000"
# Letters and digits that cannot be mistaken for one another when read off a console.
_UNAMBIGUOUS = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

FILING_AUTHORITY = "中山市住房和城乡建设局（演示）"


@dataclass(frozen=True)
class DemoDeveloper:
    name: str
    short_name: str
    credit_serial: int
    address: str
    phone: str
    legal_representative: str
    legal_representative_sex: str
    legal_representative_birth: dt.date
    legal_representative_sequence: int
    founded: dt.date


@dataclass(frozen=True)
class DemoNotaryOffice:
    name: str
    short_name: str
    code: str
    certificate_prefix: str
    case_prefix: str
    address: str
    phone: str


@dataclass(frozen=True)
class DemoProject:
    developer: str
    name: str
    presale_permit_no: str
    district: str
    address: str
    buildings: tuple[str, ...]
    price_per_m2: int


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: str
    organisation: str


DEVELOPERS = (
    DemoDeveloper(
        name="中山市演示置业有限公司",
        short_name="演示置业",
        credit_serial=20250101,
        address="中山市东区演示大道88号（演示）",
        phone="0760-8800 0001",
        legal_representative="张建国",
        legal_representative_sex="男",
        legal_representative_birth=dt.date(1968, 5, 12),
        legal_representative_sequence=135,
        founded=dt.date(2008, 6, 18),
    ),
    DemoDeveloper(
        name="中山市样例房地产开发有限公司",
        short_name="样例地产",
        credit_serial=20250202,
        address="中山市火炬开发区样例路6号（演示）",
        phone="0760-8800 0002",
        legal_representative="黄珺",
        legal_representative_sex="女",
        legal_representative_birth=dt.date(1975, 11, 3),
        legal_representative_sequence=248,
        founded=dt.date(2012, 3, 9),
    ),
)

NOTARY_OFFICES = (
    DemoNotaryOffice(
        name="中山市演示公证处",
        short_name="演示公证处",
        code="DEMO-GZ-01",
        certificate_prefix="粤中中证字",
        case_prefix="中证受字",
        address="中山市东区演示路100号（演示）",
        phone="0760-8800 1001",
    ),
    DemoNotaryOffice(
        name="中山市样例公证处",
        short_name="样例公证处",
        code="DEMO-GZ-02",
        certificate_prefix="粤中样证字",
        case_prefix="样证受字",
        address="中山市石岐街道样例街20号（演示）",
        phone="0760-8800 1002",
    ),
    DemoNotaryOffice(
        name="中山市示范公证处",
        short_name="示范公证处",
        code="DEMO-GZ-03",
        certificate_prefix="粤中示证字",
        case_prefix="示证受字",
        address="中山市小榄镇示范路3号（演示）",
        phone="0760-8800 1003",
    ),
)

PROJECTS = (
    DemoProject(
        developer="中山市演示置业有限公司",
        name="演示·翠湖花园",
        presale_permit_no="中山预许字（演示）2025第0101号",
        district="东区",
        address="中山市东区演示大道88号",
        buildings=("1幢", "2幢"),
        price_per_m2=19800,
    ),
    DemoProject(
        developer="中山市演示置业有限公司",
        name="演示·江景名苑",
        presale_permit_no="中山预许字（演示）2025第0102号",
        district="石岐街道",
        address="中山市石岐街道演示江滨路18号",
        buildings=("A座", "B座"),
        price_per_m2=23600,
    ),
    DemoProject(
        developer="中山市样例房地产开发有限公司",
        name="样例·紫荆雅苑",
        presale_permit_no="中山预许字（演示）2025第0203号",
        district="火炬开发区",
        address="中山市火炬开发区样例路6号",
        buildings=("1幢", "2幢"),
        price_per_m2=16500,
    ),
)

# Floors 2–5, two flats a floor: eight units a building, 48 in all.
FLOORS = (2, 3, 4, 5)
FLATS = ((1, Decimal("89.36")), (2, Decimal("118.52")))

USERS = (
    DemoUser("ys_operator", "何小敏（演示）", Role.OPERATOR, "中山市演示置业有限公司"),
    DemoUser("ys_admin", "梁志诚（演示）", Role.OPERATOR_ADMIN, "中山市演示置业有限公司"),
    DemoUser("yl_operator", "冯晓彤（演示）", Role.OPERATOR, "中山市样例房地产开发有限公司"),
    DemoUser("yl_admin", "郭建华（演示）", Role.OPERATOR_ADMIN, "中山市样例房地产开发有限公司"),
    DemoUser("gz1_clerk", "罗晓雯（演示）", Role.NOTARY_CLERK, "中山市演示公证处"),
    DemoUser("gz1_notary", "钟文喆（演示）", Role.NOTARY, "中山市演示公证处"),
    DemoUser("gz1_admin", "蔡明辉（演示）", Role.NOTARY_ADMIN, "中山市演示公证处"),
    DemoUser("gz2_clerk", "叶思琪（演示）", Role.NOTARY_CLERK, "中山市样例公证处"),
    DemoUser("zjj_officer", "曾国栋（演示）", Role.FILING_OFFICER, FILING_AUTHORITY),
    DemoUser("sysadmin", "系统管理员（演示）", Role.SYSTEM_ADMIN, FILING_AUTHORITY),
)


def _mainland(
    n: int, name: str, birth: dt.date, share: str = "", *, region_code: str = ZHONGSHAN, address: str = ""
) -> BuyerInput:
    """A mainland buyer; ``n`` keeps their ID number and phone number apart from everyone else's."""
    return BuyerInput(
        name=name,
        id_type=IdType.MAINLAND_ID,
        id_number=make_mainland_id(region_code, birth, n),
        phone=f"1380000{n:04d}",
        share=share,
        address=address or f"中山市东区演示路{n}号",
    )


# One entry per filed contract. The comments say what each one is there to show.
CONTRACT_BUYERS: tuple[tuple[BuyerInput, ...], ...] = (
    (_mainland(101, "李玥", dt.date(1990, 2, 14)),),
    # Co-buyers, half each.
    (_mainland(103, "王喆", dt.date(1988, 7, 1), "50%"), _mainland(104, "刘珺", dt.date(1989, 9, 23), "50%")),
    # Three co-buyers with unequal shares.
    (
        _mainland(105, "陈堃", dt.date(1962, 4, 8), "40%"),
        _mainland(107, "陈思远", dt.date(1991, 12, 30), "30%", region_code="440103"),
        _mainland(108, "何美玲", dt.date(1965, 1, 19), "30%"),
    ),
    # Hong Kong resident with a 港澳居民来往内地通行证.
    (
        BuyerInput(
            name="陈嘉欣",
            id_type=IdType.HK_MACAO_PERMIT,
            id_number=make_hk_macao_permit("H", 60213578),
            phone="+852 5123 4567",
            region="中国香港",
            address="香港九龙演示道8号（演示）",
        ),
    ),
    # Taiwan resident with a 台湾居民来往大陆通行证.
    (
        BuyerInput(
            name="林志玮",
            id_type=IdType.TAIWAN_PERMIT,
            id_number=make_taiwan_permit(10293847),
            phone="+886 912 345 678",
            region="中国台湾",
            address="台北市演示路一段1号（演示）",
        ),
    ),
    # Foreign national with a passport.
    (
        BuyerInput(
            name="SMITH JOHN",
            id_type=IdType.PASSPORT,
            id_number="A08765432",
            phone="+1 415 555 0123",
            region="美国",
            address="San Francisco, CA, USA (demo)",
            issuing_country="USA",
        ),
    ),
    # Elderly buyer living abroad: the one the demo cancellation gives an agent (代理人).
    (_mainland(111, AGENT_PRINCIPAL, dt.date(1946, 10, 2), address="加拿大温哥华演示街12号（演示，长期居住海外）"),),
    # 港澳台居民居住证 holder.
    (
        BuyerInput(
            name="梁家豪",
            id_type=IdType.HMT_RESIDENCE_PERMIT,
            id_number=make_residence_permit("HKG", dt.date(1987, 8, 8), 21),
            phone="13800000113",
            region="中国香港",
            address="中山市石岐街道演示路13号",
        ),
    ),
    # 外国人永久居留身份证 holder (2023 format).
    (
        BuyerInput(
            name="金敏俊",
            id_type=IdType.FOREIGN_PERMANENT_RESIDENT,
            id_number=make_foreign_permanent_resident_2023("44", "410", dt.date(1985, 3, 3), 11),
            phone="13800000115",
            region="韩国",
            address="中山市东区演示路15号",
        ),
    ),
    # Macao resident, co-buying with a mainland spouse.
    (
        BuyerInput(
            name="何健明",
            id_type=IdType.HK_MACAO_PERMIT,
            id_number=make_hk_macao_permit("M", 80114455),
            phone="+853 6612 3456",
            region="中国澳门",
            share="50%",
            address="澳门演示马路5号（演示）",
        ),
        _mainland(118, "何玥彤", dt.date(1993, 6, 6), "50%"),
    ),
    (_mainland(121, "吴子涵", dt.date(1995, 3, 21)),),
    (_mainland(123, "赵雨桐", dt.date(1992, 11, 11)),),
    (_mainland(125, "孙浩然", dt.date(1986, 5, 5), "1/2"), _mainland(126, "周欣怡", dt.date(1987, 8, 18), "1/2")),
    (_mainland(127, "郑博文", dt.date(1979, 2, 2)),),
    (_mainland(129, "冯梓萱", dt.date(1998, 12, 12)),),
    (_mainland(131, "谢俊熙", dt.date(1983, 7, 7)),),
    (_mainland(133, "韩诗琪", dt.date(1994, 4, 4)),),
    (_mainland(135, "黄志强", dt.date(1972, 9, 9)),),
    (_mainland(137, "罗晓峰", dt.date(1984, 10, 10), "60%"), _mainland(138, "高珺瑶", dt.date(1985, 1, 1), "40%")),
    (_mainland(139, "林玥彤", dt.date(1999, 6, 1)),),
    (_mainland(141, "梁喆宇", dt.date(1990, 8, 15)),),
    (_mainland(143, "宋佳怡", dt.date(1996, 2, 29)),),
    (_mainland(145, "邓堃鹏", dt.date(1981, 3, 12)),),
    (_mainland(147, "许珺涵", dt.date(1993, 9, 30)),),
)


@dataclass
class DemoLogin:
    username: str
    password: str | None
    role: str
    organisation: str


@dataclass
class SeedReport:
    created: Counter[str] = field(default_factory=Counter)
    logins: list[DemoLogin] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return sum(self.created.values()) > 0


def organisation_id(name: str) -> uuid.UUID:
    """The same id for the same demo organisation in every deployment."""
    return uuid.uuid5(ORG_NAMESPACE, name)


def demo_password(username: str) -> str:
    """A strong password derived from this data directory's secret: re-seeding shows the same logins."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"ecancel-demo-login:{username}".encode(), hashlib.sha256).digest()
    chars = [_UNAMBIGUOUS[b % len(_UNAMBIGUOUS)] for b in digest[:16]]
    return "-".join("".join(chars[i : i + 4]) for i in range(0, 16, 4))


def developer_company_with_papers(org: Organisation, spec: DemoDeveloper) -> bool:
    """The company's registration with its licence and its legal representative's ID pictures (marked 演示样本),
    which every push carries; False when it is there already."""
    if DeveloperCompany.objects.filter(organisation=org).exists():
        return False
    credit_code = validate_credit_code(make_credit_code(serial=spec.credit_serial))
    id_number = validate_id_number(
        IdType.MAINLAND_ID,
        make_mainland_id(ZHONGSHAN, spec.legal_representative_birth, spec.legal_representative_sequence),
    )
    company = DeveloperCompany(
        organisation=org,
        credit_code=credit_code,
        legal_representative=spec.legal_representative,
        legal_representative_id_type=IdType.MAINLAND_ID,
        legal_representative_id_number=id_number,
    )
    holder = images.IdCardHolder(
        name=spec.legal_representative,
        sex=spec.legal_representative_sex,
        ethnicity="汉",
        birth=spec.legal_representative_birth,
        address=f"广东省{spec.address.removesuffix('（演示）')}",
        id_number=id_number,
        issuer="中山市公安局（演示）",
        valid_from=dt.date(2016, 5, 1),
        valid_to=dt.date(2036, 5, 1),
    )
    licence = images.LicenceHolder(
        name=spec.name,
        credit_code=credit_code,
        company_type="有限责任公司（自然人投资或控股）",
        legal_representative=spec.legal_representative,
        registered_capital="人民币壹亿元整",
        founded=spec.founded,
        address=spec.address,
        business_scope="房地产开发经营；物业管理（演示数据，依法须经批准的项目，经相关部门批准后方可开展经营活动）",
        authority="中山市市场监督管理局（演示）",
    )
    company.legal_representative_id_front.save(
        f"{credit_code}-id-front.png", ContentFile(images.id_card_front(holder)), save=False
    )
    company.legal_representative_id_back.save(
        f"{credit_code}-id-back.png", ContentFile(images.id_card_back(holder)), save=False
    )
    company.business_licence.save(
        f"{credit_code}-licence.png", ContentFile(images.business_licence(licence)), save=False
    )
    company.save()
    return True


class _Seeder:
    def __init__(self) -> None:
        self.report = SeedReport()
        self.ctx = RequestContext.system(via="seed_demo")
        self.organisations: dict[str, Organisation] = {}

    def organisation(self, name: str, kind: str, *, short_name: str, address: str, phone: str) -> Organisation:
        org, created = Organisation.objects.get_or_create(
            id=organisation_id(name),
            defaults={"kind": kind, "name": name, "short_name": short_name, "address": address, "phone": phone},
        )
        if created:
            self.report.created["organisations"] += 1
        self.organisations[name] = org
        return org

    def developer(self, spec: DemoDeveloper) -> None:
        org = self.organisation(
            spec.name, OrganisationKind.DEVELOPER, short_name=spec.short_name, address=spec.address, phone=spec.phone
        )
        if developer_company_with_papers(org, spec):
            self.report.created["developer companies"] += 1

    def notary_office(self, spec: DemoNotaryOffice) -> None:
        org = self.organisation(
            spec.name,
            OrganisationKind.NOTARY_OFFICE,
            short_name=spec.short_name,
            address=spec.address,
            phone=spec.phone,
        )
        _, created = NotaryOffice.objects.get_or_create(
            organisation=org,
            defaults={
                "code": spec.code,
                "certificate_prefix": spec.certificate_prefix,
                "case_prefix": spec.case_prefix,
            },
        )
        if created:
            self.report.created["notary offices"] += 1

    def project(self, spec: DemoProject) -> list[Unit]:
        developer = self.organisations[spec.developer]
        project = Project.objects.filter(presale_permit_no=spec.presale_permit_no).first()
        if project is None:
            project = project_create(
                developer=developer,
                name=spec.name,
                presale_permit_no=spec.presale_permit_no,
                district=spec.district,
                address=spec.address,
                actor=None,
                ctx=self.ctx,
            )
            self.report.created["projects"] += 1
        units = []
        for building_name in spec.buildings:
            building = Building.objects.filter(project=project, name=building_name).first()
            if building is None:
                building = building_create(project=project, name=building_name, actor=None, ctx=self.ctx)
                self.report.created["buildings"] += 1
            for floor in FLOORS:
                for flat, area in FLATS:
                    room_no = f"{floor}{flat:02d}"
                    unit = Unit.objects.filter(building=building, room_no=room_no).first()
                    if unit is None:
                        unit = unit_create(
                            building=building, room_no=room_no, floor=floor, floor_area=area, actor=None, ctx=self.ctx
                        )
                        self.report.created["units"] += 1
                    units.append(unit)
        return units

    def contracts(self) -> None:
        """Half the units of every building get a filed contract, buyers taken in turn from the table."""
        sequence = 0
        for spec in PROJECTS:
            units = self.project(spec)
            seller = self.organisations[spec.developer]
            for unit in units:
                if unit.floor > FLOORS[1]:
                    continue
                buyers = CONTRACT_BUYERS[sequence]
                sequence += 1
                contract_no = f"DEMO-HT-2025-{sequence:04d}"
                if FiledContract.objects.filter(contract_no=contract_no).exists():
                    continue
                signed_on = dt.date(2025, 1, 6) + dt.timedelta(days=9 * sequence)
                contract_file(
                    seller=seller,
                    unit_id=unit.pk,
                    contract_no=contract_no,
                    filing_no=f"DEMO-BA-2025-{sequence:04d}",
                    total_price=(unit.floor_area * spec.price_per_m2).quantize(Decimal("1")),
                    signed_on=signed_on,
                    filed_on=signed_on + dt.timedelta(days=3),
                    buyers=buyers,
                    payment_method="一次性付款" if sequence % 3 else "商业贷款",
                    actor=None,
                    ctx=self.ctx,
                )
                self.report.created["filed contracts"] += 1

    def application_with_agent(self) -> None:
        """A draft cancellation whose elderly buyer abroad acts through an agent (代理人), ready to push.

        Made through the operator's services, so it passes the same checks as one typed in a page.
        """
        from ecancel.accounts.actors import Actor
        from ecancel.cancellation.models import Application, ReturnReason
        from ecancel.cancellation.services.drafting import (
            AgentInput,
            application_create,
            application_set_agent,
            application_set_reason,
        )

        contract = FiledContract.objects.filter(buyers__name=AGENT_PRINCIPAL).select_related("seller").first()
        if contract is None or Application.objects.filter(contract=contract).exists():
            return
        operator = User.objects.filter(organisation=contract.seller, role=Role.OPERATOR).order_by("username").first()
        if operator is None:
            return
        actor = Actor.staff(operator)
        application = application_create(contract_id=contract.pk, actor=actor, ctx=self.ctx)
        application_set_reason(
            application_id=application.pk, reason=ReturnReason.OTHER, detail=AGENT_REASON, actor=actor, ctx=self.ctx
        )
        agent_id = make_mainland_id(ZHONGSHAN, dt.date(1975, 4, 18), 612)
        application_set_agent(
            application_id=application.pk,
            agent=AgentInput(
                name=AGENT_NAME,
                id_type=IdType.MAINLAND_ID,
                id_number=agent_id,
                phone="13800000612",
                acts_for=[a.pk for a in application.applicants.all()],
            ),
            power_of_attorney=images.power_of_attorney(AGENT_PRINCIPAL, AGENT_NAME, agent_id, contract.contract_no),
            actor=actor,
            ctx=self.ctx,
        )
        self.report.created["draft applications with an agent"] += 1

    def user(self, spec: DemoUser) -> None:
        password = demo_password(spec.username)
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            user = User(
                username=spec.username,
                display_name=spec.display_name,
                organisation=self.organisations[spec.organisation],
                role=spec.role,
                is_staff=spec.role == Role.SYSTEM_ADMIN,
                is_superuser=spec.role == Role.SYSTEM_ADMIN,
            )
            validate_password(password, user)
            user.set_password(password)
            user.save()
            self.report.created["staff users"] += 1
            shown: str | None = password
        else:
            shown = password if user.check_password(password) else None
        self.report.logins.append(
            DemoLogin(spec.username, shown, str(Role(spec.role).label), self.organisations[spec.organisation].name)
        )


@transaction.atomic
def seed_demo() -> SeedReport:
    """Create whatever part of the demo data is missing; nothing is changed that already exists."""
    seeder = _Seeder()
    seeder.organisation(
        FILING_AUTHORITY,
        OrganisationKind.FILING_AUTHORITY,
        short_name="中山住建局（演示）",
        address="中山市东区演示政务中心（演示）",
        phone="0760-8800 0000",
    )
    for developer in DEVELOPERS:
        seeder.developer(developer)
    for office in NOTARY_OFFICES:
        seeder.notary_office(office)
    seeder.contracts()
    for user in USERS:
        seeder.user(user)
    seeder.application_with_agent()
    if seeder.report.changed:
        record_event("demo.city.seeded", data=dict(seeder.report.created), ctx=seeder.ctx)
    return seeder.report
