"""The zh-hant and en catalogues: complete, in step with the source, and actually used by pages.

The catalogues are compiled into a temporary copy, so these tests check the ``.po`` files as they are
in the tree (not a stale ``.mo`` from an earlier ``scripts/setup``), and parallel workers never write
the same file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from pytest_django import Settings

from ecancel.filing.transitions import ContractStatus

LOCALE_DIR = Path(django_settings.LOCALE_PATHS[0])
SOURCE_DIR = LOCALE_DIR.parent
TRANSLATED = ["en", "zh_Hant"]
CATALOGUES = ["en", "zh_Hans", "zh_Hant"]
FIX = (
    "Run `cd src/ecancel && uv run ecancel makemessages -l zh_Hans -l zh_Hant -l en --ignore=migrations "
    "--no-obsolete`, then give every entry listed here an English (en) and a Traditional Chinese "
    "(zh_Hant) msgstr and remove any `#, fuzzy` flag (see docs/development.md, adding a translatable string)."
)


def po_file(locale_dir: Path, lang: str) -> Path:
    return locale_dir / lang / "LC_MESSAGES" / "django.po"


def gettext_tool(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True).stdout


def incomplete_entries(po: Path) -> str:
    """The untranslated and fuzzy entries of a catalogue, as gettext prints them (empty when none)."""
    found = []
    for selection in ("--untranslated", "--only-fuzzy"):
        printed = gettext_tool("msgattrib", selection, "--no-obsolete", po)
        # msgattrib prints the catalogue's header first whenever anything matched.
        found.append(printed.partition("\n\n")[2].strip())
    return "\n\n".join(part for part in found if part)


def shown(entries: str, limit: int = 4000) -> str:
    return entries if len(entries) <= limit else entries[:limit] + "\n…"


@pytest.fixture(scope="session")
def compiled_locale(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A compiled copy of the project's catalogues; ``compilemessages`` fails on a malformed one."""
    work = tmp_path_factory.mktemp("i18n")
    locale = work / "locale"
    shutil.copytree(LOCALE_DIR, locale, ignore=shutil.ignore_patterns("*.mo"))
    # compilemessages compiles LOCALE_PATHS and every locale folder under the working directory:
    # point both at the copy, so the tree's own .mo files are never written here.
    with pytest.MonkeyPatch.context() as mp, override_settings(LOCALE_PATHS=[locale]):
        mp.chdir(work)
        call_command("compilemessages", locale=CATALOGUES, verbosity=0)
    return locale


@pytest.fixture
def catalogues(compiled_locale: Path, settings: Settings) -> Iterator[Path]:
    """Translations served from the freshly compiled copy (Django drops its cache when LOCALE_PATHS changes)."""
    settings.LOCALE_PATHS = [compiled_locale]
    yield compiled_locale


@pytest.mark.parametrize("lang", CATALOGUES)
def test_catalogue_passes_msgfmt_check(lang: str) -> None:
    gettext_tool("msgfmt", "--check", "-o", "/dev/null", po_file(LOCALE_DIR, lang))


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_msgid_has_a_translation(lang: str) -> None:
    missing = incomplete_entries(po_file(LOCALE_DIR, lang))
    assert not missing, f"{lang}: untranslated or fuzzy entries.\n{FIX}\n\n{shown(missing)}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_msgfmt_statistics_count_no_fuzzy_or_untranslated_entry(lang: str) -> None:
    """What `msgfmt --statistics` prints for the catalogue: only "N translated messages."."""
    printed = subprocess.run(
        ["msgfmt", "--statistics", "-o", "/dev/null", str(po_file(LOCALE_DIR, lang))],
        check=True,
        capture_output=True,
        text=True,
        env={"LC_ALL": "C", "PATH": os.environ.get("PATH", "")},
    ).stderr.strip()
    assert re.fullmatch(r"\d+ translated messages?\.", printed), f"{lang}: {printed}\n{FIX}"


