"""``ecancel up``: the whole embedded default in one command.

Migrates, collects static files, then runs gunicorn, a Celery worker and Celery beat
as child processes. Ctrl-C (or SIGTERM) stops all three; if one dies, the others are
stopped too, so a half-running system never hides behind a live web page.

The terminal stays readable: requests go to an access log file, the worker and scheduler
log warnings only (unless ECANCEL_LOG_LEVEL=debug), and the addresses and demo logins are
printed last, once the web server answers.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandParser
from django.utils.translation import gettext_lazy as _

from ecancel.core.commands import LocalisedCommand
from ecancel.core.metrics import reset_multiprocess_dir

SHUTDOWN_GRACE_SECONDS = 20
STARTUP_WAIT_SECONDS = 60
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Celery warns on every start as root; `up` says once what it means instead (see root_note).
CELERY_ROOT_WARNING = "ignore:You're running the worker with superuser privileges"


def display_host(host: str) -> str:
    """A host a browser on this machine can open: the wildcard addresses are not."""
    return "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104 - only for display


def public_url_warning(host: str, port: int, environ: dict[str, str]) -> str:
    """Listening beyond this machine without ECANCEL_PUBLIC_URL: QR codes would point at 127.0.0.1."""
    if host in LOOPBACK_HOSTS or environ.get("ECANCEL_PUBLIC_URL"):
        return ""
    return _(
        "注意：未设置 ECANCEL_PUBLIC_URL，二维码和链接将指向 %(url)s，买受人的手机无法打开。"
        "请设置为手机能访问的地址，例如 ECANCEL_PUBLIC_URL=%(example)s（本机的局域网地址）。"
    ) % {"url": f"http://{display_host(host)}:{port}", "example": f"http://192.168.1.20:{port}"}


def celery_log_level(log_level: str) -> str:
    """Quiet at info: a line per relayed task every few seconds would scroll the addresses away."""
    return "warning" if log_level == "info" else log_level


def root_note() -> str:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return ""
    return "  " + str(
        _("以 root 运行：作业进程也以 root 运行（Celery 对此的警告已略去）。生产环境请用普通用户运行，见 README。")
    )


class Command(LocalisedCommand):
    help = "Start ecancel on the embedded default: web server, job worker and scheduler."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument(
            "--demo", action="store_true", help="seed the demo data (idempotent) and print the demo logins"
        )

    def handle(self, *args: Any, host: str, port: int, web_workers: int, demo: bool, **options: Any) -> None:
        warning = public_url_warning(host, port, dict(os.environ))
        if warning:
            self.stderr.write(warning)
        if "ECANCEL_PUBLIC_URL" not in os.environ:
            # QR links and the exchange endpoint must point where this server really listens.
            settings.ECANCEL_PUBLIC_URL = f"http://{display_host(host)}:{port}"
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        reset_multiprocess_dir()
        data_dir = Path(settings.DATA_DIR)
        logins_file = data_dir / "demo-logins.txt"
        if demo:
            seeded = io.StringIO()
            call_command("seed_demo", logins_file=logins_file, stdout=seeded)
            self.stdout.write(seeded.getvalue().rstrip())
        access_log = data_dir / "logs" / "access.log"
        access_log.parent.mkdir(parents=True, exist_ok=True)
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
                f"--access-logfile={access_log}",
                "--config=python:ecancel.config.gunicorn",  # the access log without secrets
                f"--log-level={'warning' if log_level == 'info' else log_level}",
                "--graceful-timeout=10",
            ],
            "worker": [
                os.path.join(bin_dir, "celery"),
                "-A",
                "ecancel.config",
                "--quiet",
                "worker",
                "--concurrency=2",
                f"--loglevel={celery_log_level(log_level)}",
                "--without-gossip",
                "--without-mingle",
            ],
            "beat": [
                os.path.join(bin_dir, "celery"),
                "-A",
                "ecancel.config",
                "--quiet",
                "beat",
                f"--loglevel={celery_log_level(log_level)}",
                f"--schedule={settings.CELERY_BEAT_SCHEDULE_FILENAME}",
            ],
        }
        worker_env = {**env, "PYTHONWARNINGS": CELERY_ROOT_WARNING} if root_note() else env
        children: dict[str, subprocess.Popen[bytes]] = {}
        stopping = False

        def request_stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        for name, argv in commands.items():
            # Own process group: the terminal's Ctrl-C reaches only us, and we stop children in order.
            child_env = worker_env if name == "worker" else env
            children[name] = subprocess.Popen(argv, env=child_env, start_new_session=True)  # noqa: S603
        self.wait_until_answering(display_host(host), port, children)
        self.print_banner(host, port, access_log=access_log, logins_file=logins_file if demo else None)
        exit_code = 0
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    self.stderr.write(
                        _("%(name)s 进程已退出（%(code)s），正在停止全部") % {"name": name, "code": child.returncode}
                    )
                    exit_code = 1
                    stopping = True
            time.sleep(0.5)
        self.stdout.write(str(_("正在停止…")))
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
        self.stdout.write(str(_("已停止")))
        if exit_code:
            sys.exit(exit_code)

    def wait_until_answering(self, host: str, port: int, children: dict[str, subprocess.Popen[bytes]]) -> None:
        """The banner comes after the children's own start-up lines, so nothing scrolls it away."""
        url = f"http://{'[::1]' if host == '::' else host}:{port}/healthz"
        deadline = time.monotonic() + STARTUP_WAIT_SECONDS
        while time.monotonic() < deadline and all(c.poll() is None for c in children.values()):
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)

    def print_banner(self, host: str, port: int, *, access_log: Path, logins_file: Path | None) -> None:
        base = f"http://{display_host(host)}:{port}"
        lines = [
            "",
            str(_("ecancel 已启动")),
            "  " + _("登录：%(value)s") % {"value": f"{base}/login/"},
            "  " + _("文件验证：%(value)s") % {"value": f"{base}/verify/"},
            "  " + _("接口文档：%(value)s") % {"value": f"{base}/api/docs"},
            "  " + _("数据目录：%(value)s") % {"value": settings.DATA_DIR},
            "  " + _("访问日志：%(value)s") % {"value": access_log},
        ]
        if base != settings.ECANCEL_PUBLIC_URL:
            lines.append("  " + _("二维码地址：%(value)s") % {"value": settings.ECANCEL_PUBLIC_URL})
        if note := root_note():
            lines.append(note)
        if logins_file is not None:
            lines += ["", "  " + _("演示账号另存于：%(value)s") % {"value": logins_file}, ""]
            lines.append(logins_file.read_text(encoding="utf-8").rstrip())
        lines += ["", str(_("按 Ctrl-C 停止")), ""]
        self.stdout.write("\n".join(lines))
