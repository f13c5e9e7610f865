"""Audit history, in an officer's words: the presenter of the session and
client pages' history.

`audit_rows` turns AuditEvents into rows a template prints as they are:
field keys become labels, ids become names (users, clients, sessions), stored
ISO timestamps are formatted like the rest of the pages, and objects link to
their pages. The names it needs cost at most two queries (selectors), however
many events there are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.dateparse import parse_datetime
from django.utils.text import capfirst

from .. import selectors
from ..cases.states import CaseState
from ..models import (
    AuditEvent,
    Client,
    Decision,
    ReasonCode,
    SyncRunState,
    WorkflowSession,
)
from ..privacy.personal_fields import PERSONAL_AUDIT_KEYS, name_initials, value_masked

# What the services record, named for a reader (keys not listed fall back to
# the model field's verbose name, then to the key in words).
AUDIT_FIELD_LABELS = {
    "assignee_id": "Assignee",
    "assigned_at": "Assigned at",
    "last_decision": "Decision",
    "last_decision_at": "Decided at",
    "reason_code": "Reason",
    "comment": "Comment",
    "review_id": "Review",
    "client_id": "Client",
    "session_id": "Session",
    "link_source": "Linked by",
    "row_count": "Rows",
    "filename": "File",
    "groups": "Roles",
    "case_state": "Case",
    "case_state_changed_at": "Case changed at",
    "case_waiting_until": "Waiting until",
    "waiting_until": "Waiting until",
    "decision": "Decision",
    "maker_id": "Made by",
    "checker_comment": "Second reviewer's comment",
    "approval_id": "Approval",
}
# Keys that only repeat another key of the same event (the assignee's username
# beside assignee_id): shown once, as the resolved id.
AUDIT_REDUNDANT_KEYS = {"assignee": "assignee_id"}
AUDIT_USER_KEYS = {"assignee_id", "reviewer_id", "actor_id", "user_id", "maker_id"}
AUDIT_VALUE_LABELS: dict[str, dict[str, str]] = {
    "last_decision": dict(Decision.choices),
    "decision": dict(Decision.choices),
    "reason_code": dict(ReasonCode.choices),
    "state": dict(SyncRunState.choices),
    "case_state": dict(CaseState.choices),
}
AUDIT_ACTION_LABELS = {
    "session.assign": "Assigned",
    "session.unassign": "Released",
    "provider_client.link": "Identity linked",
    "provider_client.unlink": "Identity unlinked",
    "provider_connection.create": "Connection created",
    "provider_connection.update": "Connection changed",
    "admin.add": "Added in the admin",
    "admin.change": "Changed in the admin",
    "admin.delete": "Deleted in the admin",
    "admin.roles": "Roles changed",
    "admin.password": "Password changed in the admin",
    "export.sessions_csv": "Sessions exported (CSV)",
    "export.checks_csv": "Checks exported (CSV)",
    "export.sessions_csv.finished": "Sessions export finished (CSV)",
    "export.checks_csv.finished": "Checks export finished (CSV)",
    "audit_chain.verify": "Audit trail verified",
    "approval.request": "Decision submitted for approval",
    "approval.approve": "Decision approved (second reviewer)",
    "approval.send_back": "Decision sent back (second reviewer)",
    "case.reopen": "Case reopened",
    "case.resume": "Case resumed (information received)",
    "case.waiting_over": "Case back from waiting (date passed)",
    "override.record": "Outcome overridden",
    "override.withdraw": "Outcome override withdrawn",
    "override.provider_changed": "Provider changed the overridden outcome (case back to review)",
    "note.add": "Note added",
    "sessions.bulk": "Bulk work on several sessions",
    "saved_view_create": "Saved view created",
    "saved_view_rename": "Saved view renamed",
    "saved_view_delete": "Saved view deleted",
    "client.risk_tier_set": "Risk tier set by a reviewer",
    "client.risk_tier_cleared": "Reviewer's risk tier cleared (derived tier again)",
    "client.relationship_end": "Business relationship ended (retention clock started)",
    "client.legal_hold": "Legal hold placed",
    "client.legal_hold_lift": "Legal hold lifted",
    "client.erase": "Personal data erased",
    "erasure_request.erased": "Erasure request: accepted, erased",
    "erasure_request.refused": "Erasure request: refused, records must be kept",
    "provider_erasure.answered": "Provider confirmed the deletion",
    "provider_erasure.failed": "Provider deletion attempt failed (retried)",
    "provider_erasure.gave_up": "Provider deletion gave up after every retry",
    "personal_data.reveal": "Personal data revealed",
    "export.clients_csv": "Clients exported (CSV)",
    "export.clients_csv.finished": "Clients export finished (CSV)",
    "evidence.session_pdf": "Session evidence pack generated (PDF)",
    "evidence.client_pdf": "Client evidence pack generated (PDF)",
    "sync.request": "Sync requested",
    "sync.lease_release": "Sync lease released",
    "api_token.mint": "API token created",
    "api_token.revoke": "API token revoked",
    "mfa.enrolled": "Two-factor authentication set up",
    "mfa.failed": "Two-factor code refused",
    "mfa.recovery_used": "Recovery code used",
    "mfa.reset": "Two-factor authentication reset",
    "lockout.clear": "Login lockout cleared",
    "sso.roles": "Roles changed by single sign-on",
}
AUDIT_DATETIME_FORMAT = "Y-m-d H:i"


@dataclasses.dataclass(frozen=True)
class AuditValue:
    """One side of a change: its text ("" when empty) and the page it names, if any."""

    text: str
    url: str = ""


@dataclasses.dataclass(frozen=True)
class AuditChange:
    label: str
    before: AuditValue | None  # None: nothing was recorded before (a new value)
    after: AuditValue


@dataclasses.dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    action: str
    object_kind: str
    object_label: str
    object_url: str
    changes: list[AuditChange]


@dataclasses.dataclass
class _AuditNames:
    users: dict[int, str]
    clients: dict[int, str]
    sessions: dict[int, str]


def _audit_model(object_type: str) -> type[models.Model] | None:
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def _audit_field(model: type[models.Model] | None, key: str) -> models.Field | None:
    """Return the concrete field a snapshot key names (by name or column), if any."""
    if model is None:
        return None
    for field in model._meta.concrete_fields:
        if key in (field.name, field.attname):
            return field
    return None


def _relation(field: models.Field | None) -> type[models.Model] | None:
    return field.related_model if field is not None and field.is_relation else None


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _audit_sides(event: AuditEvent) -> tuple[dict[str, Any], dict[str, Any]]:
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    return before, after


def _audit_names(
    events: Iterable[AuditEvent],
    *,
    sessions: dict[int, str],
    clients: dict[int, str],
) -> _AuditNames:
    """Resolve the user and client ids the events mention: at most two queries.

    A username the event recorded itself (the assignee beside its id) is used
    first: it is the name at the time, and a deactivated officer keeps it.
    """
    user_model = get_user_model()
    users: dict[int, str] = {}
    user_ids: set[int] = set()
    client_ids: set[int] = set()
    for event in events:
        model = _audit_model(event.object_type)
        for side in _audit_sides(event):
            for key, value in side.items():
                pk, field = _as_id(value), _audit_field(model, key)
                related = _relation(field)
                if pk is None or (field is not None and related is None):
                    continue
                if key in AUDIT_USER_KEYS or related is user_model:
                    user_ids.add(pk)
                    if key == "assignee_id" and side.get("assignee"):
                        users[pk] = str(side["assignee"])
                elif key == "client_id" or related is Client:
                    client_ids.add(pk)
    if missing := user_ids - users.keys():
        users.update(selectors.audit_user_names(user_ids=missing))
    clients = dict(clients)
    if missing := client_ids - clients.keys():
        clients.update(selectors.client_names(client_ids=missing))
    return _AuditNames(users=users, clients=clients, sessions=sessions)


def _audit_label(key: str, field: models.Field | None) -> str:
    if key in AUDIT_FIELD_LABELS:
        return AUDIT_FIELD_LABELS[key]
    if field is not None:
        return capfirst(str(field.verbose_name))
    return capfirst(key.removesuffix("_id").replace("_", " "))


def _audit_moment(value: str) -> str:
    """Format an ISO date-time the services stored like the pages do, else ""."""
    if "T" not in value or len(value) < 16:
        return ""
    try:
        moment = parse_datetime(value)
    except ValueError:
        return ""
    if moment is None:
        return ""
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    return date_format(timezone.localtime(moment), AUDIT_DATETIME_FORMAT)


def _audit_value(
    key: str, value: Any, field: models.Field | None, names: _AuditNames
) -> AuditValue:
    if value is None or value == "" or value == [] or value == {}:
        return AuditValue("")
    pk, related = _as_id(value), _relation(field)
    # An id: of a relation, or of a key the services add (review_id), never a
    # plain field that merely ends in "_id" (a provider's workflow_id).
    if pk is not None and (related is not None or field is None):
        if key in AUDIT_USER_KEYS or related is get_user_model():
            return AuditValue(names.users.get(pk, f"user #{pk}"))
        if key == "client_id" or related is Client:
            return AuditValue(
                names.clients.get(pk, f"Client {pk}"),
                reverse("client-detail", args=[pk]),
            )
        if key == "session_id" or related is WorkflowSession:
            return AuditValue(
                names.sessions.get(pk, f"session #{pk}"),
                reverse("session-detail", args=[pk]),
            )
        if related is not None or key.endswith("_id"):
            return AuditValue(f"#{pk}")
    labels = AUDIT_VALUE_LABELS.get(key) or (
        {str(k): str(v) for k, v in field.flatchoices}
        if field is not None and field.choices
        else {}
    )
    if isinstance(value, str) and value in labels:
        return AuditValue(labels[value])
    if isinstance(value, bool):
        return AuditValue("Yes" if value else "No")
    if isinstance(value, str):
        return AuditValue(_audit_moment(value) or value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return AuditValue(", ".join(value))
    if isinstance(value, dict | list):
        return AuditValue(
            json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
        )
    return AuditValue(str(value))


def audit_action_label(action: str) -> str | None:
    """An audit action in words; None for one nobody labelled (its code is
    shown in words then; a test holds every action the code writes to a label)."""
    if action in AUDIT_ACTION_LABELS:
        return AUDIT_ACTION_LABELS[action]
    kind, _, detail = action.partition(".")
    if kind == "review" and detail in Decision.values:
        return f"Decision: {Decision(detail).label}"
    if kind == "sync" and detail in SyncRunState.values:
        return f"Sync {SyncRunState(detail).label.lower()}"
    return None


def _audit_action(action: str) -> str:
    label = audit_action_label(action)
    return label or capfirst(action.replace(".", " ").replace("_", " "))


def _audit_object(event: AuditEvent, names: _AuditNames) -> tuple[str, str, str]:
    """Return (kind, label, url) of the object an event changed."""
    model = _audit_model(event.object_type)
    kind = capfirst(str(model._meta.verbose_name)) if model else event.object_type
    pk = _as_id(event.object_id)
    label = event.object_repr or event.object_id
    url = ""
    if model is WorkflowSession and pk is not None:
        # A session's repr is "<connection id>:<external id>"; show the id officers know.
        label = names.sessions.get(pk) or label.partition(":")[2] or label
        url = reverse("session-detail", args=[pk])
    elif model is Client and pk is not None:
        label = names.clients.get(pk, label)
        url = reverse("client-detail", args=[pk])
    elif model is not None and model._meta.model_name == "providerclient":
        url = (
            reverse("client-detail", args=[event.client_id]) if event.client_id else ""
        )
    elif model is not None and model._meta.model_name == "syncrun":
        url = reverse("sync-status")
    return kind, label, url


def _masked_side(side: dict[str, Any], key: str) -> dict[str, Any]:
    if key not in side:
        return side
    value = side[key]
    shown = (
        name_initials(value)
        if isinstance(value, str) and key != "raw_payload"
        else value_masked(value)
    )
    return {**side, key: shown}


def _unlinked(value: AuditValue, current_url: str) -> AuditValue:
    # No link from a page to itself.
    return AuditValue(value.text) if value.url and value.url == current_url else value


def audit_rows(
    events: list[AuditEvent],
    *,
    current_url: str = "",
    sessions: dict[int, str] | None = None,
    clients: dict[int, str] | None = None,
    mask: bool = False,
) -> list[AuditRow]:
    """Turn audit events into rows an officer can read, before rendering.

    Field keys become labels, ids become names (users, clients, sessions),
    stored ISO timestamps are formatted like the rest of the pages, and the
    object links to its page unless that is `current_url`. `sessions` and
    `clients` are names the caller already holds (no query for those); the
    rest cost at most two queries however many events there are. `mask`:
    client names as initials, personal values (PERSONAL_AUDIT_KEYS) masked.
    """
    names = _audit_names(events, sessions=sessions or {}, clients=clients or {})
    if mask:
        names.clients = {pk: name_initials(n) or n for pk, n in names.clients.items()}
    rows = []
    for event in events:
        before, after = _audit_sides(event)
        model = _audit_model(event.object_type)
        keys = [k for k in after if k in before or after[k] not in (None, "")]
        keys += [k for k in before if k not in after]
        changes = []
        for key in keys:
            if AUDIT_REDUNDANT_KEYS.get(key) in keys:
                continue
            field = _audit_field(model, key)
            if mask and key in PERSONAL_AUDIT_KEYS:
                before, after = _masked_side(before, key), _masked_side(after, key)
            old, new = (
                _unlinked(_audit_value(key, side.get(key), field, names), current_url)
                for side in (before, after)
            )
            changes.append(
                AuditChange(
                    label=_audit_label(key, field),
                    # An empty "before" is not worth a strike-through: it was set.
                    before=old if key in before and old.text else None,
                    after=new,
                )
            )
        kind, label, url = _audit_object(event, names)
        if mask and model is Client:
            pk = _as_id(event.object_id)
            label = names.clients.get(pk or 0) or name_initials(label)
        elif mask and model is not None and model._meta.model_name == "providerclient":
            label = name_initials(label)
        rows.append(
            AuditRow(
                event=event,
                action=_audit_action(event.action),
                object_kind=kind,
                object_label=label,
                object_url="" if url == current_url else url,
                changes=changes,
            )
        )
    return rows
