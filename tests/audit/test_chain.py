"""The audit log is append-only and hash-chained; the verifier names the first bad row."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from ecancel.accounts.models import User
from ecancel.audit.models import AuditEvent
from ecancel.audit.services import audit_chain_verify, record_event
from ecancel.core.context import RequestContext

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def write_events(actor: User, count: int = 5) -> list[AuditEvent]:
    ctx = RequestContext(ip="198.51.100.7", user_agent="pytest")
    return [
        record_event("test.thing.done", actor=actor, obj=actor, data={"n": n, "名字": "李玥"}, ctx=ctx)
        for n in range(count)
    ]


def verify_output() -> str:
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def test_events_chain_and_verify(operator: User) -> None:
    events = write_events(operator)
    assert [e.seq for e in events] == list(range(1, 6))
    assert events[1].prev_hash == events[0].row_hash
    assert events[0].organisation == operator.organisation
    assert events[0].ip == "198.51.100.7"
    assert "OK: 5 rows" in verify_output()


@pytest.mark.parametrize(
    ("given", "stored"),
    [("2001:DB8:0000::0001", "2001:db8::1"), ("fe80::1%eth0", "fe80::1"), ("not an address", None)],
)
def test_addresses_are_hashed_as_stored(operator: User, given: str, stored: str | None) -> None:
    """The database normalises IPv6; hashing the address as typed would make the row look altered."""
    record_event("test.thing.done", actor=operator, ctx=RequestContext(ip=given))
    assert AuditEvent.objects.get().ip == stored
    assert audit_chain_verify().ok


def test_rows_cannot_be_changed_or_deleted_through_the_application(operator: User) -> None:
    event = write_events(operator, 1)[0]
    event.tag = "changed"
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("UPDATE audit_auditevent SET data = '{\"n\": 99}' WHERE seq = 3", "row #3 was altered"),
        ("UPDATE audit_auditevent SET ip = '203.0.113.1' WHERE seq = 2", "row #2 was altered"),
        ("DELETE FROM audit_auditevent WHERE seq = 4", "row #4 is missing"),
        ("DELETE FROM audit_auditevent WHERE seq = 5", "rows after #4 are missing"),
    ],
)
def test_tampering_behind_the_application_is_caught(operator: User, sql: str, problem: str) -> None:
    write_events(operator)
    with connection.cursor() as cursor:
        cursor.execute(sql)
    report = audit_chain_verify()
    assert not report.ok
    assert problem in report.problem
    with pytest.raises(CommandError, match=problem.replace("#", "#")):
        verify_output()


def test_recomputed_hash_still_breaks_the_next_link(operator: User) -> None:
    """Someone who edits a row and fixes its own hash still breaks the link of the row after it."""
    from ecancel.audit.services import event_digest, hashed_fields

    write_events(operator)
    event = AuditEvent.objects.get(seq=2)
    event.data = {"n": 42}
    forged = event_digest(hashed_fields(event), event.prev_hash)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET data = %s, row_hash = %s WHERE seq = 2", ['{"n": 42}', forged])
    report = audit_chain_verify()
    assert not report.ok
    assert report.first_bad_seq == 3


def test_event_rolls_back_with_the_change(operator: User) -> None:
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        record_event("test.thing.failed", actor=operator)
        _ = 1 / 0
    assert not AuditEvent.objects.exists()
    assert audit_chain_verify().ok
