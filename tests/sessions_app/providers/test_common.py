"""The tolerant parsing helpers every adapter relies on (`providers/common.py`,
and the value cleaning of `sync/values.py` they build on)."""

from __future__ import annotations

import datetime as dt

import pytest

from sessions_app.exceptions import ProviderConfigurationError
from sessions_app.providers.common import (
    identify,
    int_option,
    list_option,
    tag_records,
    unknown_check_words,
    unknown_session_words,
)
from sessions_app.sync.values import clean_id, parse_timestamp, text

UTC = dt.UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-06-03T10:05:12Z", dt.datetime(2025, 6, 3, 10, 5, 12, tzinfo=UTC)),
        (
            "2025-06-03T10:05:12.123456789Z",
            dt.datetime(2025, 6, 3, 10, 5, 12, 123456, tzinfo=UTC),
        ),
        ("2025-06-03T12:05:12+02:00", dt.datetime(2025, 6, 3, 10, 5, 12, tzinfo=UTC)),
        (
            "2025-06-03T10:05:12",
            dt.datetime(2025, 6, 3, 10, 5, 12, tzinfo=UTC),
        ),  # naive = UTC
        ("2025-06-03", dt.datetime(2025, 6, 3, tzinfo=UTC)),
        ("2025-06-03T14:06:91.913Z", None),  # ComplyCube's doc example
        ("yesterday", None),
        ("", None),
        (None, None),
        (1717400000, None),
        ({"at": "2025"}, None),
    ],
)
def test_parse_timestamp_is_tolerant(value, expected):
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("word", "word"),
        (None, ""),
        (3, "3"),
        (2.5, "2.5"),
        (True, "true"),
        ({"a": 1}, '{"a": 1}'),
        (["x"], '["x"]'),
    ],
)
def test_text(value, expected):
    assert text(value) == expected


def test_text_truncates_to_a_column():
    assert text("x" * 300, limit=100) == "x" * 100


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc", "abc"),
        (" abc ", "abc"),
        (42, "42"),
        ("", None),
        ("   ", None),
        (None, None),
        (True, None),
        (1.5, None),
        ({}, None),
        ("x" * 256, None),
        ("bad\x00id", None),  # PostgreSQL refuses it in any statement
    ],
)
def test_clean_id(value, expected):
    assert clean_id(value) == expected


def test_identify_quarantines_with_the_raw_record():
    assert identify({"id": "a"}, "thing") == ("a", None)
    ident, bad = identify({"id": None, "name": "ü"}, "thing")
    assert ident is None
    assert (bad.record_type, bad.reason) == ("thing", "missing 'id'")
    assert bad.raw == '{"id": null, "name": "ü"}'
    ident, bad = identify({"id": "a\x00b"}, "thing")
    assert ident is None
    assert bad.reason.startswith("unusable 'id' (str, ")


def test_tag_records_drop_nulls_blanks_and_duplicates():
    tags = tag_records(["a", None, "", "  ", "a", 7, {"x": 1}, "b"], "technical")
    assert [(t.name, t.kind) for t in tags] == [
        ("a", "technical"),
        ("7", "technical"),
        ("b", "technical"),
    ]
    assert tag_records(None, "user") == []
    assert tag_records("not-a-list", "user") == []


def test_unknown_words():
    assert unknown_session_words("onfido", "approved") == []
    assert unknown_session_words("onfido", "new_word") == ["new_word"]
    assert unknown_session_words("complycube", "complete", "clear") == []
    assert unknown_session_words("complycube", "complete", "escalated") == ["escalated"]
    assert unknown_check_words("onfido", "complete", "consider") == []
    assert unknown_check_words("onfido", "odd", "weird") == ["odd", "weird"]
    assert unknown_check_words("ica", "SUCCEEDED") == []


def test_options():
    assert int_option({"n": "7"}, "n", 1, minimum=1, maximum=10) == 7
    assert int_option({}, "n", 3, minimum=1, maximum=10) == 3
    with pytest.raises(ProviderConfigurationError):
        int_option({"n": "0"}, "n", 1, minimum=1, maximum=10)
    with pytest.raises(ProviderConfigurationError):
        int_option({"n": "ten"}, "n", 1, minimum=1, maximum=10)
    assert list_option({"p": "a, b,,c"}, "p") == ["a", "b", "c"]
    assert list_option({"p": ["a", " b "]}, "p") == ["a", "b"]
    assert list_option({}, "p") == []
    with pytest.raises(ProviderConfigurationError):
        list_option({"p": 5}, "p")
