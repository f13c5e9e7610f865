"""The sync measurement's replay adapter: pages as recorded, sessions by id."""

from types import SimpleNamespace

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
