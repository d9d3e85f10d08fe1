"""A throw-away PostgreSQL server on 127.0.0.1 for the PostgreSQL pass of the suite.

Started when ECANCEL_TEST_POSTGRES=1, before Django reads its settings; stopped at exit. Under xdist the
controlling process starts it and the workers inherit its URL, each migrating a test database of its own on it.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path


def pg_bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not candidates:
        raise RuntimeError(
            "PostgreSQL 服务器未安装，请运行 scripts/test 安装 / PostgreSQL server binaries not found: "
            "install the Debian 'postgresql' package (scripts/test does)"
        )
    return candidates[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def as_postgres(argv: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the 'postgres' system user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def start() -> str:
    """Start a private cluster; return its database URL."""
    root = Path(tempfile.mkdtemp(prefix="ecancel-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    subprocess.run(
        as_postgres([pg_bin("initdb"), "-D", str(data), "-U", "ecancel", "--auth=trust", "-E", "UTF8", "--no-sync"]),
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off -c max_connections=100"
    subprocess.run(
        as_postgres([pg_bin("pg_ctl"), "-D", str(data), "-o", options, "-w", "-l", str(root / "log"), "start"]),
        check=True,
        capture_output=True,
    )

    def stop() -> None:
        subprocess.run(
            as_postgres([pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)
    # A run stopped with SIGTERM (CI's timeout, kill) exits through atexit too, so the server does not outlive it.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    return f"postgresql://ecancel@127.0.0.1:{port}/postgres"
