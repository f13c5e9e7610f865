"""The retention clock: how long a client's records must be kept, legal holds,
and data subjects' erasure requests (docs/data-protection.md).

Customer due-diligence records are kept VERITY_RETENTION_YEARS (default five)
after the business relationship ends (UK MLR 2017 reg. 40(3); FATF
Recommendation 11), then erased. While that clock runs, or while the client is
on legal hold, an erasure request is refused with the date until which the
records must be kept: GDPR Art. 17(3)(b) exempts data kept to comply with a
legal obligation. Every change here writes an AuditEvent in its transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction

from ..exceptions import ApplicationError
from ..models import Client, ErasureRequest, ErasureRequestState
from ..roles import user_can_manage_retention
from ..services import audit_event_record
from .erasure import ErasureResult, client_erase
from .provider_erasure import provider_erasures_open

LEGAL_HOLD_REASON_MAX = 500
REQUEST_TEXT_MAX = {"requested_by": 200, "verification": 500}
RETENTION_BASIS = "UK MLR 2017 reg. 40(3), FATF R.11"


def retention_years() -> int:
    return int(settings.VERITY_RETENTION_YEARS)


def years_after(day: dt.date, years: int) -> dt.date:
    """`day` moved by whole `years`; 29 February lands on 1 March (never
    earlier than the full period) going forward, on 28 February going back."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        if years >= 0:
            return dt.date(day.year + years, 3, 1)
        return dt.date(day.year + years, 2, 28)


def keep_until(relationship_ended_on: dt.date | None) -> dt.date | None:
    """The last day the records must be kept (None while the relationship lasts)."""
    if relationship_ended_on is None:
        return None
    return years_after(relationship_ended_on, retention_years())


@dataclasses.dataclass(frozen=True, slots=True)
class RetentionState:
    """Where a client stands on the retention clock, on `today`."""

    relationship_ended_on: dt.date | None
    keep_until: dt.date | None
    legal_hold: bool
    legal_hold_reason: str
    erased_at: dt.datetime | None
    # True when the records may (and the daily task will) be erased now.
    erasable: bool
    # Why they must still be kept (empty when erasable or erased).
    kept_because: str


def client_retention_state(*, client: Client, today: dt.date) -> RetentionState:
    """Return the retention state of `client` on `today` (no query)."""
    until = keep_until(client.relationship_ended_on)
    years = retention_years()
    if client.erased_at is not None:
        because = ""
    elif client.legal_hold:
        because = f"On legal hold: {client.legal_hold_reason}"
    elif until is None:
        because = (
            "The business relationship has not ended: records are kept while it "
            f"lasts and {years} years after ({RETENTION_BASIS})."
        )
    elif until >= today:
        because = (
            f"Kept until {until.isoformat()}: {years} years after the relationship "
            f"ended on {client.relationship_ended_on.isoformat()} ({RETENTION_BASIS})."
        )
    else:
        because = ""
    return RetentionState(
        relationship_ended_on=client.relationship_ended_on,
        keep_until=until,
        legal_hold=client.legal_hold,
        legal_hold_reason=client.legal_hold_reason,
        erased_at=client.erased_at,
        erasable=client.erased_at is None and not because,
        kept_because=because,
    )


def clients_retention_due(*, today: dt.date) -> list[Client]:
    """Clients past retention (relationship end + period < today), not on hold,
    not erased yet, oldest end first (the partial index `client_retention_due`)."""
    latest_end = years_after(today, -retention_years())
    candidates = Client.objects.filter(
        relationship_ended_on__isnull=False,
        relationship_ended_on__lte=latest_end,
        legal_hold=False,
        erased_at__isnull=True,
    ).order_by("relationship_ended_on", "pk")
    return [c for c in candidates if keep_until(c.relationship_ended_on) < today]


def _allowed(actor: Any) -> None:
    if not user_can_manage_retention(actor):
        raise ApplicationError(
            "Only reviewers and admins may change a client's retention."
        )


def _locked_unerased(client: Client) -> Client:
    locked = Client.objects.select_for_update().get(pk=client.pk)
    if locked.erased_at is not None:
        raise ApplicationError(
            f"This client's data was erased on {locked.erased_at:%Y-%m-%d}; "
            "its retention can no longer change."
        )
    return locked


@transaction.atomic
def client_relationship_end_set(
    *,
    client: Client,
    ended_on: dt.date | None,
    actor: Any,
    today: dt.date,
    source: str = "web",
) -> Client:
    """Set (or clear, with None) the day the business relationship ended; audited.

    The retention clock starts then. A future day is refused: the end is
    recorded once it has happened.
    """
    _allowed(actor)
    if ended_on is not None and ended_on > today:
        raise ApplicationError(
            "The relationship end cannot be in the future: record it once it has ended."
        )
    locked = _locked_unerased(client)
    before = {"relationship_ended_on": locked.relationship_ended_on}
    if locked.relationship_ended_on == ended_on:
        return locked
    locked.relationship_ended_on = ended_on
    locked.save(update_fields=["relationship_ended_on", "updated_at"])
    audit_event_record(
        actor=actor,
        source=source,
        action="client.relationship_end",
        obj=locked,
        object_repr=f"Client {locked.pk}",
        client=locked,
        before=before,
        after={
            "relationship_ended_on": ended_on,
            "keep_until": keep_until(ended_on),
        },
    )
    client.relationship_ended_on = ended_on
    return locked


