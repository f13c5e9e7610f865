"""The export URLs (exports/views.py): the same rows as the queue for the same
filters and sort, who may export, and 400s for invalid or unknown parameters."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from sessions_app import filters, selectors
from sessions_app.models import AuditEvent
from tests.factories import WorkflowSessionFactory
from tests.helpers.exports import (
    CHECKS_URL,
    NOW,
    SESSIONS_URL,
    csv_column,
    csv_ids,
    csv_read,
)

pytestmark = pytest.mark.django_db


# --- Same rows as the queue ------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
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
    ],
    ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "no-filter",
)
def test_sessions_csv_rows_equal_the_queue_for_the_same_filters(
    params, queue, exporter, exporter_client, rf
):
    response = exporter_client.get(SESSIONS_URL, params)
    assert response.status_code == 200
    header, rows = csv_read(response)
    request = rf.get("/sessions/", params)
    request.user = exporter  # `assignee=me` means the exporter, as on the page
    expected = [s.pk for s in filters.session_list(params=request.GET, request=request)]
    assert csv_ids(header, rows) == expected
    # The queue's own order: newest first, ties broken by the higher id.
    assert expected == [
        s.pk
        for s in sorted(
            queue, key=lambda s: (s.provider_created_at, s.pk), reverse=True
        )
        if s.pk in expected
    ]


def test_checks_csv_rows_follow_the_queue_and_the_check_filters(
    queue, personal_exporter_client
):
    header, rows = csv_read(personal_exporter_client.get(CHECKS_URL))
    ids = csv_ids(header, rows, "Verity check id")
    expected = list(
        filters.check_filterset(params={}).qs.order_by(*selectors.CHECK_QUEUE_ORDERING)
    )
    assert ids == [c.pk for c in expected]
    # Sessions appear newest first, as in the queue.
    session_ids = csv_ids(header, rows, "Verity session id")
    assert session_ids == [queue[0].pk] * 3 + [queue[1].pk, queue[2].pk]

    header, rows = csv_read(
        personal_exporter_client.get(
            CHECKS_URL, {"outcome": "clear", "session": queue[0].pk}
        )
    )
    assert csv_column(header, rows, "Outcome") == ["clear", "clear"]
    row = dict(zip(header, rows[0], strict=True))
    assert row["Provider"] == "onfido-eu"
    assert row["Session external id"] == queue[0].external_id
    assert row["Client"] == queue[0].provider_client.client.display_name
    assert row["Verity session URL"] == f"http://testserver/sessions/{queue[0].pk}/"


def test_checks_csv_carries_and_filters_by_check_kind(queue, exporter_client):
    header, rows = csv_read(exporter_client.get(CHECKS_URL, {"kind": "document"}))
    assert rows
    assert set(csv_column(header, rows, "Check kind")) == {"document"}
    header, rows = csv_read(exporter_client.get(CHECKS_URL))
    assert sorted(set(csv_column(header, rows, "Check kind"))) == sorted(
        {c.kind for c in filters.check_filterset(params={}).qs}
    )


# --- Permissions -------------------------------------------------------------------------


@pytest.mark.parametrize("url", [SESSIONS_URL, CHECKS_URL])
@pytest.mark.parametrize(
    ("client_fixture", "expected"),
    [
        ("viewer_client", 403),
        ("reviewer_client", 403),
        ("exporter_client", 200),
        ("admin_client_verity", 200),
    ],
)
def test_only_exporters_and_admins_may_export(url, client_fixture, expected, request):
    WorkflowSessionFactory()
    response = request.getfixturevalue(client_fixture).get(url)
    assert response.status_code == expected
    if expected == 403:
        assert not AuditEvent.objects.filter(action__startswith="export.").exists()


def test_superuser_may_export(superuser, client):
    client.force_login(superuser)
    assert client.get(SESSIONS_URL).status_code == 200


@pytest.mark.parametrize("url", [SESSIONS_URL, CHECKS_URL])
def test_anonymous_is_sent_to_login(url, client):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_export_is_get_only(exporter_client):
    assert exporter_client.post(SESSIONS_URL).status_code == 405


# --- Invalid filters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        (SESSIONS_URL, {"status": "nonsense"}, "status"),
        (SESSIONS_URL, {"created_after": "yesterday"}, "created_after"),
        (SESSIONS_URL, {"created_after": "100%"}, "created_after"),
        (SESSIONS_URL, {"client": "abc"}, "client"),
        (SESSIONS_URL, {"client": "99999999999999999999999"}, "client"),
        (CHECKS_URL, {"outcome": "maybe"}, "outcome"),
        (CHECKS_URL, {"session": "1e400"}, "session"),
    ],
)
def test_invalid_filter_is_a_plain_text_400_and_exports_nothing(
    url, params, field, exporter_client
):
    response = exporter_client.get(url, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode()
    assert "nothing was exported" in text
    assert f"{field}: " in text
    assert not AuditEvent.objects.filter(action__startswith="export.").exists()


# --- Unknown parameters, the checks list's queue filters, the queue's sort -------------


@pytest.mark.parametrize(
    ("url", "params", "unknown"),
    [
        (SESSIONS_URL, {"tags": "vip"}, ["tags"]),
        (SESSIONS_URL, {"status": "completed", "page": "3"}, ["page"]),
        (SESSIONS_URL, {"cursor": "abc", "Status": "failed"}, ["cursor", "Status"]),
        (CHECKS_URL, {"sort": "-created"}, ["sort"]),
        (CHECKS_URL, {"check": "document"}, ["check"]),
    ],
)
def test_unknown_parameter_is_a_400_naming_the_allowed_ones(
    url, params, unknown, queue, exporter_client
):
    response = exporter_client.get(url, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode()
    assert "nothing was exported" in text
    filterset_class = (
        filters.SessionFilterSet if url == SESSIONS_URL else filters.CheckFilterSet
    )
    allowed = list(filterset_class.base_filters) + (
        ["sort"] if url == SESSIONS_URL else []
    )
    for name in unknown:
        assert f"{name}: Unknown parameter. Allowed parameters: " in text
    assert ", ".join(allowed) in text
    assert not AuditEvent.objects.filter(action__startswith="export.").exists()


def test_checks_csv_tag_filter_exports_only_tagged_sessions_checks(
    queue, exporter_client
):
    # The audited gap: `?tag=vip` used to export every check, audited `{}`.
    header, rows = csv_read(exporter_client.get(CHECKS_URL, {"tag": "vip"}))
    assert set(csv_ids(header, rows, "Verity session id")) == {queue[0].pk, queue[2].pk}
    event = AuditEvent.objects.get(action="export.checks_csv")
    assert event.after["filters"] == {"tag": "vip"}


# The queue's filters on the checks list: check parameter -> queue parameter.
CHECK_QUEUE_PARAMS = [
    {"tag": "vip"},
    {"tag": "manual"},
    {"workflow": "kyc"},
    {"q": "acme"},
    {"q": "nothing matches this"},
    {"assignee": "rita-reviewer"},
    {"assignee": "none"},
    {"assignee": "me"},
    {"needs_attention": "true"},
    {"needs_attention": "false"},
    {"provider_kind": "complycube"},
    {"session_status": "in_progress"},
    {"session_outcome": "clear,rejected"},
    {"session_outcome": "none"},
    {"tag": "vip", "session_status": "completed", "outcome": "clear"},
]


@pytest.mark.parametrize(
    "params",
    CHECK_QUEUE_PARAMS,
    ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()),
)
def test_checks_csv_applies_the_queue_filters_through_the_session(
    params, queue, exporter, exporter_client, rf
):
    queue_params = {
        name.removeprefix("session_"): value
        for name, value in params.items()
        if name not in {"outcome"}
    }
    request = rf.get("/sessions/", queue_params)
    request.user = exporter
    sessions = {s.pk for s in filters.session_list(params=request.GET, request=request)}
    expected = list(
        selectors.check_queryset()
        .filter(session_id__in=sessions)
        .filter(**({"outcome": params["outcome"]} if "outcome" in params else {}))
        .order_by(*selectors.CHECK_QUEUE_ORDERING)
        .values_list("pk", flat=True)
    )
    header, rows = csv_read(exporter_client.get(CHECKS_URL, params))
    assert csv_ids(header, rows, "Verity check id") == expected
    event = AuditEvent.objects.get(action="export.checks_csv")
    assert event.after["filters"] == params


@pytest.mark.parametrize("sort", selectors.SESSION_SORT_VALUES)
def test_sessions_csv_lists_rows_in_the_queue_order_for_every_sort(
    sort, queue, exporter_client
):
    # Ties on every sort key, so the id tie-break is exercised both ways.
    page = selectors.session_page(
        queryset=selectors.session_queryset(), sort=sort, page_size=100
    )
    header, rows = csv_read(exporter_client.get(SESSIONS_URL, {"sort": sort}))
    assert csv_ids(header, rows) == [s.pk for s in page.items]
    assert AuditEvent.objects.get(action="export.sessions_csv").after["sort"] == sort


def test_queue_export_link_downloads_the_rows_in_the_order_on_screen(
    queue, exporter_client
):
    WorkflowSessionFactory(provider_created_at=NOW - dt.timedelta(days=2))
    params = {"status": "completed", "sort": "provider", "page_size": 50}
    page = exporter_client.get(reverse("session-list"), params)
    assert page.status_code == 200
    on_screen = [s.pk for s in page.context["sessions"]]
    default_order = [
        s.pk
        for s in filters.session_list(params={"status": "completed"}).order_by(
            *selectors.SESSION_QUEUE_ORDERING
        )
    ]
    assert on_screen != default_order, "the sort must change the order here"
    export_url = page.context["export_url"]
    assert "sort=provider" in export_url
    header, rows = csv_read(exporter_client.get(export_url))
    assert csv_ids(header, rows) == on_screen


@pytest.mark.parametrize("sort", ["newest", "-", "created,id", "--created"])
def test_unknown_sort_is_a_400_and_exports_nothing(sort, queue, exporter_client):
    response = exporter_client.get(SESSIONS_URL, {"sort": sort})
    assert response.status_code == 400
    text = response.content.decode()
    assert "sort: Unknown sort" in text
    assert "-created" in text
    assert not AuditEvent.objects.filter(action__startswith="export.").exists()


def test_blank_sort_is_the_default_order(queue, exporter_client):
    header, rows = csv_read(exporter_client.get(SESSIONS_URL, {"sort": ""}))
    assert csv_ids(header, rows) == [
        s.pk
        for s in selectors.session_queryset().order_by(
            *selectors.SESSION_QUEUE_ORDERING
        )
    ]


# --- Blank filter values are unset, as on the queue and the API (issue 17) ---------------


@pytest.mark.parametrize(
    ("url", "action"),
    [(SESSIONS_URL, "export.sessions_csv"), (CHECKS_URL, "export.checks_csv")],
)
def test_blank_filter_values_export_everything_and_are_not_audited(
    url, action, queue, exporter_client
):
    _header, everything = csv_read(exporter_client.get(url))
    assert everything
    # Audit events are never deleted (on PostgreSQL a trigger refuses): the
    # blank export's event is the one after the first export's two.
    last = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True)[
        0
    ]
    blanks = {"status": ",", "outcome": " ", "client": " ", "needs_attention": " "}
    _header, rows = csv_read(exporter_client.get(url, blanks))
    assert rows == everything
    fresh = AuditEvent.objects.filter(sequence__gt=last)
    assert fresh.get(action=action).after["filters"] == {}


def test_blank_items_of_a_list_filter_are_left_out_of_the_audit(queue, exporter_client):
    header, rows = csv_read(
        exporter_client.get(SESSIONS_URL, {"status": "completed, "})
    )
    plain = csv_read(exporter_client.get(SESSIONS_URL, {"status": "completed"}))
    assert csv_ids(header, rows) == csv_ids(*plain)
    events = AuditEvent.objects.filter(action="export.sessions_csv").order_by("pk")
    assert [e.after["filters"] for e in events] == [
        {"status": "completed"},
        {"status": "completed"},
    ]
