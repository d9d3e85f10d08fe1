"""``ecancel up``: the whole embedded default in one command.

Migrates, collects static files, then runs gunicorn, a Celery worker and Celery beat
as child processes. Ctrl-C (or SIGTERM) stops all three; if one dies, the others are
stopped too, so a half-running system never hides behind a live web page.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

SHUTDOWN_GRACE_SECONDS = 20


def display_host(host: str) -> str:
    """A host a browser on this machine can open: the wildcard addresses are not."""
    return "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104 - only for display


class Command(BaseCommand):
    help = "Start ecancel on the embedded default: web server, job worker and scheduler."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument(
            "--demo", action="store_true", help="seed the demo data (idempotent) and print the demo logins"
        )

    def handle(self, *args: Any, host: str, port: int, web_workers: int, demo: bool, **options: Any) -> None:
        if "ECANCEL_PUBLIC_URL" not in os.environ:
            # QR links and the exchange endpoint must point where this server really listens.
            settings.ECANCEL_PUBLIC_URL = f"http://{display_host(host)}:{port}"
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        demo_logins = io.StringIO()
        if demo:
            call_command("seed_demo", stdout=demo_logins)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "ecancel.config.settings",
            "ECANCEL_PUBLIC_URL": settings.ECANCEL_PUBLIC_URL,
        }
        bin_dir = os.path.dirname(sys.executable)
        log_level = os.environ.get("ECANCEL_LOG_LEVEL", "info").lower()
        commands = {
            "web": [
                os.path.join(bin_dir, "gunicorn"),
                "ecancel.config.wsgi:application",
                f"--bind={host}:{port}",
                f"--workers={web_workers}",
                "--access-logfile=-",
                f"--log-level={log_level}",
                "--graceful-timeout=10",
            ],
            "worker": [
                os.path.join(bin_dir, "celery"),
                "-A",
                "ecancel.config",
                "worker",
                "--concurrency=2",
                f"--loglevel={log_level}",
                "--without-gossip",
                "--without-mingle",
            ],
            "beat": [
                os.path.join(bin_dir, "celery"),
                "-A",
                "ecancel.config",
                "beat",
                f"--loglevel={log_level}",
                f"--schedule={settings.CELERY_BEAT_SCHEDULE_FILENAME}",
            ],
        }
        children: dict[str, subprocess.Popen[bytes]] = {}
        stopping = False

        def request_stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        for name, argv in commands.items():
            # Own process group: the terminal's Ctrl-C reaches only us, and we stop children in order.
            children[name] = subprocess.Popen(argv, env=env, start_new_session=True)  # noqa: S603
        self.print_banner(host, port)
        self.stdout.write(demo_logins.getvalue())
        exit_code = 0
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    self.stderr.write(
                        f"{name} 进程已退出（{child.returncode}），正在停止全部 / {name} exited, stopping all"
                    )
                    exit_code = 1
                    stopping = True
            time.sleep(0.5)
        self.stdout.write("正在停止… / stopping…")
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.stdout.write("已停止 / stopped")
        if exit_code:
            sys.exit(exit_code)

    def print_banner(self, host: str, port: int) -> None:
        base = f"http://{display_host(host)}:{port}"
        lines = [
            "",
            "ecancel 已启动 / ecancel is running",
            f"  数据目录 / data directory : {settings.DATA_DIR}",
            f"  登录 / sign in             : {base}/login/",
            f"  开发企业经办 / operators   : {base}/operator/",
            f"  公证处 / notary office     : {base}/notary/",
            f"  文件验证 / verify a PDF    : {base}/verify/",
            f"  接口文档 / API docs        : {base}/api/docs",
            f"  系统管理 / admin           : {base}/admin/",
            "  按 Ctrl-C 停止 / press Ctrl-C to stop",
            "",
        ]
        self.stdout.write("\n".join(lines))
