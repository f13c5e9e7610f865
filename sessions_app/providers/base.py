"""The one interface every provider adapter implements, and the plain records
it returns. Adapters talk HTTP and never touch the database; the sync engine
(`sessions_app/sync/`) turns their records into rows.

One call of `iter_pages` does bounded work: it stops after `budget.max_pages`
pages or `budget.deadline`, whichever comes first, and every page carries the
cursor to resume from once that page has been committed. A pass that reached
the end yields a last page with `done=True`.

A session whose own record was read but one of its sub-requests (tasks,
checks, analyses, applicant, client, project) failed in a way a later call may
not repeat is still returned with what could be read, the reasons in
`SessionRecord.missing` and no `source_version`, so it is never skipped as
unchanged. Adapters whose incremental listing would not show it again keep its
id in the cursor and fetch it by id in the next pass (`walker.ListingPass.retry_ids`).
"""

from __future__ import annotations

import abc
import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Only an annotation here: `sessions_app.normalization` loads the provider
    # rows through this package, so importing it at run time would be a cycle.
    from ..normalization import Normalised
    from .http import ProviderHTTP


def payload_hash(payload: Any) -> str:
    """A stable SHA-256 of JSON data (key order and spacing do not matter)."""
    text = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class ConnectionConfig:
    """What an adapter needs to know about its connection (no ORM object)."""

    slug: str
    kind: str
    base_url: str
    credential: str = field(repr=False)
    options: Mapping[str, Any] = field(default_factory=dict)
    # The connection's own limit (requests/s); None = the provider's documented
    # default (`<provider>/http.py: RATE_LIMITS`), see `pacing.limits`.
    rate_limit_per_second: float | None = None


@dataclass(slots=True)
class ClientRecord:
    external_id: str
    name: str = ""
    external_reference: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    # True when the provider's own record of this client could not be fetched
    # (the session's `missing` says why): `name`, `external_reference` and `raw`
    # hold only what the session itself said, so they should not overwrite
    # what Verity already holds for this client.
    incomplete: bool = False


@dataclass(slots=True)
class TagRecord:
    name: str
    kind: str = "user"  # "user" or "technical"


@dataclass(slots=True)
class CheckRecord:
    external_id: str
    check_type: str
    raw_status: str
    raw_outcome: str
    normalised: Normalised
    task_id: str = ""
    breakdown: dict[str, Any] = field(default_factory=dict)
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    # The verified document's expiry, when the provider reports one (Onfido
    # document report `properties.date_of_expiry`): the result is valid until then.
    document_expires_on: dt.date | None = None


@dataclass(slots=True)
class PolicyRecord:
    policy_id: str
    policy_name: str
    raw_outcome: str
    outcome: str  # normalised Outcome value ("" when none/unknown)
    details: dict[str, Any] = field(default_factory=dict)
    # False for a policy enabled on the session that the provider has not
    # evaluated yet (ComplyCube `compliancePolicies` without `policyAssurance`).
    evaluated: bool = True


@dataclass(slots=True)
class SessionRecord:
    external_id: str
    raw_status: str
    normalised: Normalised
    raw_outcome: str = ""
    client: ClientRecord | None = None
    workflow_id: str = ""
    workflow_name: str = ""
    workflow_version: str = ""
    reasons: list[str] = field(default_factory=list)
    summary: str = ""
    error: str = ""
    # Only an https URL on the provider's own dashboard host (else "").
    dashboard_url: str = ""
    # The reference the provider's user gave the session (ICA `userReference`).
    user_reference: str = ""
    # What the provider's workflow decided and scored (Onfido run `output`).
    decision: str = ""
    risk_score: float | None = None
    # When the applicant's link to the session expires (Onfido run `link`).
    link_expires_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    tags: list[TagRecord] = field(default_factory=list)
    checks: list[CheckRecord] = field(default_factory=list)
    policies: list[PolicyRecord] = field(default_factory=list)
    # The provider's change marker for this session (see WorkflowSession.source_version);
    # empty whenever `missing` is not.
    source_version: str = ""
    # What could not be fetched for this session (one readable reason each); the
    # sync engine stores no change marker for such a session, so the next pass
    # fetches it again.
    missing: list[str] = field(default_factory=list)
    # Raw provider values that normalised to unknown (status/outcome words).
    unknown_values: list[str] = field(default_factory=list)
    # Everything the provider sent for this session: list item, detail, tasks...
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class QuarantineRecord:
    """A record that could not be understood: kept verbatim with the reason."""

    record_type: str
    reason: str
    raw: str
    external_id: str = ""


