"""Measurement 5: the sync's own queries and the sync page, on the generated data.

Every sync run asks the database which sessions to re-poll (`refresh_ids`)
and whose checks to re-read (`children_due`, issue 17's fresh children), and
every committed page asks which change markers Verity holds
(`known_versions_for`); officers and admins open `/sync/`. At a million
sessions each of these must stay within the pages' budget (median < 100 ms),
whatever share of the sessions is still in rotation.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from bench.harness import Stats, banner, interleaved, ms, table

BUDGET_S = 0.100


def _explain(label: str, queryset: Any) -> None:
    if os.environ.get("BENCH_EXPLAIN"):
        print(f"\n-- {label}\n{queryset.explain(analyze=True)}")


def _analysis_seconds() -> float | None:
    """Seconds one ANALYZE of the sessions table takes (PostgreSQL): what a
    run pays once when its connection is new to the statistics."""
    import time

    from django.db import connection

    from sessions_app.models import WorkflowSession

    if connection.vendor != "postgresql":
        return None
    table = connection.ops.quote_name(WorkflowSession._meta.db_table)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")
    return time.perf_counter() - started


def measure(*, repeat: int) -> dict[str, Any]:
    """Run measurement 5 and print its table; return the figures."""
    from django.db.models import Count
    from django.utils import timezone

    from bench.review_queue import _users, client_for
    from sessions_app.models import ProviderConnection, WorkflowSession
    from sessions_app.sync.planner_statistics import (
        new_connection_statistics_refresh,
    )
    from sessions_app.sync.schedule import (
        children_due,
        in_rotation_q,
        known_versions_for,
        refresh_ids,
    )

    total = WorkflowSession.objects.count()
    banner(
        f"5. The sync's own queries and /sync/: {total:,} sessions; median and p95 "
        f"of {repeat} runs"
    )
    admin = client_for(_users()["admin"])
    now = timezone.now()
    cases: dict[str, Callable[[], Any]] = {}
    in_rotation: dict[str, int] = {}
    per_connection = dict(
        WorkflowSession.objects.values_list("connection_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for connection in ProviderConnection.objects.order_by("slug"):
        if not per_connection.get(connection.pk):
            continue
        in_rotation[connection.slug] = WorkflowSession.objects.filter(
            in_rotation_q(connection.kind), connection=connection
        ).count()
        some_ids = list(
            WorkflowSession.objects.filter(connection=connection)
            .order_by("-id")
            .values_list("external_id", flat=True)[:100]
        )
        known = known_versions_for(connection)
        cases[f"{connection.slug}: children_due (100)"] = lambda c=connection: (
            children_due(connection=c, read_before=now)
        )
        cases[f"{connection.slug}: refresh_ids"] = lambda c=connection: refresh_ids(c)
        cases[f"{connection.slug}: known_versions (100 ids)"] = (
            lambda k=known, ids=some_ids: k(ids)
        )
        # What a run that created sessions asks after it (an ANALYZE follows
        # only for a connection new to the statistics: timed once below).
        cases[f"{connection.slug}: statistics question"] = lambda c=connection: (
            new_connection_statistics_refresh(c)
        )
    analysed = _analysis_seconds()
    cases["GET /sync/ (admin)"] = lambda: admin.get("/sync/")
    response = admin.get("/sync/")
    if response.status_code != 200:
        raise RuntimeError(f"/sync/: HTTP {response.status_code}")
    samples = interleaved(cases, repeat=repeat, budget_s=5.0)
    rows, figures = [], {}
    for name, runs in samples.items():
        stats = Stats.of(runs)
        figures[name] = stats.as_dict()
        rows.append(
            [
                name,
                ms(stats.median),
                ms(stats.p95),
                "yes" if stats.median < BUDGET_S else "NO",
            ]
        )
    table(["query", "median", "p95", "< 100 ms"], rows)
    if analysed is not None:
        print(
            f"one ANALYZE of the sessions table (a run of a connection new to "
            f"the statistics): {ms(analysed)} ms"
        )
    print(
        "sessions in rotation per connection: "
        + ", ".join(f"{slug} {n:,}" for slug, n in in_rotation.items())
    )
    if os.environ.get("BENCH_EXPLAIN"):
        from sessions_app.sync.schedule import _children_in_rotation_q

        for connection in ProviderConnection.objects.order_by("slug")[:1]:
            _explain(  # the second of children_due's two queries
                f"children_due {connection.slug}, read before",
                WorkflowSession.objects.filter(
                    _children_in_rotation_q(connection.kind),
                    connection=connection,
                    detail_read_at__isnull=False,
                    detail_read_at__lt=now,
                )
                .order_by("detail_read_at", "id")
                .values_list("external_id", flat=True)[:100],
            )
    return {
        "total_sessions": total,
        "analyze_s": analysed,
        "in_rotation": in_rotation,
        "queries": figures,
        "met": all(f["median"] < BUDGET_S for f in figures.values()),
    }
