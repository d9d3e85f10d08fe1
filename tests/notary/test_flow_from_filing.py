"""Both sides in one deployment: the filing side's own services push, revoke and re-push; the notary side
answers through the exchange; the buyers' QR link follows (有效 → 已失效, a new link after the re-push)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import NotaryOffice, Organisation, Role
from ecancel.cancellation.models import Application
from ecancel.cancellation.selectors import application_qr
from ecancel.cancellation.services.drafting import (
    ApplicantInput,
    application_create,
    application_set_applicants,
    application_set_reason,
)
from ecancel.cancellation.services.push import application_push
from ecancel.cancellation.services.revoke import application_revoke
from ecancel.cancellation.transitions import ApplicationStatus
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition
from ecancel.notary.models import SELLER_PAPER_KINDS, NotaryCase, PartyRole
from ecancel.notary.services.intake import SIGNED_KINDS
from ecancel.notary.services.submission import case_party_record_submission
from ecancel.notary.transitions import CaseStatus
from tests.factories import UserFactory, contract_with_buyers
from tests.notary.helpers import relay_until_idle

pytestmark = pytest.mark.django_db
CTX = RequestContext(ip="127.0.0.1", user_agent="pytest", via="test")


def qr_path(application: Application) -> str:
    application.refresh_from_db()
    push = application_qr(application)
    assert push is not None, application.status
    return urlsplit(push.handoff_url).path


def test_push_qr_revoke_correct_repush(seller: Organisation, office: NotaryOffice, client: Client) -> None:
    contract = contract_with_buyers(2, seller=seller)
    actor = Actor.staff(UserFactory(organisation=seller, role=Role.OPERATOR, password=None))
    application = application_create(contract_id=contract.pk, actor=actor, ctx=CTX)
    application_set_reason(application_id=application.pk, reason="mutual_agreement", actor=actor, ctx=CTX)

    application_push(application_id=application.pk, notary_office_id=office.organisation.pk, actor=actor, ctx=CTX)
    relay_until_idle()
    first = NotaryCase.objects.get(application_ref=application.pk, application_version=1)
    assert first.status == CaseStatus.AWAITING_BUYERS
    assert {m.signer for m in first.materials.filter(kind__in=SIGNED_KINDS)} == {seller.name}
    assert {m.kind for m in first.materials.exclude(kind__in=SIGNED_KINDS)} == set(SELLER_PAPER_KINDS)
    assert [p.name for p in first.parties.filter(role=PartyRole.BUYER)] == [b.name for b in contract.buyers.all()]
    old_link = qr_path(application)
    assert application.status == ApplicationStatus.AWAITING_BUYERS
    assert client.get(old_link)["Location"] == "/b/"

    application_revoke(application_id=application.pk, reason="电话录入错误", actor=actor, ctx=CTX)
    relay_until_idle()
    first.refresh_from_db()
    application.refresh_from_db()
    assert first.status == CaseStatus.REVOKED
    assert application.status == ApplicationStatus.DRAFT and application.version == 2
    assert "已失效" in client.get(old_link).content.decode()

    buyers = list(contract.buyers.all())
    application_set_applicants(
        application_id=application.pk,
        applicants=[
            ApplicantInput(name=b.name, id_type=b.id_type, id_number=b.id_number, phone=f"1380000000{n}")
            for n, b in enumerate(buyers)
        ],
        actor=actor,
        ctx=CTX,
    )
    application_push(application_id=application.pk, actor=actor, ctx=CTX)
    relay_until_idle()
    second = NotaryCase.objects.get(application_ref=application.pk, application_version=2)
    assert second.previous_case == first and second.case_number != first.case_number
    assert any("电话" in change["label"] for change in second.changes), second.changes
    new_link = qr_path(application)
    assert new_link != old_link
    assert client.get(new_link)["Location"] == "/b/"
    assert "已失效" in client.get(old_link).content.decode()

    # A buyer submits on the notary side; the filing side learns of it and refuses a revoke at once.
    party = second.parties.get(role=PartyRole.BUYER, position=1)
    case_party_record_submission(party_id=party.pk, verification="face", actor=None, ctx=CTX)
    relay_until_idle()
    with pytest.raises(InvalidTransition) as refused:
        application_revoke(application_id=application.pk, actor=actor, ctx=CTX)
    assert party.name in refused.value.zh
