"""Measurement 9, the session page (`/sessions/<id>/`): the page an officer
opens from the queue, at the data's size, as a reviewer: a session with its
checks as the sync left it, then the same session escalated with an outcome
override awaiting a second reviewer (the approval panel, the case's history,
the override's words).

The second state is made inside a transaction that is rolled back after the
timings, so the bench data keeps no case work and no audit event (the audit
chain refuses deletions on PostgreSQL, not a rollback).
"""

from __future__ import annotations

from typing import Any

from bench.harness import Stats, banner, counted_get, interleaved, ms, table

BUDGET_S = 20.0
TARGET_S = 0.1


def _page(
    browser: Any, label: str, path: str, repeat: int, *, shows: str = ""
) -> dict[str, Any]:
    response, queries = counted_get(browser, path)
    if response.status_code != 200:
        raise RuntimeError(f"{label}: HTTP {response.status_code}")
    if shows not in response.content.decode():
        raise RuntimeError(f"{label}: the page does not show {shows!r}")
    samples = interleaved(
        {label: lambda: browser.get(path)}, repeat=repeat, budget_s=BUDGET_S
    )[label]
    stats = Stats.of(samples)
    print(f"  {label}: {ms(stats.median)} ms", flush=True)
    return {"queries": queries, "stats": stats.as_dict()}


def measure(*, repeat: int) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import transaction
    from django.db.models import Count

    from bench.review_queue import _users, client_for
    from sessions_app.cases.overrides import outcome_override_request
    from sessions_app.models import CaseState, WorkflowSession

    banner(f"9. The session page (median of {repeat} runs)")
    maker = _users()["reviewer"]
    checker, _ = get_user_model().objects.get_or_create(username="bench-checker")
    checker.groups.add(Group.objects.get(name="reviewer"))
    # The newest sessions with three checks and a provider outcome to override.
    session = (
        WorkflowSession.objects.filter(pk__gte=_recent_floor(), outcome="clear")
        .annotate(checks_count=Count("checks"))
        .filter(checks_count__gte=3)
        .order_by("-pk")
        .first()
    )
    if session is None:
        raise RuntimeError("no recent clear session with three checks in the data")
    path = f"/sessions/{session.pk}/"
    browser = client_for(checker)
    results: dict[str, Any] = {"session": session.pk}
    results["session page (3 checks)"] = _page(
        browser, "session page (3 checks)", path, repeat
    )
    with transaction.atomic():
        WorkflowSession.objects.filter(pk=session.pk).update(
            case_state=CaseState.ESCALATED
        )
        session.refresh_from_db()
        outcome_override_request(
            session=session,
            maker=maker,
            outcome="rejected",
            reason_code="fraud_suspected",
            comment="Bench: a forged document, awaiting a second reviewer.",
        )
        label = "session page (override awaiting approval, escalated case)"
        results[label] = _page(
            browser, label, path, repeat, shows="Raised while the case was escalated"
        )
        transaction.set_rollback(True)
    print()
    table(
        ["page", "queries", "median ms", "p95 ms"],
        [
            (
                label,
                figures["queries"],
                ms(figures["stats"]["median"]),
                ms(figures["stats"]["p95"]),
            )
            for label, figures in results.items()
            if isinstance(figures, dict)
        ],
    )
    return results


def _recent_floor() -> int:
    from sessions_app.models import WorkflowSession

    newest = WorkflowSession.objects.order_by("-pk").values_list("pk", flat=True)[:1]
    return max(0, (newest[0] if newest else 0) - 10_000)


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) of each state of the page: under 100 ms median."""
    return [
        (
            f"{label} < 100 ms median",
            f"{figures['stats']['median'] * 1000:.1f} ms, {figures['queries']} queries",
            figures["stats"]["median"] < TARGET_S,
        )
        for label, figures in results.items()
        if isinstance(figures, dict)
    ]
