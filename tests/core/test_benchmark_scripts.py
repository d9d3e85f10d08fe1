"""The scripts under benchmarks/ run as ``python benchmarks/<name>.py``, which puts that folder first on the import
path: a module there named like one of the standard library's would stand in for it in every script beside it."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_no_benchmark_module_shadows_the_standard_library() -> None:
    names = {path.stem for path in BENCHMARKS.glob("*.py")}
    assert names, BENCHMARKS
    assert sorted(names & sys.stdlib_module_names) == []
