"""Outcome overrides in the API: the same services and permissions as the
page; the session detail shows the active override."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import (
    Approval,
    AuditEvent,
    OutcomeOverride,
    OverrideState,
    WorkflowSession,
)
from tests.factories import (
    OutcomeOverrideFactory,
    UserFactory,
    WorkflowSessionFactory,
)
from tests.helpers.tokens import api_token_client

pytestmark = pytest.mark.django_db

BODY = {"outcome": "rejected", "reason_code": "fraud_suspected", "comment": "Forged."}


@pytest.fixture
def session():
    return WorkflowSessionFactory(outcome="clear")


@pytest.fixture
def checker():
    return UserFactory(username="carla-checker", roles=["reviewer"])


def _post(user, name, pk, body=None):
    return api_token_client(user).post(
        reverse(name, args=[pk]), body or {}, content_type="application/json"
    )


def _detail(user, session) -> dict:
    response = api_token_client(user).get(
        reverse("api-session-detail", args=[session.pk])
    )
    assert response.status_code == 200
    return response.json()


def test_a_request_is_a_202_and_takes_effect_when_another_approves(
    reviewer, checker, session
):
    response = _post(reviewer, "api-session-override", session.pk, BODY)

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["decision"], body["override_outcome"], body["result"]) == (
        "override",
        "rejected",
        "pending",
    )
    assert _detail(reviewer, session)["outcome_override"] is None

    refused = _post(reviewer, "api-approval-approve", body["id"])
    assert refused.status_code == 400
    assert "another reviewer" in refused.json()["detail"]
    approved = _post(checker, "api-approval-approve", body["id"])
    assert approved.status_code == 200
    assert approved.json()["result"] == "approved"

    detail = _detail(reviewer, session)
    assert detail["outcome"] == "clear"
    assert detail["effective_outcome"] == "rejected"
    override = detail["outcome_override"]
    assert (override["maker"], override["approver"], override["state"]) == (
        "rita-reviewer",
        "carla-checker",
        "active",
    )
    assert override["summary"] == (
        "Rejected — override by rita-reviewer, approved by carla-checker "
        "(provider: clear)"
    )
    assert override["provider_changed"] is False
    assert list(
        AuditEvent.objects.filter(action__startswith="approval.")
        .order_by("id")
        .values_list("action", "source")
    ) == [("approval.request", "api"), ("approval.approve", "api")]


def test_a_viewer_gets_403_and_nothing_is_written(viewer, session):
    for name in ("api-session-override", "api-session-override-withdraw"):
        assert _post(viewer, name, session.pk, BODY).status_code == 403
    assert not Approval.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {**BODY, "outcome": "approved"},
        {**BODY, "reason_code": "verified"},
        {**BODY, "comment": ""},
        {"outcome": "clear", "reason_code": "verified", "comment": "Already."},
    ],
)
def test_bad_requests_are_400s_in_words(reviewer, session, body):
    response = _post(reviewer, "api-session-override", session.pk, body)
    assert response.status_code == 400
    assert not Approval.objects.exists()


def test_a_send_back_through_the_api_leaves_no_override(reviewer, checker, session):
    approval_id = _post(reviewer, "api-session-override", session.pk, BODY).json()["id"]
    response = _post(
        checker, "api-approval-send-back", approval_id, {"comment": "Not convinced."}
    )
    assert response.status_code == 200
    assert not OutcomeOverride.objects.exists()
    assert _detail(reviewer, session)["effective_outcome"] == "clear"


def test_withdrawing_through_the_api(reviewer, checker, session):
    approval_id = _post(reviewer, "api-session-override", session.pk, BODY).json()["id"]
    _post(checker, "api-approval-approve", approval_id)

    missing = _post(reviewer, "api-session-override-withdraw", session.pk)
    assert missing.status_code == 400
    response = _post(
        checker, "api-session-override-withdraw", session.pk, {"comment": "Wrong."}
    )

    assert response.status_code == 200, response.content
    assert response.json()["state"] == "withdrawn"
    assert OutcomeOverride.objects.get().state == OverrideState.WITHDRAWN
    assert _detail(reviewer, session)["outcome_override"] is None


def test_without_a_rule_it_is_a_201_with_the_override(reviewer, session, settings):
    settings.VERITY_FOUR_EYES_RULES = []
    response = _post(reviewer, "api-session-override", session.pk, BODY)
    assert response.status_code == 201
    assert response.json()["approver"] is None


# --- The session list: effective_outcome -------------------------------------------


def _list_rows(viewer_client, **params) -> dict[str, dict]:
    response = viewer_client.get(reverse("api-session-list"), params)
    assert response.status_code == 200, response.content
    return {row["external_id"]: row for row in response.json()["results"]}


def _overridden(external_id: str, *, provider: str, override: str) -> None:
    OutcomeOverrideFactory(
        session=WorkflowSessionFactory(external_id=external_id, outcome=provider),
        outcome=override,
    )


def test_the_list_gives_each_rows_effective_outcome(viewer_client, reviewer):
    _overridden("run-overridden", provider="clear", override="rejected")
    ended = OutcomeOverrideFactory(
        session=WorkflowSessionFactory(external_id="run-ended", outcome="attention"),
        outcome="clear",
        state=OverrideState.WITHDRAWN,
        ended_at=timezone.now(),
        ended_by=reviewer,
    )
    WorkflowSessionFactory(external_id="run-plain", outcome="attention")
    rows = _list_rows(viewer_client)
    assert rows["run-overridden"]["outcome"] == "clear"  # the provider's, kept
    assert rows["run-overridden"]["effective_outcome"] == "rejected"
    # A withdrawn override no longer counts; no override: the provider's.
    assert rows["run-ended"]["effective_outcome"] == "attention"
    assert ended.session.outcome == "attention"
    assert rows["run-plain"]["effective_outcome"] == "attention"
    # The client page's API rows say the same.
    client_id = (
        WorkflowSession.objects.select_related("provider_client")
        .get(external_id="run-overridden")
        .provider_client.client_id
    )
    body = viewer_client.get(reverse("api-client-detail", args=[client_id])).json()
    assert [s["effective_outcome"] for s in body["sessions"]] == ["rejected"]


def test_the_lists_overrides_cost_one_query_a_page(
    viewer_client, django_assert_max_num_queries
):
    for number in range(3):
        _overridden(f"run-a{number}", provider="clear", override="rejected")
        WorkflowSessionFactory(external_id=f"run-b{number}")
    # The list cost six queries before effective_outcome (login session,
    # user, two for its permissions, the page, its tags); one more now: the
    # page's active overrides, however many there are.
    with django_assert_max_num_queries(7):
        rows = _list_rows(viewer_client, page_size=100)
    for number in range(20):
        _overridden(f"run-c{number}", provider="attention", override="clear")
    with django_assert_max_num_queries(7):
        rows = _list_rows(viewer_client, page_size=100)
    assert len(rows) == 26
    assert {rows[f"run-c{n}"]["effective_outcome"] for n in range(20)} == {"clear"}


def test_the_schema_documents_effective_outcome_on_list_rows():
    from drf_spectacular.generators import SchemaGenerator

    components = SchemaGenerator().get_schema(request=None, public=True)["components"]
    field = components["schemas"]["Session"]["properties"]["effective_outcome"]
    assert field["readOnly"] is True
    assert "override" in field["description"]
    assert {"$ref": "#/components/schemas/OutcomeEnum"} in field["oneOf"]
    assert "effective_outcome" in components["schemas"]["SessionDetail"]["properties"]
