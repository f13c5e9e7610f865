"""Case work in the REST API: record a decision, approve or send back a
pending one, reopen a closed case, resume a waiting one, request or withdraw
an outcome override. Each calls the
same service as the session page, with the same permission (reviewers:
`CanDecide`); a refused action is a 400 `{detail}` in words."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from .. import selectors
from ..apis import (
    AUTHENTICATION,
    DETAIL_ERRORS,
    ERROR_400,
    ERROR_415,
    BoundedIdLookupMixin,
)
from ..models import Approval, WorkflowSession
from ..permissions import CanDecide
from ..serializers import ReviewInputSerializer, ReviewSerializer
from . import overrides as override_services
from . import selectors as case_selectors
from . import services as case_services
from .serializers import (
    ApprovalSerializer,
    CaseCommentSerializer,
    CaseSerializer,
    OutcomeOverrideSerializer,
    OverrideInputSerializer,
)

ACTION_RESPONSES = {400: ERROR_400, **DETAIL_ERRORS, 415: ERROR_415}


class _CaseActionApi(BoundedIdLookupMixin, generics.GenericAPIView):
    authentication_classes = AUTHENTICATION
    permission_classes = [CanDecide]
    filter_backends: list = []

    def comment(self, request: Request) -> str:
        data = CaseCommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return data.validated_data["comment"]


class SessionReviewCreateApi(_CaseActionApi):
    """Record a review decision on a session (reviewers only; audited).

    201 with the review when it took effect; 202 with the pending approval
    when a four-eyes rule asks a second reviewer first (docs/case-work.md).
    """

    serializer_class = ReviewInputSerializer

    def get_queryset(self) -> QuerySet[WorkflowSession]:
        return selectors.session_queryset()

    @extend_schema(
        tags=["sessions"],
        operation_id="sessions_reviews_create",
        request=ReviewInputSerializer,
        responses={201: ReviewSerializer, 202: ApprovalSerializer, **ACTION_RESPONSES},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        session = self.get_object()
        data = ReviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = case_services.case_decision_record(
            session=session,
            reviewer=request.user,
            decision=data.validated_data["decision"],
            reason_code=data.validated_data["reason_code"],
            comment=data.validated_data["comment"],
            waiting_until=data.validated_data.get("waiting_until"),
            source="api",
        )
        context = self.get_serializer_context()
        if result.pending:
            return Response(
                ApprovalSerializer(result.approval, context=context).data,
                status=status.HTTP_202_ACCEPTED,
            )
        return Response(
            ReviewSerializer(result.review, context=context).data,
            status=status.HTTP_201_CREATED,
        )


class ApprovalDetailApi(BoundedIdLookupMixin, generics.RetrieveAPIView):
    """One approval: the maker's decision, reason and comment, and its answer."""

    authentication_classes = AUTHENTICATION
    filter_backends: list = []
    serializer_class = ApprovalSerializer

    def get_queryset(self) -> QuerySet[Approval]:
        return case_selectors.approval_queryset()

    @extend_schema(tags=["cases"], responses={200: ApprovalSerializer, **DETAIL_ERRORS})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ApprovalApproveApi(_CaseActionApi):
    """Approve a pending decision: it takes effect (a reviewer not its maker)."""

    serializer_class = CaseCommentSerializer

    def get_queryset(self) -> QuerySet[Approval]:
        return case_selectors.approval_queryset()

    @extend_schema(
        tags=["cases"],
        request=CaseCommentSerializer,
        responses={200: ApprovalSerializer, **ACTION_RESPONSES},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        approval = self.get_object()
        case_services.approval_approve(
            approval=approval,
            checker=request.user,
            comment=self.comment(request),
            source="api",
        )
        return Response(ApprovalSerializer(approval).data)


class ApprovalSendBackApi(ApprovalApproveApi):
    """Send a pending decision back to its maker, saying why."""

    @extend_schema(
        tags=["cases"],
        request=CaseCommentSerializer,
        responses={200: ApprovalSerializer, **ACTION_RESPONSES},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        approval = self.get_object()
        case_services.approval_send_back(
            approval=approval,
            checker=request.user,
            comment=self.comment(request),
            source="api",
        )
        return Response(ApprovalSerializer(approval).data)


class CaseReopenApi(_CaseActionApi):
    """Reopen a closed case, saying why."""

    serializer_class = CaseCommentSerializer
    service = staticmethod(case_services.case_reopen)

    def get_queryset(self) -> QuerySet[WorkflowSession]:
        return selectors.session_queryset()

    @extend_schema(
        tags=["cases"],
        request=CaseCommentSerializer,
        responses={200: CaseSerializer, **ACTION_RESPONSES},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        session = self.get_object()
        type(self).service(
            session=session,
            actor=request.user,
            comment=self.comment(request),
            source="api",
        )
        return Response(CaseSerializer(session).data)


class CaseResumeApi(CaseReopenApi):
    """Bring a case waiting for information back to work now."""

    service = staticmethod(case_services.case_resume)


class SessionOverrideCreateApi(_CaseActionApi):
    """Request an outcome override on a session (reviewers only; audited).

    202 with the pending approval when a four-eyes rule asks a second
    reviewer first (the default); 201 with the override when it took effect
    at once (docs/case-work.md).
    """

    serializer_class = OverrideInputSerializer

    def get_queryset(self) -> QuerySet[WorkflowSession]:
        return selectors.session_queryset()

    @extend_schema(
        tags=["cases"],
        request=OverrideInputSerializer,
        responses={
            201: OutcomeOverrideSerializer,
            202: ApprovalSerializer,
            **ACTION_RESPONSES,
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        session = self.get_object()
        data = OverrideInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = override_services.outcome_override_request(
            session=session,
            maker=request.user,
            outcome=data.validated_data["outcome"],
            reason_code=data.validated_data["reason_code"],
            comment=data.validated_data["comment"],
            source="api",
        )
        if result.pending:
            return Response(
                ApprovalSerializer(result.approval).data,
                status=status.HTTP_202_ACCEPTED,
            )
        return Response(
            OutcomeOverrideSerializer(result.override).data,
            status=status.HTTP_201_CREATED,
        )


class SessionOverrideWithdrawApi(_CaseActionApi):
    """Withdraw a session's active outcome override, saying why."""

    serializer_class = CaseCommentSerializer

    def get_queryset(self) -> QuerySet[WorkflowSession]:
        return selectors.session_queryset()

    @extend_schema(
        tags=["cases"],
        request=CaseCommentSerializer,
        responses={200: OutcomeOverrideSerializer, **ACTION_RESPONSES},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        session = self.get_object()
        override = override_services.outcome_override_withdraw(
            session=session,
            actor=request.user,
            comment=self.comment(request),
            source="api",
        )
        return Response(OutcomeOverrideSerializer(override).data)
