from __future__ import annotations

import io
from collections import Counter
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.test import override_settings
from PIL import Image

from ecancel.accounts.credit_code import validate_credit_code
from ecancel.accounts.models import (
    ROLES_BY_KIND,
    DeveloperCompany,
    NotaryOffice,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from ecancel.audit.models import AuditEvent
from ecancel.audit.services import audit_chain_extend, audit_chain_verify
from ecancel.demo.seed import demo_password, organisation_id
from ecancel.filing.models import Building, BuyerParty, FiledContract, Project, Unit
from ecancel.filing.transitions import ContractStatus, UnitStatus
from ecancel.identity.id_numbers import IdType, validate_id_number

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]  # the demo runs on SQLite


@pytest.fixture
def fast_hashing(settings: Any) -> None:
    """A fast hasher where Argon2 would only slow a test down (one test keeps Argon2, as in production)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def state() -> dict[str, object]:
    return {
        "rows": [
            m.objects.count()
            for m in (Organisation, DeveloperCompany, NotaryOffice, User, Project, Building, Unit, FiledContract)
        ],
        "buyers": sorted(BuyerParty.objects.values_list("id", "phone", "address")),
        "units": sorted(Unit.objects.values_list("id", "status")),
        "audit": AuditEvent.objects.count(),
        "files": sorted(default_storage.listdir("org")[1]),
        "passwords": sorted(User.objects.values_list("username", "password")),
    }


@pytest.mark.slow
def test_seed_demo_hashes_passwords_as_in_production() -> None:
    """How long this takes is measured by benchmarks/seed_demo.py, not asserted here."""
    seed()
    user = User.objects.get(username="gz1_clerk")
    assert user.password.startswith("argon2") and user.check_password(demo_password("gz1_clerk"))


def test_seed_demo_builds_the_demo_city(fast_hashing: None) -> None:
    assert "演示数据已导入" in seed()

    kinds = Counter(Organisation.objects.values_list("kind", flat=True))
    assert kinds == {
        OrganisationKind.DEVELOPER: 2,
        OrganisationKind.NOTARY_OFFICE: 3,
        OrganisationKind.FILING_AUTHORITY: 1,
    }
    for org in Organisation.objects.all():
        assert org.pk == organisation_id(org.name), "the same ids in every deployment"
        assert "演示" in org.name or "样例" in org.name or "示范" in org.name
    assert Project.objects.count() == 3 and all(p.presale_permit_no for p in Project.objects.all())
    assert Unit.objects.count() >= 40
    contracts = FiledContract.objects.all()
    assert contracts.count() >= 20
    assert set(contracts.values_list("status", flat=True)) == {ContractStatus.FILED}
    assert Unit.objects.filter(status=UnitStatus.FILED).count() == contracts.count()
    assert Unit.objects.filter(status=UnitStatus.AVAILABLE).exists()

    buyer_counts = Counter(c.buyers.count() for c in contracts)
    assert buyer_counts[2] >= 2 and buyer_counts[3] >= 1
    for contract in contracts:
        shares = [b.share for b in contract.buyers.all()]
        assert all(shares), f"{contract} has a buyer without a share"

    id_types = set(BuyerParty.objects.values_list("id_type", flat=True))
    assert {
        IdType.MAINLAND_ID,
        IdType.HK_MACAO_PERMIT,
        IdType.TAIWAN_PERMIT,
        IdType.PASSPORT,
        IdType.HMT_RESIDENCE_PERMIT,
        IdType.FOREIGN_PERMANENT_RESIDENT,
    } <= id_types
    names = "".join(BuyerParty.objects.values_list("name", flat=True))
    assert all(ch in names for ch in "堃喆玥珺")
    # The buyer living abroad whom the demo cancellation gives an agent.
    assert BuyerParty.objects.filter(name="周德堃", address__contains="海外").exists()

    logins = {u.username: u for u in User.objects.select_related("organisation")}
    assert {u.role for u in logins.values()} == set(Role.values)
    assert logins["sysadmin"].is_superuser and logins["sysadmin"].is_staff
    assert not any(u.is_staff for name, u in logins.items() if name != "sysadmin")
    for user in logins.values():
        assert user.organisation is not None
        assert user.role in ROLES_BY_KIND[user.organisation.kind]
    assert audit_chain_extend() > 0 and audit_chain_verify().ok


def test_every_seeded_number_is_valid(fast_hashing: None) -> None:
    seed()
    for buyer in BuyerParty.objects.all():
        issuing = buyer.id_issuing_country or None
        assert validate_id_number(buyer.id_type, buyer.id_number, issuing_country=issuing) == buyer.id_number
    for company in DeveloperCompany.objects.all():
        assert validate_credit_code(company.credit_code) == company.credit_code
        assert validate_id_number(company.legal_representative_id_type, company.legal_representative_id_number)
    assert NotaryOffice.objects.filter(certificate_prefix="粤中中证字", case_prefix="中证受字").exists()


def test_company_images_are_stored_and_marked(fast_hashing: None) -> None:
    seed()
    for company in DeveloperCompany.objects.all():
        for stored in (
            company.legal_representative_id_front,
            company.legal_representative_id_back,
            company.business_licence,
        ):
            assert stored.name.startswith("org/")
            with stored.open("rb") as handle:
                image = Image.open(handle)
                image.load()
            assert image.format == "PNG" and image.width >= 800


def test_second_run_changes_nothing_and_says_so(fast_hashing: None) -> None:
    first = seed()
    before = state()
    second = seed()
    assert "未作任何更改" in second
    assert state() == before
    for username in ("ys_operator", "gz1_notary", "sysadmin"):
        assert f"{username}" in first and demo_password(username) in first and demo_password(username) in second
        assert User.objects.get(username=username).check_password(demo_password(username))


def test_passwords_are_strong_and_per_data_directory() -> None:
    password = demo_password("ys_operator")
    assert len(password) >= 16 and password != demo_password("ys_admin")
    with override_settings(SECRET_KEY="another-data-directory-" + "x" * 40):
        assert demo_password("ys_operator") != password


def test_changed_password_is_not_printed(fast_hashing: None) -> None:
    seed()
    user = User.objects.get(username="ys_operator")
    user.set_password("a-new-and-private-passphrase")
    user.save()
    output = seed()
    assert demo_password("ys_operator") not in output
    assert "密码已被修改" in output


@pytest.mark.parametrize("overrides", [{"ECANCEL_DEMO": False}, {"PRODUCTION": True, "ECANCEL_DEMO": False}])
def test_refused_outside_demo_mode(overrides: dict[str, bool]) -> None:
    with override_settings(**overrides), pytest.raises(CommandError, match="演示模式"):
        seed()
    assert not Organisation.objects.exists() and not User.objects.exists()


def test_the_buyer_abroad_has_a_draft_application_with_an_agent(fast_hashing: None) -> None:
    from ecancel.cancellation.models import Agent, Application
    from ecancel.cancellation.transitions import ApplicationStatus
    from ecancel.demo.seed import AGENT_NAME, AGENT_PRINCIPAL, seed_demo

    seed_demo()
    application = Application.objects.get(contract__buyers__name=AGENT_PRINCIPAL)
    assert application.status == ApplicationStatus.DRAFT
    agent = Agent.objects.get(application=application)
    assert agent.name == AGENT_NAME
    assert agent.power_of_attorney
    assert [a.name for a in agent.acts_for.all()] == [AGENT_PRINCIPAL]
    seed_demo()
    assert Application.objects.filter(contract__buyers__name=AGENT_PRINCIPAL).count() == 1
