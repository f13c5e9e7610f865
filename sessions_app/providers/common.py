"""What the provider adapters share: tolerant parsing and the paged-pass walker.

Providers add fields, change enum vocabularies and sometimes send nonsense.
Values are cleaned by `sessions_app.sync.values` (one definition for the
adapters, the webhooks and the sync); these helpers build on it and never
raise on bad data: only a record that cannot be identified at all is
quarantined.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
    clean_id,
    json_list,
    json_text,
    text,
)
from .base import Budget, Page, QuarantineRecord, SessionRecord, TagRecord

logger = logging.getLogger(__name__)

# One `SessionRecord.missing` reason is a line in a log and on the sync page.
MISSING_REASON_MAX = 300
# Sessions read incompletely that a cursor asks the next pass to fetch again by
# id. Bounded so that a provider failing the same sub-request for ever cannot
# grow the cursor (a JSONField, and a Celery argument) without limit.
RETRY_IDS_MAX = 500
# What a tolerated sub-request failure raises: the provider answered, but not
# with what the contract promises. Outages, rate limits and auth errors are
# not tolerated: they stop the page, which is read again later.
SOFT_ERRORS = (ProviderBadRequest, ProviderResponseInvalid)


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


def chunked(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    """Yield consecutive slices of `items` of at most `size` elements."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Paged passes ------------------------------------------------------------------

CURSOR_VERSION = 1


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def snapshot(value: dict[str, Any]) -> dict[str, Any]:
    """Return a deep, JSON-clean copy of a cursor (it goes to a JSONField and Celery)."""
    return json.loads(json.dumps(value))


def pass_in_progress(cursor: Mapping[str, Any], full: bool) -> dict[str, Any] | None:
    """Return the unfinished pass a cursor holds, if it should be resumed.

    A pass is resumed unless a full pass is asked for while the cursor holds an
    incremental one (then a new full pass starts). A cursor of another format
    version is ignored: the next pass starts afresh, which only costs time.
    """
    if not isinstance(cursor, Mapping) or cursor.get("v") != CURSOR_VERSION:
        return None
    current = cursor.get("pass")
    if not isinstance(current, dict):
        return None
    if full and current.get("mode") != "full":
        return None
    return dict(current)


@dataclass(slots=True)
class Progress:
    """Pages yielded so far by one `iter_pages` call (what the budget counts)."""

    pages: int = 0


def item_id(item: Any, id_key: str = "id") -> str | None:
    return clean_id(item.get(id_key)) if isinstance(item, dict) else None


def walk_offset_pages(
    state: dict[str, Any],
    *,
    budget: Budget,
    progress: Progress,
    batch_size: int,
    fetch: Callable[[int], tuple[list[Any], bool]],
    process: Callable[[Sequence[Any]], Page],
    cursor_of: Callable[[], dict[str, Any]],
    seen: set[str],
) -> Generator[Page, None, bool]:
    """Walk a `page=N` listing in chunks of `batch_size` items, one Page per chunk.

    `state` (part of the cursor, mutated in place) holds `page` (the provider
    page in progress), `done_ids` (its items already handled) and `prev_ids`
    (the ids of the page before). Offset pages drift while the provider creates
    records, so an item is skipped when its id was handled on this page, the
    page before, or anywhere earlier in this call (`seen`); resuming a pass
    therefore does not repeat it. `fetch(page)` returns the items and whether
    that page is the last. Return True when the listing is exhausted, False
    when the budget stopped it (the last yielded page's cursor resumes it).
    """
    fetched_before: set[str] = set()
    while True:
        if budget.exhausted(progress.pages):
            return False
        items, last = fetch(state["page"])
        if not items:
            return True
        page_ids = [ident for ident in map(item_id, items) if ident]
        if page_ids and set(page_ids) <= fetched_before:
            # The page just fetched, again: a provider ignoring `page` would
            # otherwise be walked forever.
            logger.warning(
                "Page %s repeats the page before it; ending the listing.", state["page"]
            )
            return True
        fetched_before = set(page_ids)
        skip = seen | set(state["done_ids"]) | set(state["prev_ids"])
        pending = [item for item in items if item_id(item) not in skip]
        first_chunk = True
        while True:
            if not first_chunk and budget.exhausted(progress.pages):
                return False
            first_chunk = False
            chunk, pending = pending[:batch_size], pending[batch_size:]
            page = process(chunk)
            handled = [ident for ident in map(item_id, chunk) if ident]
            seen.update(handled)
            if pending:
                state["done_ids"] = [*state["done_ids"], *handled]
            else:
                state.update(page=state["page"] + 1, prev_ids=page_ids, done_ids=[])
            page.cursor = cursor_of()
            yield page
            progress.pages += 1
            if not pending:
                break
        if last:
            return True


