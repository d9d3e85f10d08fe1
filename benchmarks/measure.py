"""What the benchmarks share: a free loopback port, the percentile they report, seeding through ``ecancel shell``,
Django set up in the benchmark's own process."""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def wait_until_healthy(port: int, *, seconds: float) -> None:
    """Poll the server's /healthz on loopback until it answers 200; stop the benchmark if it never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("the web server did not start")


def ecancel_shell(script: str, *, env: dict[str, str], cwd: Path, timeout: float) -> str:
    """What ``script`` printed under ``ecancel shell`` with ``env``; the benchmark stops with its errors if it fails."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ecancel"), "shell", "--no-imports", "-c", script],
        env=env,
        cwd=cwd,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode:
        raise SystemExit(done.stderr.decode()[-3000:] + done.stdout.decode()[-2000:])
    return done.stdout.decode()


def django_in_process(root: Path) -> None:
    """Django set up here, on a throw-away data directory, with the repository (and so ``tests``) importable."""
    sys.path.insert(0, str(root))
    os.environ.setdefault("ECANCEL_DATA_DIR", tempfile.mkdtemp(prefix="ecancel-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecancel.config.settings")
    os.environ.setdefault("ECANCEL_LOG_LEVEL", "WARNING")
    import django

    django.setup()
