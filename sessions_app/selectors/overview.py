"""The overview page's reads: counts by status, outcome and provider, the
sessions needing attention by age, and daily activity."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from ..models import (
    Outcome,
    ProviderConnection,
    SessionTally,
    Status,
    WorkflowSession,
    needs_attention_q,
)


@dataclasses.dataclass(frozen=True)
class CountRow:
    value: str
    label: str
    count: int


@dataclasses.dataclass(frozen=True)
class SessionBreakdown:
    total: int
    by_status: list[CountRow]
    by_outcome: list[CountRow]
    by_provider: list[CountRow]


def session_breakdown() -> SessionBreakdown:
    """Count sessions by status, outcome and provider from the session tally
    (kept by the database as sessions change: models/tallies.py), then name
    the connections: two small queries, whatever the number of sessions.

    The tally's rows are few (connections x statuses x outcomes x attention),
    so the marginal counts are summed in Python.
    """
    rows = (
        SessionTally.objects.exclude(sessions=0)
        .values("connection_id", "status", "outcome")
        .annotate(n=Sum("sessions"))
    )
    connections = {
        pk: (slug, name)
        for pk, slug, name in ProviderConnection.objects.values_list(
            "pk", "slug", "display_name"
        )
    }
    status: Counter[str] = Counter()
    outcome: Counter[str] = Counter()
    provider: Counter[str] = Counter()
    provider_names: dict[str, str] = {}
    for row in rows:
        if row["connection_id"] not in connections:
            continue  # deleted within this transaction: its sessions went too
        slug, name = connections[row["connection_id"]]
        status[row["status"]] += row["n"]
        outcome[row["outcome"]] += row["n"]
        provider[slug] += row["n"]
        provider_names[slug] = name
    status_labels = dict(Status.choices)
    outcome_labels = dict(Outcome.choices)
    return SessionBreakdown(
        total=sum(status.values()),
        by_status=[
            CountRow(value, status_labels[value], status[value])
            for value in Status.values
            if status[value]
        ]
        + [
            CountRow(value, value, n)
            for value, n in status.items()
            if value not in status_labels
        ],
        by_outcome=[
            CountRow(value or "none", outcome_labels[value], outcome[value])
            for value in Outcome.values
            if outcome[value]
        ],
        by_provider=[
            CountRow(slug, provider_names[slug] or slug, provider[slug])
            for slug in sorted(provider)
        ],
    )


@dataclasses.dataclass(frozen=True)
class AttentionSummary:
    total: int
    under_1_day: int
    days_1_to_7: int
    over_7_days: int
    oldest_created_at: dt.datetime | None


def session_attention_summary(*, now: dt.datetime | None = None) -> AttentionSummary:
    """Count sessions needing attention by age since the provider created them.

    Three small queries, none over every session that needs attention: the
    total from the session tally; the last week's two buckets over a short
    range of the needs-attention index; the oldest, the first entry of that
    index from its far end. Buckets: younger than a day, one to seven days,
    older (the total minus the other two); each bound belongs to the older
    bucket's right side exactly as the queue's `created_after` (>=) and
    `created_before` (<) filters draw it, so the overview's links to those
    buckets list exactly the sessions counted.
    """
    now = now or timezone.now()
    day_ago, week_ago = now - dt.timedelta(days=1), now - dt.timedelta(days=7)
    created = "provider_created_at"
    attention = WorkflowSession.objects.filter(needs_attention_q())
    total = (
        SessionTally.objects.filter(needs_attention=True).aggregate(n=Sum("sessions"))[
            "n"
        ]
        or 0
    )
    recent = attention.filter(**{f"{created}__gte": week_ago}).aggregate(
        under_1_day=Count("id", filter=Q(**{f"{created}__gte": day_ago})),
        days_1_to_7=Count("id", filter=Q(**{f"{created}__lt": day_ago})),
    )
    # The needs-attention index read from its far end: one row.
    oldest = attention.order_by(created, "id").values_list(created, flat=True).first()
    older = total - recent["under_1_day"] - recent["days_1_to_7"]
    return AttentionSummary(
        total=total,
        under_1_day=recent["under_1_day"],
        days_1_to_7=recent["days_1_to_7"],
        over_7_days=older,
        oldest_created_at=oldest,
    )


@dataclasses.dataclass(frozen=True)
class DailyActivity:
    days: list[dt.date]
    created: list[int]
    completed: list[int]

    def as_chart_data(self) -> dict[str, list]:
        return {
            "labels": [day.isoformat() for day in self.days],
            "created": self.created,
            "completed": self.completed,
        }


def session_daily_activity(
    *, days: int = 30, now: dt.datetime | None = None
) -> DailyActivity:
    """Count sessions created and completed per UTC day over the last `days` days.

    Two GROUP BY queries over indexed date ranges; days without sessions are 0.
    """
    now = now or timezone.now()
    today = now.astimezone(dt.UTC).date()
    first_day = today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first_day, dt.time.min, tzinfo=dt.UTC)

    def per_day(field: str) -> dict[dt.date, int]:
        rows = (
            WorkflowSession.objects.filter(**{f"{field}__gte": start})
            .order_by()
            .annotate(day=TruncDate(field, tzinfo=dt.UTC))
            .values("day")
            .annotate(n=Count("id"))
        )
        return {row["day"]: row["n"] for row in rows}

    created, completed = per_day("provider_created_at"), per_day("completed_at")
    all_days = [first_day + dt.timedelta(days=i) for i in range(days)]
    return DailyActivity(
        days=all_days,
        created=[created.get(day, 0) for day in all_days],
        completed=[completed.get(day, 0) for day in all_days],
    )
