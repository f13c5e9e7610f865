"""Approval: a maker's decision waiting for (or settled by) a second reviewer;
OutcomeOverride: a reviewer's outcome layered on the provider's (overrides.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ..models.reviews import Review
from ..models.sessions import WorkflowSession
from ..vocabulary import Outcome, ReasonCode
from .rules import RULE_DECISION_CHOICES, RULE_DECISIONS

# The outcomes an override may set: never "none yet".
OVERRIDE_TARGETS = (Outcome.CLEAR, Outcome.ATTENTION, Outcome.REJECTED)
OVERRIDE_TARGET_CHOICES = [(o.value, o.label) for o in OVERRIDE_TARGETS]


class ApprovalResult(models.TextChoices):
    PENDING = "", "Pending"
    APPROVED = "approved", "Approved"
    SENT_BACK = "sent_back", "Sent back"


class Approval(models.Model):
    """One four-eyes request: the maker's decision, reason and comment, and
    the checker's answer. Written only by `cases.services` and
    `cases.overrides` (audited); the checker's answer only by
    `cases.approval_settle`. A session has at most one pending approval (a
    constraint holds it).

    `decision` is a Decision value, or "override" (an outcome override,
    `override_outcome` the outcome asked for; overrides.py). When approved,
    `review` is the Review the decision became (reviewer: the maker); an
    approved override became the OutcomeOverride `outcome_override` instead.
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
    # An override request carries the outcome it asks for ("" otherwise).
    override_outcome = models.CharField(
        max_length=20, choices=Outcome.choices, blank=True, default=""
    )
    # An override request keeps the case's state (and waiting date) when it
    # was asked for: an override is no decision, so when it is approved or
    # sent back an escalated or waiting case returns to that, not to work.
    prior_case_state = models.CharField(max_length=20, blank=True, default="")
    prior_waiting_until = models.DateTimeField(null=True, blank=True)
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
            # Which decisions carry one is the override service's to say.
            models.CheckConstraint(
                condition=models.Q(override_outcome__in=Outcome.values),
                name="approval_override_outcome_valid",
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


class OverrideState(models.TextChoices):
    ACTIVE = "active", "Active"
    SUPERSEDED = "superseded", "Superseded"
    WITHDRAWN = "withdrawn", "Withdrawn"


class OutcomeOverride(models.Model):
    """A session's outcome as Verity's reviewers set it, layered on the
    provider's: the mirrored `WorkflowSession.outcome` is never edited, and
    the sync never writes this table. Written only by `cases/overrides.py`
    and `cases/override_effect.py` (audited). A session has at most one
    active override (a constraint holds it); a newer one supersedes it, a
    reviewer may withdraw it.

    `provider_outcome` is the provider's outcome when the override took
    effect; `provider_outcome_now` the provider's latest as the sync saw it:
    when they differ the provider changed its mind after the override
    (`provider_changed_at`), and the case went back to review.
    """

    session = models.ForeignKey(
        WorkflowSession, on_delete=models.CASCADE, related_name="outcome_overrides"
    )
    outcome = models.CharField(max_length=20, choices=OVERRIDE_TARGET_CHOICES)
    provider_outcome = models.CharField(
        max_length=20, choices=Outcome.choices, blank=True
    )
    provider_outcome_now = models.CharField(
        max_length=20, choices=Outcome.choices, blank=True
    )
    provider_changed_at = models.DateTimeField(null=True, blank=True)
    reason_code = models.CharField(max_length=50, choices=ReasonCode.choices)
    comment = models.TextField(blank=True)
    maker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    # The four-eyes approval that made it effective (none when no rule asked
    # for a second reviewer), and its checker.
    approval = models.OneToOneField(
        Approval,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outcome_override",
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    effective_at = models.DateTimeField()
    state = models.CharField(
        max_length=20, choices=OverrideState.choices, default=OverrideState.ACTIVE
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    end_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-effective_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(outcome__in=OVERRIDE_TARGETS),
                name="override_outcome_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(provider_outcome__in=Outcome.values)
                & models.Q(provider_outcome_now__in=Outcome.values),
                name="override_provider_outcome_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(reason_code__in=ReasonCode.values),
                name="override_reason_code_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=OverrideState.values),
                name="override_state_valid",
            ),
            # Nobody approves their own override, whatever wrote the row.
            models.CheckConstraint(
                condition=~models.Q(approver=models.F("maker")),
                name="override_approver_not_maker",
            ),
            # One active override per session; its index is also what the
            # queue's per-row probe and the sync's check read.
            models.UniqueConstraint(
                fields=["session"],
                condition=models.Q(state=OverrideState.ACTIVE),
                name="override_one_active_per_session",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} on {self.session_id} by {self.maker_id}"

    @property
    def active(self) -> bool:
        return self.state == OverrideState.ACTIVE

    @property
    def provider_changed(self) -> bool:
        return self.provider_outcome_now != self.provider_outcome

    def summary(self) -> str:
        """“Rejected — override by A, approved by B (provider: clear)”: the
        words every page shows for it (maker and approver selected with it)."""
        words = (
            f"{self.get_outcome_display()} — override by {self.maker.get_username()}"
        )
        if self.approver_id is not None:
            words += f", approved by {self.approver.get_username()}"
        return f"{words} (provider: {outcome_words(self.provider_outcome)})"

    def provider_change_words(self) -> str:
        """“Provider changed clear → rejected after the override” ("" if not)."""
        if not self.provider_changed:
            return ""
        return (
            f"Provider changed {outcome_words(self.provider_outcome)} → "
            f"{outcome_words(self.provider_outcome_now)} after the override"
        )


def outcome_words(outcome: str) -> str:
    """An outcome in running text: "clear", "none yet"."""
    return Outcome(outcome).label.lower()
