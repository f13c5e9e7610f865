"""Helpers for the audit chain tests: write events, tamper with them as someone
with database access would (on PostgreSQL past the append-only trigger)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.db import connection

from sessions_app.models import AuditEvent
from sessions_app.services import audit_event_record

TABLE = AuditEvent._meta.db_table
TRIGGER = "verity_audit_event_append_only"


def events_write(count: int, **fields: Any) -> list[AuditEvent]:
    """Write `count` system events through the service; return them in order."""
    return [
        audit_event_record(
            actor=None,
            source=fields.get("source", "command"),
            action=fields.get("action", "test.event"),
            object_type="tests.thing",
            object_id=str(index),
            after={"index": index, **fields.get("after", {})},
        )
        for index in range(count)
    ]


@contextlib.contextmanager
def trigger_bypassed() -> Iterator[None]:
    """On PostgreSQL, lift the append-only trigger for the block (as the table's
    owner could); elsewhere there is none."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TRIGGER}")


def tamper(sql: str, params: list[Any] | None = None) -> None:
    """Run raw SQL against the audit table, past the trigger."""
    with trigger_bypassed(), connection.cursor() as cursor:
        cursor.execute(sql.format(table=TABLE), params or [])
