"""A reviewer's reveal of masked personal data: server-side, per user and
object, for a short time (docs/data-protection.md).

Kept in the database, never in a cookie the user could forge; each row is
written together with its `personal_data.reveal` audit event. The two
permissions on it are the roles' (sessions_app/roles.py): who may reveal,
and who may export personal data unmasked.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PersonalDataReveal(models.Model):
    SESSION, CLIENT = "session", "client"
    OBJECT_TYPES = ((SESSION, "Session"), (CLIENT, "Client"))

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="personal_data_reveals",
    )
    object_type = models.CharField(max_length=10, choices=OBJECT_TYPES)
    object_id = models.PositiveBigIntegerField()
    reason = models.TextField()
    source = models.CharField(max_length=20)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("reveal_personal_data", "Can reveal masked personal data (audited)"),
            ("export_personal_data", "Can export personal data unmasked"),
        ]
        indexes = [
            models.Index(
                fields=["user", "object_type", "object_id", "-expires_at"],
                name="reveal_user_object_expires",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(object_type__in=("session", "client")),
                name="reveal_object_type_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.object_id} revealed to user {self.user_id}"
