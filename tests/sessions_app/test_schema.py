"""The OpenAPI schema is valid, and the API keeps its promises under fuzzing.

Schemathesis generates requests from the schema (valid and invalid ones) and
sends them in-process to the Django WSGI application, authenticated with the
token of a user holding every role, over factory-seeded data. It fails on any
5xx and on any response whose body breaks the documented schema.

A random `{id}` names no object, so detail endpoints would answer 404 and a
review would never be recorded: `pin_to_seeded_object` points most generated
ids at seeded objects of the path's kind, and each detail or review
operation's run must reach a real object at least once (a 200, or the 201 of
a recorded review), so those bodies are validated against the schema too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate as openapi_validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from sessions_app.models import (
    Approval,
    Check,
    Client,
    Outcome,
    ProviderKind,
    Status,
    SyncRun,
    TagKind,
    WorkflowSession,
)
from tests.factories import (
    ApprovalFactory,
    CheckFactory,
    ClientFactory,
    PolicyAssuranceFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    ReviewFactory,
    SyncRunFactory,
    TagFactory,
    UserFactory,
    WorkflowSessionFactory,
)
from tests.helpers.tokens import api_token_secret

APPLICATION = get_wsgi_application()

# Seeded object ids per path prefix, filled by the `seeded` fixture (the ids
# exist only once the test database holds them) and read by the hook below.
SEEDED_IDS: dict[str, list[int]] = {}
DETAIL_PATH = re.compile(r"^/api/v1/(?P<kind>[a-z-]+)/\{id\}/")


def _schema_dict() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_generated_schema_is_valid_openapi():
    schema = _schema_dict()
    validate_schema(schema)  # drf-spectacular's own JSON-schema check
    openapi_validate(schema)  # and the reference validator
    assert schema["openapi"].startswith("3.")


def test_every_endpoint_documents_its_errors():
    schema = _schema_dict()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"403"} <= set(responses), f"{method} {path}"
            if "{id}" in path:
                assert "404" in responses, f"{method} {path}"
            else:
                assert "400" in responses, f"{method} {path}"


@pytest.fixture
def seeded(db):
    """A little of everything, including hostile text, for the fuzzer to read."""
    onfido = ProviderConnectionFactory(kind=ProviderKind.ONFIDO, slug="onfido-eu")
    cube = ProviderConnectionFactory(kind=ProviderKind.COMPLYCUBE, slug="cube")
    tags = [TagFactory(name="vip"), TagFactory(name="=cmd", kind=TagKind.TECHNICAL)]
    client = ClientFactory(display_name='O\'Neill, "Jo"\n=1+1')
    now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
    for i, (conn, status, outcome) in enumerate(
        [
            (onfido, Status.COMPLETED, Outcome.CLEAR),
            (onfido, Status.IN_PROGRESS, Outcome.NONE),
            (cube, Status.COMPLETED, Outcome.ATTENTION),
            (cube, Status.UNKNOWN, Outcome.NONE),
        ]
    ):
        session = WorkflowSessionFactory(
            connection=conn,
            provider_client=ProviderClientFactory(connection=conn, client=client),
            status=status,
            outcome=outcome,
            tags=tags,
            provider_created_at=now - dt.timedelta(hours=i),
            reasons=["document_expired"],
        )
        CheckFactory(session=session, outcome=outcome)
        PolicyAssuranceFactory(session=session)
        ReviewFactory(session=session)
        SyncRunFactory(connection=conn, unknown_values={"SUSPENDED": 2})
    WorkflowSessionFactory(connection=onfido, provider_client=None)
    # Decisions awaiting a second reviewer (made by someone else than the
    # fuzzer, who may then approve or send them back), and a closed case.
    maker = UserFactory(username="mia-maker", roles=["reviewer"])
    for _ in range(3):
        ApprovalFactory(session__connection=cube, maker=maker)
    WorkflowSessionFactory(connection=cube, last_decision="reject")
    SEEDED_IDS.update(
        {
            "sessions": list(WorkflowSession.objects.values_list("pk", flat=True)),
            "checks": list(Check.objects.values_list("pk", flat=True)),
            "clients": list(Client.objects.values_list("pk", flat=True)),
            "sync-runs": list(SyncRun.objects.values_list("pk", flat=True)),
            "approvals": list(Approval.objects.values_list("pk", flat=True)),
        }
    )
    yield
    SEEDED_IDS.clear()


@pytest.fixture
def in_process_requests():
    """Keep the test's database connection open across in-process WSGI requests.

    Django closes "obsolete" connections when a request starts and ends; inside
    the test's transaction that would close it (PostgreSQL). Django's own test
    client disconnects the same handlers for the same reason.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(seeded, in_process_requests):
    user = UserFactory(
        username="api-fuzzer", roles=["viewer", "reviewer", "exporter", "admin"]
    )
    return api_token_secret(user)


