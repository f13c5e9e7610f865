"""One FilterSet per list, shared by the HTML pages, the REST API and the CSV
exports, so the three can never disagree about what a filter means.

Every filter is a plain query parameter with a stable name (docs/api.md):
provider, status, outcome, tag, workflow, q, created_after, created_before,
assignee, client, needs_attention, case_state, awaiting_my_approval, overdue. Lists
accept comma-separated values (`status=completed,failed`).
No filter renders a table into a form: providers are matched by slug, users by
username, tags by name.

A value must name something: an unknown provider slug, username, tag, client
or session id is a field error like a bad date (filter_fields.CheckedFilterSet),
and all of a request's errors are reported together.

django-filter ignores a parameter it does not know, so a misspelt or
unsupported filter would silently list (or export) everything. The API and
the CSV exports refuse such a parameter instead (`parameters_unknown`).

The FilterSets are where a request's query string becomes a queryset: they
parse and validate the parameters and narrow a selector's base queryset
(`session_filterset`, `check_filterset`); the selectors then page, sort or
export what they are handed and never see the request. Imports run one way:
filters -> selectors -> models.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import django_filters as filters
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.functional import cached_property

from .cases.selectors import awaiting_approval_by_q
from .cases.states import CASE_STATE_CLOSED, CLOSED_STATES, CaseState
from .filter_fields import (
    CharInFilter,
    CheckedFilterSet,
    ChoiceInFilter,
    FlexibleDateTimeFilter,
    ReferenceCharFilter,
    ReferenceCharInFilter,
    ReferenceIdFilter,
)
from .models import (
    Check,
    CheckKind,
    Client,
    Outcome,
    ProviderConnection,
    ProviderKind,
    ReasonKind,
    SessionReason,
    Status,
    SyncRun,
    SyncRunState,
    SyncTrigger,
    Tag,
    WorkflowSession,
    needs_attention_q,
)
from .selectors import check_queryset, session_list_queryset
from .selectors.search import sessions_search

UNASSIGNED = "none"
ASSIGNED_TO_ME = "me"
NO_OUTCOME = "none"

OUTCOME_CHOICES = [(NO_OUTCOME, "None yet"), *[c for c in Outcome.choices if c[0]]]
CASE_STATE_CHOICES = [
    *CaseState.choices,
    (CASE_STATE_CLOSED, "Closed (approved or rejected)"),
]


# --- What a reference filter's values must name (filter_fields.ReferenceFilterMixin) ---
# Each returns the values that name nothing, in one query.


def _missing(values: list[str], found: Iterable[Any]) -> list[str]:
    present = {str(value) for value in found}
    return [value for value in dict.fromkeys(values) if value not in present]


def providers_unknown(slugs: list[str], filterset: Any) -> list[str]:
    found = dict(
        ProviderConnection.objects.filter(slug__in=slugs).values_list("slug", "pk")
    )
    # Kept for the filters that need the connections' ids (the directory's).
    filterset.resolved["provider"] = found
    return _missing(slugs, found)


def provider_slugs() -> list[str]:
    return list(
        ProviderConnection.objects.order_by("slug").values_list("slug", flat=True)
    )


def assignees_unknown(values: list[str], filterset: Any) -> list[str]:
    # "me" and "none" are words, not usernames (any case, like the filter).
    names = [v for v in values if v.lower() not in {UNASSIGNED, ASSIGNED_TO_ME}]
    if not names:
        return []
    found = dict(
        get_user_model()
        .objects.filter(username__in=names)
        .values_list("username", "pk")
    )
    # Kept for filter_assignee: the check's look-up is the filter's.
    filterset.resolved["assignee"] = found
    return _missing(names, found)


def tags_unknown(names: list[str], filterset: Any) -> list[str]:
    found: dict[str, list[int]] = {}
    for name, pk in Tag.objects.filter(name__in=names).values_list("name", "pk"):
        found.setdefault(name, []).append(pk)
    filterset.resolved["tag"] = found  # for filter_tag, as above
    return _missing(names, found)


def clients_unknown(ids: list[str], filterset: Any) -> list[str]:
    return _missing(ids, Client.objects.filter(pk__in=ids).values_list("pk", flat=True))


def sessions_unknown(ids: list[str], filterset: Any) -> list[str]:
    found = WorkflowSession.objects.filter(pk__in=ids).values_list("pk", flat=True)
    return _missing(ids, found)


class SessionFilterSet(CheckedFilterSet):
    provider = ReferenceCharInFilter(
        field_name="connection__slug",
        lookup_expr="in",
        label="Provider",
        help_text="Provider connection slug(s), comma-separated; each must exist.",
        noun="provider",
        unknown=providers_unknown,
        known=provider_slugs,
    )
    provider_kind = ChoiceInFilter(
        field_name="connection__kind",
        lookup_expr="in",
        choices=ProviderKind.choices,
        label="Provider kind",
    )
    status = ChoiceInFilter(lookup_expr="in", choices=Status.choices, label="Status")
    outcome = ChoiceInFilter(
        method="filter_outcome", choices=OUTCOME_CHOICES, label="Outcome"
    )
    tag = ReferenceCharFilter(
        method="filter_tag",
        label="Tag",
        help_text="Tag name (an existing tag).",
        noun="tag",
        unknown=tags_unknown,
    )
    workflow = filters.CharFilter(
        method="filter_workflow", label="Workflow", help_text="Workflow id or name."
    )
    q = filters.CharFilter(
        method="filter_q",
        label="Search",
        help_text=(
            "Client name (contains), or an exact session id, user reference, "
            "client or provider id."
        ),
    )
    created_after = FlexibleDateTimeFilter(
        field_name="provider_created_at", bound="after", label="Created from"
    )
    created_before = FlexibleDateTimeFilter(
        field_name="provider_created_at", bound="before", label="Created until"
    )
    assignee = ReferenceCharFilter(
        method="filter_assignee",
        label="Assignee",
        help_text="Username (an existing user), 'me', or 'none' for unassigned.",
        noun="user",
        unknown=assignees_unknown,
    )
    client = ReferenceIdFilter(
        field_name="provider_client__client_id",
        label="Client id",
        noun="client with id",
        unknown=clients_unknown,
    )
    reason = ChoiceInFilter(
        method="filter_reason",
        choices=ReasonKind.choices,
        label="Reason",
        help_text="Reason kind(s) in Verity's words, comma-separated (a session with any of them).",
    )
    needs_attention = filters.ChoiceFilter(
        method="filter_needs_attention",
        choices=[("true", "Yes"), ("false", "No")],
        label="Needs attention",
        help_text="'true': sessions an officer must look at: outcome attention or rejected with the case open or in review, or status awaiting input, failed or unknown.",
    )

    case_state = ChoiceInFilter(
        method="filter_case_state",
        choices=CASE_STATE_CHOICES,
        label="Case state",
        help_text="Verity's case state (docs/case-work.md), comma-separated; "
        "'closed' is approved and rejected.",
    )
    awaiting_my_approval = filters.ChoiceFilter(
        method="filter_awaiting_my_approval",
        choices=[("true", "Yes")],
        label="Awaiting my approval",
        help_text="'true': decisions awaiting a second reviewer that you did not "
        "make (you may approve them).",
    )

    overdue = filters.ChoiceFilter(
        method="filter_overdue",
        choices=[("true", "Yes"), ("false", "No")],
        label="Overdue",
        help_text="'true': sessions whose case is past its due time "
        "(docs/case-work.md, due times); 'false': the others, with or without one.",
    )

    class Meta:
        model = WorkflowSession
        fields: list[str] = []

    def filter_case_state(self, qs: QuerySet, name: str, values: list[str]) -> QuerySet:
        if not values:
            return qs
        states: list[str] = []
        for value in values:
            states.extend(CLOSED_STATES if value == CASE_STATE_CLOSED else [value])
        return qs.filter(case_state__in=list(dict.fromkeys(states)))

    def filter_overdue(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return qs
        overdue = Q(case_due_at__lt=timezone.now())  # the due-time index's range
        return qs.filter(overdue) if value == "true" else qs.exclude(overdue)

    def filter_awaiting_my_approval(
        self, qs: QuerySet, name: str, value: str
    ) -> QuerySet:
        if value != "true":
            return qs
        user = getattr(self.request, "user", None)
        if user is None or not user.is_authenticated:
            return qs.none()
        return qs.filter(awaiting_approval_by_q(user))

    def filter_outcome(self, qs: QuerySet, name: str, values: list[str]) -> QuerySet:
        if not values:
            return qs
        wanted = ["" if v == NO_OUTCOME else v for v in values]
        return qs.filter(outcome__in=wanted)

    def filter_reason(self, qs: QuerySet, name: str, values: list[str]) -> QuerySet:
        if not values:
            return qs
        # EXISTS on the (code, session) index: a session with two matching
        # reasons is listed once.
        return qs.filter(
            Exists(
                SessionReason.objects.filter(session_id=OuterRef("pk"), code__in=values)
            )
        )

    def filter_tag(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return qs
        # The tag ids are read first (one tiny query) and passed as literals:
        # with a subquery PostgreSQL cannot tell how common the tag is, guesses
        # "rare", and at a million sessions joins every tagged row before
        # sorting (0.35-0.9 s); with the ids it walks the queue's own index
        # and probes the tag per row (about 10 ms).
        name = value.strip()
        known = self.resolved.get("tag")
        tag_ids = (
            known.get(name, [])
            if known is not None
            else list(Tag.objects.filter(name=name).values_list("pk", flat=True))
        )
        if not tag_ids:
            return qs.none()
        # EXISTS, not a join: a tag name used as both kinds must not duplicate rows.
        tagged = WorkflowSession.tags.through.objects.filter(
            workflowsession_id=OuterRef("pk"), tag_id__in=tag_ids
        )
        return qs.filter(Exists(tagged))

    def filter_workflow(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return qs
        return qs.filter(Q(workflow_id=value) | Q(workflow_name=value))

    def filter_q(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return sessions_search(queryset=qs, term=value)

    def filter_needs_attention(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return qs
        # One definition of "needs attention" (beside the model and its
        # partial index) serves the overview, the queue, the API and CSV.
        condition = needs_attention_q()
        return qs.filter(condition) if value == "true" else qs.exclude(condition)

    def filter_assignee(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return qs
        if value.lower() == UNASSIGNED:
            return qs.filter(assignee__isnull=True)
        if value.lower() == ASSIGNED_TO_ME:
            user = getattr(self.request, "user", None)
            if user is None or not user.is_authenticated:
                return qs.none()
            return qs.filter(assignee_id=user.pk)
        known = self.resolved.get("assignee")
        user_id = (
            known.get(value)
            if known is not None
            else get_user_model()
            .objects.filter(username=value)
            .values_list("pk", flat=True)
            .first()
        )
        return qs.filter(assignee_id=user_id) if user_id else qs.none()


def _with_session_filters(
    filterset_class: type[filters.FilterSet],
) -> type[filters.FilterSet]:
    """Add every SessionFilterSet filter to a checks FilterSet, applied through
    each check's session by `filter_session`.

    The filters are copies of the queue's own (same form fields, choices and
    schema types), so a filter the queue gains reaches the checks list too.
    A queue filter whose name the checks list already uses for a field of the
    check itself (`status`, `outcome`) is offered as `session_<name>`.
    """
    added: dict[str, filters.Filter] = {}
    for session_name, original in SessionFilterSet.base_filters.items():
        name = session_name
        if session_name in filterset_class.declared_filters:
            name = f"session_{session_name}"
        session_filter = copy.deepcopy(original)
        session_filter.field_name = session_name
        session_filter.method = "filter_session"
        what = session_filter.extra.get("help_text") or session_filter.label
        if name != session_name:
            session_filter.label = f"Session {str(session_filter.label).lower()}"
        session_filter.extra["help_text"] = f"Applied to the check's session. {what}"
        added[name] = session_filter
    filterset_class.declared_filters = {**filterset_class.declared_filters, **added}
    filterset_class.base_filters = filterset_class.get_filters()
    return filterset_class


@_with_session_filters
class CheckFilterSet(CheckedFilterSet):
    """Checks, filtered by their own fields or by their session's queue filters.

    The check's own filters are declared here; every review-queue filter is
    added by `_with_session_filters` and keeps the queue's name (`provider`,
    `tag`, `q`, `created_after`, ...), except `session_status` and
    `session_outcome`, since `status` and `outcome` are the check's.
    """

    status = ChoiceInFilter(lookup_expr="in", choices=Status.choices, label="Status")
    outcome = ChoiceInFilter(
        method="filter_outcome", choices=OUTCOME_CHOICES, label="Outcome"
    )
    check_type = CharInFilter(lookup_expr="in", label="Check type")
    kind = ChoiceInFilter(
        lookup_expr="in", choices=CheckKind.choices, label="Check kind"
    )
    session = ReferenceIdFilter(
        field_name="session_id",
        label="Session id",
        noun="session with id",
        unknown=sessions_unknown,
    )

    class Meta:
        model = Check
        fields: list[str] = []

    filter_outcome = SessionFilterSet.filter_outcome

    @cached_property
    def session_filterset(self) -> SessionFilterSet:
        """The queue's FilterSet (same request) whose filters apply to sessions."""
        return SessionFilterSet(
            queryset=WorkflowSession.objects.none(), request=self.request
        )

    def filter_session(
        self, qs: QuerySet, name: str, value: str | int | list[str]
    ) -> QuerySet:
        """Keep checks whose session passes the queue's filter `name`."""
        # `value` is what the copied filter's form field cleaned (a list for
        # the comma-separated filters); the union hint also keeps the schema
        # typed from each filter rather than from this method.
        queue_filter = self.session_filterset.filters[name]
        sessions = queue_filter.filter(WorkflowSession.objects.order_by(), value)
        return qs.filter(session_id__in=sessions.values("pk"))


