"""The API's shapes of case work: a pending or settled approval, an outcome
override, and what the approve / send back / reopen / resume / override
endpoints take."""

from __future__ import annotations

from rest_framework import serializers

from ..models import Approval, OutcomeOverride
from ..services import REVIEW_COMMENT_MAX_LENGTH
from ..vocabulary import ReasonCode
from .models import OVERRIDE_TARGETS


class ApprovalSerializer(serializers.ModelSerializer):
    """A four-eyes request: the maker's decision and the checker's answer."""

    maker = serializers.CharField(
        source="maker.username", read_only=True, help_text="Username."
    )
    checker = serializers.CharField(
        source="checker.username",
        read_only=True,
        allow_null=True,
        help_text="Username; null while pending.",
    )
    result = serializers.SerializerMethodField(
        help_text="'pending', 'approved' or 'sent_back'."
    )

    class Meta:
        model = Approval
        fields = [
            "id",
            "session_id",
            "decision",
            "override_outcome",
            "reason_code",
            "comment",
            "waiting_until",
            "maker",
            "made_at",
            "result",
            "checker",
            "checked_at",
            "checker_comment",
            "review_id",
        ]
        read_only_fields = fields

    def get_result(self, obj: Approval) -> str:
        return obj.result or "pending"


class CaseCommentSerializer(serializers.Serializer):
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=REVIEW_COMMENT_MAX_LENGTH,
        help_text="Required to send back and to reopen.",
    )


class CaseSerializer(serializers.Serializer):
    """A session's case after an action."""

    id = serializers.IntegerField(read_only=True)
    case_state = serializers.CharField(read_only=True)
    case_state_changed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    case_waiting_until = serializers.DateTimeField(read_only=True, allow_null=True)
    last_decision = serializers.CharField(read_only=True)
    last_decision_at = serializers.DateTimeField(read_only=True, allow_null=True)


class OutcomeOverrideSerializer(serializers.ModelSerializer):
    """An outcome override layered on the provider's outcome."""

    maker = serializers.CharField(
        source="maker.username", read_only=True, help_text="Username."
    )
    approver = serializers.CharField(
        source="approver.username",
        read_only=True,
        allow_null=True,
        help_text="Username of the second reviewer; null when no rule asked for one.",
    )
    approval_id = serializers.IntegerField(read_only=True, allow_null=True)
    summary = serializers.CharField(
        read_only=True,
        help_text="As the pages show it: 'Rejected — override by A, approved by B (provider: clear)'.",
    )
    provider_changed = serializers.BooleanField(
        read_only=True,
        help_text="The provider's outcome changed after the override (the case went back to review).",
    )

    class Meta:
        model = OutcomeOverride
        fields = [
            "id",
            "session_id",
            "outcome",
            "provider_outcome",
            "provider_outcome_now",
            "provider_changed",
            "provider_changed_at",
            "reason_code",
            "comment",
            "maker",
            "requested_at",
            "approval_id",
            "approver",
            "effective_at",
            "state",
            "summary",
        ]
        read_only_fields = fields


class OverrideInputSerializer(serializers.Serializer):
    """What requesting an override takes."""

    outcome = serializers.ChoiceField(
        choices=list(OVERRIDE_TARGETS), help_text="The outcome the session should read."
    )
    reason_code = serializers.ChoiceField(
        choices=ReasonCode.choices,
        help_text="A reason that fits the outcome (docs/case-work.md).",
    )
    comment = serializers.CharField(
        max_length=REVIEW_COMMENT_MAX_LENGTH, help_text="Why; required."
    )
