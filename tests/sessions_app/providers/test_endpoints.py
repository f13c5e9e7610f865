"""The guard between the admin and the server's secrets (providers/endpoints.py):
only prefixed variables, only the provider's known hosts (or the allowlist),
checked by the model, by the checks, and again when a sync or a webhook reads
the variable. The review's exfiltration attempt is refused at each of them.
(The admin form and `configure_provider` are tested beside their modules.)"""

from __future__ import annotations

import hashlib
import hmac

import pytest
import responses
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.urls import reverse

from sessions_app.checks import provider_connections_check
from sessions_app.exceptions import ProviderConfigurationError
from sessions_app.models import ProviderConnection, SyncRunState, SyncTrigger
from sessions_app.models.connections import SyncErrorKind
from sessions_app.providers import adapter_for, connection_rate_limit
from sessions_app.providers.endpoints import (
    base_url_problem,
    connection_endpoint_problems,
    env_name_problem,
)
from sessions_app.providers.registry import PROVIDERS, known_hosts_for
from sessions_app.sync import engine as sync
from sessions_app.webhooks import webhook_secrets
from tests.factories import ProviderConnectionFactory

SERVER_SECRET = "the-servers-own-secret-value"


@pytest.mark.parametrize("name", ["DJANGO_SECRET_KEY", "DATABASE_URL", "PATH"])
def test_a_variable_without_the_provider_prefix_is_refused(name):
    assert "VERITY_PROVIDER_" in env_name_problem(name)


def test_a_prefixed_variable_is_allowed_and_the_bare_prefix_is_not():
    assert env_name_problem("VERITY_PROVIDER_ONFIDO_TOKEN") is None
    assert env_name_problem("VERITY_PROVIDER_") is not None


def test_the_prefix_is_a_setting(settings):
    settings.VERITY_PROVIDER_ENV_PREFIX = "ACME_IDV_"
    assert env_name_problem("ACME_IDV_ONFIDO") is None
    assert env_name_problem("VERITY_PROVIDER_ONFIDO_TOKEN") is not None


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("onfido", "https://api.eu.onfido.com/v3.6"),
        ("onfido", "https://api.us.onfido.com/v3.6"),
        ("onfido", "https://API.CA.ONFIDO.COM/v3.6"),
        ("complycube", "https://api.complycube.com/v1"),
        ("ica", "https://ica.illumina.com/ica/rest"),
    ],
)
def test_each_providers_documented_hosts_are_allowed(settings, kind, url):
    settings.VERITY_PROVIDER_ALLOWED_HOSTS = []
    assert base_url_problem(kind, url) is None


@pytest.mark.parametrize(
    ("kind", "url", "words"),
    [
        ("onfido", "https://evil.example/v3.6", "not a known API host"),
        ("onfido", "https://api.complycube.com/v1", "not a known API host"),
        ("onfido", "https://api.eu.onfido.com.evil.example/v3.6", "not a known"),
        ("onfido", "http://api.eu.onfido.com/v3.6", "https://"),
        ("onfido", "https://user:pw@api.eu.onfido.com/v3.6", "user name"),
        ("ica", "ftp://ica.illumina.com/ica/rest", "http(s) URL"),
        ("ica", "http://127.0.0.1:8765/ica/rest", "not a known API host"),
    ],
)
def test_other_hosts_are_refused(settings, kind, url, words):
    settings.VERITY_PROVIDER_ALLOWED_HOSTS = []
    assert words in base_url_problem(kind, url)


def test_the_allowlist_extends_every_kind(settings):
    settings.VERITY_PROVIDER_ALLOWED_HOSTS = ["127.0.0.1", ".proxy.example"]
    assert base_url_problem("ica", "http://127.0.0.1:8765/ica/rest") is None
    assert base_url_problem("ica", "https://egress.proxy.example/ica") is None
    assert base_url_problem("ica", "https://proxy.example.evil.example/") is not None


def test_every_provider_records_its_known_hosts():
    for kind in PROVIDERS:
        assert known_hosts_for(kind), kind
    assert known_hosts_for("nope") == ()


def test_local_settings_allow_the_simulator_only():
    from config.settings import local

    assert local.VERITY_PROVIDER_ALLOWED_HOSTS == ["127.0.0.1", "localhost"]


