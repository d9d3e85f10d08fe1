"""`ecancel up`'s start-up output: a warning where QR codes would not reach a phone, quiet logs, logins kept."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from ecancel.core.management.commands.up import ACCESS_LOG_FORMAT, celery_log_level, public_url_warning


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


def test_access_log_leaves_out_query_strings_and_referrers() -> None:
    """The request line (%(r)s), the query (%(q)s) and the referrer (%(f)s) can hold ID and phone numbers."""
    for atom in ("%(r)s", "%(q)s", "%(f)s"):
        assert atom not in ACCESS_LOG_FORMAT
    assert "%(U)s" in ACCESS_LOG_FORMAT
    assert "%({x-request-id}o)s" in ACCESS_LOG_FORMAT


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
