"""Adapters never import models: nothing under `sessions_app/providers/` reaches
`sessions_app.models` through its imports, directly or through another Verity
module; and the normalisation rows are leaves.

Imports are read from the source (an `if TYPE_CHECKING:` block does not count:
it never runs), following Verity's own modules transitively.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PROVIDERS = ROOT / "sessions_app" / "providers"


def _module_path(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


@cache
def _imports(name: str) -> frozenset[str]:
    """The modules `name` imports when it runs (parents of each included)."""
    path = _module_path(name)
    if path is None:
        return frozenset()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()
    for node in _runtime_imports(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            # `from package import module` imports that module too.
            targets = [target] + [
                f"{target}.{alias.name}"
                for alias in node.names
                if _module_path(f"{target}.{alias.name}") is not None
            ]
        for target in targets:
            parts = target.split(".")
            names.update(".".join(parts[:n]) for n in range(1, len(parts) + 1))
    return frozenset(names)


def _reachable(name: str) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(
            n
            for n in _imports(current)
            if n.startswith("sessions_app") and _module_path(n) is not None
        )
    return seen | {n for s in seen for n in _imports(s)}


PROVIDER_MODULES = sorted(_module_name(p) for p in PROVIDERS.rglob("*.py"))


@pytest.mark.parametrize("module", PROVIDER_MODULES)
def test_no_provider_module_reaches_the_models(module):
    reached = _reachable(module)

    assert "sessions_app.models" not in reached


@pytest.mark.parametrize(
    "rows", sorted(_module_name(p) for p in PROVIDERS.glob("*/rows.py"))
)
def test_rows_modules_import_only_the_vocabulary(rows):
    verity = {n for n in _imports(rows) if n.startswith("sessions_app.")}

    assert verity <= {
        "sessions_app.vocabulary",
        "sessions_app.providers",
        "sessions_app.providers.rows",
    }
