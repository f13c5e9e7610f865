"""Mirrored workflow sessions with their checks, policy assurance and tags."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from ..cases.states import CaseState
from ..sync.values import (
    CHECK_TYPE_MAX,
    ID_MAX,
    NAME_MAX,
    RAW_WORD_MAX,
    SOURCE_VERSION_MAX,
    URL_MAX,
    VERSION_MAX,
)
from ..vocabulary import (
    FINAL_STATUSES,
    CheckKind,
    Outcome,
    ReasonKind,
    Status,
    TagKind,
)
from .attention import needs_attention_q
from .clients import ProviderClient
from .connections import ProviderConnection

# Raw statuses that look final but that a person at the provider may still
# change (Onfido's `review`): every provider's `reopenable_raw_statuses`, here
# as data because the rotation indexes below are defined by them (a test
# keeps the two equal; a change needs a migration of those indexes).
ROTATION_RAW_STATUSES = ("review",)


def in_rotation_any_q() -> models.Q:
    """Sessions the sync may still re-poll, whatever their provider (the
    condition of the rotation indexes; `sync.schedule.in_rotation_q` narrows
    it per provider, which the database sees as implying it)."""
    return models.Q(
        status__in=[s for s in Status.values if s not in FINAL_STATUSES]
    ) | models.Q(raw_status__in=ROTATION_RAW_STATUSES)


class Tag(models.Model):
    name = models.CharField(max_length=NAME_MAX)
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

    # No index of its own: session_unique_external_id, session_conn_created and
    # session_conn_status_outcome begin with it (migration 0030).
    connection = models.ForeignKey(
        ProviderConnection,
        on_delete=models.PROTECT,
        related_name="sessions",
        db_index=False,
    )
    external_id = models.CharField(max_length=ID_MAX)
    provider_client = models.ForeignKey(
        ProviderClient,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sessions",
    )
    workflow_id = models.CharField(max_length=ID_MAX, blank=True, db_index=True)
    workflow_name = models.CharField(max_length=NAME_MAX, blank=True)
    workflow_version = models.CharField(max_length=VERSION_MAX, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.UNKNOWN
    )
    raw_status = models.CharField(max_length=RAW_WORD_MAX, blank=True)
    outcome = models.CharField(
        max_length=20, choices=Outcome.choices, blank=True, default=""
    )
    raw_outcome = models.CharField(max_length=RAW_WORD_MAX, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    summary = models.TextField(blank=True)
    error = models.TextField(blank=True)
    # Only ever an https URL on the provider's own dashboard host (the
    # adapters drop anything else), so the session page may link it.
    dashboard_url = models.URLField(max_length=URL_MAX, blank=True)
    # The provider user's own reference for the session (ICA `userReference`):
    # shown and searchable (exact match) in the queue, the API and the CSV.
    user_reference = models.CharField(max_length=ID_MAX, blank=True)
    # What the provider's workflow decided and scored (Onfido run `output`
    # `decision` and `risk_score`), and when the applicant's link to the
    # session expires (Onfido run `link.expires_at`; the link itself is a
    # credential and is not stored).
    decision = models.CharField(max_length=RAW_WORD_MAX, blank=True)
    risk_score = models.FloatField(null=True, blank=True)
    link_expires_at = models.DateTimeField(null=True, blank=True)
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
    source_version = models.CharField(max_length=SOURCE_VERSION_MAX, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    # Bumped whenever a sync sees the session, even listed unchanged: the
    # re-poll rotation (`sync.schedule.refresh_ids`).
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # When the session was last read in full (its checks with it), by a pass or
    # a webhook refresh; never by a listing that found it unchanged. While the
    # session is in rotation, the sync re-reads the least recently read ones so
    # that checks progressing under a still session are seen
    # (`sync.schedule.children_due`).
    detail_read_at = models.DateTimeField(null=True, blank=True)
    # Review state, written only by the review services (audited).
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_sessions",
        db_index=False,  # session_assignee_created begins with it
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    # The last decision that took effect (after its second reviewer, when
    # four-eyes applies).
    last_decision = models.CharField(max_length=30, blank=True)
    last_decision_at = models.DateTimeField(null=True, blank=True)
    # Verity's own case state (cases/states.py), apart from the provider's
    # status; written only by the case services (audited), never by the sync.
    case_state = models.CharField(
        max_length=20, choices=CaseState.choices, default=CaseState.OPEN
    )
    case_state_changed_at = models.DateTimeField(null=True, blank=True)
    # While waiting for information: when the case comes back to work (the
    # beat task `cases_waiting_return`).
    case_waiting_until = models.DateTimeField(null=True, blank=True)
    # Due times (cases/sla.py): when attention last began, and when the case
    # is due under its queue rule (null: none applies); kept by the sync and
    # the case services, repaired by `manage.py sla_rebuild`.
    attention_since = models.DateTimeField(null=True, blank=True)
    case_due_at = models.DateTimeField(null=True, blank=True)

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
            models.CheckConstraint(
                condition=models.Q(case_state__in=CaseState.values),
                name="session_case_state_valid",
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
            # Every sort breaks ties by date, then id (selectors/sorting.py).
            models.Index(
                fields=["-provider_updated_at", "-provider_created_at", "-id"],
                name="session_updated_created",
            ),
            # The `overdue` filter and the sort by due time, and the
            # overview's breaches per case state (an index-only range): only
            # the sessions that have a due time.
            models.Index(
                fields=["case_due_at", "provider_created_at", "id"],
                condition=models.Q(case_due_at__isnull=False),
                name="session_due",
            ),
            models.Index(
                fields=["case_due_at", "case_state"],
                condition=models.Q(case_due_at__isnull=False),
                name="session_due_state",
            ),
            # The queue's `case_state` filter in its default order, and the
            # overview's counts of escalated, waiting and awaiting-approval
            # cases (an index-only range each, never the whole table).
            models.Index(
                fields=["case_state", "-provider_created_at", "-id"],
                name="session_case_state_created",
            ),
            # The waiting cases whose date has passed (cases_waiting_return).
            models.Index(
                fields=["case_waiting_until"],
                condition=models.Q(case_state=CaseState.WAITING),
                name="session_case_waiting_until",
            ),
            models.Index(fields=["provider_client"], name="session_provider_client"),
            # The free-text search's exact match on a user reference; only the
            # sessions that have one (ICA's) are in it.
            models.Index(
                fields=["user_reference"],
                condition=~models.Q(user_reference=""),
                name="session_user_reference",
            ),
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
            # The sync's two rotations (sync.schedule.least_recent_first): a
            # connection's sessions in rotation, never read first then least
            # recently read in full (the children re-read), and least recently
            # synced (the re-poll), in the order asked for, so at a million
            # sessions each is a short index range rather than a sort of
            # every unfinished session.
            models.Index(
                fields=["connection", "detail_read_at", "id"],
                condition=in_rotation_any_q(),
                name="session_rotation_read",
            ),
            models.Index(
                fields=["connection", "last_synced_at", "id"],
                condition=in_rotation_any_q(),
                name="session_rotation_synced",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.connection_id}:{self.external_id}"

    def get_absolute_url(self) -> str:
        return reverse("session-detail", args=[self.pk])


class Check(models.Model):
    """A verification inside a session (report, check, ICA analysis)."""

    # Neither has an index of its own: check_unique_external_id begins with
    # the connection, check_session_created with the session.
    connection = models.ForeignKey(
        ProviderConnection,
        on_delete=models.PROTECT,
        related_name="checks",
        db_index=False,
    )
    session = models.ForeignKey(
        WorkflowSession,
        on_delete=models.CASCADE,
        related_name="checks",
        db_index=False,
    )
    external_id = models.CharField(max_length=ID_MAX)
    check_type = models.CharField(max_length=CHECK_TYPE_MAX, blank=True, db_index=True)
    # What the check verifies, from the provider's rows (`classify_check`):
    # pages, API, CSV and admin filter on it across providers.
    kind = models.CharField(
        max_length=20, choices=CheckKind.choices, default=CheckKind.OTHER
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.UNKNOWN
    )
    raw_status = models.CharField(max_length=RAW_WORD_MAX, blank=True)
    outcome = models.CharField(
        max_length=20, choices=Outcome.choices, blank=True, default=""
    )
    raw_outcome = models.CharField(max_length=RAW_WORD_MAX, blank=True)
    task_id = models.CharField(max_length=ID_MAX, blank=True)
    breakdown = models.JSONField(default=dict, blank=True)
    provider_created_at = models.DateTimeField(null=True, blank=True)
    provider_updated_at = models.DateTimeField(null=True, blank=True)
    # The verified document's expiry when the provider reports one: the
    # client's assurance matrix treats the result as valid until then.
    document_expires_on = models.DateField(null=True, blank=True)
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
            models.CheckConstraint(
                condition=models.Q(kind__in=CheckKind.values), name="check_kind_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["session", "provider_created_at"], name="check_session_created"
            ),
            # The checks of one kind, newest first (the API and the client's
            # matrix); the session index serves "this session's checks".
            models.Index(fields=["kind", "-id"], name="check_kind_id"),
            models.Index(fields=["outcome", "-id"], name="check_outcome_id"),
        ]

    def __str__(self) -> str:
        return f"{self.check_type or 'check'} {self.external_id}"


class SessionReason(models.Model):
    """One of a session's reasons in Verity's words (`code`, a ReasonKind)
    beside the provider's (`raw`), from its provider's rows
    (`normalization.classify_reason`).

    A table rather than a list on the session: the queue and the API filter
    on `code` with an EXISTS probe of the (code, session) index, the same on
    SQLite and PostgreSQL (a JSON list has no portable containment lookup,
    and its GIN index would be PostgreSQL's only). Written by the sync with
    the session (`sync/reasons.py`), never by hand.
    """

    session = models.ForeignKey(
        WorkflowSession,
        on_delete=models.CASCADE,
        related_name="reason_rows",
        db_index=False,  # session_reason_unique_position begins with it
    )
    code = models.CharField(
        max_length=30, choices=ReasonKind.choices, default=ReasonKind.OTHER
    )
    raw = models.CharField(max_length=NAME_MAX, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["session", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "position"], name="session_reason_unique_position"
            ),
            models.CheckConstraint(
                condition=models.Q(code__in=ReasonKind.values),
                name="session_reason_code_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["code", "session"], name="session_reason_code"),
        ]

    def __str__(self) -> str:
        return f"{self.get_code_display()} ({self.raw})" if self.raw else self.code


def _rule_failed(rule: dict) -> bool:
    # ComplyCube documents no shape: `{name, outcome}` and `{rule, passed}` are seen.
    if "passed" in rule:
        return rule["passed"] is False
    word = str(rule.get("outcome") or rule.get("result") or "").strip().lower()
    return word not in ("", "clear", "pass", "passed")


class PolicyAssurance(models.Model):
    """A compliance policy evaluated on a session (ComplyCube `policyAssurance`)."""

    session = models.ForeignKey(
        WorkflowSession,
        on_delete=models.CASCADE,
        related_name="policy_assurances",
        db_index=False,  # policy_assurance_unique_position begins with it
    )
    policy_id = models.CharField(max_length=ID_MAX, blank=True)
    policy_name = models.CharField(max_length=NAME_MAX, blank=True)
    outcome = models.CharField(
        max_length=20, choices=Outcome.choices, blank=True, default=""
    )
    raw_outcome = models.CharField(max_length=RAW_WORD_MAX, blank=True)
    details = models.JSONField(default=dict, blank=True)
    position = models.PositiveIntegerField(default=0)
    # False: the policy is enabled on the session but the provider has not
    # evaluated it yet (so "no outcome" is not "no policies").
    evaluated = models.BooleanField(default=True)

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

    @property
    def failing_rules(self) -> list[str]:
        """The names of the rules that did not pass, from the provider's details
        (`rules: [{name, outcome}]`; any other shape gives none, never an error)."""
        rules = self.details.get("rules") if isinstance(self.details, dict) else None
        if not isinstance(rules, list):
            return []
        return [
            str(rule.get("name") or rule.get("rule") or rule.get("id") or "unnamed")
            for rule in rules
            if isinstance(rule, dict) and _rule_failed(rule)
        ]
