"""Plain request/response records between the HTTP server and the provider APIs."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .config import JSON_MEDIA_TYPE


@dataclass(slots=True)
class SimRequest:
    method: str
    path: str  # URL-decoded, without the query string
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    client_host: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def param(self, name: str) -> str | None:
        """The first value of query parameter `name` (None when absent)."""
        values = self.query.get(name)
        return values[0] if values else None


@dataclass(slots=True)
class SimResponse:
    status: int
    payload: Any = None
    content_type: str = JSON_MEDIA_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    # A list page of sessions: eligible for the malformed-JSON fault.
    list_page: bool = False
    # A session by id or one of its sub-resources (tasks, checks, analyses,
    # applicant, client, project): eligible for the detail malformed-JSON fault.
    detail: bool = False
    # Set to send these bytes instead of the JSON of `payload`.
    raw_body: bytes | None = None

    def body(self) -> bytes:
        if self.raw_body is not None:
            return self.raw_body
        if self.payload is None and self.status == 204:
            return b""
        return json.dumps(self.payload, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True, slots=True)
class View:
    """One simulated instant, as the provider renderers see it."""

    t: float  # simulated seconds since start
    start: dt.datetime
    base_url: str
    seed: int
    unknown_probability: float = 0.0
    extra_fields: bool = False

    def at(self, second: float) -> dt.datetime:
        if type(second) is int:  # a moment of the world (a timeline's step)
            return _moment(self.start, second)
        return self.start + dt.timedelta(seconds=second)

    @property
    def now(self) -> dt.datetime:
        return self.at(self.t)

    def unknown(self, salt: str, object_id: str) -> bool:
        """Whether the unknown-enum fault hits this object (stable per object)."""
        if self.unknown_probability <= 0:
            return False
        return chance(self.seed, salt, object_id) < self.unknown_probability


def chance(seed: int, salt: str, object_id: str) -> float:
    """A stable pseudo-random number in [0, 1) for (seed, salt, id)."""
    digest = hashlib.sha256(f"{seed}:{salt}:{object_id}".encode()).hexdigest()
    return int(digest[:13], 16) / float(16**13)


# The simulator renders the same few moments of each object (created, each
# status change) on every list page, detail and child read, tens of thousands
# of times per sync: the moments and their texts are remembered. They are
# pure functions of their arguments, and the world's moments are fixed (a few
# per object), so the caches stop growing with the world: one of 1,500
# sessions per provider fills about 51,000 entries in all (about 11 MB). The
# bound is a safety net (all three full: about 40 MB).
MOMENTS_KEPT = 1 << 16


@functools.lru_cache(maxsize=MOMENTS_KEPT)
def _moment(start: dt.datetime, second: int) -> dt.datetime:
    return start + dt.timedelta(seconds=second)


@functools.lru_cache(maxsize=MOMENTS_KEPT)
def iso_seconds(moment: dt.datetime) -> str:
    """2026-03-01T12:00:00Z (Onfido style)."""
    # `isoformat` and a slice: a quarter of `strftime`'s cost.
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")[:-6] + "Z"


@functools.lru_cache(maxsize=MOMENTS_KEPT)
def iso_millis(moment: dt.datetime) -> str:
    """2026-03-01T12:00:00.000Z (ComplyCube and ICA style)."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_iso(text: str) -> dt.datetime | None:
    """Parse an ISO-8601 timestamp (Z or offset; naive means UTC); None if invalid."""
    text = text.strip().replace("Z", "+00:00")
    # An unencoded "+" offset arrives as a space after query-string decoding.
    candidates = [text]
    if " " in text:
        head, _, tail = text.rpartition(" ")
        candidates.append(f"{head}+{tail}")
    for candidate in candidates:
        try:
            value = dt.datetime.fromisoformat(candidate)
            break
        except ValueError:
            continue
    else:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def add_extra_fields(payload: Any, key: str) -> Any:
    """Return `payload` with an unexpected field on the envelope and every item."""
    extra = {"note": "a field this client does not know about", "since": "v-next"}

    def tag(item: Any) -> Any:
        if isinstance(item, dict):
            return {**item, key: extra}
        return item

    if isinstance(payload, list):
        return [tag(item) for item in payload]
    if isinstance(payload, dict):
        tagged = tag(payload)
        if isinstance(payload.get("items"), list):
            tagged["items"] = [tag(item) for item in payload["items"]]
        return tagged
    return payload
