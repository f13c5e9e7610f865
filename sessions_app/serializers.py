"""REST API representations: flat, explicit, read-only (except the review input).

Lists carry flat fields (and the session's small tag list); nested objects
appear only in detail representations, whose relations the selectors prefetch,
so any representation costs a constant number of queries. Timestamps are ISO
8601 in UTC (DRF's default with `TIME_ZONE = "UTC"`).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .cases.serializers import ApprovalSerializer, OutcomeOverrideSerializer
from .links import detail_url_builder
from .models import (
    Check,
    Client,
    Decision,
    Outcome,
    OverrideState,
    PolicyAssurance,
    ProviderClient,
    ProviderKind,
    ReasonCode,
    Review,
    SessionReason,
    SyncRun,
    Tag,
    WorkflowSession,
)
from .row_serializers import RowListSerializer
from .selectors import ACTIVE_OVERRIDES_ATTR, ROW_TAGS_ATTR, sync_run_error_summary
from .services import REVIEW_COMMENT_MAX_LENGTH


def _absolute(context: dict[str, Any], path: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


def _row_link(field: serializers.Field, view_name: str, pk: Any) -> str:
    """The absolute URL of `view_name` for `pk`, reversed once per response.

    The builders live on the root serializer, which is made per response.
    """
    builders = field.root.__dict__.setdefault("_verity_link_builders", {})
    if view_name not in builders:
        request = field.context.get("request")
        builders[view_name] = detail_url_builder(
            view_name, absolute=request.build_absolute_uri if request else None
        )
    return builders[view_name](pk)


class RowLinkField(serializers.HyperlinkedIdentityField):
    """`HyperlinkedIdentityField` for `<int:pk>` routes, without a reverse per row."""

    def get_url(
        self, obj: Any, view_name: str, request: Any, format: str | None
    ) -> str | None:
        versioned = getattr(request, "versioning_scheme", None) is not None
        if format or versioned or getattr(obj, "pk", None) is None:
            return super().get_url(obj, view_name, request, format)
        return _row_link(self, view_name, obj.pk)


class SessionTagsSerializer(RowListSerializer):
    """A session's tags: the list the list selectors prefetched
    (`selectors.row_tags_prefetch`), else the `tags` relation."""

    def get_attribute(self, instance: Any) -> Any:
        listed = getattr(instance, ROW_TAGS_ATTR, None)
        return listed if listed is not None else super().get_attribute(instance)


class ProviderFieldsMixin(serializers.Serializer):
    # The connection a row comes from: its slug and its kind. (A comment, not a
    # docstring: drf-spectacular would describe every inheriting schema with it.)

    provider = serializers.CharField(source="connection.slug", read_only=True)
    provider_kind = serializers.ChoiceField(
        source="connection.kind", choices=ProviderKind.choices, read_only=True
    )


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["name", "kind"]
        read_only_fields = fields
        list_serializer_class = SessionTagsSerializer


class SessionSerializer(ProviderFieldsMixin, serializers.ModelSerializer):
    """A session as a row of the review queue."""

    url = RowLinkField(view_name="api-session-detail")
    page_url = serializers.SerializerMethodField(help_text="The session's Verity page.")
    provider_client_external_id = serializers.CharField(
        source="provider_client.external_id", allow_null=True, read_only=True
    )
    provider_client_name = serializers.CharField(
        source="provider_client.name", allow_null=True, read_only=True
    )
    client_id = serializers.IntegerField(
        source="provider_client.client_id", allow_null=True, read_only=True
    )
    client_name = serializers.CharField(
        source="provider_client.client.display_name", allow_null=True, read_only=True
    )
    assignee = serializers.CharField(
        source="assignee.username",
        allow_null=True,
        read_only=True,
        help_text="Username.",
    )
    tags = TagSerializer(many=True, read_only=True)
    dashboard_url = serializers.SerializerMethodField(
        help_text=(
            "The session in the provider's dashboard, when the provider gave one: "
            "always https on the provider's own dashboard host."
        )
    )
    user_reference = serializers.CharField(
        read_only=True,
        help_text="The provider user's own reference (ICA `userReference`); '' if none.",
    )
    decision = serializers.CharField(
        read_only=True,
        help_text="The provider workflow's decision (Onfido run `output.decision`); '' if none.",
    )
    risk_score = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="The provider workflow's risk score (Onfido run `output.risk_score`).",
    )
    link_expires_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text=(
            "When the applicant's link to the session expires (Onfido run "
            "`link.expires_at`; the link itself is a credential and is not kept)."
        ),
    )
    effective_outcome = serializers.SerializerMethodField(
        help_text=(
            "The outcome Verity's reviewers hold: the active outcome override's, "
            "else the provider's `outcome` (the queue's Outcome column)."
        )
    )

    class Meta:
        model = WorkflowSession
        fields = [
            "id",
            "url",
            "page_url",
            "provider",
            "provider_kind",
            "external_id",
            "provider_client_id",
            "provider_client_external_id",
            "provider_client_name",
            "client_id",
            "client_name",
            "workflow_id",
            "workflow_name",
            "workflow_version",
            "status",
            "raw_status",
            "outcome",
            "raw_outcome",
            "effective_outcome",
            "tags",
            "provider_created_at",
            "provider_updated_at",
            "started_at",
            "completed_at",
            "last_synced_at",
            "assignee",
            "last_decision",
            "last_decision_at",
            "case_state",
            "case_state_changed_at",
            "case_waiting_until",
            "dashboard_url",
            "user_reference",
            "decision",
            "risk_score",
            "link_expires_at",
        ]
        read_only_fields = fields
        list_serializer_class = RowListSerializer

    @extend_schema_field(OpenApiTypes.URI)
    def get_page_url(self, obj: WorkflowSession) -> str:
        return _row_link(self, "session-detail", obj.pk)

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_dashboard_url(self, obj: WorkflowSession) -> str | None:
        # Stored blank when unknown; an empty string is not a URI.
        return obj.dashboard_url or None

    @extend_schema_field(serializers.ChoiceField(choices=Outcome.choices))
    def get_effective_outcome(self, obj: WorkflowSession) -> str:
        # The API's querysets prefetch ACTIVE_OVERRIDES_ATTR (a list page: its
        # outcome only, one query); without it, the relation (a query a row).
        active = getattr(obj, ACTIVE_OVERRIDES_ATTR, None)
        if active is None:
            active = list(obj.outcome_overrides.filter(state=OverrideState.ACTIVE)[:1])
        return active[0].outcome if active else obj.outcome


class SessionCheckSerializer(serializers.ModelSerializer):
    """A check inside its session's detail (no session columns repeated)."""

    class Meta:
        model = Check
        fields = [
            "id",
            "external_id",
            "check_type",
            "kind",
            "status",
            "raw_status",
            "outcome",
            "raw_outcome",
            "task_id",
            "breakdown",
            "provider_created_at",
            "provider_updated_at",
            "last_synced_at",
        ]
        read_only_fields = fields


