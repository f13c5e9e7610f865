"""Measurement 8, the overview (the officer's landing page): the whole page
through the Django test client as a reviewer, and each of its reads alone, on
the bench's data. Issue 19: under 100 ms median at 1,000,000 sessions, with
its counts read from the session tally (kept by the database's triggers)
rather than aggregated over every session per request, and with its team view
(decisions per reviewer per week, median time to decision: one index range
of the last eight weeks' reviews).

The generated bench data holds no reviews, so the team view would read an
empty window. Before measuring, the bench tops the window up to
BENCH_TEAM_DECISIONS reviews [5,000: the rate of the bench data's own
decided sessions, 149,110 over its five years, about 575 a week, so about
4,600 in eight weeks; 40,000 is a desk eight times as busy] by one bulk INSERT (not the app's
decision path), spread over the last eight weeks on random sessions, with
times to decision of a few minutes to a few days. Such reviews carry the
comment "bench-team" and are counted, not generated again, on the next run.
"""

from __future__ import annotations

import os
from typing import Any

from bench.harness import Stats, banner, counted_get, interleaved, ms, table

BUDGET_S = 20.0
TARGET_MS = 100.0
TEAM_DECISIONS_DEFAULT = 5_000
TEAM_MARK = "bench-team"


def _vacuum(table_name: str) -> None:
    """Fresh rows: statistics for the planner and the visibility map that
    lets the team view's index be read without the table."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table_name}")


def team_decisions_ensure(*, target: int) -> tuple[int, int]:
    """Top the team view's window up to `target` reviews; return (in the
    window before, added)."""
    import datetime as dt
    import random

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.utils import timezone

    from sessions_app.models import Review, WorkflowSession
    from sessions_app.selectors.team import team_window_start

    now = timezone.now()
    start = team_window_start(now=now)
    present = Review.objects.filter(created_at__gte=start).count()
    missing = target - present
    if missing <= 0:
        return present, 0
    group = Group.objects.get(name="reviewer")
    reviewers = []
    for i in range(8):
        user, _ = get_user_model().objects.get_or_create(username=f"bench-officer-{i}")
        user.groups.add(group)
        reviewers.append(user.pk)
    low, high = (
        WorkflowSession.objects.order_by("pk").values_list("pk", flat=True).first(),
        WorkflowSession.objects.order_by("-pk").values_list("pk", flat=True).first(),
    )
    if low is None:
        return present, 0
    window_s = (now - start).total_seconds()
    table_name = Review._meta.db_table
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # One statement: random sessions, reviewers and times (the lateral
            # subquery names `g`, so it runs once per row); the time to
            # decision log-uniform between 5 minutes and 5 days.
            with connection.cursor() as cursor:
                cursor.execute(
                    f"""
                    INSERT INTO {table_name}
                        (session_id, decision, reason_code, comment, reviewer_id,
                         created_at, session_created_at)
                    SELECT s.id, 'approve', 'verified', %s,
                           (%s::int[])[1 + (t.g %% %s)], t.at,
                           t.at - make_interval(secs => 300 * power(1440, t.spread))
                    FROM generate_series(1, %s) AS g
                    CROSS JOIN LATERAL (
                        SELECT g, random() AS spread,
                               %s::timestamptz + make_interval(secs => random() * %s) AS at,
                               %s + floor(random() * %s)::bigint + g * 0 AS session_id
                    ) AS t
                    JOIN {WorkflowSession._meta.db_table} AS s ON s.id = t.session_id
                    """,  # noqa: S608 (table names from the models)
                    [
                        TEAM_MARK,
                        reviewers,
                        len(reviewers),
                        missing,
                        start,
                        window_s,
                        low,
                        high - low + 1,
                    ],
                )
            transaction.on_commit(lambda: _vacuum(table_name))
        else:
            rng = random.Random(19)
            ids = list(WorkflowSession.objects.values_list("pk", flat=True))
            rows = []
            for i in range(missing):
                at = start + dt.timedelta(seconds=rng.random() * window_s)
                before = dt.timedelta(seconds=300 * 1440 ** rng.random())
                rows.append(
                    (
                        rng.choice(ids),
                        "approve",
                        "verified",
                        TEAM_MARK,
                        reviewers[i % len(reviewers)],
                        at.isoformat(sep=" "),
                        (at - before).isoformat(sep=" "),
                    )
                )
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {table_name} (session_id, decision, reason_code,"  # noqa: S608
                    " comment, reviewer_id, created_at, session_created_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    rows,
                )
    added = Review.objects.filter(created_at__gte=start).count() - present
    return present, added


def measure(*, repeat: int) -> dict[str, Any]:
    """Time the overview page and its reads; print and return the figures."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client
    from django.urls import reverse

    from sessions_app import selectors
    from sessions_app.models import WorkflowSession
    from sessions_app.selectors.team import team_activity
    from sessions_app.tallies import session_tally_differences

    target = int(os.environ.get("BENCH_TEAM_DECISIONS", TEAM_DECISIONS_DEFAULT))
    present, added = team_decisions_ensure(target=target)

    # A wrong fast page must not pass: the tally agrees with a real count.
    differences = session_tally_differences()
    if differences:
        raise RuntimeError(f"the session tally is off: {differences}")
    user, _ = get_user_model().objects.get_or_create(username="bench-reviewer")
    user.groups.add(Group.objects.get(name="reviewer"))
    client = Client()
    client.force_login(user)
    url = reverse("overview")
    response, queries = counted_get(client, url)
    if response.status_code != 200:
        raise RuntimeError(f"overview: HTTP {response.status_code}")
    banner(f"8. The overview: the page and its reads, median of {repeat} runs")
    cases = {
        "page": lambda: client.get(url),
        "breakdown": selectors.session_breakdown,
        "attention": selectors.session_attention_summary,
        "daily activity": selectors.session_daily_activity,
        "team view": team_activity,
    }
    samples = interleaved(cases, repeat=repeat, warmup=1, budget_s=BUDGET_S)
    sessions = WorkflowSession.objects.count()
    results: dict[str, Any] = {
        "sessions": sessions,
        "queries": queries,
        "team_window_reviews": present + added,
        "team_reviews_added": added,
    }
    rows = []
    for name, runs in samples.items():
        stats = Stats.of(runs)
        results[name] = stats.as_dict()
        rows.append((name, ms(stats.median), ms(stats.p95)))
    table(["read", "median ms", "p95 ms"], rows)
    print(f"  the page ran {queries} queries over {sessions:,} sessions")
    print(
        f"  the team view read {present + added:,} reviews of the last eight weeks"
        f" ({added:,} added by the bench this run)"
    )
    return results
