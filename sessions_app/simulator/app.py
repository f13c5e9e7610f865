"""The simulator without sockets: one `Simulator` answers `SimRequest`s.

It owns the world, the clock and the fault board, applies faults around the
provider APIs, serves the control API under `/_sim/`, and builds webhooks.
`server.SimulatorServer` puts it behind a real HTTP server.
"""

from __future__ import annotations

import collections
import datetime as dt
import ipaddress
import json
import threading
import time
from collections.abc import Mapping
from typing import Any

from .api import ProviderApi, WebhookError
from .clock import SimClock
from .complycube.api import ComplyCubeApi
from .config import (
    DEFAULT_CREDENTIALS,
    DEFAULT_WEBHOOK_SECRETS,
    PATH_PREFIXES,
    PROVIDERS,
    provider_base_urls,
)
from .faults import FaultBoard, FaultError, baseline_settings
from .ica.api import IcaApi
from .onfido.api import OnfidoApi
from .webhooks import WebhookMessage, WebhookResult, webhook_deliver, webhook_sign
from .wire import SimRequest, SimResponse, View, add_extra_fields, iso_millis
from .world import build_world

CONTROL_PREFIX = "/_sim"


class Simulator:
    """All three provider APIs over one deterministic world (no sockets).

    `faults` maps a scope ("all" or a provider) to fault settings and
    `rate_limits` maps a provider to requests per second (None: unlimited);
    both become the start-up settings that `reset()` returns to.
    """

    def __init__(
        self,
        *,
        seed: int = 1,
        sessions: int = 60,
        speed: float = 1.0,
        start: dt.datetime | None = None,
        clock: SimClock | None = None,
        credentials: Mapping[str, str] | None = None,
        webhook_secrets: Mapping[str, str] | None = None,
        faults: Mapping[str, Mapping[str, Any]] | None = None,
        rate_limits: Mapping[str, float | None] | None = None,
        allow_remote_control: bool = False,
    ) -> None:
        self.clock = clock or SimClock(
            start=start or dt.datetime.now(dt.UTC), speed=speed
        )
        self.seed = seed
        self.sessions = sessions
        self.world = build_world(seed=seed, sessions=sessions, start=self.clock.start)
        self.credentials = {**DEFAULT_CREDENTIALS, **(credentials or {})}
        self.webhook_secrets = {**DEFAULT_WEBHOOK_SECRETS, **(webhook_secrets or {})}
        self.apis: dict[str, ProviderApi] = {
            "onfido": OnfidoApi(self.world, self.credentials["onfido"]),
            "complycube": ComplyCubeApi(self.world, self.credentials["complycube"]),
            "ica": IcaApi(self.world, self.credentials["ica"]),
        }
        self.faults = FaultBoard(seed=seed, baseline=baseline_settings())
        for provider, rps in (rate_limits or {}).items():
            self.faults.set_baseline(provider, {"rate_limit_rps": rps})
        for scope, changes in (faults or {}).items():
            self.faults.set_baseline(scope, changes)
        self.allow_remote_control = allow_remote_control
        # The server sets the real root URL once bound (used in webhook hrefs).
        self.base_url = "http://127.0.0.1"
        self._log_lock = threading.Lock()
        self._recent: collections.deque[
            tuple[dt.datetime, str, SimRequest, int, str]
        ] = collections.deque(maxlen=500)
        self._counts: dict[str, dict[int, int]] = {}

    # --- time and views ---------------------------------------------------

    def now(self) -> dt.datetime:
        return self.clock.now()

    def advance(self, seconds: float) -> float:
        """Move simulated time forward; return seconds elapsed since start."""
        return self.clock.advance(seconds)

    def view(self, provider: str) -> View:
        unknown_probability, extra_fields = self.faults.data_settings(provider)
        return View(
            t=self.clock.elapsed(),
            start=self.clock.start,
            base_url=self.base_url,
            seed=self.seed,
            unknown_probability=unknown_probability,
            extra_fields=extra_fields,
        )

    @property
    def base_urls(self) -> dict[str, str]:
        return provider_base_urls(self.base_url)

    # --- dispatch ---------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse:
        """Answer one HTTP request (provider API or control API)."""
        if request.path == CONTROL_PREFIX or request.path.startswith(
            CONTROL_PREFIX + "/"
        ):
            return self.control(request)
        provider = next(
            (
                name
                for name, prefix in PATH_PREFIXES.items()
                if request.path == prefix or request.path.startswith(prefix + "/")
            ),
            None,
        )
        if provider is None:
            return SimResponse(
                404,
                {
                    "error": f"Nothing is served at {request.path}.",
                    "base_urls": self.base_urls,
                },
            )
        api = self.apis[provider]
        decision = self.faults.decide(provider)
        if decision.delay:
            time.sleep(decision.delay)
        fault = decision.reason
        if decision.rate_limited:
            response = api.too_many_requests(decision.retry_after)
        elif decision.server_error:
            response = api.server_error(decision.server_error)
        elif request.method == "DELETE" and (
            failure := self.faults.take_delete_error(provider)
        ):
            response = api.server_error(failure)
            fault = "delete_error_burst"
        else:
            view = self.view(provider)
            response = api.authenticate(request) or api.handle(request, view)
            if view.extra_fields and response.status < 400:
                response.payload = add_extra_fields(
                    response.payload, api.extra_field_key
                )
            if response.status == 200 and (
                (response.list_page and self.faults.take_malformed(provider))
                or (
                    response.detail
                    and self.faults.take_detail_malformed(
                        provider, request.path[len(api.prefix) :]
                    )
                )
            ):
                body = response.body()
                response.raw_body = body[: max(1, len(body) // 2)]
                fault = "malformed"
        self._record(provider, request, response.status, fault)
        return response

    def _record(
        self, provider: str, request: SimRequest, status: int, fault: str
    ) -> None:
        # Kept as received and written out only when the log is read: a sync
        # sends thousands of requests, and the log is read once in a while.
        at = dt.datetime.now(dt.UTC)
        with self._log_lock:
            counts = self._counts.setdefault(provider, {})
            counts[status] = counts.get(status, 0) + 1
            self._recent.append((at, provider, request, status, fault))

    def requests_log(self) -> dict[str, Any]:
        """Counts per provider and status code, and the last 500 requests."""
        with self._log_lock:
            counts = {
                p: {str(status): n for status, n in c.items()}
                for p, c in self._counts.items()
            }
            recent = list(self._recent)
        return {
            "counts": {
                p: {"total": sum(c.values()), "by_status": c} for p, c in counts.items()
            },
            "recent": [
                {
                    "at": iso_millis(at),
                    "provider": provider,
                    "method": request.method,
                    "path": request.path,
                    "query": dict(request.query),
                    "status": status,
                    "fault": fault,
                }
                for at, provider, request, status, fault in recent
            ],
        }

    def reset(self) -> None:
        """Faults and rate limits back to the start-up settings; request log
        cleared; deleted clients served again."""
        self.faults.reset()
        for api in self.apis.values():
            api.deletions_forget()
        with self._log_lock:
            self._recent.clear()
            self._counts.clear()

    # --- ground truth -----------------------------------------------------

    def state(self, *, detail: bool = True) -> dict[str, Any]:
        """Exactly what is served right now, per provider (see the package docstring)."""
        providers = {
            name: api.state(self.view(name), detail=True)
            for name, api in self.apis.items()
        }
        onfido_refs = {
            c["reference"] for c in providers["onfido"]["clients"] if c["reference"]
        }
        cc_refs = {
            c["reference"] for c in providers["complycube"]["clients"] if c["reference"]
        }
        all_tags = {
            (t["name"], t["kind"]) for p in providers.values() for t in p["tags"]
        }
        if not detail:
            for data in providers.values():
                for key in ("sessions", "clients", "tags"):
                    data.pop(key, None)
        return {
            "now": iso_millis(self.clock.now()),
            "elapsed_seconds": round(self.clock.elapsed(), 3),
            "start": iso_millis(self.clock.start),
            "seed": self.seed,
            "sessions_per_provider": self.sessions,
            "speed": self.clock.speed,
            "base_urls": self.base_urls,
            "providers": providers,
            "shared_references": sorted(onfido_refs & cc_refs),
            "tags_total": len(all_tags),
        }

    # --- webhooks ---------------------------------------------------------

    def build_webhook(
        self,
        *,
        provider: str,
        secret: str | None = None,
        event: str | None = None,
        session_id: str | None = None,
    ) -> WebhookMessage:
        """A signed webhook about one session (the latest fitting one when not given)."""
        if provider not in self.apis:
            raise WebhookError(
                f"Unknown provider {provider!r}; use one of {', '.join(PROVIDERS)}."
            )
        payload = self.apis[provider].webhook(
            self.view(provider), event=event, session_id=session_id
        )
        return webhook_sign(
            provider,
            payload,
            secret if secret is not None else self.webhook_secrets[provider],
        )

    def send_webhook(
        self,
        *,
        provider: str,
        target_url: str,
        secret: str | None = None,
        event: str | None = None,
        session_id: str | None = None,
        timeout: float = 10.0,
    ) -> WebhookResult:
        """Build a signed webhook and POST it to `target_url`."""
        message = self.build_webhook(
            provider=provider, secret=secret, event=event, session_id=session_id
        )
        return webhook_deliver(message, target_url, timeout=timeout)

    # --- control API ------------------------------------------------------

    def control(self, request: SimRequest) -> SimResponse:
        if not self.allow_remote_control and not _is_loopback(request.client_host):
            return SimResponse(
                403, {"error": "The control API only answers loopback clients."}
            )
        path = request.path[len(CONTROL_PREFIX) :].rstrip("/") or "/"
        routes = {
            ("GET", "/"): self._control_info,
            ("GET", "/health"): self._control_info,
            ("GET", "/state"): self._control_state,
            ("GET", "/faults"): lambda _r: SimResponse(200, self.faults.snapshot()),
            ("POST", "/faults"): self._control_faults,
            ("POST", "/reset"): self._control_reset,
            ("GET", "/clock"): lambda _r: SimResponse(200, self._clock_json()),
            ("POST", "/clock"): self._control_clock,
            ("GET", "/requests"): lambda _r: SimResponse(200, self.requests_log()),
            ("POST", "/webhooks"): self._control_webhooks,
        }
        handler = routes.get((request.method, path))
        if handler is None:
            known = sorted(f"{m} {CONTROL_PREFIX}{p}" for m, p in routes)
            return SimResponse(
                404,
                {
                    "error": f"No control endpoint {request.method} {request.path}.",
                    "endpoints": known,
                },
            )
        try:
            return handler(request)
        except (FaultError, WebhookError, ValueError) as error:
            return SimResponse(400, {"error": str(error)})

    @staticmethod
    def _json_body(request: SimRequest) -> dict[str, Any]:
        if not request.body.strip():
            return {}
        try:
            data = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"The body is not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise ValueError("The body must be a JSON object.")
        return data

    def _control_info(self, request: SimRequest) -> SimResponse:
        return SimResponse(
            200,
            {
                "ok": True,
                "base_urls": self.base_urls,
                "credentials": self.credentials,
                "webhook_secrets": self.webhook_secrets,
                "seed": self.seed,
                "sessions_per_provider": self.sessions,
                "ica_project_ids": [project.id for project in self.world.ica.projects],
            },
        )

    def _control_state(self, request: SimRequest) -> SimResponse:
        detail = (request.param("detail") or "1").lower() not in {"0", "false", "no"}
        return SimResponse(200, self.state(detail=detail))

    def _control_faults(self, request: SimRequest) -> SimResponse:
        data = self._json_body(request)
        scope = str(data.pop("provider", "all"))
        self.faults.update(scope, data)
        return SimResponse(200, self.faults.snapshot())

    def _control_reset(self, request: SimRequest) -> SimResponse:
        self.reset()
        return SimResponse(200, self.faults.snapshot())

    def _clock_json(self) -> dict[str, Any]:
        return {
            "now": iso_millis(self.clock.now()),
            "elapsed_seconds": round(self.clock.elapsed(), 3),
            "speed": self.clock.speed,
            "start": iso_millis(self.clock.start),
        }

    def _control_clock(self, request: SimRequest) -> SimResponse:
        data = self._json_body(request)
        unknown = set(data) - {"advance", "speed"}
        if unknown:
            raise ValueError(
                f"Unknown clock settings: {', '.join(sorted(unknown))} (use advance, speed)."
            )
        if "advance" in data:
            self.clock.advance(float(data["advance"]))
        if "speed" in data:
            self.clock.set_speed(float(data["speed"]))
        return SimResponse(200, self._clock_json())

    def _control_webhooks(self, request: SimRequest) -> SimResponse:
        data = self._json_body(request)
        unknown = set(data) - {
            "provider",
            "target_url",
            "secret",
            "event",
            "session_id",
            "dry_run",
        }
        if unknown:
            raise ValueError(f"Unknown webhook settings: {', '.join(sorted(unknown))}.")
        if "provider" not in data:
            raise ValueError("provider is required (onfido, complycube or ica).")
        message = self.build_webhook(
            provider=str(data["provider"]),
            secret=data.get("secret"),
            event=data.get("event"),
            session_id=data.get("session_id"),
        )
        if data.get("dry_run"):
            return SimResponse(200, WebhookResult(message, "", None).as_dict())
        if not data.get("target_url"):
            raise ValueError("target_url is required unless dry_run is true.")
        result = webhook_deliver(message, str(data["target_url"]))
        return SimResponse(
            200 if result.status_code is not None else 502, result.as_dict()
        )


def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback
