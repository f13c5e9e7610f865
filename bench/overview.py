"""Measurement 8, the overview (the officer's landing page): the whole page
through the Django test client as a reviewer, and each of its reads alone, on
the bench's data. Issue 19: under 100 ms median at 1,000,000 sessions, with
its counts read from the session tally (kept by the database's triggers)
rather than aggregated over every session per request.
"""

from __future__ import annotations

from typing import Any

from bench.harness import Stats, banner, interleaved, ms, table

BUDGET_S = 20.0
TARGET_MS = 100.0


def measure(*, repeat: int) -> dict[str, Any]:
    """Time the overview page and its reads; print and return the figures."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from sessions_app import selectors
    from sessions_app.models import WorkflowSession
    from sessions_app.tallies import session_tally_differences

    # A wrong fast page must not pass: the tally agrees with a real count.
    differences = session_tally_differences()
    if differences:
        raise RuntimeError(f"the session tally is off: {differences}")
    user, _ = get_user_model().objects.get_or_create(username="bench-reviewer")
    user.groups.add(Group.objects.get(name="reviewer"))
    client = Client()
    client.force_login(user)
    url = reverse("overview")
    statements: list[str] = []

    def counted(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"overview: HTTP {response.status_code}")
    banner(f"8. The overview: the page and its reads, median of {repeat} runs")
    cases = {
        "page": lambda: client.get(url),
        "breakdown": selectors.session_breakdown,
        "attention": selectors.session_attention_summary,
        "daily activity": selectors.session_daily_activity,
    }
    samples = interleaved(cases, repeat=repeat, warmup=1, budget_s=BUDGET_S)
    sessions = WorkflowSession.objects.count()
    results: dict[str, Any] = {"sessions": sessions, "queries": len(statements)}
    rows = []
    for name, runs in samples.items():
        stats = Stats.of(runs)
        results[name] = stats.as_dict()
        rows.append((name, ms(stats.median), ms(stats.p95)))
    table(["read", "median ms", "p95 ms"], rows)
    print(f"  the page ran {len(statements)} queries over {sessions:,} sessions")
    return results
