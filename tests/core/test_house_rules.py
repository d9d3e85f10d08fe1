"""House rules that a reader would otherwise have to check by eye: one home for each kind of thing."""

from __future__ import annotations

import ast
from pathlib import Path

import ecancel

SRC = Path(ecancel.__file__).parent


def _face_modules() -> list[Path]:
    """Views, API routers and template tags: the thin faces that read through selectors."""
    modules = {*SRC.glob("*/views.py"), *SRC.glob("consoles/**/*.py"), *SRC.glob("api/*.py")}
    modules |= set(SRC.glob("*/templatetags/*.py"))
    return sorted(modules)


def test_views_and_template_tags_make_no_orm_queries() -> None:
    offences = []
    for module in _face_modules():
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "objects":
                offences.append(f"{module.relative_to(SRC)}:{node.lineno}")
    assert offences == [], "query through a selector instead"


def test_each_console_keeps_its_templates_in_one_folder() -> None:
    folders = [p.relative_to(SRC).as_posix() for p in SRC.glob("**/templates/**/") if p.name in {"operator", "notary"}]
    assert sorted(folders) == ["templates/notary", "templates/operator"]


def test_backends_are_chosen_through_the_one_loader() -> None:
    """``core.backends.load`` names the setting when a path is wrong, and ``ecancel check`` sees what it loads."""
    offences = [
        str(module.relative_to(SRC))
        for module in SRC.glob("**/*.py")
        if "import_string" in module.read_text(encoding="utf-8") and module != SRC / "core" / "backends.py"
    ]
    assert offences == [], "use ecancel.core.backends.load (or backend_class) instead of import_string"
