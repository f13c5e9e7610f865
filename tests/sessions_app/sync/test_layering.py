"""The sync package's imports run one way: engine → runs → upsert → schedule →
values (lease used by runs and the engine; related beside schedule)."""

from __future__ import annotations

import ast
from pathlib import Path

import sessions_app.sync

SYNC_DIR = Path(sessions_app.sync.__file__).parent
# A module may import only modules of a lower rank.
RANK = {
    "values": 0,
    "lease": 1,
    "schedule": 1,
    "related": 1,
    "upsert": 2,
    "runs": 3,
    "engine": 4,
}


def _sibling_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def test_every_sync_module_has_a_rank():
    modules = {p.stem for p in SYNC_DIR.glob("*.py")} - {"__init__"}
    assert modules == set(RANK)


def test_sync_modules_import_only_modules_below_them():
    wrong = {
        module: sorted(
            imported
            for imported in _sibling_imports(SYNC_DIR / f"{module}.py")
            if RANK[imported] >= rank
        )
        for module, rank in RANK.items()
    }
    assert {module: bad for module, bad in wrong.items() if bad} == {}


def test_values_imports_nothing_of_verity():
    tree = ast.parse((SYNC_DIR / "values.py").read_text())
    imported = {
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not any(name.startswith("sessions_app") for name in imported if name)
    assert all(
        node.level == 0 for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    )
