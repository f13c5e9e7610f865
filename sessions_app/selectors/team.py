"""The overview's team view: decisions per reviewer per week over the last
weeks, the median time to decision, and the late ones (decided after the
SLA's due time, which the Review keeps).

Time to decision: from the session's start at the provider
(`WorkflowSession.provider_created_at`, when its case opens in Verity) to the
Review that records the decision (`Review.created_at`). The Review carries a
copy of that start (`Review.session_created_at`), so the team view reads one
index range of the reviews (`review_created_team_due`: created_at, reviewer,
session_created_at, due_at) and never joins the sessions nor reads outside the window.

Decisions: every Review (approve, reject, escalate, request information),
counted for the reviewer who made it (with four-eyes, the maker; the Review
is written when the checker approves). Weeks are ISO weeks, Monday 00:00 UTC.

Queries: a fixed four on PostgreSQL (per reviewer and week; per reviewer,
with the median by `percentile_cont`; the reviewers' names; the team's
median), and a fixed four on SQLite, where the medians are computed in Python
from the window's durations (SQLite has no percentile function). Each reads
the window once; its cost grows with the decisions of the last eight weeks,
not with the sessions (docs/PERFORMANCE.md, section 8).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Aggregate, Count, F, FloatField, Q, QuerySet
from django.db.models.functions import TruncWeek
from django.utils import timezone

from ..models import Review

TEAM_WEEKS = 8


@dataclasses.dataclass(frozen=True)
class TeamTotal:
    """A per-reviewer total over the window: the table's column `key`."""

    key: str
    label: str
    aggregate: Aggregate


# The per-reviewer totals, one query for all of them; a new column is one line
# here (the template shows every total). "Late" are the SLA breaches: decisions
# made after the due time their maker worked to (`Review.due_at`, cases/sla.py).
TEAM_TOTALS: tuple[TeamTotal, ...] = (
    TeamTotal("decisions", "Decisions", Count("id")),
    TeamTotal(
        "late", "Late (SLA breached)", Count("id", filter=Q(due_at__lt=F("created_at")))
    ),
)


class MedianSeconds(Aggregate):
    """PostgreSQL's median of a duration, in seconds (percentile_cont)."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (%(expressions)s)))"
    output_field = FloatField()


@dataclasses.dataclass(frozen=True)
class ReviewerRow:
    username: str
    per_week: list[int]  # aligned with TeamActivity.weeks
    totals: dict[str, int]  # TEAM_TOTALS' keys
    median_seconds: float | None


@dataclasses.dataclass(frozen=True)
class TeamActivity:
    weeks: list[dt.date]  # the Mondays, oldest first
    start: dt.datetime
    reviewers: list[ReviewerRow]  # most decisions first, then by name
    week_totals: list[int]
    totals: dict[str, int]
    median_seconds: float | None  # over every decision of the window

    @property
    def columns(self) -> list[tuple[str, str]]:
        return [(total.key, total.label) for total in TEAM_TOTALS]


def team_window_start(*, now: dt.datetime, weeks: int = TEAM_WEEKS) -> dt.datetime:
    """Monday 00:00 UTC of the first of the last `weeks` weeks (this one included)."""
    today = now.astimezone(dt.UTC).date()
    monday = today - dt.timedelta(days=today.weekday())
    first = monday - dt.timedelta(weeks=weeks - 1)
    return dt.datetime.combine(first, dt.time.min, tzinfo=dt.UTC)


def _window(start: dt.datetime) -> QuerySet[Review]:
    return Review.objects.filter(created_at__gte=start).order_by()


def _duration():
    return F("created_at") - F("session_created_at")


def team_activity(
    *, now: dt.datetime | None = None, weeks: int = TEAM_WEEKS
) -> TeamActivity:
    """Decisions per reviewer per week over the last `weeks` weeks, each
    reviewer's totals (`TEAM_TOTALS`) and median time to decision, and the
    team's; see the module's docstring for the definitions and the cost."""
    now = now or timezone.now()
    start = team_window_start(now=now, weeks=weeks)
    mondays = [start.date() + dt.timedelta(weeks=i) for i in range(weeks)]
    week_index = {monday: i for i, monday in enumerate(mondays)}
    window = _window(start)
    postgres = connection.vendor == "postgresql"

    per_week: dict[int, list[int]] = defaultdict(lambda: [0] * weeks)
    for row in (
        window.annotate(week=TruncWeek("created_at", tzinfo=dt.UTC))
        .values("reviewer_id", "week")
        .annotate(n=Count("id"))
    ):
        monday = (
            row["week"].astimezone(dt.UTC).date()
            if isinstance(row["week"], dt.datetime)
            else row["week"]
        )
        if monday in week_index:
            per_week[row["reviewer_id"]][week_index[monday]] += row["n"]

    aggregates = {total.key: total.aggregate for total in TEAM_TOTALS}
    if postgres:
        aggregates["median_seconds"] = MedianSeconds(_duration())
    # Grouped by the id alone (a narrow sort); the few names come after.
    per_reviewer = list(window.values("reviewer_id").annotate(**aggregates))
    names = dict(
        get_user_model()
        .objects.filter(pk__in=[row["reviewer_id"] for row in per_reviewer])
        .values_list("pk", "username")
    )
    if postgres:
        medians = {row["reviewer_id"]: row["median_seconds"] for row in per_reviewer}
        team_median = window.aggregate(m=MedianSeconds(_duration()))["m"]
    else:
        medians, team_median = _medians_in_python(window)

    reviewers = sorted(
        (
            ReviewerRow(
                username=names.get(row["reviewer_id"], ""),
                per_week=per_week[row["reviewer_id"]],
                totals={total.key: row[total.key] for total in TEAM_TOTALS},
                median_seconds=medians.get(row["reviewer_id"]),
            )
            for row in per_reviewer
        ),
        key=lambda r: (-r.totals[TEAM_TOTALS[0].key], r.username),
    )
    return TeamActivity(
        weeks=mondays,
        start=start,
        reviewers=reviewers,
        week_totals=[sum(r.per_week[i] for r in reviewers) for i in range(weeks)],
        totals={
            total.key: sum(r.totals[total.key] for r in reviewers)
            for total in TEAM_TOTALS
        },
        median_seconds=team_median,
    )


def _medians_in_python(
    window: QuerySet[Review],
) -> tuple[dict[int, float], float | None]:
    """SQLite (tests, development): the medians from the window's durations."""
    durations: dict[int, list[float]] = defaultdict(list)
    for reviewer_id, created_at, started_at in window.values_list(
        "reviewer_id", "created_at", "session_created_at"
    ):
        if started_at is not None:
            durations[reviewer_id].append((created_at - started_at).total_seconds())
    everyone = [seconds for values in durations.values() for seconds in values]
    return (
        {pk: statistics.median(values) for pk, values in durations.items()},
        statistics.median(everyone) if everyone else None,
    )
