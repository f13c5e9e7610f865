"""Business days: Monday to Friday less holidays, the n-th after a date."""

from __future__ import annotations

import datetime as dt

import pytest

from sessions_app.cases.business_days import (
    business_day_offset,
    business_days_add,
    holiday_sensitive_days,
    is_business_day,
)

# 2026-12-04 is a Friday.
FRIDAY = dt.date(2026, 12, 4)
SATURDAY, SUNDAY, MONDAY = (FRIDAY + dt.timedelta(days=d) for d in (1, 2, 3))


def test_weekdays_are_business_days_and_weekends_and_holidays_are_not():
    assert is_business_day(FRIDAY)
    assert not is_business_day(SATURDAY)
    assert not is_business_day(SUNDAY)
    assert not is_business_day(MONDAY, holidays={MONDAY})


@pytest.mark.parametrize(
    ("start", "days", "offset"),
    [
        (MONDAY, 2, 2),  # Monday -> Wednesday
        (FRIDAY, 1, 3),  # Friday -> Monday
        (FRIDAY, 2, 4),  # Friday -> Tuesday
        (SATURDAY, 2, 3),  # Saturday -> Tuesday (the start's date never counts)
        (SUNDAY, 2, 2),  # Sunday -> Tuesday
        (MONDAY, 5, 7),  # a business week is a calendar week
        (MONDAY, 0, 0),
    ],
)
def test_the_offset_counts_business_days_after_the_start(start, days, offset):
    assert business_day_offset(start, days) == offset


def test_a_holiday_is_skipped_like_a_weekend():
    assert business_day_offset(FRIDAY, 2, holidays={MONDAY}) == 5  # Wednesday
    # A holiday on a weekend changes nothing.
    assert business_day_offset(FRIDAY, 2, holidays={SATURDAY}) == 4


def test_a_negative_count_is_refused():
    with pytest.raises(ValueError, match="negative"):
        business_day_offset(FRIDAY, -1)


def test_a_moment_keeps_its_time_of_day_and_its_date_is_read_in_the_zone():
    start = dt.datetime(2026, 12, 4, 15, 0, tzinfo=dt.UTC)  # Friday 15:00
    assert business_days_add(start, 2) == dt.datetime(2026, 12, 8, 15, tzinfo=dt.UTC)
    # 23:30 UTC on Friday is already Saturday in Tokyo: Saturday -> Tuesday.
    late = dt.datetime(2026, 12, 4, 23, 30, tzinfo=dt.UTC)
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert business_days_add(late, 2, tz=tokyo) == late + dt.timedelta(days=3)


def test_the_holiday_sensitive_days_are_exactly_those_whose_offset_changes():
    holidays = {MONDAY}
    changed = holiday_sensitive_days(holidays, 2)
    for back in range(60):
        day = MONDAY + dt.timedelta(days=10) - dt.timedelta(days=back)
        with_holidays = business_day_offset(day, 2, holidays)
        if day in changed:
            assert changed[day] == with_holidays != business_day_offset(day, 2)
        else:
            assert with_holidays == business_day_offset(day, 2)
    assert FRIDAY in changed
    assert MONDAY - dt.timedelta(days=7) not in changed
