"""A deployment of ecancel as a real server on 127.0.0.1, for the tests that run two of them.

Each deployment has its own data directory (database, keys, CA) and hosts one side; it is set up
through ``ecancel.manage`` commands and served by ``runserver``, so only HTTP crosses between them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Deployment:
    name: str
    sides: str
    root: Path
    port: int = field(default_factory=free_port)
    server: subprocess.Popen[bytes] | None = None
    log: BinaryIO | None = None
    trusted_roots: list[Path] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.root / self.name

    @property
    def root_certificate(self) -> Path:
        return self.data_dir / "keys" / "ca" / "root.pem"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ECANCEL_", "DJANGO_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="ecancel.config.settings",
            ECANCEL_DATA_DIR=str(self.data_dir),
            ECANCEL_HOSTED_SIDES=self.sides,
            ECANCEL_PUBLIC_URL=self.url,
            # The relay runs when a transaction commits, inside the server: no worker process needed.
            ECANCEL_TASKS_EAGER="true",
            ECANCEL_LOG_LEVEL="WARNING",
            ECANCEL_TRUSTED_ROOTS=os.pathsep.join(str(p) for p in self.trusted_roots),
        )
        return env

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "ecancel.manage", *args], env=self.env(), capture_output=True, timeout=300
        )
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        return done.stdout.decode()

    def start(self) -> None:
        self.log = (self.root / f"{self.name}.log").open("wb")
        self.server = subprocess.Popen(
            [sys.executable, "-m", "ecancel.manage", "runserver", "--noreload", f"127.0.0.1:{self.port}"],
            env=self.env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(self.tail())

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=30)
        if self.log is not None:
            self.log.close()

    def tail(self) -> str:
        return (self.root / f"{self.name}.log").read_text(errors="replace")[-4000:]


def wait_for(read: Callable[[], Any], done: Callable[[Any], bool], what: str, seconds: float = 90) -> Any:
    """Poll ``read`` until ``done`` says yes; the limit only catches a hung server, so it is generous."""
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {value}")
        time.sleep(0.3)


def introduce(root: Path, *deployments: Deployment) -> None:
    """Each deployment imports the others' exchange identity (organisations and public keys)."""
    for deployment in deployments:
        (root / f"{deployment.name}.json").write_text(deployment.manage("exchange_identity"))
    for here in deployments:
        for there in deployments:
            if there is not here:
                here.manage("exchange_peer", "import", str(root / f"{there.name}.json"))


@contextmanager
def serving(*deployments: Deployment) -> Iterator[None]:
    """The deployments' servers run for the block and are stopped after it, also when one fails to start."""
    try:
        for deployment in deployments:
            deployment.start()
        yield
    finally:
        for deployment in deployments:
            deployment.stop()
