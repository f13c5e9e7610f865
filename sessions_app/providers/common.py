"""What the provider adapters share: tolerant parsing, options, pages of records.

Providers add fields, change enum vocabularies and sometimes send nonsense.
Values are cleaned by `sessions_app.sync.values` (one definition for the
adapters, the webhooks and the sync); these helpers build on it and never
raise on bad data: only a record that cannot be identified at all is
quarantined. The paged pass itself is `walker.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.conf import settings

from ..exceptions import (
    ProviderBadRequest,
    ProviderConfigurationError,
    ProviderNotFound,
    ProviderResponseInvalid,
)
from ..normalization import normalise_check, normalise_session
from ..sync.values import (
    ID_MAX,
    NAME_MAX,
    QUARANTINE_RAW_MAX,
    RAW_WORD_MAX,
    clean_id,
    json_list,
    json_text,
    text,
)
from .base import Page, QuarantineRecord, SessionRecord, TagRecord, payload_hash
from .concurrency import CONCURRENCY_MAX, ReadPool

if TYPE_CHECKING:
    from .http import ProviderHTTP

logger = logging.getLogger(__name__)

# One `SessionRecord.missing` reason is a line in a log and on the sync page.
MISSING_REASON_MAX = 300
# What a tolerated sub-request failure raises: the provider answered, but not
# with what the contract promises. Outages, rate limits and auth errors are
# not tolerated: they stop the page, which is read again later.
SOFT_ERRORS = (ProviderBadRequest, ProviderResponseInvalid)
# Data the parser chokes on: quarantines one record, lets its page-mates through.
PARSE_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError)
# Everything `build_or_quarantine` absorbs; any other error ends the page.
BUILD_TOLERATED = (ProviderNotFound, *SOFT_ERRORS, *PARSE_ERRORS)


def build_stops_page(error: BaseException) -> bool:
    """Whether a session build's `error` ends its page (see `build_or_quarantine`)."""
    return not isinstance(error, BUILD_TOLERATED)


def quarantine(
    record_type: str, reason: str, raw: Any, *, external_id: str = ""
) -> QuarantineRecord:
    """Return a QuarantineRecord keeping `raw` verbatim as JSON text."""
    raw_text = raw if isinstance(raw, str) else json_text(raw)
    return QuarantineRecord(
        record_type=record_type,
        reason=reason,
        raw=raw_text[:QUARANTINE_RAW_MAX],
        external_id=(external_id or "")[:ID_MAX],
    )


def identify(
    item: Any, record_type: str, id_key: str = "id"
) -> tuple[str | None, QuarantineRecord | None]:
    """Return (external id, None) for a usable list item, or (None, quarantine record)."""
    if not isinstance(item, dict):
        return None, quarantine(
            record_type, f"expected a JSON object, got {type(item).__name__}", item
        )
    ident = clean_id(item.get(id_key))
    if ident is None:
        raw_id = item.get(id_key)
        reason = (
            f"missing {id_key!r}"
            if raw_id in (None, "")
            else f"unusable {id_key!r} ({type(raw_id).__name__}, {text(raw_id, limit=60)})"
        )
        return None, quarantine(record_type, reason, item)
    return ident, None


def tag_records(values: Any, kind: str) -> list[TagRecord]:
    """Return one TagRecord per distinct non-empty string of a (nullable) array."""
    tags: list[TagRecord] = []
    seen: set[str] = set()
    for value in json_list(values):
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            continue
        name = str(value).strip()[:NAME_MAX]
        if name and name not in seen:
            seen.add(name)
            tags.append(TagRecord(name=name, kind=kind))
    return tags


def unknown_session_words(
    kind: str, raw_status: str, raw_outcome: str = ""
) -> list[str]:
    """Return the raw words of a session that the normalisation table does not know."""
    words = []
    if raw_status and not normalise_session(kind, raw_status).known:
        words.append(raw_status)
    # Only ComplyCube has a separate outcome word; probe it as if complete.
    if (
        raw_outcome
        and kind == "complycube"
        and not normalise_session(kind, "complete", raw_outcome).known
    ):
        words.append(raw_outcome)
    return words


def unknown_check_words(kind: str, raw_status: str, raw_outcome: str = "") -> list[str]:
    """Return the raw words of a check that the normalisation table does not know."""
    words = []
    if raw_status and not normalise_check(kind, raw_status).known:
        words.append(raw_status)
    if raw_outcome and not normalise_check(kind, "", raw_outcome).known:
        words.append(raw_outcome)
    return words


def int_option(
    options: Mapping[str, Any], key: str, default: int, *, minimum: int, maximum: int
) -> int:
    """Read an integer option (given as a number or a string by `configure_provider`)."""
    value = options.get(key, default)
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ProviderConfigurationError(
            f"Option {key!r} must be an integer, got {value!r}."
        ) from None
    if not minimum <= number <= maximum:
        raise ProviderConfigurationError(
            f"Option {key!r} must be between {minimum} and {maximum}, got {number}."
        )
    return number


def read_pool_of(options: Mapping[str, Any], *, key: str = "") -> ReadPool:
    """The connection's pool of concurrent session reads: its `concurrency`
    option, else `VERITY_SYNC_CONCURRENCY` (1: one read at a time); its lanes
    open while `key`'s (its base URL's) typical round trip is at least
    `VERITY_SYNC_LANES_ROUND_TRIP`."""
    return ReadPool(
        int_option(
            options,
            "concurrency",
            settings.VERITY_SYNC_CONCURRENCY,
            minimum=1,
            maximum=CONCURRENCY_MAX,
        ),
        key=key,
        lanes_round_trip=settings.VERITY_SYNC_LANES_ROUND_TRIP,
    )


