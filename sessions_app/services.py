"""Writes. Every state-changing service is atomic and writes an AuditEvent in the
same transaction (the Zulip pattern), so the history can never miss a change.

The sync engine's bulk upserts live in `sync/upsert.py`; they record one audit event
per sync run rather than one per row (a run can touch a million rows).
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from .cases.states import state_after_assignment
from .exceptions import ApplicationError
from .models import (
    AuditEvent,
    Client,
    ClientLinkSource,
    ProviderClient,
    ProviderConnection,
    WorkflowSession,
)
from .privacy.audit_chain import chain_append
from .privacy.audit_personal import audit_object_label, audit_snapshot_personal
from .roles import (
    user_can_assign,
    user_can_decide,
    user_can_link_identities,
    user_is_admin,
)

# Fields never copied into an audit snapshot: large raw payloads are kept on
# the object itself, and lock/password material must not be duplicated.
SNAPSHOT_EXCLUDED = frozenset(
    {
        "raw_payload",
        "raw",
        "body",
        "password",
        "lock_token",
        "lock_expires_at",
        "payload_hash",
    }
)
# Longest review comment, in characters after trimming; the decision form and
# the API serializer use this same limit, and cases.services enforces
# it for every caller. 4,000 is what ComplyCube allows on its own review
# comments (notes/product.md).
REVIEW_COMMENT_MAX_LENGTH = 4000


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


def model_snapshot(instance: models.Model | None) -> dict[str, Any]:
    """Return the concrete field values of `instance` as JSON-safe data, a
    person's name as a fingerprint (privacy/audit_personal.py)."""
    if instance is None:
        return {}
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if field.name in SNAPSHOT_EXCLUDED:
            continue
        data[field.attname] = _json_value(getattr(instance, field.attname))
    return audit_snapshot_personal(instance, data)