@dataclass(slots=True)
class Page:
    sessions: list[SessionRecord] = field(default_factory=list)
    quarantined: list[QuarantineRecord] = field(default_factory=list)
    # Sessions the provider listed whose change marker equals what Verity holds:
    # seen, not re-fetched, not rewritten.
    unchanged_ids: list[str] = field(default_factory=list)
    # Sessions Verity asked about (refresh_ids) or that were just listed, which
    # the provider now answers 404/410 for: deleted, retention-expired, sandbox
    # purge. Not an error; the engine may stop re-polling them.
    gone_ids: list[str] = field(default_factory=list)
    # Where to resume once this page is committed.
    cursor: dict[str, Any] = field(default_factory=dict)
    # True when this page ends the pass (nothing more to read right now).
    done: bool = False


@dataclass(slots=True, frozen=True)
class DeletionAnswer:
    """What a provider answered when asked to delete one client (the proof
    Verity keeps: `ProviderErasure`). Never personal data: a status, the
    provider's request id, an error type, or why it was not asked."""

    # A `vocabulary.ProviderErasureOutcome` value: deleted, already_gone
    # (404/410: nothing is held under that id any more), not_supported.
    outcome: str
    status_code: int | None = None
    # The provider's request id (a response header), or why it was not asked.
    excerpt: str = ""


@dataclass(slots=True)
class Budget:
    """How much work one `iter_pages` call may do before yielding control."""

    max_pages: int = 50
    max_seconds: float = 120.0
    started: float = field(default_factory=time.monotonic)

    @property
    def deadline(self) -> float:
        return self.started + self.max_seconds

    def exhausted(self, pages_done: int) -> bool:
        return pages_done >= self.max_pages or time.monotonic() >= self.deadline


# Given external ids, return {external_id: source_version} for those Verity holds.
KnownVersions = Callable[[Sequence[str]], Mapping[str, str]]


def no_known_versions(ids: Sequence[str]) -> Mapping[str, str]:
    return {}


class ProviderAdapter(abc.ABC):
    """One provider behind one interface.

    A subclass names its `kind`, its HTTP client factory (`http_factory`, from
    its package's `http.py`) and reads its options in `configure`.
    """

    kind: str
    # `factory(config, **overrides)` returns the ProviderHTTP for `config`.
    http_factory: Callable[..., ProviderHTTP]
    http: ProviderHTTP

    def __init__(
        self, config: ConnectionConfig, *, http: ProviderHTTP | None = None
    ) -> None:
        self.config = config
        self.http = http if http is not None else self.build_http()
        self.configure(config.options)

    @classmethod
    def make_http(cls, config: ConnectionConfig, **overrides: Any) -> ProviderHTTP:
        """Return the HTTP client for `config`; `overrides` reach ProviderHTTP (tests)."""
        return cls.http_factory(config, **overrides)

    def build_http(self) -> ProviderHTTP:
        """Return the ProviderHTTP client configured for this connection."""
        return self.make_http(self.config)

    def configure(self, options: Mapping[str, Any]) -> None:
        """Read this provider's `options` (after `self.http` is set); raise
        ProviderConfigurationError on a bad one. Takes none by default."""
        return

    @abc.abstractmethod
    def iter_pages(
        self,
        *,
        cursor: Mapping[str, Any],
        budget: Budget,
        full: bool = False,
        refresh_ids: Sequence[str] = (),
        known_versions: KnownVersions = no_known_versions,
    ) -> Iterator[Page]:
        """Yield pages of normalised sessions from `cursor`, within `budget`.

        `full` ignores the incremental window and walks everything.
        `refresh_ids` are sessions Verity holds as unfinished; adapters whose
        provider cannot filter by change re-fetch them by id.
        `known_versions` lets the adapter skip detail calls for sessions whose
        change marker is unchanged (report them in `Page.unchanged_ids`).
        Raises ProviderError subclasses; never returns partial garbage.
        """

    @abc.abstractmethod
    def fetch_session(
        self, external_id: str, *, hint: Mapping[str, Any] | None = None
    ) -> SessionRecord | None:
        """Fetch one session in full (targeted refresh); None if the provider lost it.

        `hint` carries what a webhook said (e.g. an ICA project id).
        """

    # Whether `delete_client` asks the provider; when it cannot, why not
    # (recorded as the erasure's proof, shown on the client page).
    supports_client_deletion: bool = False
    client_deletion_note: str = (
        "Not asked: the provider's API offers no deletion of one client."
    )

    def delete_client(self, external_id: str) -> DeletionAnswer:
        """Ask the provider to delete one client (applicant) and what it holds
        of them: the erasure at the end of the retention clock or on request.

        Idempotent: a 404/410 is `already_gone`. Raises ProviderError on any
        other failure (the Celery task retries). By default the provider's
        API cannot do it and is not asked (`client_deletion_note` says why).
        """
        return DeletionAnswer(
            outcome="not_supported", excerpt=self.client_deletion_note
        )

    def refresh_hint(self, stored_payload: Mapping[str, Any]) -> dict[str, Any]:
        """Return the `fetch_session` hint that finds a stored session again,
        from the payload this adapter's records stored for it (`SessionRecord.raw`).
        The sync's children re-read uses it; none is needed by default."""
        return {}
