"""ICA's webhooks: a shared secret header (no signature scheme), embedded sessions."""

from __future__ import annotations

import json

import pytest

from sessions_app.providers.ica.webhook import WEBHOOK

SECRET = "whsec-current"


def _no_lookup(check_id: str) -> str:
    raise AssertionError("ICA events never need a check lookup")


@pytest.mark.parametrize(
    ("presented", "valid"),
    [(SECRET, True), ("whsec-old", True), ("", False), (SECRET[:-1], False)],
)
def test_any_current_secret_is_accepted_during_a_rotation(presented, valid):
    assert (
        WEBHOOK.signature_valid(
            headers={"X-ICA-Webhook-Secret": presented},
            body=b"{}",
            secrets=[SECRET, "whsec-old"],
        )
        is valid
    )


def test_an_analysis_event_refreshes_its_session_in_its_project():
    data = {
        "correlationId": "corr-1",
        "eventCode": "ICA_EXEC_028",
        "projectId": "proj-1",
        "payload": {"id": "analysis-1", "workflowSession": {"id": "ws-1"}},
    }

    event = WEBHOOK.event_parse(
        data=data, body=json.dumps(data).encode(), check_session=_no_lookup
    )

    assert (event.delivery_id, event.event_type, event.session_id, event.hint) == (
        "corr-1",
        "ICA_EXEC_028",
        "ws-1",
        {"project_id": "proj-1"},
    )


def _session_event(project_id: str | None) -> dict:
    data = {"correlationId": "c", "eventCode": "ICA_WFS_002", "payload": {"id": "ws"}}
    if project_id is not None:
        data["projectId"] = project_id
    return data


@pytest.mark.parametrize(
    ("options", "project_id", "in_scope"),
    [
        ({"project_ids": ["p1", "p2"]}, "p2", True),
        ({"project_ids": "p1,p2"}, "p1", True),  # the comma-separated spelling
        ({"project_ids": ["p1"]}, "p9", False),
        ({"project_ids": ["p1"]}, None, True),  # the refresh searches p1 only
        ({}, "p9", True),  # no project_ids: every project the key can list
    ],
)
def test_only_the_connections_projects_may_be_refreshed(options, project_id, in_scope):
    data = _session_event(project_id)
    event = WEBHOOK.event_parse(
        data=data, body=json.dumps(data).encode(), check_session=_no_lookup
    )

    problem = WEBHOOK.scope_problem(event=event, options=options)

    assert (problem == "") is in_scope
    if not in_scope:
        assert "'p9'" in problem
        assert "project_ids" in problem


def test_an_unreadable_project_ids_option_refreshes_nothing():
    data = _session_event("p1")
    event = WEBHOOK.event_parse(
        data=data, body=json.dumps(data).encode(), check_session=_no_lookup
    )
    problem = WEBHOOK.scope_problem(event=event, options={"project_ids": 3})
    assert problem.startswith("Not refreshed: Option 'project_ids'")


def test_nul_characters_never_reach_what_is_stored():
    data = {
        "correlationId": "corr\x00-1",
        "eventCode": "ICA_WFS_\x00002",
        "projectId": "proj\x00-1",
        "payload": {"id": "\x00ws-1\x00"},
    }
    event = WEBHOOK.event_parse(
        data=data, body=json.dumps(data).encode(), check_session=_no_lookup
    )
    assert (event.delivery_id, event.event_type, event.session_id, event.hint) == (
        "corr-1",
        "ICA_WFS_002",
        "ws-1",
        {"project_id": "proj-1"},
    )
