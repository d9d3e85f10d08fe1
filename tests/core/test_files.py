"""Private files created once, even when several processes race for them."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ecancel.core.files import read_or_create_private


def test_created_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "key"
    assert read_or_create_private(path, b"first") == b"first"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_or_create_private(path, b"second") == b"first"


def test_racing_writers_all_read_the_one_winner(tmp_path: Path) -> None:
    path = tmp_path / "key"
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda n: read_or_create_private(path, f"v{n}".encode()), range(32)))
    assert len(set(results)) == 1
    assert results[0] == path.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key"]
