"""The OpenAPI schema is valid, and the API keeps its promises under fuzzing.

Schemathesis generates requests from the schema (valid and invalid ones) and
sends them in-process to the Django WSGI application, authenticated with the
token of a user holding every role, over factory-seeded data. It fails on any
5xx and on any response whose body breaks the documented schema.
"""

from __future__ import annotations

import datetime as dt

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
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from sessions_app.models import Outcome, ProviderKind, Status, TagKind
from tests.factories import (
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

APPLICATION = get_wsgi_application()


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
    return Token.objects.create(user=user).key


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


@schema.parametrize()
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_never_errors_and_always_matches_its_schema(case, token):
    """Fuzz every operation with a user holding all roles."""
    response = case.call(app=APPLICATION, headers={"Authorization": f"Token {token}"})
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
