"""The provider registry: one line per provider, each package complete."""

from __future__ import annotations

import pytest

from sessions_app import providers
from sessions_app.providers import adapter_class
from sessions_app.providers.registry import PROVIDERS, rows_for, webhook_for
from sessions_app.providers.rows import NormalisationRows
from sessions_app.providers.webhook import ProviderWebhook
from sessions_app.vocabulary import ProviderKind


def test_every_provider_kind_has_a_package():
    assert set(PROVIDERS) == set(ProviderKind.values)


@pytest.mark.parametrize("kind", list(PROVIDERS))
def test_each_package_provides_an_adapter_webhook_and_rows(kind):
    assert adapter_class(kind).kind == kind
    assert isinstance(webhook_for(kind), ProviderWebhook)
    assert isinstance(rows_for(kind), NormalisationRows)
    assert providers.ADAPTERS[kind].startswith(PROVIDERS[kind] + ".")


def test_an_unknown_kind_has_nothing():
    assert webhook_for("nobody") is None
    assert rows_for("nobody") is None
