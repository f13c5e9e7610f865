"""Business days: Monday to Friday, less a list of holidays. Pure functions,
no database and no settings (cases/sla.py brings the settings).

A due time `n` business days after a moment is the same time of day on the
n-th business day after the moment's date (its date itself never counts):
started on a Friday at 15:00, two business days are due on Tuesday at 15:00;
started on a Saturday at 10:00, on Tuesday at 10:00; with Monday a holiday,
on Wednesday. The calendar days added depend only on the start's date
(`business_day_offset`), which is what lets the database compute the same
due time for a million rows in one statement (`sla.due_expression`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

SATURDAY = 5  # date.weekday(): Monday 0 … Sunday 6


def is_business_day(day: dt.date, holidays: Collection[dt.date] = ()) -> bool:
    return day.weekday() < SATURDAY and day not in holidays


def business_day_offset(
    day: dt.date, business_days: int, holidays: Collection[dt.date] = ()
) -> int:
    """The calendar days from `day` to the `business_days`-th business day
    after it (0 for 0). Raise ValueError for a negative count."""
    if business_days < 0:
        raise ValueError("business_days must not be negative")
    offset, counted = 0, 0
    while counted < business_days:
        offset += 1
        if is_business_day(day + dt.timedelta(days=offset), holidays):
            counted += 1
    return offset


def business_days_add(
    moment: dt.datetime,
    business_days: int,
    *,
    holidays: Collection[dt.date] = (),
    tz: dt.tzinfo | None = None,
) -> dt.datetime:
    """`moment` plus `business_days` business days (module docstring); the
    start's date is read in `tz` (the moment's own zone when None)."""
    local = moment.astimezone(tz) if tz is not None else moment
    return moment + dt.timedelta(
        days=business_day_offset(local.date(), business_days, holidays)
    )


def holiday_sensitive_days(
    holidays: Collection[dt.date], business_days: int
) -> dict[dt.date, int]:
    """The start dates whose offset the holidays change, with their offset:
    every other date's offset follows from its weekday alone."""
    window = 7 * (business_days // 5 + 2)  # covers n business days and weekends
    changed: dict[dt.date, int] = {}
    for holiday in holidays:
        for back in range(window + 1):
            day = holiday - dt.timedelta(days=back)
            offset = business_day_offset(day, business_days, holidays)
            if offset != business_day_offset(day, business_days):
                changed[day] = offset
    return changed
