"""REST API: roles, token auth, the queue's filters, keyset pages, budgets, reviews."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json

import pytest
from django.db import connection
from django.test import Client as DjangoClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from sessions_app import (
    apis,
    client_filters,
    filter_fields,
    filters,
    selectors,
)
from sessions_app.cases import apis as case_apis
from sessions_app.cases import services as case_services
from sessions_app.exceptions import ApplicationError
from sessions_app.forms import DecisionForm
from sessions_app.models import (
    AuditEvent,
    Outcome,
    ProviderKind,
    Review,
    Status,
    SyncRunState,
    SyncTrigger,
    TagKind,
    WorkflowSession,
)
from sessions_app.privacy.personal_fields import name_initials
from sessions_app.serializers import ReviewInputSerializer
from sessions_app.services import REVIEW_COMMENT_MAX_LENGTH
from tests.factories import (
    CheckFactory,
    ClientFactory,
    PolicyAssuranceFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    ReviewFactory,
    SyncRunFactory,
    TagFactory,
    WorkflowSessionFactory,
)
from tests.helpers import cursors
from tests.helpers.tokens import api_token_client

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
SESSIONS = reverse("api-session-list")
CHECKS = reverse("api-check-list")
CLIENTS = reverse("api-client-list")
SYNC_RUNS = reverse("api-sync-run-list")
LISTS = [SESSIONS, CHECKS, CLIENTS, SYNC_RUNS]


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def queue(exporter, reviewer):
    """Two providers, statuses, outcomes, tags, assignees, clients, and ties."""
    onfido = ProviderConnectionFactory(kind=ProviderKind.ONFIDO, slug="onfido-eu")
    cube = ProviderConnectionFactory(kind=ProviderKind.COMPLYCUBE, slug="cube")
    vip = TagFactory(name="vip")
    manual = TagFactory(name="manual", kind=TagKind.TECHNICAL)
    acme = ClientFactory(display_name="Acme Holdings", reference="acme-1")
    acme_pc = ProviderClientFactory(connection=onfido, client=acme, name="ACME Ltd")
    specs = [
        (onfido, Status.COMPLETED, Outcome.CLEAR, [vip], reviewer, 1, "kyc"),
        (onfido, Status.COMPLETED, Outcome.REJECTED, [], None, 2, "kyc"),
        (onfido, Status.IN_PROGRESS, Outcome.NONE, [vip, manual], exporter, 3, "kyb"),
        (cube, Status.COMPLETED, Outcome.ATTENTION, [manual], reviewer, 3, "kyc"),
        (cube, Status.FAILED, Outcome.NONE, [], None, 10, "kyb"),
        (cube, Status.COMPLETED, Outcome.CLEAR, [vip], None, 40, "kyc"),
    ]
    made = [
        WorkflowSessionFactory(
            connection=conn,
            status=status,
            outcome=outcome,
            tags=tags,
            assignee=assignee,
            workflow_id=workflow,
            provider_created_at=NOW - dt.timedelta(days=days),
        )
        for conn, status, outcome, tags, assignee, days, workflow in specs
    ]
    made.append(
        WorkflowSessionFactory(
            connection=onfido,
            provider_client=acme_pc,
            provider_created_at=NOW - dt.timedelta(days=3),
        )
    )
    CheckFactory(session=made[0], outcome=Outcome.CLEAR, check_type="document")
    CheckFactory(
        session=made[0], outcome=Outcome.ATTENTION, check_type="facial_similarity"
    )
    CheckFactory(session=made[1], outcome=Outcome.REJECTED, check_type="watchlist")
    CheckFactory(session=made[3], outcome=Outcome.NONE, check_type="document")
    return made


# --- Roles and authentication --------------------------------------------------------


@pytest.mark.parametrize("url", [*LISTS, reverse("api-schema")])
def test_anonymous_gets_no_data(url, client, queue):
    response = client.get(url, {"format": "json"})
    assert response.status_code in (401, 403)
    assert "results" not in response.json()


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(
    "client_fixture",
    ["viewer_client", "reviewer_client", "exporter_client", "admin_client_verity"],
)
def test_every_role_reads_every_list(url, client_fixture, request, queue):
    SyncRunFactory()
    response = request.getfixturevalue(client_fixture).get(url)
    assert response.status_code == 200
    assert response.json()["results"]


def test_user_without_a_role_is_refused(client, queue):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="no-role"))
    response = client.get(SESSIONS)
    assert response.status_code == 403
    assert "viewer role" in response.json()["detail"]


def test_token_authentication(viewer, queue):
    api = api_token_client(viewer)
    assert len(_ids(api.get(SESSIONS))) == len(queue)
    bad = DjangoClient(headers={"Authorization": "Token not-a-real-token"})
    response = bad.get(SESSIONS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_viewer_may_not_record_a_decision(viewer, viewer_client, queue):
    url = reverse("api-session-reviews", args=[queue[0].pk])
    body = {"decision": "approve", "reason_code": "verified"}
    assert (
        viewer_client.post(url, body, content_type="application/json").status_code
        == 403
    )
    assert (
        api_token_client(viewer)
        .post(url, body, content_type="application/json")
        .status_code
        == 403
    )
    assert not Review.objects.exists()


def test_anonymous_may_not_record_a_decision(client, queue):
    url = reverse("api-session-reviews", args=[queue[0].pk])
    response = client.post(url, {"decision": "approve", "reason_code": "verified"})
    assert response.status_code in (401, 403)
    assert not Review.objects.exists()


def test_session_authenticated_post_needs_the_csrf_token(reviewer, queue):
    browser = DjangoClient(enforce_csrf_checks=True)
    browser.force_login(reviewer)
    url = reverse("api-session-reviews", args=[queue[0].pk])
    response = browser.post(
        url,
        {"decision": "approve", "reason_code": "verified"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Review.objects.exists()


# --- Recording a decision ---------------------------------------------------------------


def test_reviewer_records_a_decision_with_review_and_audit(reviewer, queue):
    session = queue[1]
    url = reverse("api-session-reviews", args=[session.pk])
    response = api_token_client(reviewer).post(
        url,
        {
            "decision": "escalate",
            "reason_code": "watchlist_match",
            "comment": "PEP hit",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    review = Review.objects.get()
    assert response.json() == {
        "id": review.pk,
        "session_id": session.pk,
        "decision": "escalate",
        "reason_code": "watchlist_match",
        "comment": "PEP hit",
        "reviewer": "rita-reviewer",
        "approved_by": None,
        "created_at": review.created_at.isoformat().replace("+00:00", "Z"),
    }
    event = AuditEvent.objects.get(action="review.escalate")
    assert event.source == "api"
    assert event.actor == reviewer
    assert event.object_id == str(session.pk)
    assert event.after["review_id"] == review.pk
    session.refresh_from_db()
    assert session.last_decision == "escalate"
    assert session.case_state == "escalated"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "maybe", "reason_code": "verified"}, "decision"),
        ({"decision": "approve", "reason_code": "gut_feeling"}, "reason_code"),
        ({"reason_code": "verified"}, "decision"),
        (
            {
                "decision": "approve",
                "reason_code": "verified",
                "comment": "x" * (REVIEW_COMMENT_MAX_LENGTH + 1),
            },
            "comment",
        ),
    ],
)
def test_invalid_decision_input_is_a_400_with_field_errors(
    body, field, reviewer_client, queue
):
    url = reverse("api-session-reviews", args=[queue[0].pk])
    response = reviewer_client.post(url, body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Review.objects.exists()


def test_service_rule_violation_is_a_400_with_its_message(reviewer_client, queue):
    url = reverse("api-session-reviews", args=[queue[0].pk])
    response = reviewer_client.post(
        url,
        {"decision": "escalate", "reason_code": "other"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "A comment is required when the reason is 'Other'."
    }
    assert not Review.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="review.").exists()


def test_comment_limit_is_the_one_the_page_and_the_service_use(reviewer, queue):
    assert ReviewInputSerializer().fields["comment"].max_length == (
        REVIEW_COMMENT_MAX_LENGTH
    )
    assert DecisionForm().fields["comment"].max_length == REVIEW_COMMENT_MAX_LENGTH
    url = reverse("api-session-reviews", args=[queue[0].pk])
    longest = {
        "decision": "approve",
        "reason_code": "other",
        "comment": "y" * REVIEW_COMMENT_MAX_LENGTH,
    }
    response = api_token_client(reviewer).post(
        url, longest, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert Review.objects.get().comment == longest["comment"]


def test_service_refuses_a_comment_over_the_limit_whoever_calls(reviewer, queue):
    with pytest.raises(ApplicationError, match="at most 4,000 characters"):
        case_services.case_decision_record(
            session=queue[0],
            reviewer=reviewer,
            decision="approve",
            reason_code="other",
            comment="z" * (REVIEW_COMMENT_MAX_LENGTH + 1),
        )
    assert not Review.objects.exists()
    # Trimmed before it is measured, as the form and the serializer do.
    review = case_services.case_decision_record(
        session=queue[0],
        reviewer=reviewer,
        decision="approve",
        reason_code="other",
        comment="  " + "z" * REVIEW_COMMENT_MAX_LENGTH + "  ",
    ).review
    assert len(review.comment) == REVIEW_COMMENT_MAX_LENGTH


def test_body_without_a_media_type_is_a_documented_415(reviewer, queue):
    url = reverse("api-session-reviews", args=[queue[0].pk])
    response = api_token_client(reviewer).generic(
        "POST", url, b"decision", content_type=""
    )
    assert response.status_code == 415
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/sessions/{id}/reviews/"]["post"]
    assert "415" in operation["responses"]
    assert not Review.objects.exists()


@pytest.mark.parametrize("pk", [999_999, 2**63 - 1, 2**63, 10**30])
def test_decision_on_a_missing_session_is_404(pk, reviewer_client):
    url = reverse("api-session-reviews", args=[pk])
    body = {"decision": "approve", "reason_code": "verified"}
    assert (
        reviewer_client.post(url, body, content_type="application/json").status_code
        == 404
    )


# --- Filters: the queue's, with the same meaning ------------------------------------------


SESSION_FILTERS = [
    {},
    {"provider": "onfido-eu"},
    {"provider": "onfido-eu,cube"},
    {"provider_kind": "complycube"},
    {"status": "completed"},
    {"status": "completed,failed"},
    {"outcome": "none"},
    {"outcome": "clear,rejected"},
    {"tag": "vip"},
    {"tag": "manual"},
    {"q": "acme"},
    {"workflow": "kyb"},
    {"created_after": "2026-03-07"},
    {"created_before": "2026-03-07"},
    {"created_after": "2026-03-01", "created_before": "2026-03-08T00:00:00Z"},
    {"assignee": "rita-reviewer"},
    {"assignee": "none"},
    {"assignee": "me"},
    {"needs_attention": "true"},
    {"status": "completed", "tag": "vip", "provider": "onfido-eu"},
]


@pytest.mark.parametrize(
    "params",
    SESSION_FILTERS,
    ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "none",
)
def test_session_filters_select_the_queue_rows_in_queue_order(
    params, queue, exporter, exporter_client, rf
):
    api = api_token_client(exporter)
    got = _ids(api.get(SESSIONS, {**params, "page_size": 500}))
    request = rf.get("/sessions/", params)
    request.user = exporter
    assert got == [
        s.pk for s in filters.session_list(params=request.GET, request=request)
    ]
    # ...and the CSV export holds the very same rows in the same order.
    csv_response = exporter_client.get(reverse("sessions-export"), params)
    body = b"".join(csv_response.streaming_content)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))[1:]
    assert [int(row[0]) for row in rows] == got


def test_session_client_filter(queue, viewer_client):
    acme = queue[6].provider_client.client
    assert _ids(viewer_client.get(SESSIONS, {"client": acme.pk})) == [queue[6].pk]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"provider": "cube"}, lambda q: [q[3].checks.get()]),
        ({"outcome": "clear,attention"}, lambda q: list(q[0].checks.order_by("-id"))),
        ({"outcome": "none"}, lambda q: [q[3].checks.get()]),
        (
            {"status": "completed"},
            lambda q: [
                *q[0].checks.order_by("-id"),
                q[1].checks.get(),
                q[3].checks.get(),
            ],
        ),
        (
            {"check_type": "watchlist,facial_similarity"},
            lambda q: [
                q[0].checks.get(check_type="facial_similarity"),
                q[1].checks.get(),
            ],
        ),
        (
            {"kind": "screening,biometrics"},
            lambda q: [
                q[0].checks.get(check_type="facial_similarity"),
                q[1].checks.get(),
            ],
        ),
        # "document" is an Onfido report name but not a ComplyCube check type.
        ({"kind": "document"}, lambda q: [q[0].checks.get(check_type="document")]),
        ({"kind": "other"}, lambda q: [q[3].checks.get()]),
        ({"session": "SESSION1"}, lambda q: [q[1].checks.get()]),
        ({"client": "CLIENT0"}, lambda q: list(q[0].checks.order_by("-id"))),
        (
            {"created_after": "2026-03-08"},
            lambda q: [*q[0].checks.order_by("-id"), q[1].checks.get()],
        ),
        ({"created_before": "2026-03-07"}, lambda q: [q[3].checks.get()]),
    ],
)
def test_check_filters(params, expected, queue, viewer_client):
    params = {
        k: v.replace("SESSION1", str(queue[1].pk)).replace(
            "CLIENT0", str(queue[0].provider_client.client_id)
        )
        for k, v in params.items()
    }
    want = [c.pk for c in expected(queue)]
    assert _ids(viewer_client.get(CHECKS, params)) == want
    same = filters.check_filterset(params=params).qs.order_by(
        *selectors.CHECK_QUEUE_ORDERING
    )
    assert [c.pk for c in same] == want


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        (SESSIONS, {"status": "nonsense"}, "status"),
        (SESSIONS, {"outcome": "clear,maybe"}, "outcome"),
        (SESSIONS, {"provider_kind": "acme"}, "provider_kind"),
        (SESSIONS, {"created_after": "yesterday"}, "created_after"),
        (SESSIONS, {"created_before": "2026-13-45"}, "created_before"),
        (SESSIONS, {"client": "abc"}, "client"),
        (SESSIONS, {"client": "99999999999999999999999"}, "client"),
        (CHECKS, {"outcome": "maybe"}, "outcome"),
        (CHECKS, {"status": "done"}, "status"),
        (CHECKS, {"kind": "dna"}, "kind"),
        (CHECKS, {"session": "1e400"}, "session"),
        (CHECKS, {"created_after": "soon"}, "created_after"),
        (SYNC_RUNS, {"state": "sleeping"}, "state"),
        (SESSIONS, {"page_size": "0"}, "page_size"),
        (SESSIONS, {"page_size": "many"}, "page_size"),
        (SESSIONS, {"cursor": "not-a-cursor"}, "cursor"),
        (SESSIONS, {"sort": "newest"}, "sort"),
        (SESSIONS, {"sort": "--created"}, "sort"),
        (CHECKS, {"session_status": "done"}, "session_status"),
        (CHECKS, {"session_outcome": "maybe"}, "session_outcome"),
        (CHECKS, {"needs_attention": "yes"}, "needs_attention"),
    ],
)
def test_invalid_filter_values_are_a_400_with_field_errors(
    url, params, field, viewer_client, queue
):
    response = viewer_client.get(url, params)
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field]
    assert isinstance(body[field], list)
    assert body[field]


@pytest.mark.parametrize(
    ("url", "params", "field", "message"),
    [
        (SESSIONS, {"provider": "nope"}, "provider", "No provider 'nope'; known: "),
        (SESSIONS, {"provider": "nope,also-nope"}, "provider", "'also-nope'"),
        (SESSIONS, {"assignee": "ghost"}, "assignee", "No user 'ghost'."),
        (SESSIONS, {"tag": "never-used"}, "tag", "No tag 'never-used'."),
        (SESSIONS, {"client": "987654"}, "client", "No client with id '987654'."),
        (CHECKS, {"session": "987654"}, "session", "No session with id '987654'."),
        (CHECKS, {"provider": "nope"}, "provider", "No provider 'nope'"),
        (CHECKS, {"assignee": "ghost"}, "assignee", "No user 'ghost'."),
        (SYNC_RUNS, {"provider": "nope"}, "provider", "No provider 'nope'"),
    ],
)
def test_a_filter_naming_nothing_is_a_400_not_an_empty_list(
    url, params, field, message, viewer_client, queue
):
    response = viewer_client.get(url, params)
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field]
    assert any(message in error for error in body[field]), body


def test_every_filter_error_comes_back_in_one_400(viewer_client, queue):
    """A bad date is reported with the other errors, not after they are fixed."""
    response = viewer_client.get(
        SESSIONS,
        {
            "status": "nonsense",
            "provider": "nope",
            "assignee": "ghost",
            "created_after": "yesterday",
            "created_before": "2026-13-45",
        },
    )
    assert response.status_code == 400
    assert set(response.json()) == {
        "status",
        "provider",
        "assignee",
        "created_after",
        "created_before",
    }


def test_existing_names_and_the_words_me_and_none_pass_the_reference_checks(
    viewer_client, queue, reviewer
):
    slug = queue[0].connection.slug
    for params in (
        {"provider": slug},
        {"assignee": reviewer.username},
        {"assignee": "ME"},
        {"assignee": "none"},
    ):
        assert viewer_client.get(SESSIONS, params).status_code == 200, params


def test_client_filters(queue, viewer_client):
    acme = queue[6].provider_client.client
    assert _ids(viewer_client.get(CLIENTS, {"q": "acme"})) == [acme.pk]
    assert _ids(viewer_client.get(CLIENTS, {"reference": "acme-1"})) == [acme.pk]
    by_identity = viewer_client.get(
        CLIENTS, {"q": queue[6].provider_client.external_id}
    )
    assert _ids(by_identity) == [acme.pk]


def test_sync_run_filters(viewer_client):
    onfido = ProviderConnectionFactory(kind=ProviderKind.ONFIDO, slug="onfido-eu")
    cube = ProviderConnectionFactory(kind=ProviderKind.COMPLYCUBE, slug="cube")
    ok = SyncRunFactory(connection=onfido)
    failed = SyncRunFactory(
        connection=cube, state=SyncRunState.FAILED, error="HTTP 500"
    )
    manual = SyncRunFactory(connection=cube, trigger=SyncTrigger.MANUAL)
    assert _ids(viewer_client.get(SYNC_RUNS)) == [manual.pk, failed.pk, ok.pk]
    assert _ids(viewer_client.get(SYNC_RUNS, {"provider": "cube"})) == [
        manual.pk,
        failed.pk,
    ]
    assert _ids(viewer_client.get(SYNC_RUNS, {"state": "failed"})) == [failed.pk]
    assert _ids(viewer_client.get(SYNC_RUNS, {"trigger": "manual"})) == [manual.pk]
    run = viewer_client.get(reverse("api-sync-run-detail", args=[failed.pk])).json()
    assert run["provider"] == "cube"
    assert run["state"] == "failed"
    # The words, never the provider's answer (the admin has that).
    assert run["error"] == "The Cube sync failed (HTTP 500)"
    assert run["error_kind"] == ""


@pytest.mark.parametrize(
    ("url", "params", "unknown"),
    [
        (SESSIONS, {"tags": "vip"}, ["tags"]),
        (SESSIONS, {"status": "completed", "page": "2"}, ["page"]),
        (SESSIONS, {"Status": "failed", "offset": "10"}, ["Status", "offset"]),
        (CHECKS, {"sort": "-created"}, ["sort"]),
        (CHECKS, {"check": "document"}, ["check"]),
        (CLIENTS, {"name": "acme"}, ["name"]),
        (SYNC_RUNS, {"status": "failed"}, ["status"]),
    ],
)
def test_unknown_parameter_is_a_400_naming_the_allowed_ones(
    url, params, unknown, viewer_client, queue
):
    response = viewer_client.get(url, params)
    assert response.status_code == 400
    body = response.json()
    assert list(body) == unknown
    view = {
        SESSIONS: apis.SessionListApi,
        CHECKS: apis.CheckListApi,
        CLIENTS: apis.ClientListApi,
        SYNC_RUNS: apis.SyncRunListApi,
    }[url]
    allowed = [
        *view.filterset_class.base_filters,
        "cursor",
        "page_size",
        "format",
        *view.extra_query_options,
    ]
    for name in unknown:
        assert body[name] == [
            f"Unknown parameter. Allowed parameters: {', '.join(allowed)}."
        ]


@pytest.mark.parametrize("url", LISTS)
def test_pagination_format_and_filters_are_accepted_together(url, viewer_client, queue):
    response = viewer_client.get(url, {"format": "json", "page_size": 2, "cursor": ""})
    assert response.status_code == 200, response.content


def test_check_list_offers_every_queue_filter():
    queue_filters = set(filters.SessionFilterSet.base_filters)
    check_filters = set(filters.CheckFilterSet.base_filters)
    renamed = {"status": "session_status", "outcome": "session_outcome"}
    assert {renamed.get(name, name) for name in queue_filters} <= check_filters
    # ...and the check's own fields.
    assert {"status", "outcome", "check_type", "session"} <= check_filters


CHECK_QUEUE_PARAMS = [
    {"tag": "vip"},
    {"tag": "manual"},
    {"workflow": "kyb"},
    {"q": "acme"},
    {"q": "ACME Ltd"},
    {"assignee": "rita-reviewer"},
    {"assignee": "none"},
    {"assignee": "me"},
    {"needs_attention": "true"},
    {"provider_kind": "complycube"},
    {"session_status": "completed"},
    {"session_outcome": "clear,rejected"},
    {"tag": "vip", "session_outcome": "clear", "check_type": "document"},
]


@pytest.mark.parametrize(
    "params",
    CHECK_QUEUE_PARAMS,
    ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()),
)
def test_check_list_applies_the_queue_filters_through_the_session(
    params, queue, reviewer, rf
):
    api = api_token_client(reviewer)
    queue_params = {
        name.removeprefix("session_"): value
        for name, value in params.items()
        if name != "check_type"
    }
    request = rf.get("/sessions/", queue_params)
    request.user = reviewer  # `assignee=me` means the caller, as on the page
    sessions = [s.pk for s in filters.session_list(params=request.GET, request=request)]
    checks = selectors.check_queryset().filter(session_id__in=sessions)
    if "check_type" in params:
        checks = checks.filter(check_type=params["check_type"])
    expected = list(
        checks.order_by(*selectors.CHECK_QUEUE_ORDERING).values_list("pk", flat=True)
    )
    assert _ids(api.get(CHECKS, {**params, "page_size": 500})) == expected


def test_check_list_tag_filter_is_not_ignored(queue, viewer_client):
    # The audited gap: `?tag=vip` used to list every check.
    rows = viewer_client.get(CHECKS, {"tag": "vip"}).json()["results"]
    assert {row["session_id"] for row in rows} == {queue[0].pk}
    assert len(viewer_client.get(CHECKS).json()["results"]) == 4


@pytest.mark.parametrize("sort", selectors.SESSION_SORT_VALUES)
def test_session_list_follows_the_queue_sort_page_after_page(
    sort, queue, viewer_client, exporter_client
):
    walked = [
        row["id"]
        for page in _walk(viewer_client, SESSIONS, {"sort": sort, "page_size": 2})
        for row in page["results"]
    ]
    queue_page = selectors.session_page(
        queryset=selectors.session_queryset(), sort=sort, page_size=100
    )
    assert walked == [s.pk for s in queue_page.items]
    body = b"".join(
        exporter_client.get(
            reverse("sessions-export"), {"sort": sort}
        ).streaming_content
    )
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))[1:]
    assert [int(row[0]) for row in rows] == walked


def test_a_cursor_from_another_sort_is_refused(queue, viewer_client):
    next_url = viewer_client.get(SESSIONS, {"sort": "status", "page_size": 1}).json()[
        "next"
    ]
    cursor = next_url.split("cursor=")[1].split("&")[0]
    response = viewer_client.get(SESSIONS, {"sort": "-updated", "cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.json()


# --- Keyset pagination ---------------------------------------------------------------------


def _walk(api, url, params):
    pages, next_url = [], url
    first = True
    while next_url:
        response = api.get(next_url, params if first else None)
        first = False
        assert response.status_code == 200
        body = response.json()
        pages.append(body)
        next_url = body["next"]
    return pages


def test_walking_all_pages_has_no_duplicates_and_no_gaps(viewer_client):
    conn = ProviderConnectionFactory()
    # 120 sessions, many sharing a creation time, so the id must break ties.
    for i in range(120):
        WorkflowSessionFactory(
            connection=conn, provider_created_at=NOW - dt.timedelta(hours=i // 7)
        )
    pages = _walk(viewer_client, SESSIONS, {"page_size": 25})
    assert [len(p["results"]) for p in pages] == [25, 25, 25, 25, 20]
    walked = [row["id"] for page in pages for row in page["results"]]
    assert len(walked) == len(set(walked)) == 120
    expected = list(
        selectors.session_queryset()
        .order_by(*selectors.SESSION_QUEUE_ORDERING)
        .values_list("pk", flat=True)
    )
    assert walked == expected
    # The way back: page 3's previous link shows page 2 again.
    back = viewer_client.get(pages[2]["previous"]).json()
    assert [r["id"] for r in back["results"]] == [r["id"] for r in pages[1]["results"]]
    assert pages[0]["previous"] is None
    first_again = viewer_client.get(pages[1]["previous"]).json()
    assert [r["id"] for r in first_again["results"]] == [
        r["id"] for r in pages[0]["results"]
    ]


def test_pagination_keeps_the_filters(viewer_client):
    conn = ProviderConnectionFactory()
    for i in range(30):
        WorkflowSessionFactory(
            connection=conn,
            status=Status.COMPLETED if i % 3 else Status.FAILED,
            provider_created_at=NOW - dt.timedelta(minutes=i),
        )
    pages = _walk(viewer_client, SESSIONS, {"status": "failed", "page_size": 4})
    walked = [row for page in pages for row in page["results"]]
    assert len(walked) == 10
    assert {row["status"] for row in walked} == {"failed"}
    assert "status=failed" in pages[0]["next"]


@pytest.mark.parametrize("url", LISTS)
def test_every_list_walks_completely(url, viewer_client):
    for i in range(7):
        session = WorkflowSessionFactory(
            provider_created_at=NOW - dt.timedelta(minutes=i % 2),
            provider_client=ProviderClientFactory(
                client=ClientFactory(display_name="Same Name")
            ),
        )
        CheckFactory(session=session)
        SyncRunFactory(connection=session.connection)
    walked = [
        r["id"]
        for p in _walk(viewer_client, url, {"page_size": 2})
        for r in p["results"]
    ]
    assert len(walked) == len(set(walked)) == 7


def test_page_size_is_capped(viewer_client, monkeypatch):
    monkeypatch.setattr(apis.KeysetCursorPagination, "max_page_size", 5)
    for _ in range(8):
        WorkflowSessionFactory()
    body = viewer_client.get(SESSIONS, {"page_size": 1000}).json()
    assert len(body["results"]) == 5
    assert body["next"]
    assert apis.KeysetCursorPagination.page_size == 50


def test_default_cap_is_500():
    assert apis.KeysetCursorPagination.max_page_size == 500


def test_a_cursor_from_another_list_is_refused(viewer_client, queue):
    SyncRunFactory()
    SyncRunFactory()
    cursor = (
        viewer_client.get(SYNC_RUNS, {"page_size": 1})
        .json()["next"]
        .split("cursor=")[1]
    )
    response = viewer_client.get(SESSIONS, {"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.json()


# --- Representations --------------------------------------------------------------------


def test_session_list_row_is_flat_and_iso(queue, viewer_client):
    row = viewer_client.get(SESSIONS, {"page_size": 1}).json()["results"][0]
    session = queue[0]
    assert row["id"] == session.pk
    assert row["url"] == f"http://testserver/api/v1/sessions/{session.pk}/"
    assert row["page_url"] == f"http://testserver/sessions/{session.pk}/"
    assert row["provider"] == "onfido-eu"
    assert row["provider_kind"] == "onfido"
    assert row["client_id"] == session.provider_client.client_id
    # Lists show names as initials, for every role (docs/data-protection.md).
    assert row["client_name"] == name_initials(
        session.provider_client.client.display_name
    )
    assert row["assignee"] == "rita-reviewer"
    assert row["tags"] == [{"name": "vip", "kind": "user"}]
    assert row["provider_created_at"] == "2026-03-09T12:00:00Z"
    assert row["started_at"] is None
    assert "checks" not in row
    assert "reviews" not in row


def test_session_detail_includes_checks_tags_policies_reviews_and_client(
    queue, viewer_client
):
    session = queue[0]
    PolicyAssuranceFactory(
        session=session, policy_name="AML", outcome=Outcome.ATTENTION
    )
    ReviewFactory(session=session, comment="looks fine")
    body = viewer_client.get(reverse("api-session-detail", args=[session.pk])).json()
    assert [c["check_type"] for c in body["checks"]] == [
        "document",
        "facial_similarity",
    ]
    assert body["checks"][0]["breakdown"] == {
        "visual_authenticity": {"result": "clear"}
    }
    assert body["tags"] == [{"name": "vip", "kind": "user"}]
    assert body["policy_assurances"][0]["policy_name"] == "AML"
    assert body["reviews"][0]["comment"] == "looks fine"
    client = session.provider_client.client
    assert body["client"] == {
        "id": client.pk,
        "display_name": name_initials(client.display_name),  # a viewer: masked
        "reference": client.reference,
    }
    assert body["provider_client"]["external_id"] == session.provider_client.external_id
    assert body["reasons"] == []


def test_session_without_client_serialises_nulls(viewer_client):
    session = WorkflowSessionFactory(provider_client=None)
    body = viewer_client.get(reverse("api-session-detail", args=[session.pk])).json()
    assert body["client"] is None
    assert body["provider_client"] is None
    assert body["client_id"] is None
    row = viewer_client.get(SESSIONS).json()["results"][0]
    assert row["client_name"] is None


@pytest.mark.parametrize(
    "name",
    [
        "api-session-detail",
        "api-check-detail",
        "api-client-detail",
        "api-sync-run-detail",
    ],
)
@pytest.mark.parametrize("pk", [424242, 2**63, 10**25])
def test_missing_detail_is_404(name, pk, viewer_client):
    assert viewer_client.get(reverse(name, args=[pk])).status_code == 404


def test_detail_ignores_list_filters(queue, viewer_client):
    url = reverse("api-session-detail", args=[queue[0].pk])
    assert viewer_client.get(url, {"status": "failed"}).status_code == 200


def test_check_detail_has_breakdown_and_session(queue, viewer_client):
    check = queue[1].checks.get()
    body = viewer_client.get(reverse("api-check-detail", args=[check.pk])).json()
    assert body["session_id"] == queue[1].pk
    assert body["session_external_id"] == queue[1].external_id
    assert body["outcome"] == "rejected"
    assert body["breakdown"] == {"visual_authenticity": {"result": "clear"}}
    listed = viewer_client.get(CHECKS, {"session": queue[1].pk}).json()["results"][0]
    assert "breakdown" not in listed


def test_client_detail_lists_identities_and_a_bounded_set_of_sessions(
    viewer_client, monkeypatch
):
    monkeypatch.setattr(apis, "CLIENT_DETAIL_SESSIONS", 3)
    client = ClientFactory(display_name="Bounded Ltd")
    onfido = ProviderClientFactory(client=client)
    cube = ProviderClientFactory(
        client=client,
        connection=ProviderConnectionFactory(kind=ProviderKind.COMPLYCUBE),
    )
    sessions = [
        WorkflowSessionFactory(
            provider_client=pc,
            connection=pc.connection,
            provider_created_at=NOW - dt.timedelta(hours=i),
        )
        for i, pc in enumerate([onfido, cube, onfido, cube, onfido])
    ]
    body = viewer_client.get(reverse("api-client-detail", args=[client.pk])).json()
    assert [s["id"] for s in body["sessions"]] == [s.pk for s in sessions[:3]]
    assert body["sessions_truncated"] is True
    assert (
        body["sessions_url"] == f"http://testserver/api/v1/sessions/?client={client.pk}"
    )
    assert {p["provider_kind"] for p in body["provider_clients"]} == {
        "onfido",
        "complycube",
    }
    everything = _ids(viewer_client.get(body["sessions_url"]))
    assert everything == [s.pk for s in sessions]


# --- Query budgets -----------------------------------------------------------------------


def _populate(n: int) -> None:
    tags = [TagFactory(name="vip"), TagFactory(name="ops", kind=TagKind.TECHNICAL)]
    for _ in range(n):
        session = WorkflowSessionFactory(tags=tags)
        CheckFactory(session=session)
        SyncRunFactory(connection=session.connection)


def _count(api, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", LISTS)
def test_list_query_count_is_constant(
    url, viewer_client, django_assert_max_num_queries
):
    _populate(5)
    small = _count(viewer_client, url, {"page_size": 100})
    _populate(45)
    with django_assert_max_num_queries(small):
        response = viewer_client.get(url, {"page_size": 100})
    assert len(response.json()["results"]) >= 50
    assert small <= 8


@pytest.mark.parametrize(
    ("url", "params"),
    [
        (SESSIONS, {"assignee": "me", "tag": "vip", "status": "completed"}),
        (SESSIONS, {"q": "a", "tag": "vip", "sort": "provider"}),
        (
            CHECKS,
            {"assignee": "none", "tag": "vip", "q": "a", "session_status": "completed"},
        ),
    ],
)
def test_filtered_list_query_count_is_constant(
    url, params, reviewer, reviewer_client, django_assert_max_num_queries
):
    params = {**params, "page_size": 100}
    _populate(5)
    small = _count(reviewer_client, url, params)
    _populate(45)
    with django_assert_max_num_queries(small):
        response = reviewer_client.get(url, params)
    assert response.status_code == 200


def test_detail_query_counts_are_constant(viewer_client, django_assert_max_num_queries):
    session = WorkflowSessionFactory(tags=[TagFactory()])
    client = session.provider_client.client

    def grow(k: int) -> None:
        for _ in range(k):
            CheckFactory(session=session)
            PolicyAssuranceFactory(session=session)
            ReviewFactory(session=session)
            WorkflowSessionFactory(
                provider_client=session.provider_client, tags=[TagFactory()]
            )

    grow(2)
    urls = [
        reverse("api-session-detail", args=[session.pk]),
        reverse("api-client-detail", args=[client.pk]),
    ]
    small = [_count(viewer_client, url) for url in urls]
    grow(20)
    for url, budget in zip(urls, small, strict=True):
        with django_assert_max_num_queries(budget):
            assert viewer_client.get(url).status_code == 200
    # +1: the session's reasons, +1: its approvals, +1: its active override
    assert max(small) <= 12


# --- Schema and docs pages ---------------------------------------------------------------


def test_schema_needs_a_login_and_is_served_to_viewers(client, viewer_client):
    assert client.get(reverse("api-schema")).status_code in (401, 403)
    response = viewer_client.get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert set(schema["paths"]) >= {
        "/api/v1/sessions/",
        "/api/v1/sessions/{id}/",
        "/api/v1/sessions/{id}/reviews/",
        "/api/v1/checks/",
        "/api/v1/checks/{id}/",
        "/api/v1/clients/",
        "/api/v1/clients/{id}/",
        "/api/v1/sync-runs/",
        "/api/v1/sync-runs/{id}/",
    }
    params = {
        p["name"] for p in schema["paths"]["/api/v1/sessions/"]["get"]["parameters"]
    }
    assert params >= {
        "provider",
        "status",
        "outcome",
        "tag",
        "workflow",
        "q",
        "created_after",
        "created_before",
        "assignee",
        "client",
        "cursor",
        "page_size",
    }


def test_docs_page_is_served_locally_and_fits_the_csp(client, viewer_client):
    docs = reverse("api-docs")
    anonymous = client.get(docs)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))
    response = viewer_client.get(docs)
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    )
    assert "cdn" not in html.lower()
    assert "https://" not in html
    assert "<style" not in html, "inline style would be blocked by style-src 'self'"
    assert "<script>" not in html, "inline script would be blocked by script-src"
    assert f'src="{docs}?script=' in html
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    script = viewer_client.get(docs, {"script": ""})
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content
    assert reverse("api-schema").encode() in script.content


@pytest.mark.parametrize("value", ["100%", "%s%d", "%(x)s", "«%15"])
def test_percent_signs_in_a_bad_date_are_a_400_not_a_500(value, viewer_client):
    """Found by schemathesis: the error message must not be %-formatted with the value."""
    response = viewer_client.get(SESSIONS, {"created_after": value})
    assert response.status_code == 400
    assert response.json() == {
        "created_after": [
            f"{value!r} is not a date (YYYY-MM-DD) or date-time (ISO 8601)."
        ]
    }


def _forged(payload: dict) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("url", "payload"),
    [
        (SESSIONS, {"s": "-provider_created_at", "v": "abc", "i": 1, "b": False}),
        (SESSIONS, {"s": "-provider_created_at", "v": {"dt": 5}, "i": 1, "b": False}),
        (
            SESSIONS,
            {
                "s": "-provider_created_at",
                "v": {"dt": "2026-13-45T00:00:00"},
                "i": 1,
                "b": False,
            },
        ),
        (SESSIONS, {"s": "-provider_created_at", "v": None, "i": 1, "b": False}),
        (SESSIONS, {"s": "-provider_created_at", "v": [1, 2], "i": 1, "b": False}),
        (SESSIONS, {"s": "-provider_created_at", "v": 1e308, "i": 1, "b": False}),
        (
            SESSIONS,
            {
                "s": "-provider_created_at",
                "v": {"dt": "2026-01-01T00:00:00+00:00"},
                "i": 10**30,
                "b": False,
            },
        ),
        (
            SESSIONS,
            {
                "s": "-provider_created_at",
                "v": {"dt": "2026-01-01T00:00:00+00:00"},
                "i": -(10**30),
                "b": False,
            },
        ),
        (CLIENTS, {"s": "display_name", "v": "a\x00b", "i": 1, "b": False}),
        (CLIENTS, {"s": "display_name", "v": 7, "i": 1, "b": False}),
        (CHECKS, {"s": "-session__provider_created_at", "v": "x", "i": 1, "b": True}),
    ],
)
def test_forged_cursors_are_a_400_never_a_500(url, payload, viewer_client):
    """Cursors are client input: values that do not fit the sort column are refused."""
    WorkflowSessionFactory()
    response = viewer_client.get(url, {"cursor": _forged(payload)})
    assert response.status_code == 400
    assert list(response.json()) == ["cursor"]


def test_a_well_formed_cursor_is_accepted(viewer_client):
    sessions = [
        WorkflowSessionFactory(provider_created_at=NOW - dt.timedelta(hours=i))
        for i in range(3)
    ]
    cursor = _forged(
        {
            "s": "-provider_created_at",
            "v": {"dt": sessions[0].provider_created_at.isoformat()},
            "i": sessions[0].pk,
            "b": False,
        }
    )
    assert _ids(viewer_client.get(SESSIONS, {"cursor": cursor})) == [
        sessions[1].pk,
        sessions[2].pk,
    ]


@pytest.mark.parametrize(
    "value", ["2026-03-08T16:25:00+16:25", "2026-03-08T23:59:00+23:59"]
)
def test_offsets_postgres_would_refuse_are_converted_to_utc(
    value, queue, viewer_client
):
    """Found by schemathesis on PostgreSQL (offsets beyond +/-15:59 are a DataError)."""
    response = viewer_client.get(SESSIONS, {"created_after": value})
    assert response.status_code == 200
    assert _ids(response) == [queue[0].pk, queue[1].pk]


# --- Hostile cursors (issue 17): a 400 naming the cursor, never a 500 --------------------

LIST_SORTS = {
    SESSIONS: "-provider_created_at",
    CHECKS: "-session__provider_created_at",
    CLIENTS: "display_name",
    SYNC_RUNS: "-started_at",
}
DATE_SORTED = [SESSIONS, CHECKS, SYNC_RUNS]


@pytest.fixture
def one_of_each():
    session = WorkflowSessionFactory()
    CheckFactory(session=session)
    SyncRunFactory(connection=session.connection)


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("kind", ["value", "bare", "objects"])
def test_a_deeply_nested_cursor_is_a_400(url, kind, one_of_each, viewer_client):
    cursor = cursors.nested_cursors(LIST_SORTS[url])[kind]
    response = viewer_client.get(url, {"cursor": cursor})
    assert response.status_code == 400
    assert response.json() == {
        "cursor": ["Invalid cursor: cursor is nested too deeply."]
    }


@pytest.mark.parametrize("url", DATE_SORTED)
@pytest.mark.parametrize("moment", cursors.EDGE_DATES)
@pytest.mark.parametrize("backwards", [False, True])
def test_a_cursor_date_off_the_calendar_is_a_400(
    url, moment, backwards, one_of_each, viewer_client
):
    cursor = cursors.date_cursor(LIST_SORTS[url], moment, backwards=backwards)
    response = viewer_client.get(url, {"cursor": cursor})
    assert response.status_code == 400
    [message] = response.json()["cursor"]
    assert message in (
        "Invalid cursor: cursor date-time is out of range.",
        "Invalid cursor: cursor date-time has no time zone.",
    )


@pytest.mark.parametrize("sort", ["created", "-updated"])
def test_the_session_lists_other_date_sort_refuses_edge_dates_too(
    sort, one_of_each, viewer_client
):
    field = selectors.session_sort_ordering(sort)[0]
    cursor = cursors.date_cursor(field, "9999-12-31T23:59:59-05:00")
    response = viewer_client.get(SESSIONS, {"sort": sort, "cursor": cursor})
    assert response.status_code == 400
    assert list(response.json()) == ["cursor"]


@pytest.mark.parametrize("url", DATE_SORTED)
@pytest.mark.parametrize("moment", cursors.EDGE_DATES_VALID)
def test_a_cursor_at_the_calendars_ends_in_utc_is_accepted(
    url, moment, one_of_each, viewer_client
):
    response = viewer_client.get(
        url, {"cursor": cursors.date_cursor(LIST_SORTS[url], moment)}
    )
    assert response.status_code == 200
    expected = 1 if moment.startswith("9999") else 0
    assert len(response.json()["results"]) == expected


@pytest.mark.parametrize("url", LISTS)
def test_an_overlong_cursor_is_a_400(url, viewer_client):
    response = viewer_client.get(url, {"cursor": "A" * 10_000})
    assert response.status_code == 400
    assert response.json() == {"cursor": ["Invalid cursor: cursor is too long."]}


# --- Hostile bodies (issue 17) -------------------------------------------------------------


@pytest.mark.parametrize("depth", [1_500, 100_000])
@pytest.mark.parametrize(
    "shape",
    [
        lambda n: "[" * n + "]" * n,
        lambda n: '{"a":' * n + "1" + "}" * n,
        lambda n: (
            '{"decision": "approve", "reason_code": "verified", "comment": '
            + "[" * n
            + "]" * n
            + "}"
        ),
        lambda n: "[" * n,  # unterminated
    ],
    ids=["array", "object", "in-a-field", "unterminated"],
)
def test_a_deeply_nested_json_body_is_a_400(shape, depth, reviewer, queue):
    url = reverse("api-session-reviews", args=[queue[0].pk])
    response = api_token_client(reviewer).post(
        url, shape(depth), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "JSON parse error - the body is nested too deeply."
    }
    assert not Review.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="review.").exists()


@pytest.mark.parametrize("depth", [100, 500, 900])
def test_a_nested_value_python_can_decode_is_a_field_error(depth, reviewer, queue):
    url = reverse("api-session-reviews", args=[queue[0].pk])
    body = {"decision": "approve", "reason_code": "verified"}
    nested: list = []
    for _ in range(depth - 1):
        nested = [nested]
    body["comment"] = nested
    response = api_token_client(reviewer).post(
        url, body, content_type="application/json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["comment"]
    assert not Review.objects.exists()


def test_the_api_uses_the_guarded_json_parser():
    from sessions_app.parsers import JSONParser

    assert case_apis.SessionReviewCreateApi().get_parsers()[0].__class__ is JSONParser


# --- Every path under /api/ answers JSON (issue 17) ---------------------------------------

NOT_AN_ENDPOINT = [
    "/api/v1/sessions/abc/",
    "/api/v1/sessions/-1/",
    "/api/v1/sessions/1.5/",
    "/api/v1/checks/abc/",
    "/api/v1/clients/%F0%9F%98%80/",
    "/api/v1/sync-runs/1e3/",
    "/api/v1/sessions/abc/reviews/",
    "/api/v1/sessions/1/reviews/extra/",
    "/api/v1/nothing/",
    "/api/v2/sessions/",
    "/api/",
    "/api/v1/sessions/1%0A/",
]


@pytest.mark.parametrize("path", NOT_AN_ENDPOINT)
@pytest.mark.parametrize("who", ["anonymous", "viewer"])
def test_a_path_under_api_that_names_no_endpoint_is_a_json_404(path, who, viewer):
    client = DjangoClient()
    if who == "viewer":
        client.force_login(viewer)
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"].startswith("Not found. No API endpoint")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_every_method_gets_the_json_404_without_a_csrf_token(method, reviewer):
    client = DjangoClient(enforce_csrf_checks=True)
    client.force_login(reviewer)
    response = getattr(client, method)(
        "/api/v1/sessions/abc/reviews/",
        '{"decision": "approve"}',
        content_type="application/json",
    )
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_an_endpoint_without_its_slash_is_still_redirected_on_get(viewer_client):
    response = viewer_client.get("/api/v1/sessions", {"status": "completed"})
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/sessions/?status=completed"
    assert viewer_client.get("/api/v1/checks/7").status_code == 301


def test_a_post_without_the_slash_is_a_404_naming_the_path(reviewer, queue):
    url = reverse("api-session-reviews", args=[queue[0].pk])
    response = api_token_client(reviewer).post(
        url.rstrip("/"), {"decision": "approve"}, content_type="application/json"
    )
    assert response.status_code == 404
    assert response.json() == {
        "detail": f"Not found. This endpoint's path ends with a slash: {url}"
    }
    assert not Review.objects.exists()


def test_the_catch_all_is_not_in_the_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert all(path.startswith("/api/v1/") for path in schema["paths"])
    # 9, the retention and erasure-request 2, the reveals 2, the case work's 7,
    # the notes 2 (a session's, a client's), bulk work 1, the saved views' 2
    assert len(schema["paths"]) == 25


@pytest.mark.parametrize("path", ["/sessions/abc/", "/nothing/", "/clients/abc/"])
def test_the_desk_keeps_its_html_404(path, viewer_client):
    response = viewer_client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_server_error_under_api_is_json_and_the_desk_keeps_its_page(
    viewer, monkeypatch
):
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(selectors, "session_api_list_queryset", broken)
    client = DjangoClient(raise_request_exception=False)
    client.force_login(viewer)
    response = client.get(SESSIONS)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Server error."}
    monkeypatch.setattr(selectors, "session_queue_page", broken)
    page = client.get(reverse("session-list"))
    assert page.status_code == 500
    assert page["Content-Type"].startswith("text/html")


# --- Blank filter values are unset (issue 17) ---------------------------------------------

LIST_FILTERSETS = {
    SESSIONS: filters.SessionFilterSet,
    CHECKS: filters.CheckFilterSet,
    CLIENTS: client_filters.ClientFilterSet,
    SYNC_RUNS: filters.SyncRunFilterSet,
}
BLANKS = ["", " ", "\t"]
LIST_BLANKS = [",", " , ", ",,"]


def _blank_cases() -> list[tuple[str, str, str]]:
    cases = []
    for url, filterset_class in LIST_FILTERSETS.items():
        for name, filter_ in filterset_class.base_filters.items():
            blanks = BLANKS + (
                LIST_BLANKS if filter_fields.filter_is_list(filter_) else []
            )
            cases.extend((url, name, blank) for blank in blanks)
    return cases


@pytest.mark.parametrize(("url", "name", "blank"), _blank_cases())
def test_a_blank_filter_value_leaves_the_filter_unset(
    url, name, blank, queue, viewer_client
):
    SyncRunFactory(connection=queue[0].connection)
    everything = _ids(viewer_client.get(url))
    assert everything
    assert _ids(viewer_client.get(url, {name: blank})) == everything


@pytest.mark.parametrize(
    ("url", "blanked", "plain"),
    [
        (SESSIONS, {"status": "completed,"}, {"status": "completed"}),
        (SESSIONS, {"status": ", completed , failed"}, {"status": "completed,failed"}),
        (SESSIONS, {"outcome": "none,"}, {"outcome": "none"}),
        (SESSIONS, {"provider": "onfido-eu, "}, {"provider": "onfido-eu"}),
        (CHECKS, {"session_status": ",completed"}, {"session_status": "completed"}),
        (SYNC_RUNS, {"state": "succeeded,"}, {"state": "succeeded"}),
    ],
)
def test_blank_items_of_a_list_are_ignored(url, blanked, plain, queue, viewer_client):
    SyncRunFactory(connection=queue[0].connection, state=SyncRunState.SUCCEEDED)
    expected = _ids(viewer_client.get(url, plain))
    assert expected
    assert _ids(viewer_client.get(url, blanked)) == expected


def test_outcome_comma_no_longer_silently_means_no_outcome(queue, viewer_client):
    # Before, `outcome=,` was the list [""], which matched the sessions with
    # no outcome yet (what `outcome=none` asks for), without saying so.
    assert _ids(viewer_client.get(SESSIONS, {"outcome": ","})) == _ids(
        viewer_client.get(SESSIONS)
    )


@pytest.mark.parametrize("url", LISTS)
def test_blank_page_size_and_cursor_are_the_defaults(url, queue, viewer_client):
    SyncRunFactory(connection=queue[0].connection)
    first = _ids(viewer_client.get(url))
    assert _ids(viewer_client.get(url, {"page_size": " ", "cursor": " "})) == first


@pytest.mark.parametrize(
    "path",
    ["/api/v1/sessions/", "/api/v1/checks/", "/api/v1/clients/", "/api/v1/sync-runs/"],
)
def test_the_schema_documents_blank_as_unset(path):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    parameters = schema["paths"][path]["get"]["parameters"]
    filter_names = set(LIST_FILTERSETS[path].base_filters)
    documented = {p["name"]: p for p in parameters}
    assert filter_names <= set(documented)
    for name in [*filter_names, "cursor", "page_size"]:
        parameter = documented[name]
        assert parameter["allowEmptyValue"] is True, name
        assert parameter["description"].startswith("Blank "), name
    for name in filter_names:
        assert "means unset: not filtered" in documented[name]["description"]


def test_session_rows_carry_user_reference_decision_score_and_link_expiry(
    viewer_client,
):
    session = WorkflowSessionFactory(
        user_reference="ws_250603_1",
        decision="review",
        risk_score=0.42,
        link_expires_at=dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC),
        dashboard_url="https://dashboard.onfido.com/results/r1",
    )
    plain = WorkflowSessionFactory()
    for url in (SESSIONS, reverse("api-session-detail", args=[session.pk])):
        body = viewer_client.get(url).json()
        row = (
            next(r for r in body["results"] if r["id"] == session.pk)
            if "results" in body
            else body
        )
        assert (
            row["user_reference"],
            row["decision"],
            row["risk_score"],
            row["link_expires_at"],
            row["dashboard_url"],
        ) == (
            "ws_250603_1",
            "review",
            0.42,
            "2026-07-01T12:00:00Z",
            "https://dashboard.onfido.com/results/r1",
        )
    row = viewer_client.get(reverse("api-session-detail", args=[plain.pk])).json()
    assert (row["user_reference"], row["decision"], row["risk_score"]) == ("", "", None)
    assert row["link_expires_at"] is None


# --- Due times: the overdue filter and the sort by due (issue 19) ------------------------


@pytest.mark.parametrize("sort", ["due", "-due"])
def test_the_overdue_filter_and_the_due_sort_agree_across_api_queue_and_csv(
    sort, queue, viewer_client, exporter_client
):
    now = dt.datetime.now(dt.UTC)
    for i, session in enumerate(queue):
        # Ties on the due time; one session with none, one not yet due.
        due = None if i == 0 else now - dt.timedelta(hours=i % 2) - dt.timedelta(1)
        if i == 1:
            due = now + dt.timedelta(days=1)
        WorkflowSession.objects.filter(pk=session.pk).update(case_due_at=due)
    params = {"sort": sort, "overdue": "true"}
    walked = [
        row["id"]
        for page in _walk(viewer_client, SESSIONS, {**params, "page_size": 2})
        for row in page["results"]
    ]
    overdue = WorkflowSession.objects.filter(case_due_at__lt=now).values_list(
        "case_due_at", "provider_created_at", "pk"
    )
    expected = [pk for *_, pk in sorted(overdue, reverse=sort.startswith("-"))]
    assert walked == expected
    assert len(walked) == len(queue) - 2
    page = viewer_client.get(reverse("session-list"), {**params, "page_size": 100})
    assert [s.pk for s in page.context["sessions"]] == walked
    body = b"".join(
        exporter_client.get(reverse("sessions-export"), params).streaming_content
    )
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))[1:]
    assert [int(row[0]) for row in rows] == walked
    not_overdue = viewer_client.get(SESSIONS, {"overdue": "false", "page_size": 100})
    assert {row["id"] for row in not_overdue.json()["results"]} == {
        queue[0].pk,
        queue[1].pk,
    }
    bad = viewer_client.get(SESSIONS, {"overdue": "soon"})
    assert bad.status_code == 400
