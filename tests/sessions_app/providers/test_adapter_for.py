"""`adapter_for(connection)` builds each adapter with its provider's headers."""

from __future__ import annotations

import pytest

from sessions_app.models import ProviderKind
from sessions_app.providers import adapter_for
from sessions_app.providers.complycube.adapter import ComplyCubeAdapter
from sessions_app.providers.ica.adapter import IcaAdapter
from sessions_app.providers.onfido.adapter import OnfidoAdapter
from tests.factories import ProviderConnectionFactory
from tests.helpers.providers import TOKEN


@pytest.mark.parametrize(
    ("kind", "adapter_class", "headers"),
    [
        (
            ProviderKind.ONFIDO,
            OnfidoAdapter,
            {"Authorization": f"Token token={TOKEN}", "Accept": "application/json"},
        ),
        (
            ProviderKind.COMPLYCUBE,
            ComplyCubeAdapter,
            {"Authorization": TOKEN, "Accept": "application/json"},
        ),
        (
            ProviderKind.ICA,
            IcaAdapter,
            {"X-API-Key": TOKEN, "Accept": "application/vnd.illumina.v3+json"},
        ),
    ],
)
def test_adapter_for_builds_each_provider(monkeypatch, kind, adapter_class, headers):
    monkeypatch.setenv("VERITY_PROVIDER_TEST_CREDENTIAL", TOKEN)
    connection = ProviderConnectionFactory.build(  # no database needed
        kind=kind,
        base_url=f"http://127.0.0.1:8765/{kind}/",
        credential_env="VERITY_PROVIDER_TEST_CREDENTIAL",
        rate_limit_per_second=2.0,
        options={"project_ids": "p1,p2"} if kind == ProviderKind.ICA else {},
    )

    adapter = adapter_for(connection)

    assert type(adapter) is adapter_class
    assert adapter.kind == kind
    assert adapter.http.base_url == f"http://127.0.0.1:8765/{kind}"
    assert adapter.http.provider == connection.slug
    for name, value in headers.items():
        assert adapter.http.session.headers[name] == value
    assert adapter.http.rate_limiter.interval == 0.5
    assert TOKEN not in repr(adapter.http)
    # One limiter per connection per process, shared by its adapters.
    assert adapter_for(connection).http.rate_limiter is adapter.http.rate_limiter