def test_catalogues_hold_every_marked_string(tmp_path: Path, settings: Settings) -> None:
    """A string marked in code or a template but missing from the catalogues fails here, before anyone sees Chinese."""
    copy = tmp_path / "ecancel"

    def only_sources(folder: str, names: list[str]) -> set[str]:
        return {
            n
            for n in names
            if n in {"locale", "migrations", "__pycache__", "static"}
            or ((Path(folder) / n).is_file() and Path(n).suffix not in {".py", ".html", ".txt"})
        }

    shutil.copytree(SOURCE_DIR, copy, ignore=only_sources)
    shutil.copytree(LOCALE_DIR, copy / "locale", ignore=shutil.ignore_patterns("*.mo"))
    settings.LOCALE_PATHS = [copy / "locale"]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(copy)
        call_command("makemessages", locale=TRANSLATED, ignore_patterns=["migrations"], no_obsolete=True, verbosity=0)
    problems = {lang: incomplete_entries(po_file(copy / "locale", lang)) for lang in TRANSLATED}
    report = "\n\n".join(f"== {lang}\n{shown(entries)}" for lang, entries in problems.items() if entries)
    assert not report, f"Strings marked for translation are missing from the catalogues.\n{FIX}\n\n{report}"


@pytest.mark.usefixtures("catalogues")
def test_key_strings_in_english() -> None:
    with translation.override("en"):
        assert gettext("工作人员登录") == "Staff login"
        assert str(ContractStatus.FILED.label) == "Filed"
        assert str(ContractStatus.CANCELLING.label) == "Being cancelled"
        assert gettext("公证处不予办理：") == "The notary office refused it:"
        assert gettext("该角色须属于一个机构 / This role needs an organisation") == "This role needs an organisation"
        assert gettext("已创建注销申请 %(number)s，请填写退房原因和申请人信息") % {"number": "ZX-1"} == (
            "Cancellation application ZX-1 created; please fill in the reason for returning the home "
            "and the applicants' details"
        )


@pytest.mark.usefixtures("catalogues")
def test_key_strings_in_traditional_chinese() -> None:
    with translation.override("zh-hant"):
        assert gettext("工作人员登录") == "工作人員登入"
        assert str(ContractStatus.FILED.label) == "已備案"
        assert str(ContractStatus.CANCELLED.label) == "已註銷"
        assert gettext("公证处不予办理：") == "公證處不予辦理："
    with translation.override("zh-hans"):
        assert str(ContractStatus.CANCELLING.label) == "注销中"


def page_language(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match, html[:200]
    return match.group(1)


@pytest.mark.django_db
@pytest.mark.usefixtures("catalogues")
@pytest.mark.parametrize(
    ("accept", "lang", "title"),
    [
        ("en", "en", "Staff login"),
        ("en-GB,en;q=0.8", "en", "Staff login"),
        ("zh-TW,zh;q=0.9", "zh-Hant", "工作人員登入"),
        ("zh-HK", "zh-Hant", "工作人員登入"),
        ("zh-CN,zh;q=0.9", "zh-Hans", "工作人员登录"),
        ("fr", "zh-Hans", "工作人员登录"),
    ],
)
def test_login_page_follows_accept_language(client: Client, accept: str, lang: str, title: str) -> None:
    html = client.get(reverse("consoles:login"), HTTP_ACCEPT_LANGUAGE=accept).content.decode()
    assert page_language(html) == lang
    assert title in html


@pytest.mark.django_db
@pytest.mark.usefixtures("catalogues")
def test_language_switcher_sets_the_cookie_and_returns_to_the_page(client: Client) -> None:
    login = reverse("consoles:login")
    page = client.get(login).content.decode()
    assert 'name="language" value="en"' in page and 'action="/i18n/setlang/"' in page

    response = client.post(reverse("set_language"), {"language": "en", "next": login})
    assert response.status_code == 302 and response["Location"] == login
    assert client.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "en"
    html = client.get(login, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert page_language(html) == "en" and "Staff login" in html
    assert "After 5 wrong attempts in a row for one user name from one address" in html


@pytest.mark.django_db
@pytest.mark.usefixtures("catalogues")
def test_buyer_landing_page_switches_language(client: Client) -> None:
    """A buyer from Hong Kong, Macao, Taiwan or abroad can read the page the QR code opens."""
    landing = "/h/" + "x" * 43
    html = client.get(landing).content.decode()
    assert page_language(html) == "zh-Hans" and "无效链接" in html
    assert f'name="next" value="{landing}"' in html

    response = client.post(reverse("set_language"), {"language": "zh-hant", "next": landing})
    assert response["Location"] == landing
    html = client.get(landing).content.decode()
    assert page_language(html) == "zh-Hant" and "無效連結" in html
    # Each language is offered under its own name, whatever the page's language.
    assert 'lang="en" style' in html and ">English</button>" in html and ">简体中文</button>" in html

    client.post(reverse("set_language"), {"language": "en", "next": landing})
    html = client.get(landing).content.decode()
    assert page_language(html) == "en"
    assert "Invalid link" in html and "This page shows no personal information." in html