class PolicyAssuranceSerializer(serializers.ModelSerializer):
    class Meta:
        model = PolicyAssurance
        fields = [
            "policy_id",
            "policy_name",
            "outcome",
            "raw_outcome",
            "details",
            "position",
        ]
        read_only_fields = fields


class ReviewSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(
        source="reviewer.username", read_only=True, help_text="Username."
    )
    approved_by = serializers.SerializerMethodField(
        help_text="The second reviewer who approved it (four-eyes), or null."
    )

    class Meta:
        model = Review
        fields = [
            "id",
            "session_id",
            "decision",
            "reason_code",
            "comment",
            "reviewer",
            "approved_by",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "nullable": True})
    def get_approved_by(self, obj: Review) -> str | None:
        # select_related("approval__checker") by every queryset serialised here.
        try:
            approval = obj.approval
        except Review.approval.RelatedObjectDoesNotExist:
            return None
        return approval.checker.username if approval.checker else None


class ReviewInputSerializer(serializers.Serializer):
    """A decision to record on a session."""

    decision = serializers.ChoiceField(choices=Decision.choices)
    reason_code = serializers.ChoiceField(choices=ReasonCode.choices)
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=REVIEW_COMMENT_MAX_LENGTH,
        help_text="Required when reason_code is 'other'.",
    )
    waiting_until = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="request_information only: when the case comes back to work "
        "(default: VERITY_CASE_WAITING_DAYS days from now).",
    )


class ClientSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Client
        fields = ["id", "display_name", "reference"]
        read_only_fields = fields


