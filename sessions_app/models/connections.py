"""Provider connections and what their syncs leave behind: runs, quarantine, webhooks."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models

from ..sync.values import EVENT_TYPE_MAX, ID_MAX, RECORD_TYPE_MAX
from ..vocabulary import ProviderKind, SyncRunState, SyncTrigger
from .base import ENV_VAR_NAME, TimeStampedModel


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
    record_type = models.CharField(max_length=RECORD_TYPE_MAX)
    external_id = models.CharField(max_length=ID_MAX, blank=True)
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
    delivery_id = models.CharField(max_length=ID_MAX)
    event_type = models.CharField(max_length=EVENT_TYPE_MAX, blank=True)
    resource_id = models.CharField(max_length=ID_MAX, blank=True)
    signature_valid = models.BooleanField(default=True)
    body = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # The outbox (sessions_app/tasks.py): what the refresh task is given, when
    # its refresh was last handed to the broker (null: the broker could not
    # take it) and how often, so the sweeper re-enqueues what was lost.
    hint = models.JSONField(default=dict, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    enqueue_attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "delivery_id"], name="webhook_unique_delivery"
            )
        ]
        indexes = [
            # The sweeper's question, kept small: only unprocessed deliveries.
            models.Index(
                fields=["received_at"],
                condition=models.Q(processed_at__isnull=True),
                name="webhook_unprocessed",
            )
        ]

    def __str__(self) -> str:
        return f"{self.connection_id} {self.event_type} {self.delivery_id}"
