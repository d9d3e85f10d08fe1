"""Statuses change only in services: anything else that writes ``.status`` fails this test with file:line."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

import ecancel

SRC = Path(ecancel.__file__).resolve().parent
BULK_WRITERS = {"update", "update_or_create", "get_or_create", "bulk_update", "create"}


def is_service_module(path: Path) -> bool:
    return path.name == "services.py" or "services" in path.parent.parts


def is_exempt(path: Path) -> bool:
    return is_service_module(path) or "migrations" in path.parts


def _mentions_status(node: ast.expr) -> bool:
    """A literal ``"status"``, or a list/tuple/set of literals containing it (bulk_update's fields)."""
    if isinstance(node, ast.Constant):
        return node.value == "status"
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return any(_mentions_status(element) for element in node.elts)
    return False


def _dict_has_status(node: ast.expr) -> bool:
    return isinstance(node, ast.Dict) and any(key is not None and _mentions_status(key) for key in node.keys)


def _call_writes_status(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name) and func.id == "setattr" and len(call.args) >= 2 and _mentions_status(call.args[1]):
        return 'setattr(..., "status", ...)'
    if not isinstance(func, ast.Attribute) or func.attr not in BULK_WRITERS:
        return None
    for keyword in call.keywords:
        if keyword.arg == "status":
            return f"{func.attr}(status=...)"
        if keyword.arg in {None, "defaults", "create_defaults"} and _dict_has_status(keyword.value):
            spread = "**" if keyword.arg is None else f"{keyword.arg}="
            return f'{func.attr}({spread}{{"status": ...}})'
        if keyword.arg == "fields" and _mentions_status(keyword.value):
            return f'{func.attr}(fields=["status"])'
    if func.attr == "bulk_update" and len(call.args) >= 2 and _mentions_status(call.args[1]):
        return 'bulk_update(..., ["status"])'
    return None


def _writes_status_through_dict(node: ast.Subscript) -> bool:
    """``obj.__dict__["status"] = …`` or ``vars(obj)["status"] = …``."""
    if not _mentions_status(node.slice):
        return False
    owner = node.value
    if isinstance(owner, ast.Attribute) and owner.attr == "__dict__":
        return True
    return isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "vars"


def status_offences(source: str, filename: str) -> list[str]:
    """Every place in ``source`` that writes a ``status`` attribute, as ``file:line: what``."""
    offences = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        what: str | None = None
        if isinstance(node, ast.Attribute) and node.attr == "status" and isinstance(node.ctx, ast.Store | ast.Del):
            what = ".status = ..." if isinstance(node.ctx, ast.Store) else "del .status"
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and _writes_status_through_dict(node):
            what = '__dict__["status"] = ...'
        elif isinstance(node, ast.Call):
            what = _call_writes_status(node)
        if what is not None:
            offences.append(f"{filename}:{node.lineno}: {what}")
    return offences


def test_nothing_outside_services_assigns_status() -> None:
    modules = sorted(p for p in SRC.rglob("*.py") if not is_exempt(p.relative_to(SRC)))
    assert len(modules) > 20
    offences = [
        offence
        for path in modules
        for offence in status_offences(path.read_text(encoding="utf-8"), str(path.relative_to(SRC.parent.parent)))
    ]
    assert not offences, "status changes only through a services.py:\n" + "\n".join(offences)


OFFENDING = {
    "plain": "contract.status = 'cancelled'",
    "annotated": "contract.status: str = 'cancelled'",
    "augmented": "contract.status += '!'",
    "tuple": "a, contract.status = 1, 'cancelled'",
    "starred": "a, *contract.status = [1, 2, 3]",
    "nested": "(a, (b, self.unit.status)) = (1, (2, 'x'))",
    "chained": "x = contract.status = 'cancelled'",
    "for_target": "for contract.status in ['a']: pass",
    "with_target": "with open('f') as contract.status: pass",
    "comprehension": "[0 for contract.status in 'ab']",
    "delete": "del contract.status",
    "setattr": "setattr(contract, 'status', 'cancelled')",
    "queryset_update": "FiledContract.objects.filter(pk=1).update(status='cancelled')",
    "update_kwargs": "qs.update(**{'status': 'cancelled'})",
    "update_or_create": "Unit.objects.update_or_create(pk=1, defaults={'status': 'filed'})",
    "create": "Unit.objects.create(room_no='0101', status='filed')",
    "bulk_update": "Unit.objects.bulk_update(units, ['status'])",
    "bulk_update_kw": "Unit.objects.bulk_update(units, fields=('floor', 'status'))",
    "dunder_dict": "contract.__dict__['status'] = 'cancelled'",
    "vars": "vars(contract)['status'] = 'cancelled'",
}


@pytest.mark.parametrize("snippet", OFFENDING.values(), ids=OFFENDING.keys())
def test_checker_catches_offending_code(snippet: str) -> None:
    source = f"import os\n\n\ndef change(contract, qs, units):\n{textwrap.indent(snippet, '    ')}\n"
    offences = status_offences(source, "ecancel/sample/views.py")
    assert offences
    assert offences[0].startswith("ecancel/sample/views.py:5: ")


def test_checker_allows_reading_filtering_and_field_definitions() -> None:
    source = textwrap.dedent(
        """
        from django.db import models

        class Unit(models.Model):
            status = models.CharField(max_length=20, choices=[("a", "A")], default="a")

        def read(unit, qs):
            if unit.status == "a":
                print(unit.status)
            status = unit.status
            payload = {"status": unit.status}
            qs.filter(status="a").exclude(status="b").order_by("status")
            qs.update(floor=3)
            return transition(unit, "sign", TABLE, Choices), payload, status
        """
    )
    assert status_offences(source, "ecancel/sample/models.py") == []


@pytest.mark.parametrize(
    ("path", "exempt"),
    [
        ("filing/services.py", True),
        ("notary/services/review.py", True),
        ("filing/migrations/0001_initial.py", True),
        ("filing/selectors.py", False),
        ("consoles/operator/views.py", False),
        ("filing/services_helpers.py", False),
    ],
)
def test_only_service_modules_and_migrations_are_exempt(path: str, exempt: bool) -> None:
    assert is_exempt(Path(path)) is exempt
