"""A throw-away Redis server on 127.0.0.1 for the tests of Redis-backed adapters."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from tests.servers import free_port

MISSING = (
    "redis-server 未安装，请运行 scripts/setup --test / redis-server is not installed: "
    "install the Debian 'redis-server' package (scripts/setup --test does)"
)


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


@contextmanager
def redis_server() -> Iterator[str]:
    """Start a private, memory-only Redis; yield its URL; stop it afterwards."""
    binary = redis_server_binary()
    assert binary is not None, MISSING
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="ecancel-redis-")
    argv = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", workdir]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
