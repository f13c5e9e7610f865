"""The audit trail: who did what to which object, before and after."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .clients import Client


class AuditEvent(models.Model):
    """Who did what to which object, before and after. Written by every service."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
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
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

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
