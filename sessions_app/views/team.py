"""The overview's team view, ready to render: the table's rows and the chart
(inline SVG, drawn here so the template does no arithmetic and the page needs
no script): one row of weekly bars per reviewer, each bar labelled with its
count, the same numbers as the table beside it."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..selectors.team import TeamActivity

# The chart's geometry, in SVG user units (the viewBox scales it to the card).
NAME_WIDTH = 130
BAR_SLOT = 44  # wide enough for a week's label ("12 Oct")
BAR_WIDTH = 26
ROW_HEIGHT = 56
BAR_MAX = 32
TOP = 22  # the week labels


def duration_words(seconds: float | None) -> str:
    """A time to decision in words: '2 d 4 h', '5 h 12 min', '12 min', '—'."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


@dataclasses.dataclass(frozen=True)
class Bar:
    x: int
    y: int
    height: int
    count: int
    label_x: int
    label_y: int
    title: str


def _bars(counts: list[int], *, top: int, peak: int, weeks: list[str]) -> list[Bar]:
    bars = []
    for i, count in enumerate(counts):
        height = round(BAR_MAX * count / peak) if peak else 0
        x = NAME_WIDTH + i * BAR_SLOT
        base = top + ROW_HEIGHT - 8
        bars.append(
            Bar(
                x=x,
                y=base - height,
                height=height,
                count=count,
                label_x=x + BAR_WIDTH // 2,
                label_y=base - height - 3,
                title=f"week of {weeks[i]}: {count}",
            )
        )
    return bars


def team_context(team: TeamActivity) -> dict[str, Any]:
    """The overview's `team`: weeks, chart rows and table rows."""
    weeks = [monday.strftime("%d %b") for monday in team.weeks]
    peak = max((max(r.per_week) for r in team.reviewers), default=0)
    chart_rows = []
    for i, reviewer in enumerate(team.reviewers):
        top = TOP + i * ROW_HEIGHT
        chart_rows.append(
            {
                "name": reviewer.username,
                "name_y": top + ROW_HEIGHT - 10,
                "bars": _bars(reviewer.per_week, top=top, peak=peak, weeks=weeks),
            }
        )
    return {
        "activity": team,
        "weeks": weeks,
        "week_labels": list(
            zip(
                weeks,
                [NAME_WIDTH + i * BAR_SLOT + BAR_WIDTH // 2 for i in range(len(weeks))],
                strict=True,
            )
        ),
        "bar_width": BAR_WIDTH,
        "chart_width": NAME_WIDTH + len(weeks) * BAR_SLOT,
        "chart_height": TOP + max(len(team.reviewers), 1) * ROW_HEIGHT,
        "chart_rows": chart_rows,
        "rows": [
            {
                "name": r.username,
                "per_week": r.per_week,
                "totals": [r.totals[key] for key, _ in team.columns],
                "median": duration_words(r.median_seconds),
            }
            for r in team.reviewers
        ],
        "totals": [team.totals[key] for key, _ in team.columns],
        "columns": [label for _, label in team.columns],
        "median": duration_words(team.median_seconds),
        "first_week": team.weeks[0] if team.weeks else None,
    }