EXFILTRATION = {
    "credential_env": "DJANGO_SECRET_KEY",
    "webhook_secret_env": "PATH",
    "base_url": "https://evil.example/collect",
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        EXFILTRATION,
        {"credential_env": "DATABASE_URL"},
        {"base_url": "https://evil.example/collect"},
        {"webhook_secret_env": "PATH"},
    ],
)
def test_the_models_validation_refuses_the_exfiltration_attempt(fields):
    connection = ProviderConnectionFactory.build(**fields)
    with pytest.raises(ValidationError) as refused:
        connection.full_clean()
    assert set(refused.value.message_dict) == set(fields)


@pytest.mark.django_db
def test_a_connection_within_the_rules_validates():
    connection = ProviderConnectionFactory.build(
        base_url="https://api.eu.onfido.com/v3.6",
        credential_env="VERITY_PROVIDER_ONFIDO_TOKEN",
        webhook_secret_env="VERITY_PROVIDER_ONFIDO_WEBHOOK_SECRETS",
    )
    connection.full_clean()
    assert (
        connection_endpoint_problems(
            kind="onfido",
            base_url=connection.base_url,
            credential_env=connection.credential_env,
            webhook_secret_env=connection.webhook_secret_env,
        )
        == {}
    )


def _saved_before_the_rule(**fields) -> ProviderConnection:
    """A row written around the validation (as rows saved before it were)."""
    values = {
        "slug": "old-onfido",
        "kind": "onfido",
        "display_name": "Old Onfido",
        "base_url": "https://api.eu.onfido.com/v3.6",
        "credential_env": "VERITY_PROVIDER_OLD_TOKEN",
        **fields,
    }
    return ProviderConnection.objects.create(**values)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"credential_env": "DJANGO_SECRET_KEY"},
        {"base_url": "https://evil.example/collect"},
        {"credential_env": "DATABASE_URL", "base_url": "https://evil.example/x"},
    ],
)
def test_a_sync_refuses_a_stored_connection_and_sends_nothing(monkeypatch, fields):
    monkeypatch.setenv("DJANGO_SECRET_KEY", SERVER_SECRET)
    monkeypatch.setenv("DATABASE_URL", SERVER_SECRET)
    monkeypatch.setenv("VERITY_PROVIDER_OLD_TOKEN", "api_live_token")
    connection = _saved_before_the_rule(**fields)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        anything = mock.add(responses.GET, responses.matchers.re.compile(".*"))
        run = sync.provider_sync(connection=connection, trigger=SyncTrigger.SCHEDULE)

    assert anything.call_count == 0
    assert run.state == SyncRunState.FAILED
    assert run.error_kind == SyncErrorKind.CONFIGURATION
    assert "refused" in run.error
    assert SERVER_SECRET not in run.error


def test_adapter_for_refuses_before_reading_the_variable(monkeypatch):
    monkeypatch.setenv("DJANGO_SECRET_KEY", SERVER_SECRET)
    connection = ProviderConnectionFactory.build(credential_env="DJANGO_SECRET_KEY")
    with pytest.raises(ProviderConfigurationError, match="VERITY_PROVIDER_"):
        adapter_for(connection)


def test_the_rate_limit_shown_never_reads_an_unprefixed_variable(monkeypatch):
    # Onfido tells sandbox from live by the credential's prefix: reading the
    # variable would leak a bit of it.
    monkeypatch.setenv("DJANGO_SECRET_KEY", "api_sandbox_looking_value")
    connection = ProviderConnectionFactory.build(credential_env="DJANGO_SECRET_KEY")
    assert "sandbox" not in connection_rate_limit(connection).source


@pytest.mark.django_db
def test_a_public_variable_is_never_a_webhook_secret(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    connection = _saved_before_the_rule(webhook_secret_env="PATH")
    assert webhook_secrets(connection) == []
    # Signed with the public value, the delivery is refused like a forgery.
    body = b'{"payload": {"resource_type": "workflow_run", "object": {"id": "wr-1"}}}'
    forged = hmac.new(b"/usr/bin:/bin", body, hashlib.sha256).hexdigest()
    response = HttpClient().post(
        reverse("provider-webhook", args=[connection.slug]),
        data=body,
        content_type="application/json",
        HTTP_X_SHA2_SIGNATURE=forged,
    )
    assert response.status_code == 401


@pytest.mark.django_db
def test_the_system_check_names_a_refused_connection():
    _saved_before_the_rule(credential_env="DJANGO_SECRET_KEY")
    errors = [m for m in provider_connections_check() if m.id == "verity.E003"]
    assert len(errors) == 1
    assert "credential_env" in errors[0].msg
