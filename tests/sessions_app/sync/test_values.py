"""Value cleaning as the sync writes it (`sync.values`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading

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


def test_a_payload_is_serialised_once_within_json_dumps_shared(monkeypatch):
    calls = []
    real_dumps = values.json.dumps
    monkeypatch.setattr(
        values.json, "dumps", lambda v, **kw: calls.append(v) or real_dumps(v, **kw)
    )
    payload = {"id": "wr-1", "s": "ünï", "nested": [1, None]}

    with values.json_dumps_shared():
        first = values.json_dumped(payload)
        assert values.json_clean(payload) is payload
        with values.json_dumps_shared():  # nested: the outer memo is kept
            assert values.json_dumped(payload) is first
        assert values.json_dumped(payload) is first
    assert len(calls) == 1
    assert first == real_dumps(payload)  # Django's stored text, ASCII-escaped

    values.json_dumped(payload)  # outside: nothing is remembered
    assert len(calls) == 2


def test_json_digest_hashes_the_shared_text_and_tells_the_values_apart(monkeypatch):
    calls = []
    real_dumps = values.json.dumps
    monkeypatch.setattr(
        values.json, "dumps", lambda v, **kw: calls.append(v) or real_dumps(v, **kw)
    )
    payload = {"id": "wr-1", "s": "ünï"}
    with values.json_dumps_shared():
        values.json_dumped(payload)  # the secrets check's serialisation
        digest = values.json_digest(payload)
    assert calls == [payload]  # the digest made no text of its own
    text = real_dumps(payload) + "\n"
    assert digest == hashlib.sha256(text.encode()).hexdigest()
    assert values.json_digest(payload) == digest  # outside: the same digest
    # Where one value ends and the next begins is part of it.
    assert values.json_digest(["a", "b"], None) != values.json_digest(["a"], ["b"])
    assert values.json_digest({"a": 1}) != values.json_digest({"a": 2})
    # A value JSON cannot hold (never in a provider's payload) still gets one.
    assert values.json_digest({"at": dt.date(2031, 6, 30)}) == (
        values.json_digest({"at": "2031-06-30"})
    )


def test_json_dumps_shared_is_per_thread_and_still_finds_nul_characters():
    payload = {"k": "a\x00b"}
    seen = {}

    def elsewhere():
        seen["remembered"] = values._shared_dumps.texts

    with values.json_dumps_shared():
        values.json_dumped(payload)
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        assert values.json_clean(payload) == {"k": "ab"}
        assert values.json_clean(["x", {"y": 1}]) == ["x", {"y": 1}]
    assert seen == {"remembered": None}
    assert values._shared_dumps.texts is None
