"""The audit trail: who did what to which object, before and after.

The trail is append-only and hash-chained (`privacy/audit_chain.py`): each
event carries its place in the chain (`sequence`), the previous event's hash
and its own SHA-256 over its canonical content. `AuditChainHead` is the one
row every append locks (it serialises writers and remembers the tail);
`AuditChainVerification` records each walk of the chain for the /sync/ page.
On PostgreSQL a trigger refuses UPDATE and DELETE of events (migration 0013).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .clients import Client

# The previous hash of the first event (no event before it).
CHAIN_GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    """Who did what to which object, before and after. Written by every service."""

    # The actor and the client are kept as plain ids, without a database
    # constraint and never changed afterwards: an event is never updated (its
    # hash covers both ids), so deleting a user or a client leaves the id in
    # place; `actor_label` keeps the name at the time.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    # The actor's name at the time, or the system component ("sync", "webhook").
    actor_label = models.CharField(max_length=150)
    source = models.CharField(max_length=20)  # web, api, admin, sync, command, webhook
    action = models.CharField(max_length=50)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=255, blank=True)
    # The client the change concerns, so a client's history is one index range.
    client = models.ForeignKey(
        Client,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    # Set in Python before the hash is computed (not auto_now_add, which would
    # overwrite it at save time).
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The chain: 1, 2, 3, ... without gaps; the previous event's hash; this
    # event's hash over its canonical content (privacy/audit_chain.py).
    sequence = models.PositiveBigIntegerField(unique=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["object_type", "object_id", "-created_at"], name="audit_object"
            ),
            models.Index(fields=["client", "-created_at"], name="audit_client"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.object_type}#{self.object_id}"


class AuditChainHead(models.Model):
    """The chain's tail, in one row (pk 1): the last sequence and hash.

    Every append updates it first, in the writing transaction: the row lock
    (PostgreSQL) or the write lock (SQLite) serialises appends, and the tail
    is read by primary key, whatever the number of events.
    """

    sequence = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=CHAIN_GENESIS_HASH)

    def __str__(self) -> str:
        return f"audit chain head #{self.sequence}"


class AuditChainVerification(models.Model):
    """One walk of the audit chain (`manage.py audit_verify`) and its finding."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    intact = models.BooleanField()
    events_checked = models.PositiveBigIntegerField(default=0)
    # The tail the walk reached (the anchor the next walk checks again).
    last_sequence = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True)
    # Where the chain first breaks, if it does.
    break_sequence = models.PositiveBigIntegerField(null=True, blank=True)
    break_event_id = models.BigIntegerField(null=True, blank=True)
    break_kind = models.CharField(max_length=20, blank=True)
    break_detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-finished_at", "-id"]
        get_latest_by = ["finished_at", "id"]

    def __str__(self) -> str:
        return (
            f"audit chain {'intact' if self.intact else 'broken'} at {self.finished_at}"
        )
