"""The simulator's wire formats (`simulator.wire`)."""

from __future__ import annotations

import datetime as dt

from sessions_app.simulator.wire import View, iso_millis, iso_seconds

START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def test_moments_are_written_in_utc_whatever_zone_they_come_in():
    paris = dt.timezone(dt.timedelta(hours=1))
    # Equal instants (one remembered text serves both) and a different one.
    for moment in (START, START.astimezone(paris)):
        assert iso_millis(moment) == "2026-03-01T12:00:00.000Z"
        assert iso_seconds(moment) == "2026-03-01T12:00:00Z"
    later = START + dt.timedelta(milliseconds=1500)
    assert iso_millis(later) == "2026-03-01T12:00:01.500Z"
    assert iso_seconds(later) == "2026-03-01T12:00:01Z"


def test_a_view_places_seconds_after_its_own_start():
    other_start = START + dt.timedelta(days=1)
    view = View(t=10, start=START, base_url="http://sim", seed=1)
    other = View(t=10, start=other_start, base_url="http://sim", seed=1)
    assert view.at(90.5) == START + dt.timedelta(seconds=90.5)
    # A timeline's step (whole seconds) is remembered, per start.
    assert view.at(90) is view.at(90)
    assert view.at(90) == START + dt.timedelta(seconds=90)
    assert other.at(90) == other_start + dt.timedelta(seconds=90)
    assert other.at(90.5) == other_start + dt.timedelta(seconds=90.5)
    assert view.now == START + dt.timedelta(seconds=10)
