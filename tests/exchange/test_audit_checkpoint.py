"""audit.checkpoint: each checkpoint goes to the peer, which keeps it and notices a chain that got shorter."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from pytest_django import Settings

from ecancel.accounts.models import Organisation
from ecancel.audit.checkpoints import checkpoints_read
from ecancel.audit.models import AuditChainHead, AuditEvent
from ecancel.audit.services import audit_chain_extend, record_event
from ecancel.core.context import RequestContext
from ecancel.exchange import keys
from ecancel.exchange.models import InboxMessage, PeerAuditCheckpoint
from ecancel.exchange.services import peer_set, relay_due
from ecancel.exchange.transitions import InboxStatus
from tests.exchange.conftest import put

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_checkpoint_dir(settings: Settings, tmp_path: Path) -> None:
    settings.ECANCEL_AUDIT_CHECKPOINT_DIR = tmp_path / "audit-checkpoints"


def add_peer(organisation: Organisation) -> None:
    """The office as if hosted elsewhere: a Peer row (reached in-process here, signed with Ed25519)."""
    peer_set(
        organisation=organisation,
        transport="in_process",
        public_key=keys.public_key_b64(organisation.pk),
        actor=None,
        ctx=RequestContext.system("test"),
    )


def checkpoint() -> str:
    out = io.StringIO()
    call_command("audit_checkpoint", stdout=out)
    return out.getvalue()


def test_checkpoint_is_sent_to_the_peer_and_kept(filing_authority: Organisation, notary_office: Organisation) -> None:
    add_peer(notary_office)
    for n in range(3):
        record_event("test.thing.done", data={"n": n})
    assert "已发送给 1 个对接方" in checkpoint()
    assert relay_due() == 1
    kept = PeerAuditCheckpoint.objects.get()
    written = checkpoints_read()[-1]
    assert (kept.sender, kept.rows, kept.head_hash) == (filing_authority, written.rows, written.head_hash)
    assert written.rows >= 3
    assert AuditEvent.objects.filter(tag="exchange.audit_checkpoint.received", result="ok").exists()


def test_a_chain_that_got_shorter_is_raised(filing_authority: Organisation, notary_office: Organisation) -> None:
    add_peer(notary_office)
    for n in range(3):
        record_event("test.thing.done", data={"n": n})
    checkpoint()
    relay_due()
    audit_chain_extend()
    # The sending deployment's log is cut back to one row and a new checkpoint is taken from there.
    AuditEvent.objects.filter(seq__gt=1).delete()
    first = AuditEvent.objects.get(seq=1)
    AuditChainHead.objects.filter(id=1).update(seq=1, row_hash=first.row_hash)
    checkpoint()
    relay_due()
    assert AuditEvent.objects.filter(tag="exchange.audit_checkpoint.shrank", result="error").exists()


def test_a_checkpoint_with_a_bad_signature_is_rejected(
    filing_authority: Organisation, notary_office: Organisation
) -> None:
    row = put(
        filing_authority,
        notary_office,
        "audit.checkpoint",
        {
            "rows": 5,
            "head_hash": "a" * 64,
            "created_at": "2026-12-01T00:00:00+00:00",
            "public_key": "A" * 43 + "=",
            "signature": "B" * 86 + "==",
        },
    )
    assert relay_due() == 1
    assert InboxMessage.objects.get(pk=row.pk).status == InboxStatus.REJECTED
    assert not PeerAuditCheckpoint.objects.exists()


def test_beat_task_writes_a_checkpoint_without_peers(filing_authority: Organisation) -> None:
    from ecancel.exchange.tasks import audit_checkpoint

    record_event("test.thing.done")
    assert audit_checkpoint() == 1
    assert [c.rows for c in checkpoints_read()] == [1]
    assert not PeerAuditCheckpoint.objects.exists()
