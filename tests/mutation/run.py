"""Mutation testing of the safety-critical modules: `make mutate` (not CI).

Each mutant is one small deliberate bug (a comparison flipped, `and` made
`or`, a constant changed, a `not` dropped, `any` made `all`), written into
the module's source one at a time; the module's tests then run. A test run
that fails kills the mutant; one that passes lets it survive, and a survivor
is a bug the suite would not notice. The score is killed / total.

The mutants are drawn from every mutable spot of the listed modules with a
fixed seed, so two runs on the same code try the same bugs. The module is
rewritten with `ast.unparse` (comments dropped, behaviour the same); a
baseline run of that rewrite, unmutated, must pass first. The original file
is always put back, also on Ctrl-C.

    python tests/mutation/run.py                 # 100 mutants over MODULES
    python tests/mutation/run.py --limit 20 --module sessions_app/providers/webhook.py
    python tests/mutation/run.py --list          # every mutable spot, nothing run

docs/testing.md says how to read the result.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The modules under test and the tests that guard each, relative to the
# repository root. Update the paths when modules move.
MODULES: dict[str, list[str]] = {
    "sessions_app/providers/webhook.py": [
        "tests/sessions_app/test_webhooks.py",
        "tests/sessions_app/test_webhooks_guards.py",
        "tests/sessions_app/providers/onfido/test_webhook.py",
        "tests/sessions_app/providers/complycube/test_webhook.py",
        "tests/sessions_app/providers/ica/test_webhook.py",
    ],
    "sessions_app/providers/onfido/webhook.py": [
        "tests/sessions_app/test_webhooks_guards.py",
        "tests/sessions_app/providers/onfido/test_webhook.py",
    ],
    "sessions_app/webhooks.py": [
        "tests/sessions_app/test_webhooks.py",
        "tests/sessions_app/test_webhooks_guards.py",
    ],
    "sessions_app/normalization.py": [
        "tests/sessions_app/test_normalization.py",
        "tests/sessions_app/test_normalization_guards.py",
    ],
    "sessions_app/providers/onfido/rows.py": [
        "tests/sessions_app/test_normalization.py",
        "tests/sessions_app/test_normalization_guards.py",
    ],
    "sessions_app/providers/complycube/rows.py": [
        "tests/sessions_app/test_normalization.py",
        "tests/sessions_app/test_normalization_guards.py",
    ],
    "sessions_app/providers/ica/rows.py": [
        "tests/sessions_app/test_normalization.py",
        "tests/sessions_app/test_normalization_guards.py",
    ],
    "sessions_app/exports/cells.py": [
        "tests/sessions_app/exports/test_cells.py",
        "tests/sessions_app/exports/test_guards.py",
    ],
    "sessions_app/exports/stream.py": [
        "tests/sessions_app/exports/test_stream.py",
        "tests/sessions_app/exports/test_cells.py",
        "tests/sessions_app/exports/test_guards.py",
    ],
    "sessions_app/admin/base.py": [
        "tests/sessions_app/admin/test_base.py",
        "tests/sessions_app/admin/test_guards.py",
        "tests/sessions_app/admin/test_connections.py",
    ],
    "sessions_app/admin/users.py": [
        "tests/sessions_app/admin/test_users.py",
        "tests/sessions_app/admin/test_guards.py",
    ],
    "sessions_app/services.py": [
        "tests/sessions_app/test_services.py",
        "tests/sessions_app/test_services_review.py",
        "tests/sessions_app/admin/test_guards.py",
    ],
    "config/admin.py": [
        "tests/sessions_app/test_roles.py",
        "tests/config/test_admin.py",
        "tests/sessions_app/admin/test_guards.py",
    ],
    "sessions_app/roles.py": [
        "tests/sessions_app/test_roles.py",
        "tests/sessions_app/views/test_access.py",
    ],
    "sessions_app/sync/upsert.py": [
        "tests/sessions_app/sync/test_upsert.py",
        "tests/sessions_app/sync/test_related.py",
        "tests/sessions_app/sync/test_engine.py",
    ],
    "sessions_app/sync/engine.py": [
        "tests/sessions_app/sync/test_engine.py",
        "tests/sessions_app/sync/test_runs.py",
    ],
}
DEFAULT_LIMIT = 100
DEFAULT_SEED = 16
# One mutant's test run may take this long; longer counts as killed (a mutant
# that makes a test loop is caught by pytest-timeout first, normally).
RUN_TIMEOUT_SECONDS = 600

COMPARE_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
CALL_SWAPS = {"any": "all", "all": "any", "min": "max", "max": "min"}


@dataclasses.dataclass(frozen=True)
class Spot:
    """One mutable place: the n-th node the walk visits, and what changes."""

    module: str
    index: int
    line: int
    description: str


def _docstring_ids(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(
            node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
        ):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
            ):
                ids.add(id(body[0].value))
    return ids


def _skipped_ids(tree: ast.AST) -> set[int]:
    """Constants whose change means nothing: docstrings, f-string pieces,
    annotations, `__all__`-like names and log/exception messages."""
    skipped = _docstring_ids(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skipped.update(id(value) for value in ast.walk(node))
        annotations = []
        if isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        if isinstance(node, ast.arg) and node.annotation is not None:
            annotations.append(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
            annotations.append(node.returns)
        for annotation in annotations:
            skipped.update(id(value) for value in ast.walk(annotation))
        if isinstance(node, ast.Call):
            func = node.func
            name = getattr(func, "attr", getattr(func, "id", ""))
            if name in {"debug", "info", "warning", "error", "exception"} or (
                name.endswith(("Error", "Exception", "Denied"))
            ):
                for arg in node.args:
                    skipped.update(id(value) for value in ast.walk(arg))
    return skipped


def _mutations(node: ast.AST, skipped: set[int]) -> Iterator[tuple[str, object]]:
    """Yield (description, how) for each way `node` can be mutated."""
    if isinstance(node, ast.Compare):
        for position, op in enumerate(node.ops):
            swap = COMPARE_SWAPS.get(type(op))
            if swap is not None:
                yield (
                    f"{type(op).__name__} -> {swap.__name__}",
                    ("compare", position, swap),
                )
    elif isinstance(node, ast.BoolOp):
        other = ast.Or if isinstance(node.op, ast.And) else ast.And
        yield f"{type(node.op).__name__} -> {other.__name__}", ("boolop", other)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "drop `not`", ("drop_not",)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        swap = CALL_SWAPS.get(node.func.id)
        if swap:
            yield f"{node.func.id}() -> {swap}()", ("call", swap)
    elif isinstance(node, ast.Constant) and id(node) not in skipped:
        value = node.value
        if isinstance(value, bool):
            yield f"{value} -> {not value}", ("constant", not value)
        elif isinstance(value, int) and not isinstance(value, bool):
            yield f"{value} -> {value + 1}", ("constant", value + 1)
        elif isinstance(value, str) and value and len(value) <= 80:
            yield f"{value!r} -> {'XX' + value!r}", ("constant", "XX" + value)


def _walk(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, in a fixed order (ast.walk's breadth-first order)."""
    yield from ast.walk(tree)


