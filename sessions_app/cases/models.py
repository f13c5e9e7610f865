"""Approval: a maker's decision waiting for (or settled by) a second reviewer."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ..models.reviews import Review
from ..models.sessions import WorkflowSession
from ..vocabulary import ReasonCode
from .rules import RULE_DECISION_CHOICES, RULE_DECISIONS


class ApprovalResult(models.TextChoices):
    PENDING = "", "Pending"
    APPROVED = "approved", "Approved"
    SENT_BACK = "sent_back", "Sent back"


class Approval(models.Model):
    """One four-eyes request: the maker's decision, reason and comment, and
    the checker's answer. Written only by `cases.services` (audited); a
    session has at most one pending approval (a constraint holds it).

    `decision` is a Decision value, or "override" (the outcome overrides to
    come, cases/rules.py). When approved, `review` is the Review the decision
    became (reviewer: the maker).
    """

    session = models.ForeignKey(
        WorkflowSession, on_delete=models.CASCADE, related_name="approvals"
    )
    maker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=30, choices=RULE_DECISION_CHOICES)
    reason_code = models.CharField(max_length=50, choices=ReasonCode.choices)
    comment = models.TextField(blank=True)
    # A request for information carries the date the case comes back.
    waiting_until = models.DateTimeField(null=True, blank=True)
    made_at = models.DateTimeField()
    # The session's due time when the maker decided: the Review it becomes
    # keeps it (`Review.due_at`), so lateness is the maker's, not the checker's.
    due_at = models.DateTimeField(null=True, blank=True)
    checker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(
        max_length=20, choices=ApprovalResult.choices, blank=True, default=""
    )
    checker_comment = models.TextField(blank=True)
    review = models.OneToOneField(
        Review,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="approval",
    )

    class Meta:
        ordering = ["-made_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decision__in=RULE_DECISIONS),
                name="approval_decision_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(reason_code__in=ReasonCode.values),
                name="approval_reason_code_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(result__in=ApprovalResult.values),
                name="approval_result_valid",
            ),
            # Nobody approves their own decision, whatever wrote the row.
            models.CheckConstraint(
                condition=~models.Q(checker=models.F("maker")),
                name="approval_checker_not_maker",
            ),
            models.UniqueConstraint(
                fields=["session"],
                condition=models.Q(result=""),
                name="approval_one_pending_per_session",
            ),
        ]
        indexes = [
            models.Index(fields=["session", "-made_at"], name="approval_session_made"),
            # The pending approvals (the "awaiting my approval" filter probes
            # it per queue row).
            models.Index(
                fields=["session", "maker"],
                condition=models.Q(result=""),
                name="approval_pending_maker",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision} on {self.session_id} by {self.maker_id}"

    @property
    def pending(self) -> bool:
        return self.result == ApprovalResult.PENDING


# Longest note, in characters after stripping (a paragraph or two; longer
# findings belong in the decision's comment or a document).
NOTE_MAX_LENGTH = 2000


class Note(models.Model):
    """One plain-text note on a session or on a client (exactly one of the
    two). Append-only: written only by `cases.notes.note_add` (audited in the
    same transaction), never edited; a correction is a new note. Rendered as
    text, never as HTML."""

    session = models.ForeignKey(
        WorkflowSession,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notes",
    )
    client = models.ForeignKey(
        "sessions_app.Client",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notes",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    text = models.TextField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(session__isnull=False, client__isnull=True)
                    | models.Q(session__isnull=True, client__isnull=False)
                ),
                name="note_on_session_or_client",
            ),
            models.CheckConstraint(
                condition=~models.Q(text=""), name="note_text_not_blank"
            ),
        ]
        indexes = [
            models.Index(
                fields=["session", "-created_at", "-id"],
                condition=models.Q(session__isnull=False),
                name="note_session_created",
            ),
            models.Index(
                fields=["client", "-created_at", "-id"],
                condition=models.Q(client__isnull=False),
                name="note_client_created",
            ),
        ]

    def __str__(self) -> str:
        where = (
            f"session {self.session_id}"
            if self.session_id
            else f"client {self.client_id}"
        )
        return f"note on {where} by {self.author_id}"
