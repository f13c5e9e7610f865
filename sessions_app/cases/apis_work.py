"""Notes and bulk work in the REST API, through the same services and with
the same permissions as the pages: everyone who may read sessions reads a
session's or a client's notes; reviewers and admins write them and work in
bulk. A refused request is a 400 `{detail}` in words."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from .. import selectors
from ..api_pagination import KeysetCursorPagination
from ..apis import AUTHENTICATION, DETAIL_ERRORS, ERROR_400, ERROR_403, ERROR_415
from ..models import Client, WorkflowSession
from ..pagination import MAX_ID
from ..roles import user_can_view, user_can_write_notes
from ..services import REVIEW_COMMENT_MAX_LENGTH
from ..vocabulary import Decision, ReasonCode
from .bulk import BULK_MAX_SESSIONS, BulkAction, RowOutcome, sessions_bulk_apply
from .bulk_views import user_can_work_in_bulk
from .models import NOTE_MAX_LENGTH, Note
from .notes import NOTE_ORDER, note_add, notes_queryset


class CanReadOrWriteNotes(BasePermission):
    message = "Only reviewers and admins may write notes."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not user_can_view(request.user):
            return False
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return user_can_write_notes(request.user)


class CanWorkInBulk(BasePermission):
    message = "Only reviewers and admins may work in bulk."

    def has_permission(self, request: Request, view: Any) -> bool:
        return user_can_work_in_bulk(request.user)


class NoteSerializer(serializers.ModelSerializer):
    author = serializers.CharField(
        source="author.username", read_only=True, help_text="Username."
    )
    text = serializers.CharField(
        max_length=NOTE_MAX_LENGTH,
        help_text=f"Plain text, stripped, at most {NOTE_MAX_LENGTH:,} characters; "
        "never rendered as HTML.",
    )

    class Meta:
        model = Note
        fields = ["id", "session_id", "client_id", "author", "created_at", "text"]
        read_only_fields = ["id", "session_id", "client_id", "author", "created_at"]


class _NotesApi(generics.ListCreateAPIView):
    """A thread of notes, newest first (keyset pages); POST adds one.

    A subclass says only whose notes they are: `target`, the one difference
    between a session's thread and a client's. The operation ids follow the
    path (`sessions_notes_list`, `clients_notes_create`, ...)."""

    authentication_classes = AUTHENTICATION
    permission_classes = [CanReadOrWriteNotes]
    pagination_class = KeysetCursorPagination
    filter_backends: list = []
    serializer_class = NoteSerializer

    def target(self, pk: int) -> dict[str, Model]:
        """The notes' object as `note_add`'s keyword ({"session": ...});
        DoesNotExist when there is none."""
        raise NotImplementedError

    def get_keyset_sort(self) -> str:
        # The selectors' order: the keyset paginator adds the id, last and in
        # the same direction, so the key (created_at, id) is unique and stable.
        return NOTE_ORDER[0]

    def _target(self) -> dict[str, Model]:
        pk = self.kwargs["pk"]
        if pk > MAX_ID:
            raise NotFound()
        try:
            return self.target(pk)
        except ObjectDoesNotExist as exc:
            raise NotFound() from exc

    def get_queryset(self) -> QuerySet[Note]:
        return notes_queryset(
            **{f"{field}_id": obj.pk for field, obj in self._target().items()}
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        target = self._target()
        data = NoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = note_add(
            author=request.user,
            text=data.validated_data["text"],
            source="api",
            **target,
        )
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=["notes"],
        responses={200: NoteSerializer(many=True), 400: ERROR_400, **DETAIL_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["notes"],
        request=NoteSerializer,
        responses={
            201: NoteSerializer,
            400: ERROR_400,
            **DETAIL_ERRORS,
            415: ERROR_415,
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class SessionNotesApi(_NotesApi):
    """A session's notes: everyone who reads sessions; reviewers and admins add."""

    def target(self, pk: int) -> dict[str, Model]:
        return {"session": WorkflowSession.objects.defer("raw_payload").get(pk=pk)}


class ClientNotesApi(_NotesApi):
    """A client's notes: everyone who reads clients; reviewers and admins add."""

    def target(self, pk: int) -> dict[str, Model]:
        return {"client": Client.objects.get(pk=pk)}


class BulkInputSerializer(serializers.Serializer):
    session_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=BULK_MAX_SESSIONS,
    )
    action = serializers.ChoiceField(choices=BulkAction.choices)
    assignee = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Username; for `assign`.",
    )
    text = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=NOTE_MAX_LENGTH,
        help_text="For `note`.",
    )
    decision = serializers.ChoiceField(
        choices=Decision.choices, required=False, allow_blank=True, default=""
    )
    reason_code = serializers.ChoiceField(
        choices=ReasonCode.choices, required=False, allow_blank=True, default=""
    )
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=REVIEW_COMMENT_MAX_LENGTH,
    )


class BulkRowSerializer(serializers.Serializer):
    session_id = serializers.IntegerField()
    external_id = serializers.CharField()
    outcome = serializers.ChoiceField(choices=RowOutcome.choices)
    reason = serializers.CharField(help_text="Why a row was refused or unchanged.")


class BulkResultSerializer(serializers.Serializer):
    action = serializers.CharField()
    summary = serializers.CharField(help_text="What happened, in words.")
    rows = BulkRowSerializer(many=True)


class SessionsBulkApi(generics.GenericAPIView):
    """Assign, unassign, note or decide up to 100 sessions in one request.

    Each row goes through its single-row service (audited as alone; a
    four-eyes rule makes a decision `pending`); a refused row is reported
    with its reason and the others proceed. One audit event lists the ids.
    """

    authentication_classes = AUTHENTICATION
    permission_classes = [CanWorkInBulk]
    filter_backends: list = []
    serializer_class = BulkInputSerializer

    @extend_schema(
        tags=["sessions"],
        operation_id="sessions_bulk_create",
        request=BulkInputSerializer,
        responses={
            200: BulkResultSerializer,
            400: ERROR_400,
            403: ERROR_403,
            415: ERROR_415,
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = BulkInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        assignee = None
        if values["action"] == BulkAction.ASSIGN and values["assignee"]:
            assignee = _user_named(values["assignee"])
        result = sessions_bulk_apply(
            actor=request.user,
            session_ids=values["session_ids"],
            action=values["action"],
            assignee=assignee,
            text=values["text"],
            decision=values["decision"],
            reason_code=values["reason_code"],
            comment=values["comment"],
            source="api",
        )
        return Response(
            {
                "action": result.action,
                "summary": result.summary,
                "rows": [
                    {
                        "session_id": row.session_id,
                        "external_id": row.external_id,
                        "outcome": row.outcome,
                        "reason": row.reason,
                    }
                    for row in result.rows
                ],
            }
        )


def _user_named(username: str) -> Any:
    try:
        return selectors.user_get_by_username(username=username)
    except get_user_model().DoesNotExist as exc:
        raise serializers.ValidationError(
            {"assignee": [f"No user named {username!r}."]}
        ) from exc