def spots(module: str) -> list[Spot]:
    tree = ast.parse((ROOT / module).read_text(), filename=module)
    skipped = _skipped_ids(tree)
    found = []
    index = 0
    for node in _walk(tree):
        for description, _how in _mutations(node, skipped):
            found.append(Spot(module, index, getattr(node, "lineno", 0), description))
            index += 1
    return found


def mutated_source(module: str, spot_index: int) -> str:
    tree = ast.parse((ROOT / module).read_text(), filename=module)
    skipped = _skipped_ids(tree)
    index = 0
    for node in list(_walk(tree)):
        for _description, how in _mutations(node, skipped):
            if index == spot_index:
                tree = _apply(tree, node, how)
                return ast.unparse(ast.fix_missing_locations(tree))
            index += 1
    raise IndexError(spot_index)


class _Replace(ast.NodeTransformer):
    """Replace one node (by identity) with another."""

    def __init__(self, target: ast.AST, replacement: ast.AST) -> None:
        self.target, self.replacement = target, replacement

    def visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return self.replacement
        return super().visit(node)


def _apply(tree: ast.Module, node: ast.AST, how: tuple) -> ast.Module:
    kind = how[0]
    if kind == "compare":
        _, position, swap = how
        node.ops[position] = swap()
    elif kind == "boolop":
        node.op = how[1]()
    elif kind == "drop_not":
        tree = _Replace(node, node.operand).visit(tree)
    elif kind == "call":
        node.func.id = how[1]
    elif kind == "constant":
        node.value = how[1]
    return tree


