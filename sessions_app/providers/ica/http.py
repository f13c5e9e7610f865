"""ICA's HTTP client: API-key and media-type headers, RFC 7807 errors, paged lists.

Every call sends `Accept: application/vnd.illumina.v3+json` (ICA answers 400
`ICA_API_004` without it) and POSTs send the same Content-Type.
Contract facts: `docs/providers/ica.md`.
"""

from __future__ import annotations

from typing import Any

import requests

from ...exceptions import ProviderResponseInvalid
from ...sync.values import text
from ..base import ConnectionConfig
from ..http import ProviderHTTP, connection_http
from ..pacing import DocumentedRate, ProviderRateLimits
from ..transport import response_object

MEDIA_TYPE = "application/vnd.illumina.v3+json"
# ICA documents a 429 but no quota and no Retry-After.
DEFAULT_RETRY_AFTER = 30.0
# ICA's documented API host (docs/providers/ica.md: base URL
# https://ica.illumina.com/ica/rest). A tenant on another regional ICA host adds
# it to VERITY_PROVIDER_ALLOWED_HOSTS.
KNOWN_HOSTS = ("ica.illumina.com",)
# Illumina publishes no number (docs/providers/ica.md#rate-limits): 5 requests/s
# is Verity's choice, and the adaptive pacing slows down on ICA's 429s.
RATE_LIMITS = ProviderRateLimits(
    provider="ICA",
    live=DocumentedRate(5.0, "5 requests/second"),
    note="Illumina publishes no number; slowed down on its 429s",
)
# Analyses of one session and projects of one tenant are few; this bounds a
# provider that keeps returning page tokens.
MAX_SMALL_LIST_PAGES = 100


def ica_error(response: requests.Response) -> tuple[str, str]:
    """Read an RFC 7807 problem: ICA's code is in `title`, the text in `detail`."""
    body = response_object(response)
    title = text(body.get("title"))
    detail = text(body.get("detail"))
    return title, detail or title


def ica_http(config: ConnectionConfig, **overrides: Any) -> ProviderHTTP:
    """Return the HTTP client for `config`; `overrides` reach ProviderHTTP (tests)."""
    return connection_http(
        config,
        overrides,
        headers={"X-API-Key": config.credential, "Accept": MEDIA_TYPE},
        json_content_type=MEDIA_TYPE,
        error_parser=ica_error,
        default_retry_after=DEFAULT_RETRY_AFTER,
        rate_limits=RATE_LIMITS,
    )


def paged_envelope(http: ProviderHTTP, body: Any, what: str) -> dict[str, Any]:
    """Return `body` if it is a paged list (`{"items": [...], ...}`), else raise."""
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise ProviderResponseInvalid(
            f"{what} is not a paged list with items", provider=http.provider
        )
    return body


def next_page_token(envelope: dict[str, Any]) -> str | None:
    """The envelope's `nextPageToken`, or None when it is the last page."""
    token = envelope.get("nextPageToken")
    return token if isinstance(token, str) and token else None
