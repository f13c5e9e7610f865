"""The API's shapes of case work: a pending or settled approval, and what
the approve / send back / reopen / resume endpoints take."""

from __future__ import annotations

from rest_framework import serializers

from ..models import Approval
from ..services import REVIEW_COMMENT_MAX_LENGTH


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
