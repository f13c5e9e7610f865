"""What the provider HTTP client reads from `requests` and the environment.

Small pure helpers of `http.ProviderHTTP`, also used by each provider's
error parser (`response_object`): what stopped a request from being answered
(`transport_failure`), a body as JSON or as a short excerpt, and the proxy and
CA-bundle environment read once (`environment_settings_freeze`).
"""

from __future__ import annotations

import os
import socket
import ssl
from typing import Any

import requests

EXCERPT_CHARS = 200


def transport_failure(exc: BaseException) -> str:
    """Name what stopped a request from being answered: "refused", "dns",
    "tls", "timeout", "dropped", or "" when none of these is recognised.

    Read from the exception and everything it wraps (requests wraps urllib3,
    which wraps the socket error), not from its text: the text names the URL
    first and is clipped before the words that say what happened.
    """
    seen: set[int] = set()
    pending: list[Any] = [exc]
    while pending:
        error = pending.pop()
        if not isinstance(error, BaseException) or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, ConnectionRefusedError):
            return "refused"
        if isinstance(error, socket.gaierror):
            return "dns"
        if isinstance(error, ssl.SSLError):
            return "tls"
        if isinstance(error, TimeoutError | requests.exceptions.Timeout):
            return "timeout"
        if isinstance(error, ConnectionResetError | ConnectionAbortedError):
            return "dropped"
        pending += [error.__cause__, error.__context__, getattr(error, "reason", None)]
        pending += list(error.args)
    return ""


def response_json(response: requests.Response) -> Any:
    """Return the parsed JSON body, or None if it is not JSON (never raises)."""
    try:
        return response.json()
    except ValueError:
        return None


def response_object(response: requests.Response) -> dict[str, Any]:
    """Return the JSON body if it is an object, else {} (an error parser's start)."""
    body = response_json(response)
    return body if isinstance(body, dict) else {}


def body_excerpt(response: requests.Response, limit: int = EXCERPT_CHARS) -> str:
    """Return the start of a body as text, for error messages."""
    try:
        text = response.content[: limit * 4].decode(
            response.encoding or "utf-8", errors="replace"
        )
    except (LookupError, TypeError):
        text = repr(response.content[:limit])
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")


def environment_settings_freeze(session: requests.Session, base_url: str) -> None:
    """Read the proxy and CA-bundle environment once, then stop `session` reading it.

    With `trust_env` (requests' default) every request re-reads the proxy
    variables and `~/.netrc`, and a netrc entry for the provider's host (or a
    `default` one) silently replaces the provider's `Authorization` header
    with Basic auth. Every call of a client goes to `base_url`'s host, so the
    proxies (`HTTPS_PROXY`, `NO_PROXY`...) and `REQUESTS_CA_BUNDLE` /
    `CURL_CA_BUNDLE` resolved for it now are the ones requests would use.
    """
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.trust_env = False
