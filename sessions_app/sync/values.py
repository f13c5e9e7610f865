"""Cleaning what providers send into what the database accepts: one definition.

Used by the provider adapters (parsing), the webhook parser and the sync's
write service, so that a value is cleaned the same way wherever it enters.
Providers add fields, change vocabularies and sometimes send nonsense: nothing
here raises on bad data. A bad timestamp is None, a bad string is "", an
unusable id is None.

This module imports nothing of Verity's (no models): adapters may use it.
The column caps below are the `max_length` of the model fields the values end
up in (`sessions_app/models/`), which take them from here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import math
import threading
from collections.abc import Collection, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

# Column caps: a longer value would fail the insert on PostgreSQL, and with it
# a whole page of a sync.
ID_MAX = 255
NAME_MAX = 255
RAW_WORD_MAX = 100
CHECK_TYPE_MAX = 100
VERSION_MAX = 50
SOURCE_VERSION_MAX = 100
URL_MAX = 1000
RECORD_TYPE_MAX = 50
EVENT_TYPE_MAX = 100
# Quarantined raw text is kept whole up to this size (it is a TextField, but a
# provider sending megabytes of garbage should not bloat the table).
QUARANTINE_RAW_MAX = 100_000
# A sync error text is shown on the sync page and stored; keep it readable.
ERROR_MAX_CHARS = 4000
# Chunk size of `external_id IN (…)` look-ups: well inside every database's
# limit on the parameters of one statement.
LOOKUP_CHUNK = 500


def chunks[Item](
    items: Sequence[Item], size: int = LOOKUP_CHUNK
) -> Iterator[Sequence[Item]]:
    """Yield `items` in slices of `size` (for `IN (…)` look-ups of any length)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def text(value: Any, limit: int | None = None) -> str:
    """Return `value` as a database-safe string: no NUL characters, clipped to `limit`.

    Strings as they are, numbers and booleans printed as JSON (`true`, `3`),
    null as "", objects and arrays (where a contract says string) as compact
    JSON so the raw word is still visible. PostgreSQL refuses NUL characters
    in text.
    """
    if value is None:
        result = ""
    elif isinstance(value, str):
        result = value
    elif isinstance(value, bool | int | float):
        result = json.dumps(value)
    else:
        result = json_text(value)
    if "\x00" in result:
        result = result.replace("\x00", "")
    return result[:limit] if limit is not None else result


