"""Shared fixtures: users per role, logged-in clients, a no-queries-in-templates guard."""

from __future__ import annotations

import pytest
from django.test import Client as DjangoClient

from sessions_app.providers.pacing import limiters_reset
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _fresh_pace():
    """Each test starts with no connection's pace held or cut by an earlier one."""
    limiters_reset()
    yield
    limiters_reset()


@pytest.fixture
def viewer(db):
    return UserFactory(username="vera-viewer", roles=["viewer"])


@pytest.fixture
def reviewer(db):
    return UserFactory(username="rita-reviewer", roles=["reviewer"])


@pytest.fixture
def exporter(db):
    return UserFactory(username="ed-exporter", roles=["exporter"])


@pytest.fixture
def admin_user(db):
    return UserFactory(username="ada-admin", roles=["admin"])


@pytest.fixture
def superuser(db):
    user = UserFactory(username="root-admin")
    user.is_superuser = True
    user.is_staff = True
    user.save()
    return user


def _logged_in(user) -> DjangoClient:
    client = DjangoClient()
    client.force_login(user)
    return client


@pytest.fixture
def viewer_client(viewer):
    return _logged_in(viewer)


@pytest.fixture
def reviewer_client(reviewer):
    return _logged_in(reviewer)


@pytest.fixture
def exporter_client(exporter):
    return _logged_in(exporter)


@pytest.fixture
def personal_exporter(db):
    """An exporter who may also export personal data unmasked."""
    from django.contrib.auth.models import Permission

    user = UserFactory(username="pia-exporter", roles=["exporter"])
    user.user_permissions.add(
        Permission.objects.get(
            content_type__app_label="sessions_app", codename="export_personal_data"
        )
    )
    return user


@pytest.fixture
def personal_exporter_client(personal_exporter):
    return _logged_in(personal_exporter)


@pytest.fixture
def admin_client_verity(admin_user):
    return _logged_in(admin_user)


@pytest.fixture
def mfa_required(settings):
    """Enforce the second factor as production does (the suite runs with it
    off, so force_login keeps meaning signed in; tests/helpers/mfa.py signs a
    client in with a verified second factor)."""
    settings.VERITY_MFA_REQUIRED = True


@pytest.fixture
def no_queries_in_templates(settings):
    """Turn on the pages' template guard (`sessions_app.views.rendering`): a
    query while a template renders raises TemplateQueryError. Page tests use
    it through `pytest.mark.usefixtures("no_queries_in_templates")`."""
    settings.VERITY_TEMPLATE_QUERY_GUARD = True


@pytest.fixture
def simulator():
    """A running provider simulator on a free port (no database involved).

    Seed 7, 30 sessions per provider, time frozen (`simulator.advance(seconds)`
    moves it), no rate limits (`simulator.set_faults(provider, rate_limit_rps=10)`
    sets one). Yields a `sessions_app.simulator.server.SimulatorServer`: use
    `simulator.base_urls[kind]`, `simulator.credentials[kind]`,
    `simulator.webhook_secrets[kind]` and `simulator.state()` (ground truth).
    """
    from sessions_app.simulator.server import SimulatorServer

    server = SimulatorServer(
        port=0,
        seed=7,
        sessions=30,
        speed=0,
        rate_limits={"onfido": None, "complycube": None, "ica": None},
    )
    server.start()
    yield server
    server.stop()
