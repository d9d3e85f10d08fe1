"""Receiving: verified, stored once, applied once; anything doubtful refused, audited, changing nothing."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import override_settings

from ecancel.accounts.models import Organisation
from ecancel.core.context import RequestContext
from ecancel.exchange import handlers, keys
from ecancel.exchange.envelope import build_envelope, sign_ed25519, signature_headers
from ecancel.exchange.errors import DuplicateMessage, ExchangeRefused
from ecancel.exchange.handlers import ReceivedMessage
from ecancel.exchange.messages import CaseRefused, CertificateIssued
from ecancel.exchange.models import InboxMessage
from ecancel.exchange.services import inbox_accept, peer_set, relay_due
from ecancel.exchange.transitions import InboxStatus, OutboxStatus
from tests.exchange.conftest import Effects, certificate_body, put, raise_domain_error, refusals, refused_body, signed

pytestmark = pytest.mark.django_db


def refused_with(code: str, raw: bytes, headers: dict[str, str]) -> ExchangeRefused:
    before = InboxMessage.objects.count()
    with pytest.raises(ExchangeRefused) as caught:
        inbox_accept(raw, headers)
    assert caught.value.code == code
    assert InboxMessage.objects.count() == before
    assert refusals(code), f"no audit event for refusal {code}"
    return caught.value


def test_round_trip_in_process(notary_office: Organisation, developer: Organisation, effects: Effects) -> None:
    application_ref = uuid.uuid4()
    row = put(notary_office, developer, body=refused_body(application_ref, reason="申请人信息与合同不符"))
    assert row.status == OutboxStatus.PENDING

    assert relay_due() == 1

    row.refresh_from_db()
    assert (row.status, row.remote_status, row.attempts) == (OutboxStatus.DELIVERED, "applied", 1)
    inbox = InboxMessage.objects.get(pk=row.pk)
    assert inbox.status == InboxStatus.APPLIED
    assert bytes(inbox.raw) == bytes(row.raw), "both sides keep the same raw bytes"
    assert effects.count(row.pk) == 1
    message = effects.seen[0]
    assert (message.sender, message.recipient, message.type) == (notary_office, developer, "case.refused")
    body = message.parsed(CaseRefused)
    assert body.application_ref == application_ref
    assert body.reason == "申请人信息与合同不符"
    with pytest.raises(TypeError):
        message.parsed(CertificateIssued)


def test_a_prepare_step_runs_before_the_transaction_once_per_stored_message(
    notary_office: Organisation, developer: Organisation, effects: Effects, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The slow, read-only part of a handler runs with no transaction open, and its result reaches the handler;
    a second delivery of the stored message runs neither."""
    prepared: list[tuple[uuid.UUID, bool]] = []

    def prepare(message: ReceivedMessage) -> str:
        prepared.append((message.id, in_transaction()))
        return f"checked {message.id}"

    monkeypatch.setitem(handlers.PREPARES, "case.refused", prepare)
    row = put(notary_office, developer)
    raw, headers = signed(row)
    inbox_accept(raw, headers)
    assert prepared == [(row.pk, False)]
    assert [m.prepared for m in effects.seen] == [f"checked {row.pk}"] and effects.count(row.pk) == 1
    with pytest.raises(DuplicateMessage):
        inbox_accept(raw, headers)
    assert len(prepared) == 1 and effects.count(row.pk) == 1


