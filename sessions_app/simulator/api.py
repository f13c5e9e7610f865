"""What every simulated provider API implements: routing, auth, errors, state, webhooks."""

from __future__ import annotations

import abc
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from .config import PATH_PREFIXES
from .wire import SimRequest, SimResponse, View

if TYPE_CHECKING:
    # Only a type here: the provider packages import this module, and
    # world.py imports their world parts, so a runtime import would be a cycle.
    from .world import World


class WebhookError(ValueError):
    """The requested webhook cannot be built (unknown event, no such session...)."""


@dataclass(frozen=True, slots=True)
class WebhookPayload:
    """A provider's webhook body before signing."""

    event: str
    session_id: str
    payload: dict[str, Any]
    # The provider's own event/delivery id (None when it sends none: Onfido).
    delivery_id: str | None


class ProviderApi(abc.ABC):
    """One provider's HTTP API over the shared world."""

    name: ClassVar[str]
    # (method, path regex relative to the provider prefix, handler method name)
    routes: ClassVar[tuple[tuple[str, str, str], ...]]
    # Name of the unexpected field the extra-fields fault adds.
    extra_field_key: ClassVar[str]

    def __init__(self, world: World, credential: str) -> None:
        self.world = world
        self.credential = credential
        self.prefix = PATH_PREFIXES[self.name]
        self._routes = [
            (method, re.compile(pattern), handler)
            for method, pattern, handler in self.routes
        ]

    def handle(self, request: SimRequest, view: View) -> SimResponse:
        """Route an authenticated request to its handler."""
        path = request.path[len(self.prefix) :].rstrip("/") or "/"
        path_known = False
        for method, pattern, handler_name in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            path_known = True
            if method == request.method:
                handler: Callable[..., SimResponse] = getattr(self, handler_name)
                return handler(request, view, **match.groupdict())
        if path_known:
            return self.error(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed on {request.path}.",
            )
        return self.error(404, "resource_not_found", f"No route for {request.path}.")

    @abc.abstractmethod
    def authenticate(self, request: SimRequest) -> SimResponse | None:
        """Return an error response unless the request carries valid credentials."""

    @abc.abstractmethod
    def error(self, status: int, code: str, message: str, **extra: Any) -> SimResponse:
        """An error in this provider's shape (`code` is its error type/title)."""

    def too_many_requests(self, retry_after: int | None) -> SimResponse:
        response = self.error(
            429, "rate_limit", "Too many requests: the rate limit was exceeded."
        )
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    def server_error(self, status: int) -> SimResponse:
        code = "service_unavailable" if status == 503 else "internal_server_error"
        return self.error(status, code, "The simulator was asked to fail this request.")

    @abc.abstractmethod
    def state(self, view: View, *, detail: bool = True) -> dict[str, Any]:
        """Ground truth: exactly what this provider serves at `view.t`."""

    @abc.abstractmethod
    def webhook(
        self, view: View, *, event: str | None, session_id: str | None
    ) -> WebhookPayload:
        """Build the body of a webhook about one session (chosen when not given)."""


def tag_records(names: Any, kind: str) -> list[dict[str, str]]:
    """[{name, kind}] for the non-null names (provider tags may contain nulls)."""
    return [{"name": name, "kind": kind} for name in names or () if name]
