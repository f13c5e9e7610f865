"""Onfido's HTTP client: token header, error envelope, rate-limit pause.

Contract facts: `docs/providers/onfido.md`.
"""

from __future__ import annotations

from typing import Any

import requests

from ...sync.values import text
from ..base import ConnectionConfig
from ..http import ProviderHTTP, connection_http
from ..pacing import DocumentedRate, ProviderRateLimits
from ..transport import response_object

# Onfido's documented limits (docs/providers/onfido.md#rate-limits): 400
# requests/minute live unless contracted otherwise, 30/minute on sandbox. Its
# guide says sandbox tokens start `api_sandbox`, live ones `api_live`.
RATE_LIMITS = ProviderRateLimits(
    provider="Onfido",
    live=DocumentedRate(400 / 60, "400 requests/minute"),
    sandbox=DocumentedRate(30 / 60, "30 requests/minute"),
    sandbox_prefixes=("api_sandbox",),
    live_prefixes=("api_live",),
)
# The hosts Onfido serves its API from, one per region (its OpenAPI `servers`:
# https://api.{region}.onfido.com/v3.6, region eu, us or ca; the un-regioned
# api.onfido.com is legacy). A connection's base URL must be on one of them,
# or on VERITY_PROVIDER_ALLOWED_HOSTS (providers/endpoints.py).
KNOWN_HOSTS = ("api.eu.onfido.com", "api.us.onfido.com", "api.ca.onfido.com")
# Onfido's 429s carry no Retry-After: wait for the minute window to roll over.
DEFAULT_RETRY_AFTER = 60.0


def onfido_error(response: requests.Response) -> tuple[str, str]:
    """Read Onfido's `{"error": {"type", "message", "fields"}}` envelope."""
    error = response_object(response).get("error")
    if not isinstance(error, dict):
        return "", ""
    message = text(error.get("message"))
    fields = error.get("fields")
    if isinstance(fields, dict) and fields:
        message = f"{message} {text(fields, limit=300)}".strip()
    return text(error.get("type")), message


def onfido_http(config: ConnectionConfig, **overrides: Any) -> ProviderHTTP:
    """Return the HTTP client for `config`; `overrides` reach ProviderHTTP (tests)."""
    return connection_http(
        config,
        overrides,
        headers={"Authorization": f"Token token={config.credential}"},
        error_parser=onfido_error,
        default_retry_after=DEFAULT_RETRY_AFTER,
        rate_limits=RATE_LIMITS,
    )
