"""Provider connections and what their syncs leave behind: runs, quarantine, webhooks."""

from __future__ import annotations

import enum
import hashlib
import json

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from ..providers.endpoints import connection_endpoint_problems
from ..sync.values import EVENT_TYPE_MAX, ID_MAX, RECORD_TYPE_MAX
from ..vocabulary import ProviderKind, SyncRunState, SyncTrigger
from .base import ENV_VAR_NAME, TimeStampedModel


class ProviderConnection(TimeStampedModel):
    """One configured account at a provider. Secrets stay in the environment."""

    slug = models.SlugField(max_length=50, unique=True)
    kind = models.CharField(max_length=20, choices=ProviderKind.choices)
    display_name = models.CharField(max_length=100)
    # Only the provider's documented hosts or VERITY_PROVIDER_ALLOWED_HOSTS (clean).
    base_url = models.URLField(max_length=500)
    # Both variable names must carry VERITY_PROVIDER_ENV_PREFIX (clean).
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
    # An override: blank = the provider's documented limit (providers/pacing/limits.py).
    rate_limit_per_second = models.FloatField(
        null=True,
        blank=True,
        default=None,
        validators=[MinValueValidator(0.01)],
        help_text="Most requests per second this connection may send. Leave blank "
        "for the provider's documented limit (live or sandbox by the credential's "
        "prefix, or the 'environment' option).",
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

    def clean(self) -> None:
        """Refuse variables without the provider prefix and hosts the provider
        does not serve from (providers/endpoints.py says why)."""
        super().clean()
        problems = connection_endpoint_problems(
            kind=self.kind,
            base_url=self.base_url or "",
            credential_env=self.credential_env or "",
            webhook_secret_env=self.webhook_secret_env or "",
        )
        if problems:
            raise ValidationError(problems)


class SyncErrorKind(enum.StrEnum):
    """What kind of failure ended a run (`SyncRun.error_kind`), machine-readable.

    Set by `sync.runs.error_kind_of`; the sync page turns it into words
    (`selectors.connections.sync_error_summary`). Not a choices field: a new
    kind must not need a migration, and an unknown one reads as a plain failure.
    """

    REFUSED = "refused"  # connection refused
    DNS = "dns"  # host name not found
    TIMEOUT = "timeout"
    TLS = "tls"  # certificate or handshake failure
    DROPPED = "dropped"  # connection reset or the answer cut off
    UNREACHABLE = "unreachable"  # any other network failure
    SERVER_ERROR = "server_error"  # 5xx after the retries
    AUTH = "auth"  # 401/402/403
    RATE_LIMITED = "rate_limited"  # 429
    QUOTA = "quota"  # a 429 that is a used-up quota
    NOT_FOUND = "not_found"  # 404/410
    BAD_REQUEST = "bad_request"  # 400/422
    INVALID_RESPONSE = "invalid_response"  # 2xx but not what the contract says
    PROVIDER = "provider"  # any other provider error
    CONFIGURATION = "configuration"  # missing credential variable, bad option
    LEASE_LOST = "lease_lost"
    INTERRUPTED = "interrupted"  # the process died mid-run
    INTERNAL = "internal"  # an unexpected exception: a bug


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
    # What kind of failure `error` is, for the sync page's words ("could not be
    # reached", "refused the credentials"): see sync.runs.error_kind_of. Blank
    # for runs without an error and for runs older than the field.
    error_kind = models.CharField(max_length=30, blank=True)
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


def quarantine_fingerprint(
    *, record_type: str, external_id: str, reason: str, raw: str
) -> str:
    """The identity of a quarantined record within its connection.

    The same bad record (type, provider id, reason) is one row however often a
    provider sends it; a record without an id is told apart by its raw text.
    """
    key = (
        f"id:{external_id}"
        if external_id
        else "raw:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()
    )
    return hashlib.sha256(
        json.dumps([record_type, key, reason], ensure_ascii=False).encode("utf-8")
    ).hexdigest()


class QuarantinedRecord(models.Model):
    """Something a provider sent that could not be understood, kept verbatim.

    One row per bad record (`fingerprint`): seen again, it is counted
    (`seen_count`, `last_seen_at`, `sync_run` = the latest run), not copied.
    """

    connection = models.ForeignKey(
        ProviderConnection, on_delete=models.CASCADE, related_name="quarantined_records"
    )
    sync_run = models.ForeignKey(
        SyncRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="quarantined_records",
        help_text="The latest run that quarantined this record.",
    )
    record_type = models.CharField(max_length=RECORD_TYPE_MAX)
    external_id = models.CharField(max_length=ID_MAX, blank=True)
    reason = models.TextField()
    raw = models.TextField(help_text="The record exactly as received (latest copy).")
    # sha256 of (record type, external id or the raw text's hash, reason).
    fingerprint = models.CharField(max_length=64, editable=False)
    # Not auto_now_add: the sync stamps first and last seen with one clock.
    created_at = models.DateTimeField(
        "first seen", default=timezone.now, editable=False
    )
    last_seen_at = models.DateTimeField("last seen", default=timezone.now)
    seen_count = models.PositiveIntegerField("times seen", default=1)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "fingerprint"], name="quarantine_unique_record"
            )
        ]
        indexes = [
            models.Index(
                fields=["connection", "-created_at"], name="quarantine_conn_created"
            ),
            models.Index(fields=["-last_seen_at"], name="quarantine_last_seen"),
        ]

    def __str__(self) -> str:
        return f"{self.record_type} {self.external_id or '?'}: {self.reason[:60]}"

    def save(self, *args, **kwargs) -> None:
        # Rows made one by one (admin, fixtures) get their identity here; the
        # sync's bulk writes compute it themselves.
        if not self.fingerprint:
            self.fingerprint = quarantine_fingerprint(
                record_type=self.record_type,
                external_id=self.external_id,
                reason=self.reason,
                raw=self.raw,
            )
        super().save(*args, **kwargs)


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
