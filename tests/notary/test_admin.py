"""System admins can look at cases and QR tokens in the admin; nobody can change them there."""

from __future__ import annotations

import pytest
from django.test import Client

from ecancel.accounts.models import NotaryOffice, Organisation, OrganisationKind, Role
from ecancel.buyers.services import handoff_issue
from ecancel.core.context import RequestContext
from tests.conftest import logged_in_client
from tests.factories import OrganisationFactory, UserFactory
from tests.notary.helpers import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db: None) -> Client:
    authority = OrganisationFactory(kind=OrganisationKind.FILING_AUTHORITY)
    admin = UserFactory(organisation=authority, role=Role.SYSTEM_ADMIN, is_staff=True, is_superuser=True, password=None)
    return logged_in_client(admin)


def test_admin_shows_cases_read_only_with_masked_ids(
    admin_client: Client, office: NotaryOffice, seller: Organisation, clerk: object
) -> None:
    case = make_case(office, seller)
    token = handoff_issue(case=case, actor=None, ctx=RequestContext.system("test"))
    for url in (
        "/admin/notary/notarycase/",
        "/admin/notary/intakerefusal/",
        "/admin/notary/casenumbercounter/",
        "/admin/buyers/handofftoken/",
        "/admin/core/ratelimitcounter/",
        f"/admin/buyers/handofftoken/{token.token.pk}/change/",
    ):
        assert admin_client.get(url).status_code == 200, url
    page = admin_client.get(f"/admin/notary/notarycase/{case.pk}/change/").content.decode()
    assert case.case_number in page
    for party in case.parties.all():
        assert party.name in page and party.id_number not in page
    assert token.token.token_hash not in admin_client.get("/admin/buyers/handofftoken/").content.decode()
    assert admin_client.get("/admin/notary/notarycase/add/").status_code == 403
    before = case.status
    admin_client.post(f"/admin/notary/notarycase/{case.pk}/change/", {"status": "revoked"})
    case.refresh_from_db()
    assert case.status == before


def test_notary_staff_do_not_see_the_admin(office: NotaryOffice, seller: Organisation) -> None:
    clerk = UserFactory(organisation=office.organisation, role=Role.NOTARY_CLERK, is_staff=True, password=None)
    response = logged_in_client(clerk).get("/admin/notary/notarycase/")
    assert response.status_code in (302, 403)
