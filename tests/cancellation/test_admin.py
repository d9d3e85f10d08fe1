"""The admin shows applications to system admins, read-only, with ID numbers masked."""

from __future__ import annotations

from django.test import Client

from ecancel.accounts.models import Organisation, Role
from ecancel.cancellation.models import Application
from tests.conftest import logged_in_client
from tests.factories import UserFactory


def test_system_admin_reads_but_cannot_change(application: Application, filing_authority: Organisation) -> None:
    admin = UserFactory(organisation=filing_authority, role=Role.SYSTEM_ADMIN, is_staff=True, is_superuser=True)
    client = logged_in_client(admin)
    assert application.number in client.get("/admin/cancellation/application/").content.decode()
    page = client.get(f"/admin/cancellation/application/{application.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    first = application.applicants.get(position=1)
    assert first.name in html and first.id_number not in html
    assert 'name="status"' not in html, "statuses move only through the services"
    client.post(f"/admin/cancellation/application/{application.pk}/change/", {"status": "abandoned"})
    application.refresh_from_db()
    assert application.status == "draft"
    assert client.get("/admin/cancellation/application/add/").status_code == 403


def test_other_staff_do_not_see_it(application: Application, operator_client: Client) -> None:
    response = operator_client.get(f"/admin/cancellation/application/{application.pk}/change/")
    assert response.status_code in (302, 403, 404)
    assert application.number not in response.content.decode()