def in_transaction() -> bool:
    """Whether the code runs inside a transaction of its own (not just the one each test is wrapped in)."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def test_attachments_travel_and_are_checked(
    notary_office: Organisation, developer: Organisation, effects: Effects
) -> None:
    effects.register("certificate.issued")
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 40
    row = put(notary_office, developer, "certificate.issued", certificate_body(pdf), {"certificate.pdf": pdf})
    relay_due()
    message = effects.seen[0]
    assert message.attachment_names == ["certificate.pdf"]
    assert message.attachment("certificate.pdf") == pdf
    assert message.parsed(CertificateIssued).certificate.sha256 == hashlib.sha256(pdf).hexdigest()
    assert InboxMessage.objects.get(pk=row.pk).status == InboxStatus.APPLIED
    with pytest.raises(KeyError):
        message.attachment("other.pdf")


def test_tampered_body_is_refused(notary_office: Organisation, developer: Organisation, effects: Effects) -> None:
    row = put(notary_office, developer, body=refused_body(reason="材料不全"))
    raw, headers = signed(row)
    tampered = raw.replace("材料不全".encode(), "同意办理".encode())
    refused_with("bad_signature", tampered, headers)
    assert effects.count() == 0


def test_body_not_matching_its_hash_is_refused_even_if_signed(
    notary_office: Organisation, developer: Organisation, effects: Effects
) -> None:
    row = put(notary_office, developer, body=refused_body(reason="材料不全"))
    tampered = bytes(row.raw).replace("材料不全".encode(), "同意办理".encode())
    raw, headers = signed(row, raw=tampered)
    refused_with("body_hash_mismatch", raw, headers)
    assert effects.count() == 0


def test_tampered_attachment_is_refused(notary_office: Organisation, developer: Organisation, effects: Effects) -> None:
    effects.register("certificate.issued")
    pdf = b"%PDF-1.7 original"
    row = put(notary_office, developer, "certificate.issued", certificate_body(pdf), {"certificate.pdf": pdf})
    envelope = json.loads(bytes(row.raw))
    envelope["attachments"]["certificate.pdf"]["data"] = base64.b64encode(b"%PDF-1.7 forged!!").decode()
    raw, headers = signed(row, raw=json.dumps(envelope, ensure_ascii=False).encode())
    refused_with("attachment_mismatch", raw, headers)
    assert effects.count() == 0


def test_signature_by_another_key_is_refused(
    notary_office: Organisation, other_notary_office: Organisation, developer: Organisation, effects: Effects
) -> None:
    row = put(notary_office, developer)
    timestamp = int(time.time())
    forged = sign_ed25519(keys.private_key(other_notary_office.pk), row.pk, timestamp, bytes(row.raw))
    refused_with("bad_signature", bytes(row.raw), signature_headers(row.pk, timestamp, forged))
    _, headers = signed(row)
    headers["webhook-signature"] = "v1a,bm90IGEgc2lnbmF0dXJl"
    refused_with("bad_signature", bytes(row.raw), headers)
    assert effects.count() == 0


@pytest.mark.parametrize("offset", [-301, 301])
def test_stale_or_future_timestamp_is_refused(
    notary_office: Organisation, developer: Organisation, effects: Effects, offset: int
) -> None:
    row = put(notary_office, developer)
    received_at = datetime.now(UTC).replace(microsecond=0)
    signed_at = int(received_at.timestamp())
    raw, headers = signed(row, timestamp=signed_at + offset)
    with pytest.raises(ExchangeRefused) as caught:
        inbox_accept(raw, headers, now=received_at)
    assert caught.value.code == "stale_timestamp" and "时钟" in caught.value.zh
    assert refusals("stale_timestamp")
    raw, headers = signed(row, timestamp=signed_at + (300 if offset > 0 else -300))
    inbox_accept(raw, headers, now=received_at)
    assert effects.count(row.pk) == 1


def test_replayed_message_is_refused_and_changes_nothing(
    notary_office: Organisation, developer: Organisation, effects: Effects
) -> None:
    row = put(notary_office, developer)
    raw, headers = signed(row)
    first = inbox_accept(raw, headers)
    with pytest.raises(DuplicateMessage) as caught:
        inbox_accept(*signed(row))
    assert caught.value.existing.pk == first.pk
    assert caught.value.http_status == 200
    assert effects.count(row.pk) == 1
    assert refusals("duplicate")


def test_reused_id_with_other_content_is_a_conflict(
    notary_office: Organisation, developer: Organisation, effects: Effects
) -> None:
    row = put(notary_office, developer)
    inbox_accept(*signed(row))
    other = build_envelope(
        message_id=row.pk,
        message_type="case.refused",
        sender_id=notary_office.pk,
        recipient_id=developer.pk,
        created_at=datetime.now(UTC),
        body=CaseRefused.model_validate(refused_body(reason="另一条")).model_dump(mode="json"),
        attachments={},
    )
    refusal = refused_with("id_conflict", *signed(row, raw=other))
    assert refusal.http_status == 409
    assert effects.count() == 1


def test_unknown_sender_is_refused(notary_office: Organisation, developer: Organisation, effects: Effects) -> None:
    row = put(notary_office, developer)
    raw, headers = signed(row)
    with override_settings(ECANCEL_HOSTED_SIDES=["filing"]):
        refusal = refused_with("unknown_sender", raw, headers)
    assert refusal.http_status == 401
    assert effects.count() == 0


def test_recipient_not_hosted_here_is_refused(
    notary_office: Organisation, developer: Organisation, effects: Effects
) -> None:
    row = put(notary_office, developer)
    raw, headers = signed(row)
    with override_settings(ECANCEL_HOSTED_SIDES=["notary"]):
        refused_with("wrong_recipient", raw, headers)
    nowhere = build_envelope(
        message_id=row.pk,
        message_type="case.refused",
        sender_id=notary_office.pk,
        recipient_id=uuid.uuid4(),
        created_at=datetime.now(UTC),
        body=CaseRefused.model_validate(refused_body()).model_dump(mode="json"),
        attachments={},
    )
    refused_with("wrong_recipient", *signed(row, raw=nowhere))
    assert effects.count() == 0


def test_malformed_and_unsigned_requests_are_refused(
    notary_office: Organisation, developer: Organisation, effects: Effects
) -> None:
    row = put(notary_office, developer)
    raw, headers = signed(row)
    refused_with("missing_headers", raw, {k: v for k, v in headers.items() if k != "webhook-signature"})
    refused_with("malformed", b"{not json", headers)
    refused_with("id_mismatch", raw, {**headers, "webhook-id": str(uuid.uuid4())})
    refused_with("bad_timestamp", raw, {**headers, "webhook-timestamp": "yesterday"})
    assert effects.count() == 0


def test_message_without_handler_is_refused_clearly(
    notary_office: Organisation, developer: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(handlers.HANDLERS, "buyers.submitted", raising=False)
    row = put(notary_office, developer, "buyers.submitted", _buyers_submitted_body())
    refusal = refused_with("no_handler", *signed(row))
    assert "买受人已全部提交" in refusal.zh
    assert refusal.http_status == 422


def test_handler_refusal_stores_rejected_and_is_not_retried(
    notary_office: Organisation, developer: Organisation, effects: Effects
) -> None:
    effects.register(fail=raise_domain_error)
    row = put(notary_office, developer)
    assert relay_due() == 1
    inbox = InboxMessage.objects.get(pk=row.pk)
    assert (inbox.status, inbox.reason) == (InboxStatus.REJECTED, "案件状态已变化")
    assert effects.count() == 0, "the handler's own writes are rolled back"
    row.refresh_from_db()
    assert (row.status, row.remote_status) == (OutboxStatus.DELIVERED, "rejected")


def test_unexpected_handler_error_rolls_back_and_is_retried(
    notary_office: Organisation, developer: Organisation, effects: Effects
) -> None:
    def crash() -> None:
        raise RuntimeError("disk full")

    effects.register(fail=crash)
    row = put(notary_office, developer)
    assert relay_due() == 0
    assert not InboxMessage.objects.filter(pk=row.pk).exists()
    assert effects.count() == 0
    row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING
    assert "RuntimeError: disk full" in row.last_error

    effects.register()
    row.next_attempt_at = row.created_at
    row.save(update_fields=["next_attempt_at"])
    assert relay_due() == 1
    assert effects.count(row.pk) == 1


def test_hmac_peer(notary_office: Organisation, developer: Organisation, effects: Effects) -> None:
    secret = b"k" * 16 + b"\x01" * 16
    ctx = RequestContext.system("test")
    for organisation in (notary_office, developer):
        peer_set(organisation=organisation, transport="in_process", hmac_secret=secret, actor=None, ctx=ctx)
    row = put(notary_office, developer)
    assert signed(row)[1]["webhook-signature"].startswith("v1,")
    assert relay_due() == 1
    assert effects.count(row.pk) == 1

    wrong = b"w" * 32
    peer_set(organisation=notary_office, transport="in_process", hmac_secret=wrong, actor=None, ctx=ctx)
    second = put(notary_office, developer)
    refused_with("bad_signature", *signed(second))
    timestamp = int(time.time())
    ed = sign_ed25519(keys.private_key(notary_office.pk), second.pk, timestamp, bytes(second.raw))
    refused_with("bad_signature", bytes(second.raw), signature_headers(second.pk, timestamp, ed))


def _buyers_submitted_body() -> dict[str, object]:
    now = datetime.now(UTC).isoformat()
    return {
        "application_ref": str(uuid.uuid4()),
        "version": 1,
        "case_ref": str(uuid.uuid4()),
        "case_no": "(2026)中证受字第0002号",
        "buyers": [{"position": 1, "name": "李明", "verification": "face", "submitted_at": now}],
        "completed_at": now,
    }
