"""Each provider's documented limit as data; a connection's override; the
effective limit and its source, as the admin and /sync/ show them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app.exceptions import ProviderConfigurationError
from sessions_app.providers import adapter_for, connection_rate_limit
from sessions_app.providers.pacing import rate_limit_effective
from sessions_app.providers.registry import PROVIDERS, rate_limits_for
from sessions_app.selectors.connections import sync_status_get
from tests.factories import ProviderConnectionFactory


def test_every_provider_states_its_documented_limits_as_data():
    assert set(PROVIDERS) == {"onfido", "complycube", "ica"}
    onfido = rate_limits_for("onfido")
    assert onfido.live.per_second * 60 == pytest.approx(400)
    assert onfido.sandbox.per_second * 60 == pytest.approx(30)
    complycube = rate_limits_for("complycube")
    assert (complycube.live.per_second, complycube.sandbox.per_second) == (10.0, 5.0)
    ica = rate_limits_for("ica")
    assert ica.live.per_second == 5.0
    assert ica.sandbox is None
    assert ica.note
    assert rate_limits_for("nope") is None


@pytest.mark.parametrize(
    ("kind", "credential", "options", "expected", "words"),
    [
        ("onfido", "api_live.abc", {}, 400 / 60, "live limit: 400 requests/minute"),
        ("onfido", "api_sandbox.abc", {}, 0.5, "sandbox limit: 30 requests/minute"),
        ("onfido", "odd-token", {}, 400 / 60, "not recognised, live assumed"),
        (
            "onfido",
            "api_live.abc",
            {"environment": "sandbox"},
            0.5,
            "environment option",
        ),
        ("complycube", "test_abc", {}, 5.0, "sandbox limit: 5 requests/second"),
        ("complycube", "live_abc", {}, 10.0, "live limit: 10 requests/second"),
        ("ica", "key", {}, 5.0, "Illumina publishes no number"),
    ],
)
def test_the_default_follows_the_provider_and_its_environment(
    kind, credential, options, expected, words
):
    limit = rate_limit_effective(
        rate_limits_for(kind), override=None, credential=credential, options=options
    )
    assert limit.per_second == pytest.approx(expected)
    assert words in limit.source
    assert not limit.overridden


def test_an_override_wins_over_the_default():
    limit = rate_limit_effective(
        rate_limits_for("onfido"), override=2.5, credential="api_sandbox.x", options={}
    )
    assert (limit.per_second, limit.overridden) == (2.5, True)
    assert "set on this connection" in limit.source


def test_a_bad_environment_option_is_a_clear_error():
    with pytest.raises(ProviderConfigurationError, match="'live' or 'sandbox'"):
        rate_limit_effective(
            rate_limits_for("onfido"),
            override=None,
            credential="x",
            options={"environment": "prod"},
        )


def test_the_adapter_is_paced_at_the_effective_limit(monkeypatch):
    monkeypatch.setenv("VERITY_PROVIDER_TEST_PACE_TOKEN", "api_sandbox.secret")
    connection = ProviderConnectionFactory.build(
        kind="onfido",
        base_url="https://api.eu.onfido.com/v3.6",
        credential_env="VERITY_PROVIDER_TEST_PACE_TOKEN",
        rate_limit_per_second=None,
    )
    assert adapter_for(connection).http.rate_limiter.rate_per_second == 0.5
    connection.rate_limit_per_second = 3.0
    assert adapter_for(connection).http.rate_limiter.rate_per_second == 3.0


def test_without_the_credential_here_the_live_default_is_shown_and_said_so():
    connection = ProviderConnectionFactory.build(
        kind="complycube",
        credential_env="VERITY_PROVIDER_TEST_PACE_UNSET",
        rate_limit_per_second=None,
    )
    limit = connection_rate_limit(connection)
    assert limit.per_second == 10.0
    assert "credential not readable here" in limit.source


@pytest.mark.django_db
def test_sync_status_carries_each_connections_effective_limit(monkeypatch):
    monkeypatch.setenv("VERITY_PROVIDER_TEST_PACE_TOKEN", "test_key")
    ProviderConnectionFactory(
        kind="complycube",
        credential_env="VERITY_PROVIDER_TEST_PACE_TOKEN",
        rate_limit_per_second=None,
    )
    ProviderConnectionFactory(kind="ica", rate_limit_per_second=1.5)

    rows = {
        c.health.connection.kind: c.rate_limit for c in sync_status_get().connections
    }

    assert rows["complycube"].per_second == 5.0
    assert "sandbox" in rows["complycube"].source
    assert (rows["ica"].per_second, rows["ica"].overridden) == (1.5, True)


@pytest.mark.django_db
def test_the_admin_shows_the_effective_limit_and_where_it_comes_from(
    admin_client_verity, monkeypatch
):
    monkeypatch.setenv("VERITY_PROVIDER_TEST_PACE_TOKEN", "api_sandbox.secret")
    connection = ProviderConnectionFactory(
        kind="onfido",
        base_url="https://api.eu.onfido.com/v3.6",
        credential_env="VERITY_PROVIDER_TEST_PACE_TOKEN",
        rate_limit_per_second=None,
    )
    page = admin_client_verity.get(
        reverse("admin:sessions_app_providerconnection_change", args=[connection.pk])
    ).content.decode()
    listing = admin_client_verity.get(
        reverse("admin:sessions_app_providerconnection_changelist")
    ).content.decode()

    for html in (page, listing):
        assert "0.5/s (30/min)" in html
        assert "documented sandbox limit" in html
    assert "api_sandbox.secret" not in page + listing
