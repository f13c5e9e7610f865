"""Migration 0010: the rate limit becomes an override; the old default 5.0 becomes "default"."""

from __future__ import annotations

import pytest

from tests.helpers.migrations import migrate_to, migrate_to_latest

BEFORE = [("sessions_app", "0009_session_detail_read_at")]
AFTER = [("sessions_app", "0010_rate_limit_override")]


def _rates(apps) -> dict[str, float | None]:
    Connection = apps.get_model("sessions_app", "ProviderConnection")
    return dict(Connection.objects.values_list("slug", "rate_limit_per_second"))


@pytest.mark.django_db(transaction=True)
def test_the_old_default_becomes_the_providers_default_and_chosen_rates_stay():
    try:
        apps = migrate_to(BEFORE)
        Connection = apps.get_model("sessions_app", "ProviderConnection")
        for slug, rate in (("untouched", 5.0), ("chosen", 0.4), ("fast", 8.0)):
            Connection.objects.create(
                slug=slug,
                kind="onfido",
                display_name=slug,
                base_url="https://api.eu.onfido.com/v3.6",
                credential_env="ONFIDO_TOKEN",
                rate_limit_per_second=rate,
            )

        after = _rates(migrate_to(AFTER))
        assert after == {"untouched": None, "chosen": 0.4, "fast": 8.0}

        assert _rates(migrate_to(BEFORE)) == {
            "untouched": 5.0,
            "chosen": 0.4,
            "fast": 8.0,
        }
    finally:
        migrate_to_latest()
