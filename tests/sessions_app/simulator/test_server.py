"""The simulator's HTTP server: its request log."""

import logging

import requests


def test_each_request_is_logged_at_info(simulator, caplog):
    with caplog.at_level(logging.INFO, logger="sessions_app.simulator"):
        requests.get(f"{simulator.url}/no-such-path", timeout=5)

    lines = [
        r.getMessage() for r in caplog.records if r.name == "sessions_app.simulator"
    ]
    assert any('"GET /no-such-path HTTP/1.1" 404' in line for line in lines)


def test_nothing_is_logged_or_formatted_below_info(simulator, caplog, monkeypatch):
    from sessions_app.simulator import server

    def unexpected(self):
        raise AssertionError("formatted a log line nobody logs")

    monkeypatch.setattr(server._Handler, "address_string", unexpected)
    with caplog.at_level(logging.WARNING, logger="sessions_app.simulator"):
        response = requests.get(f"{simulator.url}/no-such-path", timeout=5)

    assert response.status_code == 404
    assert not [r for r in caplog.records if r.name == "sessions_app.simulator"]
