"""What the provider HTTP client reads from `requests` and the environment.

Small pure helpers of `http.ProviderHTTP`, also used by each provider's
error parser (`response_object`): what stopped a request from being answered
(`transport_failure`), a body as JSON or as a short excerpt, the proxy and
CA-bundle environment read once (`environment_settings_freeze`), and each
request prepared as `requests` would (`RequestPreparer`).
"""

from __future__ import annotations

import os
import re
import socket
import ssl
from collections.abc import Mapping
from typing import Any

import requests
from requests.models import RequestEncodingMixin
from requests.structures import CaseInsensitiveDict

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


# Distinct header sets a client remembers as checked (it sends a handful).
HEADER_SETS_KEPT = 32

# A path of RFC 3986 unreserved characters, slashes and colons (ICA's
# custom methods: `/analyses:search`), with no "." or ".." segment:
# `requests` (and urllib3 under it) would send it exactly as it is.
_PLAIN_PATH = re.compile(r"(?!.*(?:^|/)\.{1,2}(?:/|$))[A-Za-z0-9\-._~/:]*")


class RequestPreparer:
    """Prepares the requests of one client as `requests.Request(...).prepare()`
    does, without re-parsing a URL whose parsing cannot change it.

    `prepare()` parses every URL (urllib3's parser, `urlsplit` twice, a
    re-quoting pass) and builds a cookie jar for every request: about a
    third of the client's time against a fast provider (PERFORMANCE 1f). A
    client's URLs are its base URL, checked once here, plus a path and
    query parameters. A path of plain characters (ids of letters, digits,
    `-._~`) and a mapping of parameters, encoded by `requests`' own encoder,
    come out of `prepare()` unchanged, so they are joined as they are; any
    other path (a `%`, a space, a non-ASCII letter, a dot segment) and any
    other kind of parameters go through `prepare()`. Headers and the body
    are prepared by `requests` itself; no cookie is sent (a key-authenticated
    API needs none). Tests compare both ways on generated paths and
    parameters.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._checked_headers: dict[tuple[Any, ...], CaseInsensitiveDict[str]] = {}
        probe = f"{self.base_url}/probe"
        # A base URL that `requests` would rewrite (an IDNA host, a default
        # port, a user name and password taken as Basic auth) always takes
        # the full preparation; so does one it refuses, which then fails
        # each request as it did (the client reports it as a configuration
        # error).
        try:
            prepared = requests.Request("GET", probe).prepare()
        except (requests.exceptions.RequestException, ValueError):
            self.base_is_plain = False
            return
        self.base_is_plain = (
            prepared.url == probe
            and "@" not in probe.partition("://")[2].partition("/")[0]
            and "Authorization" not in prepared.headers
        )

    def _headers(self, sent: dict[str, str]) -> CaseInsensitiveDict[str]:
        """`prepare_headers`' result, checked once per set of headers: a
        client sends the same few on every request, and `requests` validates
        each name and value with a regular expression per call."""
        key = tuple(sent.items())
        try:
            checked = self._checked_headers.get(key)
        except TypeError:  # a value that is not text: `requests` says so
            key, checked = (), None
        if checked is None:
            probe = requests.PreparedRequest()
            probe.prepare_headers(sent)
            checked = probe.headers
            if key and len(self._checked_headers) < HEADER_SETS_KEPT:
                self._checked_headers[key] = checked
        return checked.copy()  # the body's preparation adds Content-Length

    def url(self, path: str, params: Any) -> str | None:
        """The URL `prepare()` would send for `path` and `params`, or None
        when only `prepare()` can tell."""
        path = path.lstrip("/")
        if not (
            self.base_is_plain
            and (params is None or isinstance(params, Mapping))
            and _PLAIN_PATH.fullmatch(path)
        ):
            return None
        url = f"{self.base_url}/{path}"
        query = RequestEncodingMixin._encode_params(params) if params else ""
        return f"{url}?{query}" if query else url

    def prepare(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str | None],
    ) -> requests.PreparedRequest:
        """The prepared request; a header whose value is None is left out."""
        sent = {name: value for name, value in headers.items() if value is not None}
        url = self.url(path, params)
        if url is None:
            return requests.Request(
                method,
                f"{self.base_url}/{path.lstrip('/')}",
                params=params,
                data=data,
                headers=sent,
            ).prepare()
        prepared = requests.PreparedRequest()
        prepared.prepare_method(method)
        prepared.url = url
        prepared.headers = self._headers(sent)
        prepared.prepare_body(data, None)
        # An empty jar, as `prepare_cookies` leaves when there is no cookie
        # (`Session.send` reads it when an answer is a redirect).
        prepared._cookies = requests.cookies.RequestsCookieJar()
        return prepared
