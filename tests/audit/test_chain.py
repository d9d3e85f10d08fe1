"""The audit log is append-only and hash-chained; the verifier names the first bad row."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from ecancel.accounts.models import User
from ecancel.audit.models import AuditEvent
from ecancel.audit.services import audit_chain_extend, audit_chain_verify, record_event
from ecancel.core.context import RequestContext

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def write_events(actor: User, count: int = 5) -> list[AuditEvent]:
    """Events as committed and chained (the test's transaction never commits, so chaining is called here)."""
    ctx = RequestContext(ip="198.51.100.7", user_agent="pytest")
    written = [
        record_event("test.thing.done", actor=actor, obj=actor, data={"n": n, "名字": "李玥"}, ctx=ctx)
        for n in range(count)
    ]
    audit_chain_extend()
    return list(AuditEvent.objects.filter(pk__in=[e.pk for e in written]).order_by("seq"))


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
    assert "审计日志完整，共 5 条" in verify_output()


@pytest.mark.parametrize(
    ("given", "stored"),
    [("2001:DB8:0000::0001", "2001:db8::1"), ("fe80::1%eth0", "fe80::1"), ("not an address", None)],
)
def test_addresses_are_hashed_as_stored(operator: User, given: str, stored: str | None) -> None:
    """The database normalises IPv6; hashing the address as typed would make the row look altered."""
    record_event("test.thing.done", actor=operator, ctx=RequestContext(ip=given))
    audit_chain_extend()
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


def test_an_event_is_chained_when_its_transaction_commits(
    operator: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = record_event("test.thing.done", actor=operator)
        event.refresh_from_db()
        assert event.seq is None, "chained only after commit: the writer takes no lock on the chain"
    event.refresh_from_db()
    assert event.seq == 1
    assert event.prev_hash == "0" * 64


def test_rows_left_unchained_by_a_dead_process_are_chained_by_the_beat_task(operator: User) -> None:
    """A process killed between its commit and chaining leaves the row committed; nothing is lost."""
    from ecancel.audit.tasks import chain_extend

    write_events(operator, 2)
    record_event("test.thing.orphaned", actor=operator)  # committed, its on-commit chaining never ran
    report = audit_chain_verify()
    assert (report.ok, report.rows, report.unchained) == (True, 2, 1)
    assert "另有 1 条待入链" in verify_output()
    assert chain_extend() == 1
    assert AuditEvent.objects.get(tag="test.thing.orphaned").seq == 3
    assert audit_chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_after_commit_chaining_leaves_the_work_to_a_chainer_already_running(operator: User) -> None:
    """A commit that finds the head locked returns at once; the one holding it, or the next, chains the row."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    import threading

    from ecancel.audit.models import AuditChainHead

    record_event("test.thing.first", actor=operator)
    holding, release = threading.Event(), threading.Event()

    def hold_the_head() -> None:
        try:
            with transaction.atomic():
                AuditChainHead.objects.select_for_update().get(id=1)
                holding.set()
                release.wait()
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_head)
    holder.start()
    try:
        assert holding.wait(timeout=60)
        record_event("test.thing.second", actor=operator)  # autocommit: chaining is tried on commit
        assert AuditEvent.objects.get(tag="test.thing.second").seq is None
    finally:
        release.set()
        holder.join()
    assert audit_chain_extend() == 1
    assert audit_chain_verify().ok
