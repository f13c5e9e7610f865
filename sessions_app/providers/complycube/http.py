"""ComplyCube's HTTP client: bare-key header, error body, rate limit vs quota.

A 429 is either the rate limit (`type: rate_limit_exceeded`) or the monthly
service quota; the quota gets no inline retry and a long `retry_after`.
Contract facts: `docs/providers/complycube.md`.
"""

from __future__ import annotations

from typing import Any

import requests

from ...sync.values import text
from ..base import ConnectionConfig
from ..http import ProviderHTTP, connection_http
from ..pacing import DocumentedRate, ProviderRateLimits
from ..transport import response_object

# ComplyCube's one API host (docs/providers/complycube.md: base URL
# https://api.complycube.com/v1; no regional hosts are documented).
KNOWN_HOSTS = ("api.complycube.com",)
# ComplyCube's documented limits (docs/providers/complycube.md#rate-limits-and-quota):
# 10 requests/s live, 5 requests/s sandbox; keys start `live_` or `test_`.
RATE_LIMITS = ProviderRateLimits(
    provider="ComplyCube",
    live=DocumentedRate(10.0, "10 requests/second"),
    sandbox=DocumentedRate(5.0, "5 requests/second"),
    sandbox_prefixes=("test_",),
    live_prefixes=("live_",),
)
RATE_LIMIT_TYPE = "rate_limit_exceeded"
# ComplyCube's docs ask for an initial back-off of 30 s after a 429.
DEFAULT_RETRY_AFTER = 30.0
# A quota 429 will not clear for hours (the quota is monthly): come back later.
QUOTA_RETRY_AFTER = 3600.0


def complycube_error(response: requests.Response) -> tuple[str, str]:
    """Read ComplyCube's `{"type", "message", "param"}` error body."""
    body = response_object(response)
    message = text(body.get("message"))
    param = text(body.get("param"))
    if param:
        message = f"{message} (param {param})".strip()
    return text(body.get("type")), message


def is_quota_error(error_type: str) -> bool:
    """Tell a service-quota 429 from a rate-limit 429 by the body's `type`."""
    return bool(error_type) and error_type != RATE_LIMIT_TYPE


def complycube_http(config: ConnectionConfig, **overrides: Any) -> ProviderHTTP:
    """Return the HTTP client for `config`; `overrides` reach ProviderHTTP (tests)."""
    return connection_http(
        config,
        overrides,
        # The bare key, no "Bearer" (ComplyCube's documented scheme).
        headers={"Authorization": config.credential},
        error_parser=complycube_error,
        default_retry_after=DEFAULT_RETRY_AFTER,
        quota_error=is_quota_error,
        quota_retry_after=QUOTA_RETRY_AFTER,
        rate_limits=RATE_LIMITS,
    )
