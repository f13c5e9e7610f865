"""Decisions officers record on sessions."""

from __future__ import annotations

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
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_decision_display()} by {self.reviewer_id} on {self.session_id}"
        )
