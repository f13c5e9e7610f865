"""The simulator behind a real HTTP server (stdlib, threaded, no Django, no database).

How to start one from Python, and its options: the package docstring
(`sessions_app/simulator/__init__.py`, "Running it").
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .app import Simulator
from .faults import FaultSettings
from .webhooks import WebhookMessage, WebhookResult
from .wire import SimRequest, SimResponse

logger = logging.getLogger("sessions_app.simulator")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
    server_version = "VeritySimulator/1.0"
    timeout = 60  # close idle keep-alive connections
    # Headers and body leave in one segment, without Nagle: otherwise delayed ACKs
    # add ~40 ms to every keep-alive exchange.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    server: _HTTPServer

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF after each chunk
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        body = self._read_body()
        url = urlsplit(self.path)
        request = SimRequest(
            method=self.command,
            path=unquote(url.path),
            query=parse_qs(url.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            client_host=self.client_address[0],
        )
        try:
            response = self.server.simulator.handle(request)
        except Exception:
            logger.exception("simulator error on %s %s", self.command, self.path)
            response = SimResponse(500, {"error": "simulator bug; see its log"})
        data = response.body()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        # Called for every request: format only what is logged.
        if logger.isEnabledFor(logging.INFO):
            logger.info("%s %s", self.address_string(), format % args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up mid-reply (timeouts, slow-reply faults) are normal here.
        logger.debug("connection from %s ended abruptly", client_address, exc_info=True)


class SimulatorServer:
    """Serve the three provider APIs (and `/_sim/` control) on one port.

    Keyword arguments are those of `app.Simulator` plus `host` and `port`
    (0 picks a free port). `start()` serves from a daemon thread; `stop()`
    shuts down. Usable as a context manager.
    """

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, **options: Any
    ) -> None:
        self.host = host
        self.requested_port = port
        self.simulator = Simulator(**options)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------

    def start(self) -> SimulatorServer:
        """Bind and serve in a background thread; return self."""
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self.host, self.requested_port), self.simulator)
        self.simulator.base_url = self.url
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"verity-simulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- addresses and credentials -----------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("The simulator is not running; call start().")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        host = self.host
        if host in {"", "0.0.0.0", "::"}:  # noqa: S104 - mapping a wildcard bind to a reachable URL
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def base_urls(self) -> dict[str, str]:
        """Each provider's base URL, e.g. {"onfido": "http://127.0.0.1:P/onfido/v3.6"}."""
        return self.simulator.base_urls

    @property
    def credentials(self) -> dict[str, str]:
        return dict(self.simulator.credentials)

    @property
    def webhook_secrets(self) -> dict[str, str]:
        return dict(self.simulator.webhook_secrets)

    @property
    def world(self) -> Any:
        return self.simulator.world

    # --- delegation to the simulator ----------------------------------------

    def now(self) -> dt.datetime:
        return self.simulator.now()

    def advance(self, seconds: float) -> float:
        return self.simulator.advance(seconds)

    def set_speed(self, speed: float) -> None:
        self.simulator.clock.set_speed(speed)

    def state(self, *, detail: bool = True) -> dict[str, Any]:
        return self.simulator.state(detail=detail)

    def set_faults(
        self, provider: str = "all", **settings: Any
    ) -> dict[str, dict[str, Any]]:
        """Change fault settings of one provider (or "all"); return every provider's."""
        self.simulator.faults.update(provider, settings)
        return self.simulator.faults.snapshot()

    def faults(self, provider: str) -> FaultSettings:
        return self.simulator.faults.settings(provider)

    def reset(self) -> None:
        self.simulator.reset()

    def requests_log(self) -> dict[str, Any]:
        return self.simulator.requests_log()

    def build_webhook(self, **options: Any) -> WebhookMessage:
        """`Simulator.build_webhook` (keyword arguments as there)."""
        return self.simulator.build_webhook(**options)

    def send_webhook(self, **options: Any) -> WebhookResult:
        """`Simulator.send_webhook` (keyword arguments as there)."""
        return self.simulator.send_webhook(**options)
