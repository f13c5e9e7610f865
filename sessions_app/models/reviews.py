"""Decisions officers record on sessions."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from ..vocabulary import Decision, ReasonCode
from .sessions import WorkflowSession


class Review(models.Model):
    """A decision recorded by an officer on a session. Append-only."""

    session = models.ForeignKey(
        WorkflowSession, on_delete=models.CASCADE, related_name="reviews"
    )
    decision = models.CharField(max_length=30, choices=Decision.choices)
    reason_code = models.CharField(max_length=50, choices=ReasonCode.choices)
    comment = models.TextField(blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The session's provider_created_at, copied when the decision is written:
    # the start of its time to decision (the overview's team view reads it
    # beside created_at, in one index, without joining the sessions).
    session_created_at = models.DateTimeField(null=True, blank=True)
    # The session's due time when the decision was made (its maker's, under
    # four-eyes): "decided late" is created_at > due_at (cases/sla.py).
    due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("decide_session", "Can record review decisions"),
            ("assign_session", "Can assign sessions to officers"),
            ("export_sessions", "Can export CSV"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decision__in=Decision.values),
                name="review_decision_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(reason_code__in=ReasonCode.values),
                name="review_reason_code_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["session", "-created_at"], name="review_session_created"
            ),
            # The overview's team view: the last weeks' decisions, an index
            # range (it holds every column the view reads).
            models.Index(
                fields=["created_at", "reviewer", "session_created_at", "due_at"],
                name="review_created_team_due",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_decision_display()} by {self.reviewer_id} on {self.session_id}"
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._state.adding and self.session_created_at is None:
            # No query when the caller passes the session (the services do);
            # the field's own comment says why it is copied.
            self.session_created_at = self.session.provider_created_at
        super().save(*args, **kwargs)