def snapshot_diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Keep only the keys whose values differ (both sides), for a readable history.

    `updated_at` is left out: it changes on every save and says nothing.
    """
    keys = {
        k
        for k in before.keys() | after.keys()
        if k != "updated_at" and before.get(k) != after.get(k)
    }
    return (
        {k: before.get(k) for k in keys if k in before},
        {k: after.get(k) for k in keys if k in after},
    )


def _actor_label(actor: Any, fallback: str) -> str:
    if actor is not None and getattr(actor, "is_authenticated", False):
        return actor.get_username()
    return fallback


def audit_event_record(
    *,
    actor: Any,
    source: str,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    client: Client | int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit row, chained to the one before it (privacy/audit_chain.py).

    Call inside the transaction of the change it records, at its end: the
    append holds the chain's lock until that transaction commits.
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or audit_object_label(obj)[:255]
    user = (
        actor
        if actor is not None and getattr(actor, "is_authenticated", False)
        else None
    )
    client_id = client.pk if isinstance(client, Client) else client
    return chain_append(
        AuditEvent(
            actor=user,
            actor_label=_actor_label(actor, source)[:150],
            source=source,
            action=action,
            object_type=object_type,
            object_id=object_id,
            object_repr=object_repr[:255],
            client_id=client_id,
            before=_json_value(before or {}),
            after=_json_value(after or {}),
        )
    )


def client_for_object(obj: models.Model) -> int | None:
    """Return the id of the Client an object belongs to, if it belongs to one."""
    if isinstance(obj, Client):
        return obj.pk
    if isinstance(obj, ProviderClient):
        return obj.client_id
    if isinstance(obj, WorkflowSession):
        if obj.provider_client_id is None:
            return None
        return (
            ProviderClient.objects.filter(pk=obj.provider_client_id)
            .values_list("client_id", flat=True)
            .first()
        )
    session = getattr(obj, "session", None)
    if isinstance(session, WorkflowSession):
        return client_for_object(session)
    return None


# --- Review decisions and assignment -------------------------------------------------


@transaction.atomic
def session_assign(
    *,
    session: WorkflowSession,
    assignee: Any | None,
    actor: Any,
    source: str = "web",
) -> WorkflowSession:
    """Assign a session to an officer (or release it with `assignee=None`); audited.

    Assigning an open case puts it in review, releasing a case in review
    opens it again (cases/states.py); other case states stay as they are.
    Decisions are recorded by `cases.services.case_decision_record`.
    """
    if not user_can_assign(actor):
        raise ApplicationError("You are not allowed to assign sessions.")
    if assignee is not None and not user_can_decide(assignee):
        raise ApplicationError(f"{assignee.get_username()} is not a reviewer.")
    locked = WorkflowSession.objects.select_for_update().get(pk=session.pk)
    before = {
        "assignee_id": locked.assignee_id,
        "assigned_at": locked.assigned_at,
        "case_state": locked.case_state,
    }
    new_id = assignee.pk if assignee is not None else None
    if locked.assignee_id == new_id:
        return locked
    now = timezone.now()
    locked.assignee_id = new_id
    locked.assigned_at = now if assignee is not None else None
    fields = ["assignee", "assigned_at"]
    state = state_after_assignment(
        state=locked.case_state, assigned=assignee is not None
    )
    if state != locked.case_state:
        locked.case_state, locked.case_state_changed_at = state, now
        fields += ["case_state", "case_state_changed_at"]
    else:
        del before["case_state"]
    locked.save(update_fields=fields)
    audit_event_record(
        actor=actor,
        source=source,
        action="session.assign" if assignee is not None else "session.unassign",
        obj=locked,
        client=client_for_object(locked),
        before=before,
        after={
            "assignee_id": locked.assignee_id,
            "assignee": assignee.get_username() if assignee is not None else None,
            "assigned_at": locked.assigned_at,
            **({"case_state": locked.case_state} if "case_state" in before else {}),
        },
    )
    session.assignee_id, session.assigned_at = locked.assignee_id, locked.assigned_at
    session.case_state = locked.case_state
    session.case_state_changed_at = locked.case_state_changed_at
    return locked


# --- Linking provider clients to clients --------------------------------------------


# Longest reason for linking or unlinking an identity by hand.
LINK_REASON_MAX_LENGTH = 1000


@transaction.atomic
def provider_client_link(
    *,
    provider_client: ProviderClient,
    client: Client | None,
    actor: Any,
    reason: str,
    source: str = "admin",
) -> ProviderClient:
    """Link (or unlink with `client=None`) a provider identity to a client by hand.

    Reviewers and admins only, with a reason; audited on every client
    concerned (the reason in the event). The link becomes MANUAL, which the
    sync never changes (`clients_link_by_reference`, `sync.related`), so an
    unlinked identity stays unlinked until a person links it again.
    """
    if not user_can_link_identities(actor):
        raise ApplicationError("Only reviewers and admins may link identities.")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why you link or unlink this identity.")
    if len(reason) > LINK_REASON_MAX_LENGTH:
        raise ApplicationError(
            f"A reason may hold at most {LINK_REASON_MAX_LENGTH:,} characters."
        )
    locked = ProviderClient.objects.select_for_update().get(pk=provider_client.pk)
    before = {"client_id": locked.client_id, "link_source": locked.link_source}
    locked.client = client
    locked.link_source = ClientLinkSource.MANUAL
    locked.save(update_fields=["client", "link_source", "updated_at"])
    for client_id in {before["client_id"], locked.client_id} - {None}:
        audit_event_record(
            actor=actor,
            source=source,
            action="provider_client.link"
            if client is not None
            else "provider_client.unlink",
            obj=locked,
            client=client_id,
            before=before,
            after={
                "client_id": locked.client_id,
                "link_source": locked.link_source,
                "reason": reason,
            },
        )
    return locked


def clients_link_by_reference(*, provider_clients: Iterable[ProviderClient]) -> int:
    """Join provider clients sharing an external reference into one Client.

    Idempotent; never overrides a link an admin made by hand. Returns how many
    provider clients were newly linked. Call inside the sync transaction.
    """
    pending = [
        pc
        for pc in provider_clients
        if pc.external_reference
        and pc.client_id is None
        and pc.link_source != ClientLinkSource.MANUAL
    ]
    if not pending:
        return 0
    references = {pc.external_reference for pc in pending}
    existing = {c.reference: c for c in Client.objects.filter(reference__in=references)}
    missing = [
        Client(
            reference=ref,
            display_name=next(
                pc.name for pc in pending if pc.external_reference == ref
            ),
        )
        for ref in sorted(references - existing.keys())
    ]
    if missing:
        Client.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {
            c.reference: c for c in Client.objects.filter(reference__in=references)
        }
    linked = [pc for pc in pending if pc.external_reference in existing]
    for pc in linked:
        pc.client = existing[pc.external_reference]
    if linked:
        # One UPDATE joining on the reference, not `bulk_update`'s CASE WHEN
        # per row (compiled in Python: most of a first sync's linking time).
        ProviderClient.objects.filter(pk__in=[pc.pk for pc in linked]).update(
            client_id=models.Subquery(
                Client.objects.filter(
                    reference=models.OuterRef("external_reference")
                ).values("pk")[:1]
            )
        )
    return len(linked)


# --- Sync leases (the /sync/ page's admin actions) -------------------------------------


def connection_lease_force_release(
    *, connection: ProviderConnection, actor: Any, source: str = "web"
) -> bool:
    """Free a connection's sync lease whoever holds it (admins only); audited.

    Return True if a lease was held. A run still alive that held it finds it
    gone at its next renewal (its keeper's, or its next page's commit) and
    stops with LeaseLost, its uncommitted page rolled back: releasing never
    lets two runs advance the cursor.
    """
    if not user_is_admin(actor):
        raise ApplicationError("Only admins may release a sync lease.")
    with transaction.atomic():
        locked = ProviderConnection.objects.select_for_update().get(pk=connection.pk)
        before = {
            "lock_expires_at": locked.lock_expires_at,
            "held": bool(locked.lock_token),
        }
        ProviderConnection.objects.filter(pk=locked.pk).update(
            lock_token="", lock_expires_at=None
        )
        audit_event_record(
            actor=actor,
            source=source,
            action="sync.lease_release",
            obj=locked,
            object_repr=f"{locked.slug} sync lease",
            before=before,
            after={"lock_expires_at": None, "held": False},
        )
    connection.lock_token, connection.lock_expires_at = "", None
    return before["held"]


def connection_sync_request_record(
    *, connection: ProviderConnection, actor: Any, task_id: str, source: str = "web"
) -> AuditEvent:
    """Record that an admin queued a sync of `connection` now (the caller
    queued it); audited, like every action that changes what Verity holds."""
    if not user_is_admin(actor):
        raise ApplicationError("Only admins may start a sync.")
    return audit_event_record(
        actor=actor,
        source=source,
        action="sync.request",
        obj=connection,
        object_repr=f"{connection.slug} sync",
        after={"connection": connection.slug, "task_id": task_id},
    )
