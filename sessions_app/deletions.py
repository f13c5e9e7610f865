"""Deleting an object with everything it takes along, audited (issue 20: a
session's checks, policies and tags removed by cascade are recorded, not lost).

Split from `services.py`, which re-exports these names.
"""

from __future__ import annotations

from typing import Any

from django.db import models, router, transaction
from django.db.models.deletion import Collector

from .models import AuditEvent, Client
from .privacy.audit_personal import audit_object_label
from .services import audit_event_record, client_for_object, model_snapshot

# How many ids of each kind of row a deletion's audit event lists (the count is
# always kept): a connection's runs can number in the hundred thousands.
AUDITED_CASCADE_IDS = 500


def _ids_and_count(rows: Any) -> dict[str, Any]:
    """{"count", "ids"} of a queryset or a collection of instances."""
    if isinstance(rows, models.QuerySet):
        ids = list(
            rows.order_by("pk").values_list("pk", flat=True)[:AUDITED_CASCADE_IDS]
        )
        count = len(ids) if len(ids) < AUDITED_CASCADE_IDS else rows.count()
        return {"count": count, "ids": ids}
    ids = sorted(row.pk for row in rows)
    return {"count": len(ids), "ids": ids[:AUDITED_CASCADE_IDS]}


def _merge_counts(into: dict[str, Any], key: str, found: dict[str, Any]) -> None:
    if not found["count"]:
        return
    known = into.setdefault(key, {"count": 0, "ids": []})
    known["count"] += found["count"]
    known["ids"] = sorted({*known["ids"], *found["ids"]})[:AUDITED_CASCADE_IDS]


def deletion_cascade(obj: models.Model) -> dict[str, Any]:
    """What deleting `obj` takes with it, read before the delete by Django's
    own collector (the rows `delete()` will remove, so nothing is guessed):

    - `deleted`: model -> {count, ids} of the rows removed by CASCADE;
    - `detached`: many-to-many field -> the names of what `obj` was linked to
      (a session's tags: the links go, the tags stay);
    - `unlinked`: model.field -> {count, ids} of the rows SET_NULL clears.

    Empty when nothing else changes.
    """
    collector = Collector(using=router.db_for_write(type(obj)))
    collector.collect([obj])
    deleted: dict[str, Any] = {}
    for model, instances in collector.data.items():
        others = [row for row in instances if not (row is obj or row == obj)]
        _merge_counts(deleted, model._meta.label_lower, _ids_and_count(others))
    for rows in collector.fast_deletes:
        if rows.model._meta.auto_created:  # a many-to-many link: said by name
            continue
        _merge_counts(deleted, rows.model._meta.label_lower, _ids_and_count(rows))
    unlinked: dict[str, Any] = {}
    for (field, _value), batches in collector.field_updates.items():
        key = f"{field.model._meta.label_lower}.{field.name}"
        for rows in batches:
            _merge_counts(unlinked, key, _ids_and_count(rows))
    detached = {
        field.name: sorted(str(item) for item in getattr(obj, field.name).all())
        for field in obj._meta.many_to_many
    }
    cascade = {
        "deleted": deleted,
        "detached": {name: names for name, names in detached.items() if names},
        "unlinked": unlinked,
    }
    return {key: value for key, value in cascade.items() if value}


@transaction.atomic
def object_delete_audited(
    *, obj: models.Model, actor: Any, source: str, action: str
) -> AuditEvent:
    """Delete `obj` and record it, with every row its deletion takes along
    (`deletion_cascade`, under `cascade` in the event's `before`)."""
    before = model_snapshot(obj)
    cascade = deletion_cascade(obj)
    if cascade:
        before["cascade"] = cascade
    client = None if isinstance(obj, Client) else client_for_object(obj)
    object_id, label, text = str(obj.pk), obj._meta.label_lower, audit_object_label(obj)
    obj.delete()
    return audit_event_record(
        actor=actor,
        source=source,
        action=action,
        object_type=label,
        object_id=object_id,
        object_repr=text,
        client=client,
        before=before,
    )
