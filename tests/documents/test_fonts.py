"""The fonts come from fonts-noto-cjk and nowhere else; without the package rendering refuses to start."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

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
