"""The fonts every document is typeset with: Noto CJK from Debian's ``fonts-noto-cjk``, nothing else.

typst is given a private folder holding links to exactly these files, so the output does not depend on
whatever else a machine has installed, and a missing package stops rendering with a message naming it.
"""

from __future__ import annotations

import os
import uuid
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

APT_PACKAGE = "fonts-noto-cjk"
SEARCH_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/noto-cjk"),
)
FONT_FILES: tuple[str, ...] = (
    "NotoSerifCJK-Regular.ttc",
    "NotoSerifCJK-Bold.ttc",
    "NotoSansCJK-Regular.ttc",
    "NotoSansCJK-Bold.ttc",
)
SERIF = "Noto Serif CJK SC"
SANS = "Noto Sans CJK SC"
MONO = "Noto Sans Mono CJK SC"


def find_font_files(search_dirs: tuple[Path, ...] = SEARCH_DIRS) -> dict[str, Path]:
    """Each required file's location, or a refusal that says which package to install."""
    found: dict[str, Path] = {}
    for name in FONT_FILES:
        for directory in search_dirs:
            candidate = directory / name
            if candidate.is_file():
                found[name] = candidate
                break
    missing = [name for name in FONT_FILES if name not in found]
    if missing:
        raise ImproperlyConfigured(
            f"缺少中文字体文件 {', '.join(missing)}，请安装 Debian 软件包 {APT_PACKAGE}"
            f"（apt-get install {APT_PACKAGE}） / missing font files {', '.join(missing)} "
            f"(searched {', '.join(str(d) for d in search_dirs)}): install the Debian package {APT_PACKAGE}"
        )
    return found


@cache
def font_dir() -> Path:
    """A folder under the data directory that links to the required font files and nothing else."""
    target = Path(settings.DATA_DIR) / "fonts"
    target.mkdir(parents=True, exist_ok=True)
    wanted = find_font_files()
    for entry in target.iterdir():
        if entry.name not in wanted and not entry.name.startswith("."):
            entry.unlink()
    for name, source in wanted.items():
        link = target / name
        if link.is_symlink() and Path(os.readlink(link)) == source:
            continue
        # Unique per call: two threads of one process (gunicorn threads, a push racing another) may get here at once.
        temporary = target / f".{name}.{uuid.uuid4().hex}"
        temporary.symlink_to(source)
        os.replace(temporary, link)
    return target
