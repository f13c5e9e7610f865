"""The simulator plays the providers: it imports nothing of Verity's, nor Django.

Sharing code with the client it tests would let a bug on one side hide the same
bug on the other, and `simulate_providers` must be able to serve without a
database or settings.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sessions_app.simulator

PACKAGE = Path(sessions_app.simulator.__file__).resolve().parent
FORBIDDEN_ROOTS = {"django", "rest_framework", "django_filters", "celery", "config"}


def _imports(path: Path) -> list[str]:
    """The absolute names a module imports (relative imports resolved)."""
    # The package a relative import starts from: the module's own directory.
    package = ("sessions_app", "simulator", *path.relative_to(PACKAGE).parts[:-1])
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # One dot is `package` itself; each further dot goes up one.
                base = package[: len(package) - (node.level - 1)]
                names.append(".".join((*base, *([node.module] if node.module else []))))
            else:
                names.append(node.module or "")
    return names


def test_the_simulator_imports_nothing_of_verity_nor_django():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 10
    offending = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in modules
        for name in _imports(path)
        if (
            name.startswith("sessions_app")
            and not name.startswith("sessions_app.simulator")
        )
        or name.split(".")[0] in FORBIDDEN_ROOTS
    }
    assert not offending
