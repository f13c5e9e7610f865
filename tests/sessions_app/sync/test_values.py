"""Value cleaning as the sync writes it (`sync.values`)."""

from __future__ import annotations

import datetime as dt

import pytest

from sessions_app.sync import values

pytestmark = pytest.mark.django_db


def test_json_payloads_lose_nul_characters_anywhere_and_clean_ones_are_kept_as_is():
    clean = {"a": [1, {"b": "text"}], "c": None}
    assert values.json_clean(clean) is clean
    dirty = {"k\x00ey": [{"v": "x\x00y"}, ("t\x00",)], "n": 5}
    assert values.json_clean(dirty) == {"key": [{"v": "xy"}, ["t"]], "n": 5}
    # A literal backslash-u text is not a NUL and survives the cleaning.
    assert values.json_clean({"s": "\\u0000"}) == {"s": "\\u0000"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2031-06-30", dt.date(2031, 6, 30)),
        (" 2031-06-30 ", dt.date(2031, 6, 30)),
        ("2031-06-30T23:30:00Z", dt.date(2031, 6, 30)),
        ("2031-02-30", None),
        ("30/06/2031", None),
        ("", None),
        (None, None),
        (20310630, None),
    ],
)
def test_parse_date_takes_iso_dates_and_nothing_else(value, expected):
    assert values.parse_date(value) == expected
