"""The host's signing slots: a cap across processes, never taken inside a transaction."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import transaction
from django.test import override_settings

from ecancel.documents.slots import _take_free, signing_slot

HOLD_A_SLOT = """
import fcntl, os, sys
descriptor = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(descriptor, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def test_a_slot_held_by_another_process_is_taken_only_once_it_ends(tmp_path: Path) -> None:
    with override_settings(ECANCEL_SIGNING_SLOTS=1, ECANCEL_SIGNING_SLOTS_DIR=tmp_path):
        with signing_slot():
            pass  # creates the slot file
        slot = tmp_path / "slot-0"
        with subprocess.Popen(
            [sys.executable, "-c", HOLD_A_SLOT, str(slot)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        ) as holder:
            assert holder.stdout is not None and holder.stdin is not None
            try:
                assert holder.stdout.readline() == b"held\n"
                assert _take_free([slot]) is None, "a second signer got the only slot"
            finally:
                holder.stdin.close()
                holder.wait(timeout=60)
        with signing_slot():
            assert _take_free([slot]) is None, "the slot is held while the block runs"
            with signing_slot():
                pass  # the same thread again: no second slot, no wait for itself
        free = _take_free([slot])
        assert free is not None, "the slot was not given back"
        os.close(free)


@pytest.mark.django_db
def test_a_slot_is_refused_inside_a_transaction(tmp_path: Path) -> None:
    with override_settings(ECANCEL_SIGNING_SLOTS=1, ECANCEL_SIGNING_SLOTS_DIR=tmp_path):
        refused = pytest.raises(RuntimeError, match="inside a database transaction")
        with refused, transaction.atomic(), signing_slot():
            pass
        with signing_slot():
            pass  # outside one it is fine


def test_zero_turns_the_cap_off(tmp_path: Path) -> None:
    with override_settings(ECANCEL_SIGNING_SLOTS=0, ECANCEL_SIGNING_SLOTS_DIR=tmp_path / "slots"), signing_slot():
        pass
    assert not (tmp_path / "slots").exists()