def test_served_schema_is_the_generated_one(token, client):
    served = client.get(
        reverse("api-schema"),
        {"format": "json"},
        headers={"Authorization": f"Token {token}"},
    )
    assert served.status_code == 200
    assert served.json()["paths"].keys() == _schema_dict()["paths"].keys()


# Built at import from the same generator that serves /api/schema/ (that view
# needs a login, and the test database does not exist yet at collection time);
# the requests themselves go to the WSGI application (`case.call(app=...)`).
schema = schemathesis.openapi.from_dict(_schema_dict())


def pin_to_seeded_object(case: Any) -> None:
    """Point most integer `{id}`s of `case` at seeded objects of the path's kind.

    Done when the case runs, not in a `map_path_parameters` hook: the
    coverage phase builds its cases when the tests are collected, before the
    test database (and so any id) exists. The generated value picks the
    object, so Hypothesis still varies (and shrinks) it; one value in
    `len(ids) + 1` is kept as generated and keeps exercising the 404 of a
    missing object. A negative case's wrong type (`/sessions/null/`) stays;
    a negative id below the minimum may now name an object, which is fine:
    the checks here are about 5xx and schema conformance, not rejection.
    """
    match = DETAIL_PATH.match(case.operation.path)
    parameters = case.path_parameters
    if match is None or not parameters:
        return
    value = parameters.get("id")
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)  # coverage cases carry their ids already as text
    ids = SEEDED_IDS.get(match["kind"])
    if not ids or not isinstance(value, int) or isinstance(value, bool):
        return
    choice = value % (len(ids) + 1)
    if choice < len(ids):
        parameters["id"] = ids[choice]


# What an operation's run must answer at least once once its `{id}` is pinned:
# the body a real object gets (validated against the schema like any other).
# The case-work POSTs change state, so most generated calls are refused after
# the first that succeeds: a case action (approve, send back, reopen, resume)
# (and an override's withdrawal) answers 200, or a 400 in words when the
# case's state does not allow it; a decision or an override request answers
# 201, 202 (held for a second reviewer) or 400 (a reason that
# does not fit, a closed case, a waiting date out of range). Each view looks
# the object up before it reads the body, so any of these proves the run
# reached a real object rather than only 404s (the services' own tests check
# each answer: tests/sessions_app/cases/).
REACHED = {"GET": (200,), "POST": (201,)}
CASE_ACTION = re.compile(r"/(approve|send-back|reopen|resume|withdraw)/$")


@pytest.fixture
def statuses():
    """Count each operation's status codes over its run; then require that a
    detail or review operation reached a real object at least once."""
    seen: Counter[tuple[str, str, int]] = Counter()
    yield seen
    for method, path in {(m, p) for m, p, _ in seen}:
        if DETAIL_PATH.match(path) and method in REACHED:
            wanted = (200, 400) if CASE_ACTION.search(path) else REACHED[method]
            if path.endswith(("/reviews/", "/override/")):
                wanted = (201, 202, 400)
            got = {
                code: n for (m, p, code), n in seen.items() if (m, p) == (method, path)
            }
            assert any(got.get(code) for code in wanted), (
                f"{method} {path} never answered {wanted}: {got}"
            )


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_never_errors_and_always_matches_its_schema(case, token, statuses):
    """Fuzz every operation with a user holding all roles."""
    pin_to_seeded_object(case)
    response = case.call(app=APPLICATION, headers={"Authorization": f"Token {token}"})
    # Keyed by the operation, not the request: the run also probes methods
    # the path does not allow (405) and OPTIONS.
    operation = case.operation
    statuses[operation.method.upper(), operation.path, response.status_code] += 1
    case.validate_response(
        response,
        # Not content_type_conformance: a path that matches no route at all
        # (`/api/v1/sessions/null/`) gets Django's own HTML 404 page.
        checks=[
            not_a_server_error,
            response_schema_conformance,
            status_code_conformance,
        ],
    )
