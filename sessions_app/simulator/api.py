"""What every simulated provider API implements: routing, auth, errors, state, webhooks.

Beside the `ProviderApi` contract, the plumbing the three providers share: the
status a record is served with (`served_status`), the tally behind each
provider's ground truth (`GroundTruth`), and how a webhook's event and
session are checked and chosen (`webhook_event_check`, `webhook_session_pick`,
which `ProviderApi.webhook_session` applies to the provider's own sessions).
"""

from __future__ import annotations

import abc
import re
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from .config import PATH_PREFIXES
from .wire import SimRequest, SimResponse, View

if TYPE_CHECKING:
    # Only a type here: the provider packages import this module, and
    # world.py imports their world parts, so a runtime import would be a cycle.
    from .world import World


# A served status: (word, since which simulated second).
Status = tuple[str, int]


class WebhookError(ValueError):
    """The requested webhook cannot be built (unknown event, no such session...)."""


@dataclass(frozen=True, slots=True)
class WebhookPayload:
    """A provider's webhook body before signing."""

    event: str
    session_id: str
    payload: dict[str, Any]
    # The provider's own event/delivery id (None when it sends none: Onfido).
    delivery_id: str | None


class ProviderApi(abc.ABC):
    """One provider's HTTP API over the shared world."""

    name: ClassVar[str]
    # (method, path regex relative to the provider prefix, handler method name)
    routes: ClassVar[tuple[tuple[str, str, str], ...]]
    # Name of the unexpected field the extra-fields fault adds.
    extra_field_key: ClassVar[str]
    # What webhook errors call one session ("Onfido workflow run").
    session_noun: ClassVar[str]

    def __init__(self, world: World, credential: str) -> None:
        self.world = world
        self.credential = credential
        self.prefix = PATH_PREFIXES[self.name]
        self._routes = [
            (method, re.compile(pattern), handler)
            for method, pattern, handler in self.routes
        ]
        # Clients deleted through the API (DELETE): from then on the client
        # and everything of theirs answers 404, as at the real provider. The
        # world itself stays immutable; `reset()` forgets the deletions.
        self._deleted: set[str] = set()
        self._deleted_lock = threading.Lock()
        # Each change to the deletions: part of what a listing is remembered by.
        self._deletions_changed = 0
        self._last_listing: tuple[Any, list[Any]] | None = None

    def client_delete(self, client_id: str) -> bool:
        """Delete a client; False if it was deleted already."""
        with self._deleted_lock:
            if client_id in self._deleted:
                return False
            self._deleted.add(client_id)
            self._deletions_changed += 1
            return True

    def client_deleted(self, client_id: str) -> bool:
        return client_id in self._deleted

    def deletions_forget(self) -> None:
        with self._deleted_lock:
            self._deleted.clear()
            self._deletions_changed += 1

    def listing(
        self, view: View, query: Any, matches: Callable[[], list[Any]]
    ) -> list[Any]:
        """The sorted matches of list `query` (hashable: its filters, not its
        page) at `view`, remembered for the query's next page.

        A client reads a listing page by page, and scanning every session for
        each page made a first sync's listing quadratic in the world's size
        (a real provider reads one page from an index). The world never
        changes; what a listing holds depends only on the query, the view
        (the simulated instant and the data faults) and the deletions, so
        those are the key. With the clock running, each request has its own
        instant and nothing is reused. Only the last listing is kept.
        """
        key = (query, view, self._deletions_changed)
        try:
            hash(key)
        except TypeError:  # a filter value sent as a JSON array or object
            return matches()
        last = self._last_listing
        if last is not None and last[0] == key:
            return last[1]
        found = matches()
        self._last_listing = (key, found)
        return found

    def handle(self, request: SimRequest, view: View) -> SimResponse:
        """Route an authenticated request to its handler."""
        path = request.path[len(self.prefix) :].rstrip("/") or "/"
        path_known = False
        for method, pattern, handler_name in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            path_known = True
            if method == request.method:
                handler: Callable[..., SimResponse] = getattr(self, handler_name)
                return handler(request, view, **match.groupdict())
        if path_known:
            return self.error(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed on {request.path}.",
            )
        return self.error(404, "resource_not_found", f"No route for {request.path}.")

    @abc.abstractmethod
    def authenticate(self, request: SimRequest) -> SimResponse | None:
        """Return an error response unless the request carries valid credentials."""

    @abc.abstractmethod
    def error(self, status: int, code: str, message: str, **extra: Any) -> SimResponse:
        """An error in this provider's shape (`code` is its error type/title)."""

    def too_many_requests(self, retry_after: int | None) -> SimResponse:
        response = self.error(
            429, "rate_limit", "Too many requests: the rate limit was exceeded."
        )
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    def server_error(self, status: int) -> SimResponse:
        code = "service_unavailable" if status == 503 else "internal_server_error"
        return self.error(status, code, "The simulator was asked to fail this request.")

    @abc.abstractmethod
    def session_status(self, session: Any, view: View) -> Status | None:
        """The (word, since) `session` is served with at `view.t` (None before it exists)."""

    @abc.abstractmethod
    def state(self, view: View, *, detail: bool = True) -> dict[str, Any]:
        """Ground truth: exactly what this provider serves at `view.t`."""

    @abc.abstractmethod
    def webhook(
        self, view: View, *, event: str | None, session_id: str | None
    ) -> WebhookPayload:
        """Build the body of a webhook about one session (chosen when not given)."""

    def webhook_session(
        self, view: View, session_id: str | None, wanted: Callable[[Any, str], bool]
    ) -> Any:
        """`webhook_session_pick` over this provider's sessions."""
        part = getattr(self.world, self.name)  # World has one part per provider name
        return webhook_session_pick(
            view,
            session_id,
            noun=self.session_noun,
            sessions=part.sessions,
            by_id=part.session_by_id,
            status=self.session_status,
            wanted=wanted,
        )