def choice_option(
    options: Mapping[str, Any], key: str, default: str, *, choices: Sequence[str]
) -> str:
    """Read an option that must be one of `choices` (blank or absent: `default`)."""
    value = options.get(key)
    word = default if value in (None, "") else str(value).strip()
    if word not in choices:
        raise ProviderConfigurationError(
            f"Option {key!r} must be one of {', '.join(choices)}; got {value!r}."
        )
    return word


def list_option(options: Mapping[str, Any], key: str) -> list[str]:
    """Read a list option given as a JSON array or a comma-separated string."""
    value = options.get(key)
    if value in (None, ""):
        return []
    if isinstance(value, str):
        items: Iterable[Any] = value.split(",")
    elif isinstance(value, Sequence):
        items = value
    else:
        raise ProviderConfigurationError(
            f"Option {key!r} must be a list or a comma-separated string."
        )
    return [str(item).strip() for item in items if str(item).strip()]


def page_of_items(
    items: Sequence[Any],
    *,
    record_type: str,
    known_versions: Callable[[Sequence[str]], Mapping[str, str]],
    version_of: Callable[[dict[str, Any]], str],
    build: Callable[[str, dict[str, Any]], SessionRecord | None],
    pool: ReadPool | None = None,
) -> Page:
    """Turn listed items into a Page: quarantined, unchanged, or built in full.

    One `known_versions` call per page (in the calling thread: it reads the
    database); an item whose `version_of` equals what Verity holds costs
    nothing more. `build(ident, item)` makes the detail calls, on `pool`'s
    lanes (`builds_or_quarantine`).
    """
    page = Page()
    valid: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        ident, bad = identify(item, record_type)
        if bad is not None:
            page.quarantined.append(bad)
        else:
            valid.append((ident, item))
    known = known_versions([ident for ident, _ in valid]) if valid else {}
    changed = []
    for ident, item in valid:
        if known.get(ident) == version_of(item):
            page.unchanged_ids.append(ident)
        else:
            changed.append(
                (ident, item, lambda ident=ident, item=item: build(ident, item))
            )
    builds_or_quarantine(page, record_type=record_type, builds=changed, pool=pool)
    return page


def builds_or_quarantine(
    page: Page,
    *,
    record_type: str,
    builds: Sequence[tuple[str, Any, Callable[[], SessionRecord | None]]],
    pool: ReadPool | None = None,
) -> None:
    """`build_or_quarantine` for each (ident, raw, build), the builds on `pool`.

    The builds run concurrently (at most `pool.size` at once) and their
    outcomes are replayed in order through `build_or_quarantine`, so `page`
    ends as the sequential loop would leave it, and the first build (in
    order) that failed with an error ending the page raises it here; builds
    after it are not started.
    """
    outcomes = (pool or ReadPool()).run(
        [build for _, _, build in builds], stops=build_stops_page
    )
    for (ident, raw, _), outcome in zip(builds, outcomes, strict=False):
        build_or_quarantine(
            page, record_type=record_type, ident=ident, raw=raw, build=outcome.get
        )


def change_marker(item: dict[str, Any], key: str) -> str:
    """Return a listed item's change marker: its `key` timestamp as sent, else a
    hash of the whole item (a provider that sent none still gets one)."""
    updated = item.get(key)
    if isinstance(updated, str) and updated.strip():
        return updated.strip()[:RAW_WORD_MAX]
    return payload_hash(item)


def path_id(value: str) -> str:
    """Return a provider id quoted as one URL path segment (a `/` in it stays inside)."""
    return quote(value, safe="")


def missing_reason(what: str, problem: Exception | str) -> str:
    """Return one `SessionRecord.missing` entry: what could not be fetched, and why."""
    return f"{what}: {problem}"[:MISSING_REASON_MAX]


def object_read(
    http: ProviderHTTP, path: str, *, gone: str = ""
) -> tuple[dict[str, Any], str]:
    """GET the JSON object at `path` for a session's sub-request.

    Return (the object, "") or ({}, why it could not be read): a client error
    or garbage. A 404/410 is such a reason too, unless `gone` names what was
    asked for (a related record whose deletion only costs its name): it is
    then logged and reads as ({}, ""). Outages, rate limits and auth errors
    propagate.
    """
    try:
        body = http.get_json(path)
    except ProviderNotFound as exc:
        if not gone:
            return {}, str(exc)
        logger.info("%s is gone: %s", gone, exc)
        return {}, ""
    except SOFT_ERRORS as exc:
        return {}, str(exc)
    if not isinstance(body, dict):
        return {}, f"GET {path} is not a JSON object"
    return body, ""


def build_or_quarantine(
    page: Page,
    *,
    record_type: str,
    ident: str,
    raw: Any,
    build: Callable[[], SessionRecord | None],
) -> None:
    """Add `build()`'s record to `page`; a record the provider lost goes to `gone_ids`.

    A detail call the provider answers with a client error or garbage, or data
    the parser chokes on, quarantines this one record and lets its page-mates
    through. Rate limits, outages and auth errors propagate: the whole page is
    retried later from the last committed cursor.
    """
    try:
        record = build()
    except ProviderNotFound:
        page.gone_ids.append(ident)
        return
    except (ProviderBadRequest, ProviderResponseInvalid) as exc:
        page.quarantined.append(
            quarantine(
                record_type, f"details could not be read: {exc}", raw, external_id=ident
            )
        )
        return
    except PARSE_ERRORS as exc:
        logger.warning("Could not parse %s %s", record_type, ident, exc_info=True)
        page.quarantined.append(
            quarantine(
                record_type,
                f"could not be parsed: {type(exc).__name__}: {exc}",
                raw,
                external_id=ident,
            )
        )
        return
    if record is None:
        page.gone_ids.append(ident)
    else:
        page.sessions.append(record)