def run_tests(tests: list[str], python: str) -> tuple[bool, float]:
    """Run `tests`; return (passed, seconds)."""
    started = time.monotonic()
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv: this interpreter, pytest
            [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
            cwd=ROOT,
            capture_output=True,
            timeout=RUN_TIMEOUT_SECONDS,
            check=False,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        passed = result.returncode == 0
    except subprocess.TimeoutExpired:
        passed = False
    return passed, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--module", action="append", help="only this module (repeatable)"
    )
    parser.add_argument("--list", action="store_true", help="list spots, run none")
    args = parser.parse_args(argv)

    modules = {m: t for m, t in MODULES.items() if not args.module or m in args.module}
    missing = [m for m in modules if not (ROOT / m).exists()]
    if missing:
        print(f"Modules not found (update MODULES in {__file__}): {missing}")
        return 2
    all_spots = [spot for module in modules for spot in spots(module)]
    if args.list:
        for spot in all_spots:
            print(f"{spot.module}:{spot.line}  #{spot.index}  {spot.description}")
        print(f"{len(all_spots)} mutable spots")
        return 0
    chosen = sorted(
        random.Random(args.seed).sample(all_spots, min(args.limit, len(all_spots))),
        key=lambda s: (s.module, s.index),
    )

    originals = {m: (ROOT / m).read_text() for m in modules}

    def restore(*_: object) -> None:
        for module, text in originals.items():
            (ROOT / module).write_text(text)

    signal.signal(signal.SIGTERM, lambda *a: (restore(), sys.exit(130)))
    python = sys.executable
    killed: list[Spot] = []
    survived: list[Spot] = []
    try:
        for module in sorted({s.module for s in chosen}):
            tests = modules[module]
            (ROOT / module).write_text(ast.unparse(ast.parse(originals[module])))
            passed, seconds = run_tests(tests, python)
            restore()
            if not passed:
                print(f"BASELINE FAILS for {module}: fix the suite first ({tests})")
                return 2
            print(f"{module}: baseline green in {seconds:.0f}s; mutating")
            for spot in (s for s in chosen if s.module == module):
                (ROOT / module).write_text(mutated_source(module, spot.index))
                passed, seconds = run_tests(tests, python)
                restore()
                (survived if passed else killed).append(spot)
                verdict = "SURVIVED" if passed else "killed  "
                print(
                    f"  {verdict} {module}:{spot.line} {spot.description} "
                    f"({seconds:.0f}s)",
                    flush=True,
                )
    except KeyboardInterrupt:
        print("interrupted")
    finally:
        restore()

    total = len(killed) + len(survived)
    print()
    for module in sorted({s.module for s in chosen}):
        k = sum(s.module == module for s in killed)
        n = k + sum(s.module == module for s in survived)
        print(f"{module:40s} {k:3d} / {n:3d} killed")
    if survived:
        print("\nSurvivors (each a bug no test notices):")
        for spot in survived:
            print(f"  {spot.module}:{spot.line}  {spot.description}")
    score = 100.0 * len(killed) / total if total else 0.0
    print(f"\nMutation score: {len(killed)}/{total} killed ({score:.0f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
