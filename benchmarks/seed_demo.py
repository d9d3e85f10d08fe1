"""How long ``ecancel seed_demo`` takes on a fresh data directory, with production password hashing (Argon2).

    uv run python benchmarks/seed_demo.py [--runs 5]

Each run is a child process with its own throw-away data directory: it migrates (not timed), then times the
first seeding (everything created: organisations, registry, pictures, logins, the draft application) and a
second one (nothing to do). Prints the median, best and worst of the runs. Target (issue 2): under 10 s.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one_run() -> None:
    """In the child: migrate, then print the two seeding times as JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecancel.config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        call_command("seed_demo", stdout=io.StringIO())
        timings.append(time.perf_counter() - started)
    print(json.dumps({"first": timings[0], "again": timings[1]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one_run()
        return

    results = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="ecancel-bench-seed-") as data_dir:
            env = {
                **os.environ,
                "ECANCEL_DATA_DIR": data_dir,
                "ECANCEL_DEMO": "true",
                "ECANCEL_TASKS_EAGER": "true",
                "ECANCEL_LOG_LEVEL": "ERROR",
                "PYTHONPATH": str(ROOT / "src"),
            }
            done = subprocess.run(
                [sys.executable, __file__, "--one"], env=env, capture_output=True, text=True, check=True
            )
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"seed_demo, fresh data directory, Argon2 hashing: {args.runs} runs (load average {os.getloadavg()[0]:.1f})")
    print(f"{'measure':<32}{'median':>10}{'best':>10}{'worst':>10}")
    for key, label in [("first", "first run, everything created"), ("again", "second run, nothing to do")]:
        values = [r[key] for r in results]
        print(f"{label + ' (s)':<32}{statistics.median(values):>10.2f}{min(values):>10.2f}{max(values):>10.2f}")


if __name__ == "__main__":
    main()
