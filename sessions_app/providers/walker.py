"""The paged pass every adapter walks: one typed cursor, one walker, configured per provider.

A pass reads everything a provider has to say since the last one, over as
many `iter_pages` calls as the budget needs. Between calls it lives in the
cursor the sync engine stores (a JSONField, and a Celery argument):

    {"v": 1, <provider fields, e.g. "high_water">, "last_pass_started_at": iso,
     "pass": {<the unfinished pass>}}          while a pass is unfinished
    {"v": 1, <provider fields>, "last_pass_started_at": iso[, "retry_ids": [...]]}
                                               between passes

The unfinished pass is a `PassState` dataclass (one subclass per provider
adds its own fields) that validates itself: `from_json` returns None for a
pass this code cannot resume (another cursor version, a missing or mistyped
field), and the next pass starts afresh, which only costs time. `to_json`
writes exactly the keys earlier releases wrote, so stored cursors resume.

`PassWalk` is one `iter_pages` call: it counts pages against the budget,
stamps each page with the cursor that resumes after it, runs the provider's
phases in order from the one the cursor holds, and ends with the pass's
closing page (`done=True`), or, when the budget stopped it before any page,
with an empty page carrying the cursor unchanged. `ListingWalk` adds the
phases of a `ListingPass`: a `page=N` listing walk (`offset_listing`) and
reads by id (`by_id`); a provider with another listing shape (ICA's page
tokens) writes its own phase with `exhausted()` and `emit()`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from ..sync.values import chunks, clean_id, json_list
from .base import Budget, Page

logger = logging.getLogger(__name__)

CURSOR_VERSION = 1
# Sessions read incompletely that a cursor asks the next pass to fetch again by
# id. Bounded so that a provider failing the same sub-request for ever cannot
# grow the cursor (a JSONField, and a Celery argument) without limit.
RETRY_IDS_MAX = 500

# A phase of a pass: yields its pages, returns True when it is complete and
# False when the budget stopped it.
PhaseWalk = Generator[Page, None, bool]


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def snapshot(value: dict[str, Any]) -> dict[str, Any]:
    """Return a deep, JSON-clean copy of a cursor (it goes to a JSONField and Celery)."""
    return json.loads(json.dumps(value))


def item_id(item: Any, id_key: str = "id") -> str | None:
    return clean_id(item.get(id_key)) if isinstance(item, dict) else None


# The cursor -------------------------------------------------------------------


def pass_in_progress(cursor: Mapping[str, Any], full: bool) -> dict[str, Any] | None:
    """Return the unfinished pass a cursor holds (as JSON), if it should be resumed.

    A pass is resumed unless a full pass is asked for while the cursor holds an
    incremental one (then a new full pass starts). A cursor of another format
    version is ignored.
    """
    if not isinstance(cursor, Mapping) or cursor.get("v") != CURSOR_VERSION:
        return None
    current = cursor.get("pass")
    if not isinstance(current, dict):
        return None
    if full and current.get("mode") != "full":
        return None
    return dict(current)


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


def incomplete_ids_update(
    incomplete_ids: Sequence[str], page: Page, record_type: str
) -> list[str]:
    """Return `incomplete_ids` updated by what `page` read: the sessions to read again.

    A session returned with `missing`, or quarantined because its own record
    could not be read, is added; one read in full, reported unchanged or gone
    is dropped. The pass's last cursor hands the list on as `retry_ids`.
    """
    incomplete = dict.fromkeys(incomplete_ids)
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
    return ids[:RETRY_IDS_MAX]


class Invalid(Exception):
    """A stored pass field this code cannot use (the pass then starts afresh)."""


def ids_field(
    data: Mapping[str, Any], key: str, default: list[str] | None = None
) -> list[str]:
    """A list of string ids; `default` when the key is absent (None: required)."""
    if key not in data and default is not None:
        return list(default)
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
        raise Invalid(key)
    return list(value)


def int_field(data: Mapping[str, Any], key: str, *, minimum: int) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise Invalid(key)
    return value


def str_field(data: Mapping[str, Any], key: str, default: str | None = None) -> str:
    if key not in data and default is not None:
        return default
    value = data.get(key)
    if not isinstance(value, str):
        raise Invalid(key)
    return value


def optional_str_field(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise Invalid(key)
    return value


@dataclass(kw_only=True)
class PassState:
    """One unfinished pass, as the cursor's `"pass"` object holds it."""

    mode: str
    started_at: str

    @classmethod
    def from_json(cls, data: Any) -> Self | None:
        """Return the pass `data` describes, or None if it cannot be resumed."""
        if not isinstance(data, Mapping):
            return None
        try:
            return cls(**cls.fields_from_json(data))
        except Invalid:
            return None

    @classmethod
    def fields_from_json(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """Read and check this class's fields (raise `Invalid` on a bad one)."""
        return {
            "mode": str_field(data, "mode"),
            "started_at": str_field(data, "started_at"),
        }

    def to_json(self) -> dict[str, Any]:
        """The `"pass"` object, with the keys and order earlier releases wrote."""
        return {"mode": self.mode, "started_at": self.started_at}

    def in_phase(self, name: str) -> bool:
        """Whether the walk should (re)enter phase `name`: a pass without
        phases walks each one it is given."""
        return True

    def retry_next_pass(self) -> list[str]:
        """The sessions this pass read incompletely, for the next pass to read
        again by id (none for a pass that does not track them)."""
        return []


@dataclass(kw_only=True)
class ListingPass(PassState):
    """A pass over a `page=N` listing and then reads by id (Onfido, ComplyCube).

    `page` is the provider page in progress, `done_ids` its items already
    handled and `prev_ids` the ids of the page before (see `offset_listing`).
    `retry_ids` are the sessions the last pass read incompletely, to fetch by
    id; `incomplete_ids` those this pass read incompletely so far.
    """

    phase: str = "list"
    page: int = 1
    done_ids: list[str] = field(default_factory=list)
    prev_ids: list[str] = field(default_factory=list)
    retry_ids: list[str] = field(default_factory=list)
    incomplete_ids: list[str] = field(default_factory=list)

    # The phases this pass may be in, in order, and the phase of a stored pass
    # without one (None: such a pass cannot be resumed).
    PHASES: ClassVar[tuple[str, ...]] = ("list",)
    PHASE_DEFAULT: ClassVar[str | None] = None

    def in_phase(self, name: str) -> bool:
        return self.phase == name

    def retry_next_pass(self) -> list[str]:
        return list(self.incomplete_ids)

    @classmethod
    def fields_from_json(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        fields = super().fields_from_json(data)
        phase = str_field(data, "phase", default=cls.PHASE_DEFAULT)
        if phase not in cls.PHASES:
            raise Invalid("phase")
        retry_ids = ids_field(data, "retry_ids", default=[])
        if len(retry_ids) > RETRY_IDS_MAX:
            raise Invalid("retry_ids")
        return {
            **fields,
            "phase": phase,
            "page": int_field(data, "page", minimum=1),
            "done_ids": ids_field(data, "done_ids"),
            "prev_ids": ids_field(data, "prev_ids"),
            "retry_ids": retry_ids,
            "incomplete_ids": ids_field(data, "incomplete_ids", default=[]),
        }


# The walk ---------------------------------------------------------------------


@dataclass(slots=True)
class PassWalk[S: PassState]:
    """One `iter_pages` call over the pass `state`, within `budget`.

    `fields` are the cursor's top-level fields besides `v` and `pass` (e.g.
    `last_pass_started_at`, ComplyCube's `high_water`), written back as read.
    """

    state: S
    budget: Budget
    fields: dict[str, Any]
    pages: int = 0

    def exhausted(self) -> bool:
        return self.budget.exhausted(self.pages)

    def cursor(self) -> dict[str, Any]:
        """The cursor that resumes the pass from where it is now."""
        return snapshot(
            {"v": CURSOR_VERSION, **self.fields, "pass": self.state.to_json()}
        )

    def emit(self, page: Page) -> Generator[Page, None, None]:
        """Yield `page` with the cursor that resumes after it, and count it."""
        page.cursor = self.cursor()
        yield page
        self.pages += 1

    def run(
        self,
        phases: Sequence[tuple[str, Callable[[], PhaseWalk]]],
        *,
        closing: Callable[[], dict[str, Any]],
    ) -> Iterator[Page]:
        """Walk `phases` (name, walk) in order from the state's phase, then close.

        Each walk moves the state to the next phase when it completes. When
        all are complete, the last page carries `closing()` (the cursor
        between passes) and `done=True`.
        """
        finished = True
        for name, walk in phases:
            if self.state.in_phase(name):
                finished = yield from walk()
                if not finished:
                    break
        if finished:
            yield Page(cursor=closing(), done=True)
        elif self.pages == 0:
            yield Page(cursor=self.cursor(), done=False)

    def closing_cursor(self, **fields: Any) -> dict[str, Any]:
        """The cursor between passes: `fields`, this pass's start, and its retry ids."""
        closing: dict[str, Any] = {
            "v": CURSOR_VERSION,
            **fields,
            "last_pass_started_at": self.state.started_at,
        }
        retry = self.state.retry_next_pass()
        if retry:
            closing["retry_ids"] = retry
        return closing


@dataclass(slots=True)
class ListingWalk[L: ListingPass](PassWalk[L]):
    """A `PassWalk` over a `ListingPass`: the listing and by-id phases."""

    def offset_listing(
        self,
        *,
        batch_size: int,
        fetch: Callable[[int], tuple[list[Any], bool]],
        process: Callable[[Sequence[Any]], Page],
        seen: set[str],
        record_type: str,
    ) -> PhaseWalk:
        """Walk a `page=N` listing in chunks of `batch_size` items, one Page per chunk.

        The state (a `ListingPass`) holds `page`, `done_ids` and `prev_ids`.
        Offset pages drift while the provider creates records, so an item is
        skipped when its id was handled on this page, the page before, or
        anywhere earlier in this call (`seen`); resuming a pass therefore does
        not repeat it. `fetch(page)` returns the items and whether that page is
        the last. Each chunk's sessions read incompletely are tracked in
        `incomplete_ids`. Return True when the listing is exhausted, False when
        the budget stopped it.
        """
        state = self.state
        fetched_before: set[str] = set()
        while True:
            if self.exhausted():
                return False
            items, last = fetch(state.page)
            if not items:
                return True
            page_ids = [ident for ident in map(item_id, items) if ident]
            if page_ids and set(page_ids) <= fetched_before:
                # The page just fetched, again: a provider ignoring `page` would
                # otherwise be walked forever.
                logger.warning(
                    "Page %s repeats the page before it; ending the listing.",
                    state.page,
                )
                return True
            fetched_before = set(page_ids)
            skip = seen | set(state.done_ids) | set(state.prev_ids)
            pending = [item for item in items if item_id(item) not in skip]
            first_chunk = True
            while True:
                if not first_chunk and self.exhausted():
                    return False
                first_chunk = False
                chunk, pending = pending[:batch_size], pending[batch_size:]
                page = process(chunk)
                state.incomplete_ids = incomplete_ids_update(
                    state.incomplete_ids, page, record_type
                )
                handled = [ident for ident in map(item_id, chunk) if ident]
                seen.update(handled)
                if pending:
                    state.done_ids = [*state.done_ids, *handled]
                else:
                    state.page += 1
                    state.prev_ids = page_ids
                    state.done_ids = []
                yield from self.emit(page)
                if not pending:
                    break
            if last:
                return True

    def by_id(
        self,
        ids: Iterable[str],
        *,
        after: str,
        batch_size: int,
        read: Callable[[Sequence[str]], Page],
        record_type: str,
    ) -> PhaseWalk:
        """Read sessions by id in sorted order, `batch_size` per page.

        `after` names the state's field holding the last id read: only ids
        sorting after it are read, and it moves on after each page, so a
        resumed pass carries on where it stopped. Return False when the
        budget stopped it.
        """
        state = self.state
        pending = sorted(i for i in ids if i > getattr(state, after))
        for chunk in chunks(pending, batch_size):
            if self.exhausted():
                return False
            page = read(chunk)
            state.incomplete_ids = incomplete_ids_update(
                state.incomplete_ids, page, record_type
            )
            setattr(state, after, chunk[-1])
            yield from self.emit(page)
        return True


def resumable[S: PassState](
    state_type: type[S], cursor: Mapping[str, Any], full: bool
) -> S | None:
    """The unfinished pass of `cursor` as a `state_type`, or None to start a new one."""
    current = pass_in_progress(cursor, full)
    return state_type.from_json(current) if current is not None else None
