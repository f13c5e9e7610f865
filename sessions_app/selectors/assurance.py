"""The client's assurance picture: per check kind, the latest result across
providers, how long it stays valid, and what is missing (docs/assurance.md).

The matrix is derived, never stored: one window query picks, per kind, the
client's latest check and its latest completed check, so a client with
thousands of checks costs the same index-backed query as one with ten (and
one more for its policies).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.db.models import BooleanField, Case, F, Q, QuerySet, Value, When, Window
from django.db.models.functions import Coalesce, RowNumber

from ..models import Check, CheckKind, Outcome, PolicyAssurance, Status

RUNNING_STATUSES = frozenset(
    {Status.PENDING, Status.IN_PROGRESS, Status.AWAITING_INPUT}
)


class Freshness:
    """How a kind stands today (words the page and the API show)."""

    VALID = "valid"
    EXPIRING = "expiring"  # valid, but within the warning window of its end
    EXPIRED = "expired"
    NEEDS_REVIEW = "needs_review"  # the latest result is "attention"
    FAILED = "failed"  # the latest result is "rejected": not verified
    IN_PROGRESS = "in_progress"  # checks running, nothing completed yet
    NOT_COMPLETED = "not_completed"  # checks ended without a result
    GAP = "gap"  # required, and no provider has checked it


FRESHNESS_LABELS = {
    Freshness.VALID: "Valid",
    Freshness.EXPIRING: "Expiring soon",
    Freshness.EXPIRED: "Expired",
    Freshness.NEEDS_REVIEW: "Needs review",
    Freshness.FAILED: "Failed: not verified",
    Freshness.IN_PROGRESS: "In progress",
    Freshness.NOT_COMPLETED: "Not completed",
    Freshness.GAP: "Gap: never verified",
}


@dataclasses.dataclass(frozen=True)
class AssuranceRow:
    kind: str
    label: str
    required: bool
    latest: Check | None  # the newest check of this kind, whatever its state
    completed: Check | None  # the newest completed check with a result
    completed_at: dt.datetime | None
    valid_until: dt.date | None  # None: no expiry (or nothing verified)
    freshness: str

    @property
    def freshness_label(self) -> str:
        return FRESHNESS_LABELS[self.freshness]

    @property
    def is_gap(self) -> bool:
        return self.freshness == Freshness.GAP


@dataclasses.dataclass(frozen=True)
class PolicyRow:
    """A compliance policy's latest evaluation for the client."""

    key: str
    name: str
    latest: PolicyAssurance


@dataclasses.dataclass(frozen=True)
class ClientAssurance:
    rows: list[AssuranceRow]
    policies: list[PolicyRow]

    @property
    def gaps(self) -> list[AssuranceRow]:
        return [row for row in self.rows if row.is_gap]

    @property
    def expired(self) -> list[AssuranceRow]:
        return [row for row in self.rows if row.freshness == Freshness.EXPIRED]


def _check_date() -> Coalesce:
    # When the provider last changed the check (ComplyCube: when it completed),
    # else when it was created, else its session's creation.
    return Coalesce(
        "provider_updated_at", "provider_created_at", "session__provider_created_at"
    )


# What the matrix shows of a check (_assurance.html, the evidence pack) and
# what its rules read; nothing else of the check or its joined rows is loaded.
ASSURANCE_CHECK_FIELDS = (
    "kind",
    "check_type",
    "status",
    "outcome",
    "raw_outcome",
    "document_expires_on",
    "connection__display_name",
    "session__external_id",
)


def _newest(checks: Iterable[Check]) -> Check | None:
    """The newest of `checks` in the window's order: by date (none last), then id."""
    return max(
        checks,
        key=lambda c: (c.checked_at is not None, c.checked_at or _EPOCH, c.pk),
        default=None,
    )


_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)


