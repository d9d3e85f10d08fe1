"""A deployment of ecancel as real servers on 127.0.0.1, for the tests that run several of them.

Each deployment has its own data directory (database, keys, CA) and hosts one side; it is set up
through ``ecancel.manage`` commands and served by ``runserver``, so only HTTP crosses between them.
A server of several behind one address is a ``Deployment`` too, served by gunicorn, whose ``settings``
point it at the database, broker, keys and public address it shares with the others; ``RoundRobin``
is the balancer in front of them.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import httpx

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


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
    settings: dict[str, str] = field(default_factory=dict)
    gunicorn: bool = False

    @property
    def data_dir(self) -> Path:
        return self.root / self.name

    @property
    def root_certificate(self) -> Path:
        return self.data_dir / "keys" / "ca" / "root.pem"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def public_url(self) -> str:
        return self.settings.get("ECANCEL_PUBLIC_URL", self.url)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ECANCEL_", "DJANGO_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="ecancel.config.settings",
            ECANCEL_DATA_DIR=str(self.data_dir),
            ECANCEL_HOSTED_SIDES=self.sides,
            ECANCEL_PUBLIC_URL=self.public_url,
            # The relay runs when a transaction commits, inside the server: no worker process needed.
            ECANCEL_TASKS_EAGER="true",
            ECANCEL_LOG_LEVEL="WARNING",
            ECANCEL_TRUSTED_ROOTS=os.pathsep.join(str(p) for p in self.trusted_roots),
        )
        env.update(self.settings)
        return env

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "ecancel.manage", *args], env=self.env(), capture_output=True, timeout=300
        )
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        return done.stdout.decode()

    def start(self) -> None:
        self.log = (self.root / f"{self.name}.log").open("wb")
        command = [sys.executable, "-m", "ecancel.manage", "runserver", "--noreload", f"127.0.0.1:{self.port}"]
        if self.gunicorn:
            command = [GUNICORN, "ecancel.config.wsgi:application", f"--bind=127.0.0.1:{self.port}", "--workers=1"]
            command += ["--config=python:ecancel.config.gunicorn", "--access-logfile=-", "--timeout=300"]
        self.server = subprocess.Popen(
            command,
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


class RoundRobin(httpx.BaseTransport):
    """A balancer in front of one address's servers: each request of a client goes to the next of them.

    The request keeps its address (Host, Referer, cookies), as behind a reverse proxy; ``served`` (which
    several clients' balancers may share) counts the requests each server had.
    """

    def __init__(self, servers: dict[str, list[str]], served: Counter[str] | None = None) -> None:
        self.rotation = {public: itertools.cycle([httpx.URL(url) for url in urls]) for public, urls in servers.items()}
        self.served = Counter() if served is None else served
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        public = f"{request.url.scheme}://{request.url.netloc.decode()}"
        server = next(self.rotation[public])
        request.url = request.url.copy_with(host=server.host, port=server.port)
        self.served[str(server)] += 1
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def celery_worker(deployment: Deployment, log: Path) -> subprocess.Popen[bytes]:
    """A worker process with ``deployment``'s settings, in a session of its own; ``stop_worker`` ends it."""
    command = [sys.executable, "-m", "celery", "-A", "ecancel.config.celery", "worker", "-l", "info"]
    command += ["--pool", "prefork", "--concurrency", "1", "--without-gossip", "--without-mingle"]
    with log.open("ab") as out:
        return subprocess.Popen(
            command, env=deployment.env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