def clean_id(value: Any) -> str | None:
    """Return a usable identifier (non-empty string or integer), or None.

    Not usable: longer than a column holds, or with a NUL character, which
    PostgreSQL refuses in any statement (a listed item with such an id failed
    its whole page, on every pass; the adapters quarantine it instead)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if (
        isinstance(value, str)
        and value.strip()
        and len(value.strip()) <= ID_MAX
        and "\x00" not in value
    ):
        return value.strip()
    return None


def json_text(value: Any) -> str:
    """Return `value` as JSON text whatever it is (for raw copies that must not fail)."""
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


class _SharedDumps(threading.local):
    # id → (the value, its JSON text) while `json_dumps_shared` is open.
    texts: dict[int, tuple[Any, str]] | None = None


_shared_dumps = _SharedDumps()


@contextlib.contextmanager
def json_dumps_shared() -> Iterator[None]:
    """Within: `json_dumped` serialises each dict or list once, in this thread.

    A batch's payloads are serialised for the credentials check
    (`payload_paths`), the NUL check (`json_clean`) and the write
    (`bulk_write`: SQLite's stored text, PostgreSQL's batch text): three
    times the same text, about a tenth of a first sync's time
    (docs/PERFORMANCE.md, sections 1f and 1g). Open it only
    around code that does not change the payloads it serialises (a text is
    remembered by the object, not by its content); the sync opens it around
    one batch's writes.
    """
    outer = _shared_dumps.texts
    if outer is None:
        _shared_dumps.texts = {}
    try:
        yield
    finally:
        if outer is None:
            _shared_dumps.texts = None


def json_dumped(value: Any) -> str:
    """`json.dumps(value)`, as Django stores a JSON column on SQLite (raises
    as it does); remembered for a dict or list within `json_dumps_shared`."""
    texts = _shared_dumps.texts
    if texts is None or not isinstance(value, dict | list):
        return json.dumps(value)
    remembered = texts.get(id(value))
    if remembered is not None and remembered[0] is value:
        return remembered[1]
    dumped = json.dumps(value)
    # The value is kept with its text, so that its id is not reused meanwhile.
    texts[id(value)] = (value, dumped)
    return dumped


def json_digest(*values: Any) -> str:
    """The SHA-256 of the values' JSON texts, one per line: a change marker.

    The texts are `json_dumped`'s, so within a sync's batch a payload is
    serialised once for its secrets check, its NUL check, its write and its
    digest. Unlike `providers.base.payload_hash` the text keeps the payload's
    key order: a provider that reorders keys gets its rows written once more,
    which is harmless, and no canonical (sorted) text is made for every payload.
    """
    digest = hashlib.sha256()
    for value in values:
        try:
            dumped = json_dumped(value)
        except (TypeError, ValueError):
            dumped = json.dumps(value, default=str)
        digest.update(dumped.encode())
        digest.update(b"\n")  # a JSON text never holds a bare newline
    return digest.hexdigest()


def json_object(value: Any) -> dict[str, Any]:
    """Return `value` if it is a JSON object, else an empty dict."""
    return value if isinstance(value, dict) else {}


def json_list(value: Any) -> list[Any]:
    """Return `value` if it is a JSON array, else an empty list (null arrays are common)."""
    return value if isinstance(value, list) else []


def json_clean(value: Any) -> Any:
    """Return JSON data without NUL characters (PostgreSQL jsonb refuses them).

    Most payloads hold none: one C-speed serialisation (which writes any NUL,
    in a key or a value, as the escape \\u0000) finds that out and returns
    them as they are, instead of rebuilding every dict and list in Python.
    """
    if isinstance(value, dict | list):
        try:
            if "\\u0000" not in json_dumped(value):
                return value
        except (TypeError, ValueError, RecursionError):
            pass  # not serialisable as is: clean it element by element
    return _json_without_nul(value)


def _json_without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {_json_without_nul(k): _json_without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_without_nul(v) for v in value]
    return value


def parse_timestamp(value: Any) -> dt.datetime | None:
    """Return an aware datetime for an ISO-8601 string, or None if it is not one.

    Accept `Z`, offsets, any number of fractional digits and bare dates; a value
    without an offset is taken as UTC. Anything else (numbers, impossible
    times such as `14:06:91Z` from ComplyCube's docs) gives None, never an error.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def parse_date(value: Any) -> dt.date | None:
    """Return the calendar date of an ISO-8601 date (or date-time) string, else None."""
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    parsed = parse_timestamp(value)
    return parsed.date() if parsed is not None else None


def format_timestamp(value: dt.datetime) -> str:
    """Return `value` as an ISO-8601 UTC string with milliseconds and `Z`."""
    return (
        value.astimezone(dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def aware(value: Any) -> dt.datetime | None:
    """Return a datetime as an aware one (naive ones are UTC); anything else as None."""
    if not isinstance(value, dt.datetime):
        return None
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def https_url_on(value: Any, hosts: Collection[str]) -> str:
    """Return `value` if it is an https URL on one of `hosts` (and fits URL_MAX), else "".

    For links Verity renders (a provider's dashboard): anything else (http,
    javascript:, another host, credentials in the URL, garbage) is dropped.
    """
    url = text(value)
    if not url or len(url) > URL_MAX or any(c.isspace() for c in url):
        return ""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    host = (parts.hostname or "").lower()
    if (
        parts.scheme.lower() != "https"
        or host not in hosts
        or parts.username is not None
        or port not in (None, 443)
    ):
        return ""
    return url


def finite_number(value: Any) -> float | None:
    """Return a JSON number (or numeric string) as a finite float, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None
