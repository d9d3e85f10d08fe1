"""The fonts come from fonts-noto-cjk and nowhere else; without the package rendering refuses to start."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from pytest_django import Settings

from ecancel.documents import fonts


def test_missing_package_names_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured) as refused:
        fonts.find_font_files((tmp_path,))
    assert "fonts-noto-cjk" in str(refused.value)
    assert "NotoSerifCJK-Regular.ttc" in str(refused.value)


def test_the_font_folder_links_exactly_the_required_files() -> None:
    folder = fonts.font_dir()
    entries = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    assert entries == sorted(fonts.FONT_FILES)
    for entry in folder.iterdir():
        assert entry.is_symlink() and entry.resolve().is_file()
        assert entry.resolve().parent in {d.resolve() for d in fonts.SEARCH_DIRS}


def test_threads_preparing_the_font_folder_at_once_all_succeed(settings: Settings, tmp_path: Path) -> None:
    """Two pushes signing at once in one process both build the folder the first time (a shared temporary name
    made the second one's rename fail)."""
    settings.DATA_DIR = tmp_path
    prepare = fonts.font_dir.__wrapped__
    failures: list[BaseException] = []
    for _ in range(20):
        shutil.rmtree(tmp_path / "fonts", ignore_errors=True)
        start = threading.Barrier(4)

        def build(start: threading.Barrier) -> None:
            start.wait()
            try:
                prepare()
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
                failures.append(exc)

        threads = [threading.Thread(target=build, args=(start,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    assert sorted(p.name for p in (tmp_path / "fonts").iterdir()) == sorted(fonts.FONT_FILES)
