"""The provider-pace measurement: it syncs through the engine against a slow,
rate-limited simulator, reports what the provider saw, and leaves nothing behind."""

import pytest

from bench import sync_pace
from sessions_app.models import ProviderConnection, WorkflowSession


@pytest.mark.django_db
def test_the_pace_measurement_reports_requests_and_rates_and_cleans_up(capsys):
    figures = sync_pace.measure(
        sessions=4, latency=0.001, limit=1000.0, concurrencies=[1, 2]
    )

    runs = figures["runs"]
    assert [run["concurrency"] for run in runs] == [1, 2]
    for run in runs:
        assert run["sessions"] > 0
        assert run["requests"] > run["sessions"]  # a listing, details, checks
        assert run["throttled"] == 0
        assert run["failed_runs"] == 0
        assert run["rate"] == pytest.approx(run["requests"] / run["seconds"])
        assert run["share"] == pytest.approx(run["rate"] / 1000.0)
    # Both runs read the same provider the same way.
    assert runs[0]["requests"] == runs[1]["requests"]
    assert "share of the limit" in capsys.readouterr().out
    assert not ProviderConnection.objects.exists()
    assert not WorkflowSession.objects.exists()