class ProviderClientSerializer(ProviderFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = ProviderClient
        fields = [
            "id",
            "provider",
            "provider_kind",
            "external_id",
            "name",
            "external_reference",
            "link_source",
        ]
        read_only_fields = fields


class SessionReasonSerializer(serializers.ModelSerializer):
    """One of a session's reasons: Verity's kind beside the provider's word."""

    label = serializers.CharField(source="get_code_display", read_only=True)

    class Meta:
        model = SessionReason
        fields = ["code", "label", "raw"]
        read_only_fields = fields


class SessionDetailSerializer(SessionSerializer):
    """A session with its checks, policies, reviews and client."""

    provider_client = ProviderClientSerializer(read_only=True, allow_null=True)
    client = ClientSummarySerializer(
        source="provider_client.client", read_only=True, allow_null=True
    )
    checks = SessionCheckSerializer(many=True, read_only=True)
    policy_assurances = PolicyAssuranceSerializer(many=True, read_only=True)
    reviews = ReviewSerializer(many=True, read_only=True)
    reason_kinds = SessionReasonSerializer(
        source="reason_rows",
        many=True,
        read_only=True,
        help_text="The reasons in Verity's words (filter: `reason=`), each with the provider's word.",
    )
    approvals = serializers.SerializerMethodField(
        help_text="Four-eyes requests on the session, newest first (pending and settled)."
    )
    outcome_override = serializers.SerializerMethodField(
        help_text="The active outcome override layered on the provider's `outcome`; null when none."
    )

    class Meta(SessionSerializer.Meta):
        fields = [
            *SessionSerializer.Meta.fields,
            "reasons",
            "reason_kinds",
            "summary",
            "error",
            "first_seen_at",
            "assigned_at",
            "provider_client",
            "client",
            "checks",
            "policy_assurances",
            "reviews",
            "approvals",
            "outcome_override",
        ]
        read_only_fields = fields

    @extend_schema_field(OutcomeOverrideSerializer(allow_null=True))
    def get_outcome_override(self, obj: WorkflowSession) -> dict[str, Any] | None:
        active = getattr(obj, ACTIVE_OVERRIDES_ATTR)
        return OutcomeOverrideSerializer(active[0]).data if active else None

    @extend_schema_field(ApprovalSerializer(many=True))
    def get_approvals(self, obj: WorkflowSession) -> list[dict[str, Any]]:
        return ApprovalSerializer(obj.approvals.all(), many=True).data


class CheckSerializer(ProviderFieldsMixin, serializers.ModelSerializer):
    """A check with its session and client, as a flat row."""

    url = serializers.HyperlinkedIdentityField(view_name="api-check-detail")
    session_external_id = serializers.CharField(
        source="session.external_id", read_only=True
    )
    client_id = serializers.IntegerField(
        source="session.provider_client.client_id", allow_null=True, read_only=True
    )
    client_name = serializers.CharField(
        source="session.provider_client.client.display_name",
        allow_null=True,
        read_only=True,
    )

    class Meta:
        model = Check
        fields = [
            "id",
            "url",
            "session_id",
            "session_external_id",
            "provider",
            "provider_kind",
            "client_id",
            "client_name",
            "external_id",
            "check_type",
            "kind",
            "status",
            "raw_status",
            "outcome",
            "raw_outcome",
            "task_id",
            "provider_created_at",
            "provider_updated_at",
            "last_synced_at",
        ]
        read_only_fields = fields
        list_serializer_class = RowListSerializer


class CheckDetailSerializer(CheckSerializer):
    class Meta(CheckSerializer.Meta):
        fields = [*CheckSerializer.Meta.fields, "breakdown"]
        read_only_fields = fields


class SyncRunSerializer(ProviderFieldsMixin, serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-sync-run-detail")
    error = serializers.SerializerMethodField(
        help_text='What ended the run, in words ("Onfido refused the credentials '
        "(HTTP 401)\"); never the provider's own answer, which admins read in the admin."
    )
    unknown_values = serializers.JSONField(
        read_only=True,
        help_text="Raw provider values that normalised to `unknown`, with how often.",
    )

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "url",
            "provider",
            "provider_kind",
            "trigger",
            "state",
            "started_at",
            "finished_at",
            "pages",
            "seen",
            "created",
            "updated",
            "unchanged",
            "quarantined",
            "error",
            "error_kind",
            "unknown_values",
        ]
        read_only_fields = fields

    def get_error(self, obj: SyncRun) -> str:
        return sync_run_error_summary(
            run=obj, provider=obj.connection.display_name or obj.connection.slug
        )
