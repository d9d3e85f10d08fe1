"""System admins see the exchange and requeue failed messages; pages show no raw bytes or secrets."""

from __future__ import annotations

import pytest
from django.test import Client

from ecancel.accounts.models import Organisation, Role, User
from ecancel.core.context import RequestContext
from ecancel.exchange import handlers
from ecancel.exchange.selectors import inbox_list, outbox_latest, outbox_list
from ecancel.exchange.services import peer_set, relay_due
from ecancel.exchange.transitions import OutboxStatus
from tests.conftest import logged_in_client
from tests.exchange.conftest import Effects, put, refused_body
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(filing_authority: Organisation) -> Client:
    user: User = UserFactory(
        organisation=filing_authority, role=Role.SYSTEM_ADMIN, is_staff=True, is_superuser=True, username="exadmin"
    )
    return logged_in_client(user)


def test_admin_requeues_a_failed_message(
    admin_client: Client, notary_office: Organisation, developer: Organisation, effects: Effects
) -> None:
    effects.monkeypatch.delitem(handlers.HANDLERS, "case.refused")
    row = put(notary_office, developer)
    relay_due()
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED

    page = admin_client.get("/admin/exchange/outboxmessage/")
    assert page.status_code == 200
    assert "case.refused" in page.content.decode()
    detail = admin_client.get(f"/admin/exchange/outboxmessage/{row.pk}/change/").content.decode()
    assert "no_handler" in detail
    assert "材料不全" not in detail, "the raw envelope is not shown"

    effects.register()
    response = admin_client.post(
        "/admin/exchange/outboxmessage/", {"action": "requeue", "_selected_action": [str(row.pk)]}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING
    assert relay_due() == 1
    assert effects.count(row.pk) == 1


def test_peer_page_hides_the_secret(admin_client: Client, notary_office: Organisation) -> None:
    secret = b"a-very-secret-shared-key-of-32-bytes!!"
    peer = peer_set(
        organisation=notary_office,
        transport="http",
        endpoint_url="https://notary.example/exchange/",
        hmac_secret=secret,
        actor=None,
        ctx=RequestContext.system("test"),
    )
    page = admin_client.get(f"/admin/exchange/peer/{peer.pk}/change/").content.decode()
    assert "https://notary.example/exchange/" in page
    assert secret.decode() not in page and peer.hmac_secret_sealed not in page


def test_other_staff_do_not_see_the_exchange(developer: Organisation) -> None:
    operator = UserFactory(organisation=developer, role=Role.OPERATOR, is_staff=True)
    client = logged_in_client(operator)
    assert client.get("/admin/exchange/outboxmessage/").status_code in {302, 403}


def test_selectors_follow_one_application(
    notary_office: Organisation, developer: Organisation, effects: Effects
) -> None:
    first = put(notary_office, developer, body=refused_body(reason="第一次"))
    ref = first.stream
    second = put(notary_office, developer, body={**refused_body(reason="第二次"), "application_ref": ref})
    put(notary_office, developer)
    assert [m.pk for m in outbox_list(sender=notary_office, application_ref=ref)] == [first.pk, second.pk]
    assert outbox_latest(sender=notary_office, application_ref=ref, message_type="case.refused") == second
    assert outbox_list(status=OutboxStatus.PENDING).count() == 3
    relay_due()
    relay_due()
    assert [m.pk for m in inbox_list(recipient=developer, application_ref=ref)] == [first.pk, second.pk]
    assert outbox_list(sender=developer).count() == 0