@transaction.atomic
def client_legal_hold_set(
    *, client: Client, hold: bool, reason: str, actor: Any, source: str = "web"
) -> Client:
    """Place (with a reason) or lift a legal hold; audited. A client on hold is
    never erased, by the daily task or on request, until the hold is lifted."""
    _allowed(actor)
    reason = (reason or "").strip()
    if hold and not reason:
        raise ApplicationError("Say why the records are on legal hold.")
    if len(reason) > LEGAL_HOLD_REASON_MAX:
        raise ApplicationError(
            f"A legal hold reason may hold at most {LEGAL_HOLD_REASON_MAX} characters."
        )
    locked = _locked_unerased(client)
    before = {
        "legal_hold": locked.legal_hold,
        "legal_hold_reason": locked.legal_hold_reason,
    }
    after = {"legal_hold": hold, "legal_hold_reason": reason if hold else ""}
    if before == after:
        return locked
    locked.legal_hold, locked.legal_hold_reason = hold, after["legal_hold_reason"]
    locked.save(update_fields=["legal_hold", "legal_hold_reason", "updated_at"])
    audit_event_record(
        actor=actor,
        source=source,
        action="client.legal_hold" if hold else "client.legal_hold_lift",
        obj=locked,
        object_repr=f"Client {locked.pk}",
        client=locked,
        before=before,
        after=after,
    )
    client.legal_hold, client.legal_hold_reason = (
        locked.legal_hold,
        locked.legal_hold_reason,
    )
    return locked


@dataclasses.dataclass(frozen=True, slots=True)
class ErasureRequestResult:
    request: ErasureRequest
    # The erasure it ran (None when refused).
    erasure: ErasureResult | None


def erasure_request_record(
    *,
    client: Client,
    requested_by: str,
    requested_on: dt.date,
    verification: str,
    actor: Any,
    today: dt.date,
    source: str = "web",
) -> ErasureRequestResult:
    """Record a data subject's erasure request and answer it; audited.

    Refused, with the date until which the records must be kept and why,
    while the retention clock runs or the client is on legal hold (GDPR
    Art. 17(3)(b)); otherwise the client is erased as the daily task would
    (`erasure.client_erase`). The request is recorded either way.
    """
    _allowed(actor)
    fields = {"requested_by": requested_by, "verification": verification}
    for name, value in fields.items():
        fields[name] = (value or "").strip()
        if not fields[name]:
            raise ApplicationError(f"Say {name.replace('_', ' ')} the request.")
        if len(fields[name]) > REQUEST_TEXT_MAX[name]:
            raise ApplicationError(
                f"{name.replace('_', ' ').capitalize()} may hold at most "
                f"{REQUEST_TEXT_MAX[name]} characters."
            )
    if requested_on > today:
        raise ApplicationError("The request date cannot be in the future.")
    with transaction.atomic():
        locked = Client.objects.select_for_update().get(pk=client.pk)
        state = client_retention_state(client=locked, today=today)
        if locked.erased_at is not None:
            outcome, reason = (
                ErasureRequestState.ERASED,
                f"Already erased on {locked.erased_at:%Y-%m-%d}.",
            )
        elif state.erasable:
            outcome, reason = ErasureRequestState.ERASED, ""
        else:
            outcome = ErasureRequestState.REFUSED
            reason = f"{state.kept_because} GDPR Art. 17(3)(b)."
        request = ErasureRequest.objects.create(
            client=locked,
            requested_by=fields["requested_by"],
            requested_on=requested_on,
            verification=fields["verification"],
            entered_by=actor if getattr(actor, "is_authenticated", False) else None,
            state=outcome,
            keep_until=state.keep_until
            if outcome == ErasureRequestState.REFUSED
            else None,
            state_reason=reason[:500],
        )
        audit_event_record(
            actor=actor,
            source=source,
            action=f"erasure_request.{outcome}",
            obj=request,
            client=locked,
            after={
                "requested_by": request.requested_by,
                "requested_on": requested_on,
                "verification": request.verification,
                "state": outcome,
                "keep_until": request.keep_until,
                "reason": request.state_reason,
            },
        )
        erasure = None
        if outcome == ErasureRequestState.ERASED and locked.erased_at is None:
            erasure = client_erase(
                client=locked,
                actor=actor,
                source=source,
                reason="erasure_request",
                erasure_request=request,
            )
    return ErasureRequestResult(request=request, erasure=erasure)


@dataclasses.dataclass(frozen=True, slots=True)
class RetentionSweep:
    erased_client_ids: list[int]
    # Every provider deletion still owed (new ones and earlier failures).
    open_erasure_ids: list[int]


def retention_sweep(*, today: dt.date) -> RetentionSweep:
    """Erase every client past retention and not on hold (one transaction
    each, the state checked again under the client's row lock), and list the
    provider deletions still owed. The daily task's work."""
    erased = []
    for candidate in clients_retention_due(today=today):
        with transaction.atomic():
            client = Client.objects.select_for_update().get(pk=candidate.pk)
            if not client_retention_state(client=client, today=today).erasable:
                continue  # put on hold or changed since the query
            client_erase(
                client=client, actor=None, source="retention", reason="retention"
            )
        erased.append(client.pk)
    return RetentionSweep(
        erased_client_ids=erased,
        open_erasure_ids=list(provider_erasures_open().values_list("pk", flat=True)),
    )
