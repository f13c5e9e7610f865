"""Verity's domain: provider sessions mirrored locally, and the reviews made on them.

Integrity lives in the database: `(connection, external_id)` is unique for every
mirrored object and is the upsert key of the sync, and every choices column has a
CheckConstraint holding it to its vocabulary. Normalised `status`/`outcome`
always sit beside the provider's raw word (see `normalization.py`).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

ENV_VAR_NAME = RegexValidator(
    r"^[A-Z_][A-Z0-9_]*$",
    "Name of an environment variable (upper case letters, digits and underscores).",
)


class ProviderKind(models.TextChoices):
    ONFIDO = "onfido", "Onfido"
    COMPLYCUBE = "complycube", "ComplyCube"
    ICA = "ica", "Illumina ICA"


class Status(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    AWAITING_INPUT = "awaiting_input", "Awaiting input"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    ABANDONED = "abandoned", "Abandoned"
    CANCELLED = "cancelled", "Cancelled"
    UNKNOWN = "unknown", "Unknown"


# Statuses after which a provider is not expected to change the session again
# (monitoring may still reopen one; the periodic full sync catches that).
FINAL_STATUSES = frozenset(
    {Status.COMPLETED, Status.FAILED, Status.ABANDONED, Status.CANCELLED}
)


class Outcome(models.TextChoices):
    NONE = "", "None yet"
    CLEAR = "clear", "Clear"
    ATTENTION = "attention", "Attention"
    REJECTED = "rejected", "Rejected"


# "Needs attention": an officer has something to decide or to chase.
#   * the provider's outcome is attention or rejected and nobody has recorded a
#     decision on it yet, or
#   * it is stuck or broken whatever its outcome: awaiting input, failed, or in
#     a status Verity does not recognise (the raw word is on the sync page).
# One definition: the overview count, the queue's quick filter, the API and CSV
# `needs_attention` filter and the partial index below all use it.
NEEDS_ATTENTION_OUTCOMES = (Outcome.ATTENTION, Outcome.REJECTED)
NEEDS_ATTENTION_STATUSES = (Status.AWAITING_INPUT, Status.FAILED, Status.UNKNOWN)


def needs_attention_q() -> models.Q:
    """Return the condition selecting sessions that need attention (see above)."""
    return models.Q(outcome__in=NEEDS_ATTENTION_OUTCOMES, last_decision="") | models.Q(
        status__in=NEEDS_ATTENTION_STATUSES
    )


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ProviderConnection(TimeStampedModel):
    """One configured account at a provider. Secrets stay in the environment."""

    slug = models.SlugField(max_length=50, unique=True)
    kind = models.CharField(max_length=20, choices=ProviderKind.choices)
    display_name = models.CharField(max_length=100)
    base_url = models.URLField(max_length=500)
    credential_env = models.CharField(
        "credential environment variable",
        max_length=100,
        validators=[ENV_VAR_NAME],
        help_text="Name of the environment variable holding the API token or key.",
    )
    webhook_secret_env = models.CharField(
        "webhook secret environment variable",
        max_length=100,
        blank=True,
        validators=[ENV_VAR_NAME],
        help_text="Name of the environment variable holding the webhook secret(s), "
        "comma-separated to allow rotation.",
    )
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text='Provider options, e.g. {"region": "eu"} or {"project_ids": ["…"]}.',
    )
    rate_limit_per_second = models.FloatField(
        default=5.0,
        validators=[MinValueValidator(0.01)],
        help_text="Most requests per second this connection may send.",
    )
    enabled = models.BooleanField(default=True)
    sync_interval_seconds = models.PositiveIntegerField(
        default=300,
        validators=[MinValueValidator(15)],
        help_text="How often the periodic sync runs for this connection.",
    )
    # Where the incremental sync resumes; advanced only after the batch that
    # reached it has committed.
    sync_cursor = models.JSONField(default=dict, blank=True)
    last_sync_started_at = models.DateTimeField(null=True, blank=True)
    last_sync_finished_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    # A lease, taken by an atomic conditional UPDATE, so that overlapping beat
    # ticks or several workers never sync one connection at once.
    lock_token = models.CharField(max_length=64, blank=True, editable=False)
    lock_expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ProviderKind.values),
                name="provider_connection_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.slug


class Client(TimeStampedModel):
    """The person or company under review, across all providers."""

    display_name = models.CharField(max_length=255, blank=True)
    # The shared key (Onfido customer_user_id, ComplyCube externalId) that joins
    # provider clients automatically.
    reference = models.CharField(max_length=255, blank=True, db_index=True)

    class Meta:
        ordering = ["display_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reference"],
                condition=~models.Q(reference=""),
                name="client_reference_unique_when_set",
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.reference or f"Client {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("client-detail", args=[self.pk])


class ClientLinkSource(models.TextChoices):
    AUTOMATIC = "automatic", "Automatic (external reference)"
    MANUAL = "manual", "Manual"


class ProviderClient(TimeStampedModel):
    """A client as one provider knows it (applicant, client, ICA project)."""

    connection = models.ForeignKey(
        ProviderConnection, on_delete=models.PROTECT, related_name="provider_clients"
    )
    external_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255, blank=True)
    external_reference = models.CharField(max_length=255, blank=True, db_index=True)
    client = models.ForeignKey(
        Client,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="provider_clients",
    )
    link_source = models.CharField(
        max_length=20,
        choices=ClientLinkSource.choices,
        default=ClientLinkSource.AUTOMATIC,
    )
    raw_payload = models.JSONField(default=dict, blank=True)
    payload_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["connection", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "external_id"],
                name="provider_client_unique_external_id",
            ),
            models.CheckConstraint(
                condition=models.Q(link_source__in=ClientLinkSource.values),
                name="provider_client_link_source_valid",
            ),
        ]
        indexes = [models.Index(Lower("name"), name="provider_client_name_lower")]

    def __str__(self) -> str:
        return self.name or self.external_id


class TagKind(models.TextChoices):
    USER = "user", "User"
    TECHNICAL = "technical", "Technical"


class Tag(models.Model):
    name = models.CharField(max_length=255)
    kind = models.CharField(
        max_length=20, choices=TagKind.choices, default=TagKind.USER
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "kind"], name="tag_unique_name_kind"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=TagKind.values), name="tag_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name if self.kind == TagKind.USER else f"{self.name} ({self.kind})"


class WorkflowSession(models.Model):
    """One provider workflow session (Onfido workflow run, ComplyCube/ICA session)."""

    connection = models.ForeignKey(
        ProviderConnection, on_delete=models.PROTECT, related_name="sessions"
    )
    external_id = models.CharField(max_length=255)
    provider_client = models.ForeignKey(
        ProviderClient,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sessions",
    )
    workflow_id = models.CharField(max_length=255, blank=True, db_index=True)
    workflow_name = models.CharField(max_length=255, blank=True)
    workflow_version = models.CharField(max_length=50, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.UNKNOWN
    )
    raw_status = models.CharField(max_length=100, blank=True)
    outcome = models.CharField(
        max_length=20, choices=Outcome.choices, blank=True, default=""
    )
    raw_outcome = models.CharField(max_length=100, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    summary = models.TextField(blank=True)
    error = models.TextField(blank=True)
    dashboard_url = models.URLField(max_length=1000, blank=True)
    # Never null: they are sort keys of the review queue's keyset pagination. The
    # sync falls back to the time it first saw the session when a provider omits them.
    provider_created_at = models.DateTimeField(default=timezone.now)
    provider_updated_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="sessions")
    raw_payload = models.JSONField(default=dict, blank=True)
    payload_hash = models.CharField(max_length=64, blank=True)
    # The provider's own change marker for the list summary (Onfido `updated_at`,
    # ComplyCube `updatedAt`, a hash of ICA's search item). When it is unchanged
    # the sync skips the per-session detail calls.
    source_version = models.CharField(max_length=100, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # Review state, written only by the review services (audited).
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_sessions",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    last_decision = models.CharField(max_length=30, blank=True)
    last_decision_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-provider_created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "external_id"], name="session_unique_external_id"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=Status.values),
                name="session_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(outcome__in=Outcome.values),
                name="session_outcome_valid",
            ),
        ]
        # The review queue sorts by (created, id) and filters on these columns;
        # each index ends with the sort key so a filtered page is an index range.
        indexes = [
            models.Index(
                fields=["-provider_created_at", "-id"], name="session_created_desc"
            ),
            models.Index(
                fields=["status", "-provider_created_at", "-id"],
                name="session_status_created",
            ),
            models.Index(
                fields=["outcome", "-provider_created_at", "-id"],
                name="session_outcome_created",
            ),
            models.Index(
                fields=["connection", "-provider_created_at", "-id"],
                name="session_conn_created",
            ),
            models.Index(
                fields=["assignee", "-provider_created_at", "-id"],
                name="session_assignee_created",
            ),
            models.Index(
                fields=["-provider_updated_at", "-id"], name="session_updated_desc"
            ),
            models.Index(fields=["provider_client"], name="session_provider_client"),
            # The overview: what needs attention and how old it is, and the
            # needs-attention queue in its default order (a fifth of the rows).
            models.Index(
                fields=["-provider_created_at", "-id"],
                condition=needs_attention_q(),
                name="session_attention_created",
            ),
            # The overview's "completed per day" chart.
            models.Index(
                fields=["completed_at"],
                condition=models.Q(completed_at__isnull=False),
                name="session_completed_at",
            ),
            # The overview's breakdown by provider, status and outcome: one
            # index-only scan instead of reading every row.
            models.Index(
                fields=["connection", "status", "outcome"],
                name="session_conn_status_outcome",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.connection_id}:{self.external_id}"

    def get_absolute_url(self) -> str:
        return reverse("session-detail", args=[self.pk])


class Check(models.Model):
    """A verification inside a session (report, check, ICA analysis)."""

    connection = models.ForeignKey(
        ProviderConnection, on_delete=models.PROTECT, related_name="checks"
    )
    session = models.ForeignKey(
        WorkflowSession, on_delete=models.CASCADE, related_name="checks"
    )
    external_id = models.CharField(max_length=255)
    check_type = models.CharField(max_length=100, blank=True, db_index=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.UNKNOWN
    )
    raw_status = models.CharField(max_length=100, blank=True)
    outcome = models.CharField(
        max_length=20, choices=Outcome.choices, blank=True, default=""
    )
    raw_outcome = models.CharField(max_length=100, blank=True)
    task_id = models.CharField(max_length=255, blank=True)
    breakdown = models.JSONField(default=dict, blank=True)
    provider_created_at = models.DateTimeField(null=True, blank=True)
    provider_updated_at = models.DateTimeField(null=True, blank=True)
    raw_payload = models.JSONField(default=dict, blank=True)
    payload_hash = models.CharField(max_length=64, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "provider_created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "external_id"], name="check_unique_external_id"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=Status.values), name="check_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(outcome__in=Outcome.values),
                name="check_outcome_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["session", "provider_created_at"], name="check_session_created"
            ),
            models.Index(fields=["outcome", "-id"], name="check_outcome_id"),
        ]

    def __str__(self) -> str:
        return f"{self.check_type or 'check'} {self.external_id}"


class PolicyAssurance(models.Model):
    """A compliance policy evaluated on a session (ComplyCube `policyAssurance`)."""

    session = models.ForeignKey(
        WorkflowSession, on_delete=models.CASCADE, related_name="policy_assurances"
    )
    policy_id = models.CharField(max_length=255, blank=True)
    policy_name = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(
        max_length=20, choices=Outcome.choices, blank=True, default=""
    )
    raw_outcome = models.CharField(max_length=100, blank=True)
    details = models.JSONField(default=dict, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["session", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "position"], name="policy_assurance_unique_position"
            ),
            models.CheckConstraint(
                condition=models.Q(outcome__in=Outcome.values),
                name="policy_assurance_outcome_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.policy_name or self.policy_id or f"Policy {self.position}"


class SyncRunState(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partial (resumes next run)"
    FAILED = "failed", "Failed"
    RATE_LIMITED = "rate_limited", "Rate limited (rescheduled)"
    SKIPPED = "skipped", "Skipped (already running)"


class SyncTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    MANUAL = "manual", "Manual"
    FULL = "full", "Full re-sync"
    WEBHOOK = "webhook", "Webhook"


class SyncRun(models.Model):
    connection = models.ForeignKey(
        ProviderConnection, on_delete=models.CASCADE, related_name="sync_runs"
    )
    trigger = models.CharField(
        max_length=20, choices=SyncTrigger.choices, default=SyncTrigger.SCHEDULE
    )
    state = models.CharField(
        max_length=20, choices=SyncRunState.choices, default=SyncRunState.RUNNING
    )
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seen = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    quarantined = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    cursor_before = models.JSONField(default=dict, blank=True)
    cursor_after = models.JSONField(default=dict, blank=True)
    # Raw provider values that normalised to `unknown`, with how often: {"raw": n}.
    unknown_values = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(trigger__in=SyncTrigger.values),
                name="syncrun_trigger_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=SyncRunState.values),
                name="syncrun_state_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["connection", "-started_at"], name="syncrun_conn_started"
            )
        ]

    def __str__(self) -> str:
        return f"{self.connection_id} {self.started_at:%Y-%m-%d %H:%M} {self.state}"


class QuarantinedRecord(models.Model):
    """Something a provider sent that could not be understood, kept verbatim."""

    connection = models.ForeignKey(
        ProviderConnection, on_delete=models.CASCADE, related_name="quarantined_records"
    )
    sync_run = models.ForeignKey(
        SyncRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="quarantined_records",
    )
    record_type = models.CharField(max_length=50)
    external_id = models.CharField(max_length=255, blank=True)
    reason = models.TextField()
    raw = models.TextField(help_text="The record exactly as received.")
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["connection", "-created_at"], name="quarantine_conn_created"
            )
        ]

    def __str__(self) -> str:
        return f"{self.record_type} {self.external_id or '?'}: {self.reason[:60]}"


class WebhookDelivery(models.Model):
    """A signed webhook received from a provider (forged ones are never stored)."""

    connection = models.ForeignKey(
        ProviderConnection, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    delivery_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100, blank=True)
    resource_id = models.CharField(max_length=255, blank=True)
    signature_valid = models.BooleanField(default=True)
    body = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "delivery_id"], name="webhook_unique_delivery"
            )
        ]

    def __str__(self) -> str:
        return f"{self.connection_id} {self.event_type} {self.delivery_id}"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    ESCALATE = "escalate", "Escalate"
    REQUEST_INFORMATION = "request_information", "Request information"


class ReasonCode(models.TextChoices):
    VERIFIED = "verified", "Identity verified"
    DOCUMENT_ISSUE = "document_issue", "Document problem"
    BIOMETRIC_MISMATCH = "biometric_mismatch", "Face / biometric mismatch"
    WATCHLIST_MATCH = "watchlist_match", "Watchlist / PEP / sanctions match"
    ADVERSE_MEDIA = "adverse_media", "Adverse media"
    FRAUD_SUSPECTED = "fraud_suspected", "Fraud suspected"
    INCOMPLETE = "incomplete", "Incomplete or missing data"
    PROVIDER_ERROR = "provider_error", "Provider error"
    NEEDS_SENIOR_REVIEW = "needs_senior_review", "Needs senior review"
    OTHER = "other", "Other (see comment)"


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
