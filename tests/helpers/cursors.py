"""Hostile keyset cursors (issue 17, item 9), shared by the paginator's, the
API's and the review queue's tests: each must be refused as a damaged cursor
(InvalidCursor: a 400 on the API, the first page and a notice on the queue),
never reach the database or crash the decoder (a 500)."""

from __future__ import annotations

import base64
import json
from typing import Any


def forged_cursor(payload: Any) -> str:
    """Encode `payload` (JSON-able, or raw bytes) the way genuine cursors are."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def date_cursor(sort: str, moment: str, *, backwards: bool = False) -> str:
    """A cursor of the list sorted by `sort` whose boundary date-time is `moment`."""
    return forged_cursor({"s": sort, "v": {"dt": moment}, "i": 1, "b": backwards})


# Date-times at the edge of the calendar: valid ISO 8601 that Python parses,
# but whose conversion to UTC leaves years 1-9999 (an OverflowError in the
# database adapter), or with no time zone (never made by the paginator).
EDGE_DATES = [
    "9999-12-31T23:59:59-05:00",
    "9999-12-31T23:59:59.999999-00:01",
    "0001-01-01T00:00:00+05:00",
    "0001-01-01T00:00:00.000001+00:01",
    "9999-12-31T23:59:59",
    "0001-01-01T00:00:00",
]
# The calendar's own ends in UTC are genuine values a cursor may carry.
EDGE_DATES_VALID = ["9999-12-31T23:59:59.999999+00:00", "0001-01-01T00:00:00+00:00"]

DEPTH = 1_500


def nested_cursors(sort: str) -> dict[str, str]:
    """Cursors whose JSON nests DEPTH levels: as the sort value, and bare and
    unterminated (2,000 characters, short enough for the queue's form)."""
    head = json.dumps({"s": sort, "i": 1, "b": False})[:-1].encode()
    as_value = head + b', "v": ' + b"[" * DEPTH + b"]" * DEPTH + b"}"
    return {
        "value": forged_cursor(as_value),
        "bare": forged_cursor(b"[" * DEPTH),
        "objects": forged_cursor(b'{"":' * DEPTH),
    }
