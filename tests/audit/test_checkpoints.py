"""Signed checkpoints outside the database make a cut-off tail or a rewritten log show."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from ecancel.accounts.models import User
from ecancel.audit.checkpoints import CHECKPOINT_FILE, checkpoints_read
from ecancel.audit.models import AuditEvent
from ecancel.audit.services import audit_chain_extend, event_digest, hashed_fields, record_event

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def write_events(actor: User, count: int) -> None:
    for n in range(count):
        record_event("test.thing.done", actor=actor, data={"n": n})
    audit_chain_extend()


def checkpoint() -> str:
    out = io.StringIO()
    call_command("audit_checkpoint", stdout=out)
    return out.getvalue()


def verify() -> str:
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def checkpoint_file() -> Path:
    return Path(settings.ECANCEL_AUDIT_CHECKPOINT_DIR) / CHECKPOINT_FILE


def test_checkpoint_is_signed_timestamped_and_appended(operator: User) -> None:
    write_events(operator, 3)
    assert "检查点：3 条" in checkpoint()
    write_events(operator, 2)
    checkpoint()
    found = checkpoints_read()
    assert [c.rows for c in found] == [3, 6]  # the second also covers the first checkpoint's own event
    assert all(c.timestamp_token and c.signature for c in found)
    assert oct(checkpoint_file().stat().st_mode & 0o777) == "0o600"
    assert "2 个检查点相符" in verify()


def test_deleting_the_last_rows_and_rewinding_the_head_is_caught(operator: User) -> None:
    write_events(operator, 8)
    checkpoint()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq > 5")
        cursor.execute(
            "UPDATE audit_auditchainhead SET seq = 5, row_hash = (SELECT row_hash FROM audit_auditevent WHERE seq = 5)"
        )
    with pytest.raises(CommandError, match="检查点记录 8 条，数据库只有 5 条：缺少第 6–8 条"):
        verify()


def test_a_fully_rewritten_chain_is_caught(operator: User) -> None:
    """Whoever can write the table can recompute every hash; the checkpoint outside it still disagrees."""
    write_events(operator, 4)
    checkpoint()
    write_events(operator, 3)
    checkpoint()
    prev_hash = "0" * 64
    for event in AuditEvent.objects.filter(seq__isnull=False).order_by("seq"):
        if event.seq == 6:
            event.data = {"n": "forged"}
        row_hash = event_digest(hashed_fields(event), prev_hash)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE audit_auditevent SET data = %s, prev_hash = %s, row_hash = %s WHERE id = %s",
                [json.dumps(event.data), prev_hash, row_hash, event.pk],
            )
            cursor.execute("UPDATE audit_auditchainhead SET row_hash = %s", [row_hash])
        prev_hash = row_hash
    # Rows 1–4 still match the first checkpoint; the rewrite lies after it, up to the second (8 rows).
    with pytest.raises(CommandError, match="rows #5–#8 were rewritten"):
        verify()


def test_a_tampered_checkpoint_line_is_reported(operator: User) -> None:
    write_events(operator, 2)
    checkpoint()
    line = json.loads(checkpoint_file().read_text())
    line["rows"] = 1
    checkpoint_file().write_text(json.dumps(line) + "\n")
    with pytest.raises(CommandError, match="第 1 行的签名无效"):
        verify()