class SyncRunFilterSet(CheckedFilterSet):
    provider = ReferenceCharInFilter(
        field_name="connection__slug",
        lookup_expr="in",
        label="Provider",
        noun="provider",
        unknown=providers_unknown,
        known=provider_slugs,
    )
    state = ChoiceInFilter(
        lookup_expr="in", choices=SyncRunState.choices, label="State"
    )
    trigger = ChoiceInFilter(
        lookup_expr="in", choices=SyncTrigger.choices, label="Trigger"
    )

    class Meta:
        model = SyncRun
        fields: list[str] = []


# --- Bound to the lists' base querysets ---------------------------------------------------


def session_filterset(
    *, params: QueryDict | Mapping[str, Any], request: HttpRequest | None = None
) -> SessionFilterSet:
    """Return the review queue's FilterSet bound to `params` over the list rows
    (`selectors.session_list_queryset`), not yet validated nor evaluated.

    `request` gives the `assignee=me` filter its user.
    """
    return SessionFilterSet(
        data=params, queryset=session_list_queryset(), request=request
    )


def session_list(
    *, params: QueryDict | Mapping[str, Any], request: HttpRequest | None = None
) -> QuerySet[WorkflowSession]:
    """Filtered sessions, or none when a filter value is invalid (check the FilterSet)."""
    filterset = session_filterset(params=params, request=request)
    if not filterset.is_valid():
        return WorkflowSession.objects.none()
    return filterset.qs


def check_filterset(
    *, params: QueryDict | Mapping[str, Any], request: HttpRequest | None = None
) -> CheckFilterSet:
    """Return the checks list's FilterSet bound to `params` (`selectors.check_queryset`)."""
    return CheckFilterSet(data=params, queryset=check_queryset(), request=request)


# --- Parameters a list accepts ----------------------------------------------------------


def filterset_parameters(
    filterset_class: type[filters.FilterSet], *, options: Iterable[str] = ()
) -> list[str]:
    """Return the query parameters a list accepts: its filters, then `options`
    (sort, pagination, format: whatever the caller reads besides filters)."""
    return [*filterset_class.base_filters, *options]


def parameters_unknown(params: Iterable[str], *, allowed: Iterable[str]) -> list[str]:
    """Return the names in `params` that are not `allowed`, in request order."""
    accepted = set(allowed)
    return [name for name in dict.fromkeys(params) if name not in accepted]


def unknown_parameter_message(allowed: Iterable[str]) -> str:
    """Return the error for a parameter a list does not accept, naming those it does."""
    return f"Unknown parameter. Allowed parameters: {', '.join(allowed)}."