def page_of_items(
    items: Sequence[Any],
    *,
    record_type: str,
    known_versions: Callable[[Sequence[str]], Mapping[str, str]],
    version_of: Callable[[dict[str, Any]], str],
    build: Callable[[str, dict[str, Any]], SessionRecord | None],
) -> Page:
    """Turn listed items into a Page: quarantined, unchanged, or built in full.

    One `known_versions` call per page; an item whose `version_of` equals what
    Verity holds costs nothing more. `build(ident, item)` makes the detail calls.
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
    for ident, item in valid:
        if known.get(ident) == version_of(item):
            page.unchanged_ids.append(ident)
            continue
        build_or_quarantine(
            page,
            record_type=record_type,
            ident=ident,
            raw=item,
            build=lambda ident=ident, item=item: build(ident, item),
        )
    return page


def missing_reason(what: str, problem: Exception | str) -> str:
    """Return one `SessionRecord.missing` entry: what could not be fetched, and why."""
    return f"{what}: {problem}"[:MISSING_REASON_MAX]


def retry_ids_of(cursor: Mapping[str, Any]) -> list[str]:
    """Return the session ids a cursor asks to fetch again (read incompletely before).

    They are the `retry_ids` a finished pass left, plus, when the cursor holds
    an unfinished pass that will not be resumed, that pass's own `retry_ids`
    and `incomplete_ids`, so abandoning a pass forgets none of them.
    """
    if not isinstance(cursor, Mapping):
        return []
    sources = [cursor.get("retry_ids")]
    current = cursor.get("pass")
    if isinstance(current, dict):
        sources += [current.get("retry_ids"), current.get("incomplete_ids")]
    ids: dict[str, None] = {}
    for source in sources:
        for value in json_list(source):
            ident = clean_id(value) if isinstance(value, str) else None
            if ident is not None:
                ids[ident] = None
    return list(ids)[:RETRY_IDS_MAX]


def incomplete_ids_update(state: dict[str, Any], page: Page, record_type: str) -> None:
    """Track in `state["incomplete_ids"]` the sessions of `page` that must be read again.

    A session returned with `missing`, or quarantined because its own record
    could not be read, is added; one read in full, reported unchanged or gone
    is dropped. The pass's last cursor hands the list on as `retry_ids`.
    """
    incomplete = dict.fromkeys(json_list(state.get("incomplete_ids")))
    for record in page.sessions:
        if record.missing:
            incomplete[record.external_id] = None
        else:
            incomplete.pop(record.external_id, None)
    for bad in page.quarantined:
        if bad.record_type == record_type and bad.external_id:
            incomplete[bad.external_id] = None
    for ident in (*page.unchanged_ids, *page.gone_ids):
        incomplete.pop(ident, None)
    ids = list(incomplete)
    if len(ids) > RETRY_IDS_MAX:
        logger.warning(
            "%d sessions were read incompletely; only %d are fetched again by id "
            "next pass (the others when the provider lists them again).",
            len(ids),
            RETRY_IDS_MAX,
        )
    state["incomplete_ids"] = ids[:RETRY_IDS_MAX]


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
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
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
