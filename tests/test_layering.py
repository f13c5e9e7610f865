"""Imports run one way (STYLE.md), checked on the import graph of `sessions_app`.

1. No import cycle between any two modules of `sessions_app`.
2. Layers: interfaces -> services, selectors, sync -> models. A lower layer never
   imports a higher one, directly or through other modules.
3. Adapters (`sessions_app.providers`) never import `sessions_app.models`,
   directly or through other modules.
4. The simulator imports nothing of `sessions_app` outside `sessions_app.simulator`,
   nor Django, DRF, Celery or the project's settings: sharing code with the client
   it plays against would let a bug on one side hide the same bug on the other,
   and `simulate_providers` serves without a database.
5. Inside `sessions_app.sync` imports run one way: engine -> children -> runs ->
   upsert -> schedule/related -> values (lease beside them, used by runs and the
   engine).
6. Shared leaves (`sessions_app.sync.values`, the providers' normalisation rows)
   import nothing of Verity's but the vocabulary: any layer may use them, which
   is why the models take their column caps from `sync.values`.

The graph is grimp's (the library behind import-linter): every `import`
statement counts, at module level or inside a function (a function-level import
that closes a cycle is still a cycle); only `if TYPE_CHECKING:` imports are
left out, since they never run.

KNOWN_EXCEPTIONS lists the imports today's code still has against these rules,
each with the work that removes it. The list is strict: an exception whose
import is gone fails the test until it is deleted here, so it cannot outlive
its fix.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import grimp
import pytest

PACKAGE = "sessions_app"
# Modules outside every rule: generated migrations.
IGNORED = ("sessions_app.migrations",)

# Highest layer first. A module belongs to the layer of its closest listed
# ancestor; modules listed nowhere (vocabulary, normalization, roles,
# exceptions, links, pagination, ...) are shared helpers, free to be imported
# by any layer but bound by rule 1, and by rule 2 when a chain through them
# leads upwards.
LAYERS: tuple[tuple[str, ...], ...] = (
    (  # interfaces: what a request, a task or a command enters through
        "sessions_app.views",
        "sessions_app.apis",
        "sessions_app.apis_retention",
        "sessions_app.api_errors",
        "sessions_app.admin",
        "sessions_app.webhooks",
        "sessions_app.tasks",
        "sessions_app.tasks_retention",
        "sessions_app.management",
        "sessions_app.exports",
        "sessions_app.urls",
        "sessions_app.api_urls",
        "sessions_app.webhook_urls",
        "sessions_app.forms",
        "sessions_app.filters",
        "sessions_app.serializers",
        "sessions_app.client_serializers",
        "sessions_app.templatetags",
        "sessions_app.context_processors",
        "sessions_app.client_filters",
        "sessions_app.cases.views",
        "sessions_app.cases.urls",
        "sessions_app.cases.apis",
        "sessions_app.cases.serializers",
        "sessions_app.cases.note_views",
        "sessions_app.cases.forms",
        "sessions_app.cases.bulk_views",
        "sessions_app.cases.apis_work",
        "sessions_app.saved_views.views",
        "sessions_app.saved_views.urls",
        "sessions_app.saved_views.apis",
        "sessions_app.saved_views.serializers",
        "sessions_app.saved_views.queries",
    ),
    (  # business logic: writes, reads, the sync
        "sessions_app.services",
        "sessions_app.selectors",
        "sessions_app.sync",
        "sessions_app.privacy",
        "sessions_app.client_review",
        "sessions_app.cases.services",
        "sessions_app.cases.selectors",
        "sessions_app.cases.waiting",
        "sessions_app.cases.notes",
        "sessions_app.cases.bulk",
        "sessions_app.cases.sla",
        "sessions_app.cases.case_fields",
        "sessions_app.cases.overrides",
        "sessions_app.cases.override_effect",
        "sessions_app.saved_views.services",
        "sessions_app.saved_views.selectors",
    ),
    (
        "sessions_app.models",
        "sessions_app.cases.models",
        "sessions_app.saved_views.models",
    ),
)
ADAPTERS = "sessions_app.providers"
MODELS = "sessions_app.models"
SIMULATOR = "sessions_app.simulator"

# Leaves any layer may import (rule 6): they import nothing of Verity's.
SHARED_LEAVES = ("sessions_app.sync.values",)
# What the simulator must not import besides Verity (rule 4).
SIMULATOR_FORBIDDEN = ("django", "rest_framework", "django_filters", "celery", "config")
# Rule 5: a module of the sync may import only sync modules of a lower rank.
SYNC_RANK = {
    "sessions_app.sync.values": -1,  # a shared leaf, below every sync module
    "sessions_app.sync.bulk_write": 0,
    "sessions_app.sync.collector": 0,
    "sessions_app.sync.planner_statistics": 0,
    "sessions_app.sync.lease": 1,
    "sessions_app.sync.stopping": 1,
    "sessions_app.sync.schedule": 1,
    "sessions_app.sync.related": 1,
    "sessions_app.sync.quarantine": 1,
    "sessions_app.sync.follow": 1,
    "sessions_app.sync.check_kinds": 1,
    "sessions_app.sync.secrets": 1,
    "sessions_app.sync.reasons": 1,
    "sessions_app.sync.upsert": 2,
    "sessions_app.sync.runs": 3,
    "sessions_app.sync.children": 4,
    "sessions_app.sync.engine": 5,
    "sessions_app.sync.refresh": 4,
}

# (importer, imported) imports that break a rule today, and what removes them.
# Empty: the last one (selectors -> filters) went with issue 16's views split.
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}


def _build_graph() -> grimp.ImportGraph:
    # cache_dir=None: never write grimp's cache into the repository.
    graph = grimp.build_graph(
        PACKAGE,
        exclude_type_checking_imports=True,
        include_external_packages=True,
        cache_dir=None,
    )
    for module in list(graph.modules):
        if module.startswith(IGNORED):
            graph.remove_module(module)
    return graph


@pytest.fixture(scope="module")
def full_graph() -> grimp.ImportGraph:
    return _build_graph()


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    """The graph without the known exceptions, so each rule sees only new breaks."""
    pruned = _build_graph()
    for importer, imported in KNOWN_EXCEPTIONS:
        if _imports(pruned, importer, imported):
            pruned.remove_import(importer=importer, imported=imported)
    return pruned


@pytest.fixture(scope="module")
def layered(graph) -> grimp.ImportGraph:
    """The pruned graph without the shared leaves, which sit below every layer."""
    pruned = _build_graph()
    for importer, imported in KNOWN_EXCEPTIONS:
        pruned.remove_import(importer=importer, imported=imported)
    for leaf in SHARED_LEAVES:
        pruned.remove_module(leaf)
    return pruned


def _imports(graph: grimp.ImportGraph, importer: str, imported: str) -> bool:
    """Whether `importer` imports `imported` directly (False if either is gone)."""
    return {importer, imported} <= graph.modules and graph.direct_import_exists(
        importer=importer, imported=imported
    )


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _where(graph: grimp.ImportGraph, chain: Iterable[str]) -> str:
    """Render a chain with the line of each step, for a readable failure."""
    chain = list(chain)
    steps = []
    for importer, imported in itertools.pairwise(chain):
        details = graph.get_import_details(importer=importer, imported=imported)
        line = details[0]["line_number"] if details else "?"
        steps.append(f"{importer}:{line} -> {imported}")
    return "\n    ".join(steps)


def test_known_exceptions_still_exist(full_graph):
    """Strict: a fixed exception must leave KNOWN_EXCEPTIONS with its fix."""
    gone = [
        f"{importer} -> {imported}"
        for importer, imported in KNOWN_EXCEPTIONS
        if not _imports(full_graph, importer, imported)
    ]
    assert not gone, (
        "No longer imported; remove them from KNOWN_EXCEPTIONS (tests/test_layering.py): "
        + ", ".join(gone)
    )


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (
                            child,
                            iter(
                                sorted(graph.find_modules_directly_imported_by(child))
                            ),
                        )
                    )
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def test_no_import_cycle_inside_sessions_app(graph):
    cycles = _cycles(graph)
    described = []
    for component in cycles:
        first, *rest = component
        back = graph.find_shortest_chain(importer=rest[0], imported=first) or ()
        forth = graph.find_shortest_chain(importer=first, imported=rest[0]) or ()
        described.append(
            ", ".join(component)
            + "\n    "
            + _where(graph, forth)
            + "\n    "
            + _where(graph, back)
        )
    assert not cycles, "Import cycles:\n  " + "\n  ".join(described)


def test_cycle_finder_sees_a_cycle():
    """The check itself works: a two-module cycle is found."""
    graph = grimp.ImportGraph()
    for module in ("pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    assert _cycles(graph) == [["pkg.a", "pkg.b"]]


def _present(graph: grimp.ImportGraph, package: str) -> bool:
    return any(_inside(module, package) for module in graph.modules)


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        (lower, higher)
        for low_index, lower_layer in enumerate(LAYERS)
        for lower in lower_layer
        for higher_layer in LAYERS[:low_index]
        for higher in higher_layer
    ],
)
def test_a_lower_layer_never_imports_a_higher_one(layered, lower, higher):
    graph = layered
    if not (_present(graph, lower) and _present(graph, higher)):
        pytest.skip(f"{lower} or {higher} does not exist (yet)")
    chains = graph.find_shortest_chains(
        importer=lower, imported=higher, as_packages=True
    )
    assert not chains, f"{lower} imports {higher}:\n    " + "\n    ".join(
        _where(graph, chain) for chain in sorted(chains)
    )


def test_adapters_never_import_models(graph):
    chains = graph.find_shortest_chains(
        importer=ADAPTERS, imported=MODELS, as_packages=True
    )
    assert not chains, (
        "Provider adapters must not import models (pass plain data in; "
        "TYPE_CHECKING imports are fine):\n    "
        + "\n    ".join(_where(graph, chain) for chain in sorted(chains))
    )


def test_simulator_imports_nothing_of_verity_outside_itself(graph):
    simulator = [module for module in graph.modules if _inside(module, SIMULATOR)]
    assert len(simulator) > 10
    leaks = sorted(
        (importer, imported)
        for importer in simulator
        for imported in graph.find_modules_directly_imported_by(importer)
        if (_inside(imported, PACKAGE) and not _inside(imported, SIMULATOR))
        or imported.split(".")[0] in SIMULATOR_FORBIDDEN
    )
    assert not leaks, (
        "The simulator stays independent of Verity:\n    "
        + "\n    ".join(_where(graph, pair) for pair in leaks)
    )


def _verity_imports(graph: grimp.ImportGraph, module: str) -> set[str]:
    return {
        imported
        for imported in graph.find_modules_directly_imported_by(module)
        if _inside(imported, PACKAGE)
    }


def test_every_sync_module_has_a_rank(graph):
    modules = {
        module
        for module in graph.modules
        if _inside(module, "sessions_app.sync") and module != "sessions_app.sync"
    }
    assert modules == set(SYNC_RANK)


def test_sync_modules_import_only_sync_modules_below_them(graph):
    wrong = sorted(
        f"{module} (rank {rank}) -> {imported} (rank {SYNC_RANK[imported]})"
        for module, rank in SYNC_RANK.items()
        for imported in _verity_imports(graph, module)
        if imported in SYNC_RANK and SYNC_RANK[imported] >= rank
    )
    assert not wrong


@pytest.mark.parametrize("leaf", SHARED_LEAVES)
def test_shared_leaves_import_nothing_of_verity(graph, leaf):
    assert _verity_imports(graph, leaf) == set()


def test_normalisation_rows_import_only_the_vocabulary(graph):
    rows = [
        module
        for module in graph.modules
        if _inside(module, ADAPTERS) and module.endswith(".rows")
    ]
    assert len(rows) >= 3
    allowed = {"sessions_app.vocabulary", "sessions_app.providers.rows"}
    wrong = {
        module: sorted(_verity_imports(graph, module) - allowed)
        for module in rows
        if _verity_imports(graph, module) - allowed
    }
    assert not wrong


def test_the_rules_catch_a_break():
    """The checks themselves work: a forged import breaks each rule."""
    broken = _build_graph()
    broken.add_import(importer="sessions_app.providers.base", imported=MODELS)
    assert broken.find_shortest_chains(
        importer=ADAPTERS, imported=MODELS, as_packages=True
    )
    broken.add_import(
        importer="sessions_app.sync.values", imported="sessions_app.vocabulary"
    )
    assert _verity_imports(broken, "sessions_app.sync.values")
