"""Shared helpers of the sync tests (`tests/sessions_app/sync/`)."""

from __future__ import annotations

from typing import Any

from sessions_app.models import WorkflowSession

SESSION_TABLE = WorkflowSession._meta.db_table


def sessions_populate(
    provider: Any, count: int, *, prefix: str = "run", reference: str = ""
) -> None:
    """Add `count` sessions to a FakeProvider, each with a client, a check,
    two tags and a policy; even ones approved (final), odd ones processing."""
    for n in range(count):
        provider.add(
            f"{prefix}-{n}",
            status="approved" if n % 2 == 0 else "processing",
            client=(
                f"{prefix}-client-{n}",
                f"Person {n}",
                reference or f"cust-{prefix}-{n}",
            ),
            checks=[(f"{prefix}-check-{n}", "complete", "clear")],
            tags=[("vip", "user"), (f"batch-{n % 2}", "technical")],
            policies=[(f"pol-{n}", "Standard KYC", "clear")],
        )


def session_writes(captured: Any) -> list[str]:
    """The INSERT/UPDATE/DELETE statements on the sessions table in a
    CaptureQueriesContext."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if SESSION_TABLE in q["sql"]
        and q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