def tag_records(names: Any, kind: str) -> list[dict[str, str]]:
    """[{name, kind}] for the non-null names (provider tags may contain nulls)."""
    return [{"name": name, "kind": kind} for name in names or () if name]


class Timed(Protocol):
    """A record with an id whose status follows a `generation.Timeline`."""

    @property
    def id(self) -> str: ...

    @property
    def timeline(self) -> Any: ...


def served_status(
    record: Timed, view: View, *, salt: str, unknown_word: str
) -> Status | None:
    """The (word, since) `record` is served with at `view.t` (None before it exists).

    The timeline's word, or `unknown_word` when the unknown-enum fault hits
    this record (`salt` names the kind of record, so the draw is per kind).
    """
    current = record.timeline.at(view.t)
    if current is None:
        return None
    if view.unknown(salt, record.id):
        return unknown_word, current[1]
    return current


def visible[RecordT: Timed](
    by_id: Mapping[str, RecordT], record_id: str, view: View
) -> RecordT | None:
    """The record with this id once its timeline has begun at `view.t`, else None."""
    record = by_id.get(record_id)
    if record is None or record.timeline.at(view.t) is None:
        return None
    return record


@dataclass
class GroundTruth:
    """One provider's ground truth, tallied session by session (`ProviderApi.state`).

    `served()` walks the records and counts those not created yet;
    `add_session()` records one served session with its client, tags and
    checks; `result()` is the provider's part of `/_sim/state`.
    """

    sessions: list[dict[str, Any]] = field(default_factory=list)
    clients: dict[str, dict[str, str]] = field(default_factory=dict)
    tags: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    checks: int = 0
    checks_complete: int = 0
    not_yet_created: int = 0

    def served[RecordT: Timed](
        self,
        records: Iterable[RecordT],
        status: Callable[[RecordT, View], Status | None],
        view: View,
    ) -> Iterator[tuple[RecordT, str, int]]:
        """(record, served word, since) for each record that exists at `view.t`."""
        for record in records:
            current = status(record, view)
            if current is None:
                self.not_yet_created += 1
                continue
            yield record, *current

    def add_session(
        self,
        *,
        session_id: str,
        status: str,
        outcome: str,
        client: dict[str, str],
        created_at: str,
        updated_at: str,
        tags: list[dict[str, str]],
        checks: list[tuple[dict[str, Any], bool]],
    ) -> None:
        """Record one served session; `client` is {id, name, reference}, `checks`
        pairs each check's record with whether it is complete."""
        self.by_status[status] = self.by_status.get(status, 0) + 1
        self.clients[client["id"]] = client
        for tag in tags:
            self.tags[tag["name"], tag["kind"]] = tag
        self.checks += len(checks)
        self.checks_complete += sum(complete for _, complete in checks)
        self.sessions.append(
            {
                "id": session_id,
                "status": status,
                "outcome": outcome,
                "client_id": client["id"],
                "client_reference": client["reference"],
                "created_at": created_at,
                "updated_at": updated_at,
                "tags": tags,
                "checks": [record for record, _ in checks],
            }
        )

    def result(
        self,
        *,
        detail: bool,
        counts: Mapping[str, int] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Counts (plus the provider's own `counts`), statuses, the provider's
        `extra` keys, and with `detail` the sessions, clients and tags."""
        result: dict[str, Any] = {
            "counts": {
                "sessions": len(self.sessions),
                "checks": self.checks,
                "checks_complete": self.checks_complete,
                "clients": len(self.clients),
                "tags": len(self.tags),
                **(counts or {}),
                "not_yet_created": self.not_yet_created,
            },
            "by_status": dict(sorted(self.by_status.items())),
            **(extra or {}),
        }
        if detail:
            result["sessions"] = self.sessions
            result["clients"] = sorted(self.clients.values(), key=lambda c: c["id"])
            result["tags"] = sorted(
                self.tags.values(), key=lambda t: (t["kind"], t["name"])
            )
        return result


def webhook_event_check(
    provider: str, event: str | None, events: Collection[str]
) -> None:
    """Refuse an event the provider does not send (None: the provider's choice)."""
    if event is not None and event not in events:
        raise WebhookError(
            f"Unsupported {provider} event {event!r}; use one of {', '.join(events)}."
        )


def webhook_session_pick[RecordT: Timed](
    view: View,
    session_id: str | None,
    *,
    noun: str,
    sessions: Iterable[RecordT],
    by_id: Mapping[str, RecordT],
    status: Callable[[RecordT, View], Status | None],
    wanted: Callable[[RecordT, str], bool],
) -> RecordT:
    """The session a webhook is about: `session_id`'s, else the one whose served
    status began last (then the highest id) among those `wanted(session, word)`
    accepts. `noun` names the session in errors ("Onfido workflow run")."""
    if session_id is not None:
        session = visible(by_id, session_id, view)
        if session is None:
            raise WebhookError(f"No {noun} {session_id} exists yet.")
        return session
    candidates = []
    for session in sessions:
        current = status(session, view)
        if current is not None and wanted(session, current[0]):
            candidates.append((current[1], session.id, session))
    if not candidates:
        raise WebhookError(f"No {noun} fits that event yet.")
    return max(candidates, key=lambda item: (item[0], item[1]))[2]
