"""The simulator served to `requests` without a socket: an in-process transport.

The ingest measurement compares the sync with a raw `bulk_create`. Over
loopback HTTP both ends of every request are Python's (the client's `requests`
and `http.client`, the simulator's `http.server`), in one process and one GIL,
so the figure also measures two HTTP stacks. Mounted on the sessions the
connectors make, this adapter hands each prepared request to the simulator's
`handle` and builds the `requests.Response` from its answer: the connectors,
their `ProviderHTTP`, the pacing, the JSON parsing and the adapters run
unchanged; only the socket and the two HTTP parsers are gone. The bench prints
both figures.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict


class SimulatorTransport(BaseAdapter):
    """A `requests` transport adapter answering from a Simulator in this process."""

    def __init__(self, simulator: Any) -> None:
        super().__init__()
        self.simulator = simulator

    def send(
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        from sessions_app.simulator.wire import SimRequest

        url = urlsplit(request.url)
        body = request.body or b""
        answer = self.simulator.handle(
            SimRequest(
                method=request.method or "GET",
                path=unquote(url.path),
                query=parse_qs(url.query, keep_blank_values=True),
                headers={
                    name.lower(): value for name, value in request.headers.items()
                },
                body=body.encode() if isinstance(body, str) else body,
                client_host="127.0.0.1",
            )
        )
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(
            {"Content-Type": answer.content_type, **answer.headers}
        )
        response._content = b"" if request.method == "HEAD" else answer.body()
        response.encoding = "utf-8"
        response.url = request.url or ""
        response.request = request
        response.reason = "OK" if answer.status < 400 else "Error"
        return response

    def close(self) -> None:
        pass


@contextlib.contextmanager
def simulator_in_process(server: Any) -> Iterator[None]:
    """Route every `requests` call to `server.url` through its simulator, in process."""
    transport = SimulatorTransport(server.simulator)
    prefix = server.url
    original = requests.Session.get_adapter

    def get_adapter(self: requests.Session, url: str) -> BaseAdapter:
        if url.startswith(prefix):
            return transport
        return original(self, url)

    requests.Session.get_adapter = get_adapter  # type: ignore[method-assign]
    try:
        yield
    finally:
        requests.Session.get_adapter = original  # type: ignore[method-assign]
