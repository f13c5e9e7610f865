"""Notes and bulk work in the API: the same services and permissions as the
pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from sessions_app.cases.apis_work import ClientNotesApi, SessionNotesApi
from sessions_app.cases.notes import note_add, session_notes_get
from sessions_app.models import Approval, AuditEvent, Note, WorkflowSession
from tests.factories import ClientFactory, UserFactory, WorkflowSessionFactory
from tests.helpers.tokens import api_token_client

pytestmark = pytest.mark.django_db


def _post(user, url, body):
    return api_token_client(user).post(url, body, content_type="application/json")


def test_a_reviewer_adds_and_everyone_lists_session_notes(reviewer, viewer):
    session = WorkflowSessionFactory()
    url = reverse("api-session-notes", args=[session.pk])
    response = _post(reviewer, url, {"text": "  From the API.  "})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["text"] == "From the API."
    assert body["author"] == reviewer.username
    assert body["session_id"] == session.pk
    assert AuditEvent.objects.get(action="note.add").source == "api"
    note_add(session=session, author=reviewer, text="second")
    listed = api_token_client(viewer).get(url).json()
    assert [n["text"] for n in listed["results"]] == ["second", "From the API."]


def test_the_notes_api_pages_in_the_selectors_order(viewer, reviewer):
    # A note with a later id but an earlier created_at (written with a date
    # in the past, e.g. imported): the API lists it where the session page
    # does, by created_at then id, across page boundaries.
    session = WorkflowSessionFactory()
    for text in ("first", "second", "third"):
        note_add(session=session, author=reviewer, text=text)
    backdated = note_add(session=session, author=reviewer, text="backdated")
    Note.objects.filter(pk=backdated.pk).update(
        created_at=Note.objects.get(text="first").created_at - dt.timedelta(hours=1)
    )
    expected = [n.text for n in session_notes_get(session_id=session.pk).notes]
    assert expected == ["third", "second", "first", "backdated"]

    api = api_token_client(viewer)
    url = reverse("api-session-notes", args=[session.pk]) + "?page_size=1"
    listed = []
    while url:
        page = api.get(url).json()
        listed += [n["text"] for n in page["results"]]
        url = page["next"]

    assert listed == expected


def test_viewers_cannot_add_notes(viewer):
    client = ClientFactory()
    response = _post(
        viewer, reverse("api-client-notes", args=[client.pk]), {"text": "x"}
    )
    assert response.status_code == 403
    assert not Note.objects.exists()


def test_client_notes_and_bad_input(reviewer):
    client = ClientFactory()
    url = reverse("api-client-notes", args=[client.pk])
    assert _post(reviewer, url, {"text": "Board changed."}).status_code == 201
    assert Note.objects.get().client_id == client.pk
    blank = _post(reviewer, url, {"text": "   "})
    assert blank.status_code == 400
    assert _post(reviewer, url, {"text": "x" * 2001}).status_code == 400
    assert Note.objects.count() == 1
    assert (
        api_token_client(reviewer).get(reverse("api-client-notes", args=[999999]))
    ).status_code == 404


def test_the_two_notes_apis_differ_only_in_whose_notes_they_are():
    for api in (SessionNotesApi, ClientNotesApi):
        own = {name for name in vars(api) if not name.startswith("__")}
        assert own == {"target"}, api


@pytest.mark.parametrize(("kind", "post_queries"), [("session", 15), ("client", 12)])
def test_notes_apis_keep_their_query_counts(
    kind, post_queries, reviewer, django_assert_max_num_queries
):
    target = WorkflowSessionFactory() if kind == "session" else ClientFactory()
    for number in range(3):
        note_add(author=reviewer, text=f"note {number}", **{kind: target})
    api = api_token_client(reviewer)
    url = reverse(f"api-{kind}-notes", args=[target.pk])
    # Session, user and token, the object, the page's notes with their authors.
    with django_assert_max_num_queries(7):
        assert len(api.get(url).json()["results"]) == 3
    with django_assert_max_num_queries(post_queries):  # the note and its audit event
        created = api.post(url, {"text": "x"}, content_type="application/json")
    assert created.status_code == 201
    with django_assert_max_num_queries(6):
        missing = api.get(reverse(f"api-{kind}-notes", args=[999999]))
    assert missing.status_code == 404


def test_the_notes_apis_schema_names_each_operation_by_its_path():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for kind in ("sessions", "clients"):
        operations = paths[f"/api/v1/{kind}/{{id}}/notes/"]
        assert operations["get"]["operationId"] == f"{kind}_notes_list"
        assert operations["post"]["operationId"] == f"{kind}_notes_create"
        assert operations["get"]["tags"] == operations["post"]["tags"] == ["notes"]
        assert set(operations["get"]["responses"]) == {"200", "400", "403", "404"}
        assert set(operations["post"]["responses"]) == {
            "201",
            "400",
            "403",
            "404",
            "415",
        }
        assert kind[:-1] in operations["get"]["description"]


def test_bulk_assign_reports_each_row(reviewer):
    rows = WorkflowSessionFactory.create_batch(2)
    response = _post(
        reviewer,
        reverse("api-sessions-bulk"),
        {"session_ids": [rows[0].pk, rows[1].pk, 999999], "action": "assign_me"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert [r["outcome"] for r in body["rows"]] == ["done", "done", "refused"]
    assert body["summary"] == "2 assigned to you; 1 not: no such session (999999)."
    assert WorkflowSession.objects.filter(assignee=reviewer).count() == 2
    assert AuditEvent.objects.get(action="sessions.bulk").source == "api"


def test_bulk_decisions_in_the_api_follow_four_eyes(reviewer):
    rows = WorkflowSessionFactory.create_batch(2, outcome="attention")
    body = _post(
        reviewer,
        reverse("api-sessions-bulk"),
        {
            "session_ids": [r.pk for r in rows],
            "action": "decide",
            "decision": "reject",
            "reason_code": "document_issue",
        },
    ).json()
    assert [r["outcome"] for r in body["rows"]] == ["pending", "pending"]
    assert Approval.objects.filter(result="").count() == 2


def test_bulk_assign_to_a_named_reviewer(reviewer):
    UserFactory(username="rita", roles=["reviewer"])
    row = WorkflowSessionFactory()
    url = reverse("api-sessions-bulk")
    ok = _post(
        reviewer, url, {"session_ids": [row.pk], "action": "assign", "assignee": "rita"}
    )
    assert ok.json()["summary"] == "1 assigned to rita."
    nobody = _post(
        reviewer,
        url,
        {"session_ids": [row.pk], "action": "assign", "assignee": "nobody"},
    )
    assert nobody.status_code == 400
    assert "assignee" in nobody.json()


@pytest.mark.parametrize(
    "body",
    [
        {"session_ids": [], "action": "assign_me"},
        {"session_ids": list(range(1, 102)), "action": "assign_me"},
        {"session_ids": [1], "action": "explode"},
        {"session_ids": [1], "action": "note", "text": ""},
        {
            "session_ids": [1],
            "action": "decide",
            "decision": "approve",
            "reason_code": "fraud_suspected",
        },
    ],
)
def test_bad_bulk_requests_are_400_and_change_nothing(reviewer, body):
    WorkflowSessionFactory(pk=1)
    response = _post(reviewer, reverse("api-sessions-bulk"), body)
    assert response.status_code == 400
    assert not AuditEvent.objects.exclude(action__startswith="api_token").exists()


@pytest.mark.parametrize("role", ["viewer", "exporter"])
def test_viewers_cannot_work_in_bulk(role):
    user = UserFactory(roles=[role])
    row = WorkflowSessionFactory()
    response = _post(
        user,
        reverse("api-sessions-bulk"),
        {"session_ids": [row.pk], "action": "assign_me"},
    )
    assert response.status_code == 403
    assert not AuditEvent.objects.exclude(action__startswith="api_token").exists()