def _latest_per_kind(qs: QuerySet[Check]) -> tuple[dict[str, Check], dict[str, Check]]:
    """Return, per kind, the newest check and the newest completed check with
    a result. One query: the window ranks completed and other checks apart, so
    each kind yields at most two rows, the newer of which is its latest."""
    done = Case(
        When(Q(status=Status.COMPLETED) & ~Q(outcome=""), then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    ranked = (
        qs.select_related("connection", "session")
        .only(*ASSURANCE_CHECK_FIELDS)
        .annotate(
            checked_at=_check_date(),
            done=done,
            rank=Window(
                RowNumber(),
                partition_by=[F("kind"), done],
                order_by=[_check_date().desc(nulls_last=True), F("id").desc()],
            ),
        )
        .filter(rank=1)
    )
    by_kind: dict[str, list[Check]] = {}
    for check in ranked:
        by_kind.setdefault(check.kind, []).append(check)
    latest = {kind: _newest(checks) for kind, checks in by_kind.items()}
    completed = {
        check.kind: check
        for checks in by_kind.values()
        for check in checks
        if check.done
    }
    return latest, completed


def _valid_until(
    kind: str,
    check: Check,
    completed_at: dt.datetime | None,
    validity_days: Mapping[str, int | None],
) -> dt.date | None:
    if check.document_expires_on is not None:
        return check.document_expires_on
    days = validity_days.get(kind)
    if days is None or completed_at is None:
        return None
    return (completed_at + dt.timedelta(days=days)).date()


def _freshness(
    latest: Check, completed: Check | None, valid_until: dt.date | None, today: dt.date
) -> str:
    if completed is None:
        if latest.status in RUNNING_STATUSES:
            return Freshness.IN_PROGRESS
        return Freshness.NOT_COMPLETED
    # Only a clear result verifies anything; its age matters only then.
    if completed.outcome == Outcome.REJECTED:
        return Freshness.FAILED
    if completed.outcome != Outcome.CLEAR:
        return Freshness.NEEDS_REVIEW
    if valid_until is None:
        return Freshness.VALID
    if valid_until < today:
        return Freshness.EXPIRED
    warning = dt.timedelta(days=settings.VERITY_ASSURANCE_EXPIRING_DAYS)
    if valid_until - today <= warning:
        return Freshness.EXPIRING
    return Freshness.VALID


def _latest_policies(client_id: int) -> list[PolicyRow]:
    ranked = (
        PolicyAssurance.objects.filter(session__provider_client__client_id=client_id)
        .select_related("session", "session__connection")
        .only(
            "policy_id",
            "policy_name",
            "position",
            "outcome",
            "raw_outcome",
            "details",
            "evaluated",
            "session__external_id",
            "session__connection__display_name",
        )
        .annotate(
            policy_key=Coalesce("policy_id", "policy_name"),
            rank=Window(
                RowNumber(),
                partition_by=[F("policy_id"), F("policy_name")],
                # An evaluation beats a newer "not evaluated yet".
                order_by=[
                    F("evaluated").desc(),
                    Coalesce(
                        "session__provider_updated_at", "session__provider_created_at"
                    ).desc(nulls_last=True),
                    F("session_id").desc(),
                ],
            ),
        )
        .filter(rank=1)
        .order_by("policy_name", "policy_id")
    )
    return [
        PolicyRow(key=row.policy_id or row.policy_name, name=str(row), latest=row)
        for row in ranked
    ]


def client_assurance_get(
    *,
    client_id: int,
    today: dt.date,
    required_kinds: Iterable[str] | None = None,
) -> ClientAssurance:
    """Return the client's assurance matrix: one row per check kind it has a
    check of or is required to have (required first, in taxonomy order), and
    one per compliance policy evaluated on its sessions. Two queries."""
    required = set(
        settings.VERITY_REQUIRED_CHECK_KINDS
        if required_kinds is None
        else required_kinds
    )
    latest, completed = _latest_per_kind(
        Check.objects.filter(session__provider_client__client_id=client_id)
    )
    validity = settings.VERITY_ASSURANCE_VALIDITY_DAYS
    rows = []
    for kind, label in CheckKind.choices:
        if kind not in latest and kind not in required:
            continue
        newest = latest.get(kind)
        done = completed.get(kind)
        completed_at = getattr(done, "checked_at", None)
        valid_until = (
            _valid_until(kind, done, completed_at, validity)
            if done is not None and done.outcome == Outcome.CLEAR
            else None
        )
        rows.append(
            AssuranceRow(
                kind=kind,
                label=str(label),
                required=kind in required,
                latest=newest,
                completed=done,
                completed_at=completed_at,
                valid_until=valid_until,
                freshness=Freshness.GAP
                if newest is None
                else _freshness(newest, done, valid_until, today),
            )
        )
    rows.sort(key=lambda row: not row.required)  # stable: taxonomy order within
    return ClientAssurance(rows=rows, policies=_latest_policies(client_id))
