"""The sync measurement: its replay adapter, and one small run on each transport."""

from types import SimpleNamespace

import pytest

from bench import ingest
from bench.ingest import ReplayAdapter


def test_the_replay_adapter_serves_a_recorded_session_by_id():
    # The sync's children re-read asks the adapter for sessions by id.
    first = SimpleNamespace(external_id="a")
    second = SimpleNamespace(external_id="b")
    adapter = ReplayAdapter(
        [SimpleNamespace(sessions=[first]), SimpleNamespace(sessions=[second])]
    )

    assert adapter.fetch_session("b", hint=adapter.refresh_hint({})) is second
    assert adapter.fetch_session("unknown") is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("transport", ingest.TRANSPORTS)
def test_the_measurement_runs_on_both_transports_and_mirrors_every_session(
    transport, settings, capsys
):
    settings.VERITY_PROVIDER_ALLOWED_HOSTS = ["127.0.0.1"]
    figures = ingest.measure(
        per_provider=6, repeat=1, e2e_repeat=1, per_row_sample=3, transport=transport
    )

    out = capsys.readouterr().out
    assert f"transport {transport}" in out
    assert "end-to-end sync created" not in out  # every recorded session mirrored
    assert figures["transport"] == transport
    assert figures["ratios"]["e2e_vs_bulk"] > 0


def test_an_unknown_transport_is_refused_in_words():
    with pytest.raises(SystemExit, match="BENCH_SYNC_TRANSPORT"):
        ingest.measure(
            per_provider=1, repeat=1, e2e_repeat=1, per_row_sample=1, transport="pigeon"
        )
