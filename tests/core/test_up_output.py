"""`ecancel up`'s start-up output: a warning where QR codes would not reach a phone, quiet logs without secrets,
logins kept."""

from __future__ import annotations

import io
import logging
import stat
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.test import Client
from gunicorn.app.base import Application

from ecancel.core.management.commands.up import celery_log_level, public_url_warning


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20"])  # noqa: S104
def test_listening_beyond_this_machine_without_a_public_url_warns(host: str) -> None:
    warning = public_url_warning(host, 8000, {})
    assert "ECANCEL_PUBLIC_URL" in warning and "二维码" in warning and "http://192.168.1.20:8000" in warning


@pytest.mark.parametrize(
    ("host", "environ"),
    [("127.0.0.1", {}), ("localhost", {}), ("0.0.0.0", {"ECANCEL_PUBLIC_URL": "http://192.168.1.20:8000"})],  # noqa: S104
)
def test_no_warning_on_this_machine_or_with_a_public_url(host: str, environ: dict[str, str]) -> None:
    assert public_url_warning(host, 8000, environ) == ""


class GunicornWithOurConfig(Application):
    """gunicorn's own loading of ``--config python:ecancel.config.gunicorn``, without serving anything."""

    def init(self, parser: object, opts: object, args: object) -> None:
        self.load_config_from_module_name_or_filename("python:ecancel.config.gunicorn")

    def load_config(self) -> None:
        self.load_default_config()
        self.init(None, None, None)

    def load(self) -> None:
        raise AssertionError("not served")


def test_the_access_log_keeps_the_path_but_no_handoff_token_query_or_referrer(tmp_path: Path) -> None:
    """gunicorn's default line holds the query string and the referrer (ID and phone numbers searched for), and a
    path under /h/ is a QR hand-off's token: a credential until its first device claims it."""
    config = GunicornWithOurConfig().cfg
    config.set("accesslog", str(tmp_path / "access.log"))
    logger = config.logger_class(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/h/SECRET-TOKEN?q=440106199003070015",
        "PATH_INFO": "/h/SECRET-TOKEN",
        "QUERY_STRING": "q=440106199003070015",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": "https://notary.example/h/SECRET-TOKEN",
        "HTTP_USER_AGENT": "Phone",
    }
    response = SimpleNamespace(status="302 Found", sent=0, headers=[("X-Request-ID", "request-1")])
    logger.access(response, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=12))
    line = (tmp_path / "access.log").read_text()
    assert '"GET /h/<token> HTTP/1.1" 302' in line and "12ms" in line and "request-1" in line
    assert "SECRET-TOKEN" not in line and "440106199003070015" not in line


def test_django_s_line_for_a_refused_handoff_has_no_token(caplog: pytest.LogCaptureFixture) -> None:
    logging.getLogger("django.request").warning("Gone: %s", "/h/SECRET-TOKEN")
    assert [record.getMessage() for record in caplog.records] == ["Gone: /h/<token>"]


def test_worker_and_scheduler_are_quiet_at_info() -> None:
    assert celery_log_level("info") == "warning"
    assert celery_log_level("debug") == "debug"


@pytest.mark.django_db
@pytest.mark.slow
def test_demo_logins_go_to_a_file_only_its_owner_reads(tmp_path: Path, settings: object) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]
    target = tmp_path / "demo-logins.txt"
    out = io.StringIO()
    call_command("seed_demo", logins_file=target, stdout=out)
    printed = out.getvalue()
    assert "ys_operator" not in printed
    assert "演示数据已导入：" in printed
    assert "buildings" not in printed, "counts in the command's one language"
    assert "ys_operator" in target.read_text(encoding="utf-8")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_the_login_page_states_the_demo_second_factor_skip(client: Client, settings: object) -> None:
    settings.ECANCEL_DEMO = True  # type: ignore[attr-defined]
    assert "跳过动态验证码" in client.get("/login/").content.decode()
    settings.ECANCEL_DEMO = False  # type: ignore[attr-defined]
    assert "跳过动态验证码" not in client.get("/login/").content.decode()


def test_the_banner_has_one_sign_in_address_and_the_logins_last(tmp_path: Path, settings: object) -> None:
    from ecancel.core.management.commands.up import Command

    settings.ECANCEL_PUBLIC_URL = "http://127.0.0.1:8000"  # type: ignore[attr-defined]
    logins = tmp_path / "demo-logins.txt"
    logins.write_text("演示账号（仅演示环境）：\n  ys_operator  pw  经办人  公司\n")
    out = io.StringIO()
    command = Command(stdout=out)
    command.print_banner("0.0.0.0", 8000, access_log=tmp_path / "access.log", logins_file=logins)  # noqa: S104
    printed = out.getvalue()
    assert printed.count("登录：") == 1 and "http://127.0.0.1:8000/login/" in printed
    assert str(logins) in printed and str(tmp_path / "access.log") in printed
    assert printed.index("ys_operator") > printed.index("/login/")
    assert printed.rstrip().splitlines()[-1] == "按 Ctrl-C 停止"


def test_disabled_buttons_look_disabled_and_the_copy_button_has_a_fallback() -> None:
    static = Path(__file__).resolve().parents[2] / "src/ecancel/consoles/static/consoles"
    css = (static / "ecancel.css").read_text(encoding="utf-8")
    assert '.btn:disabled, .btn[aria-disabled="true"]' in css and "cursor: not-allowed" in css
    script = (static / "consoles.js").read_text(encoding="utf-8")
    assert "isSecureContext" in script and 'execCommand("copy")' in script and "beforeunload" in script
