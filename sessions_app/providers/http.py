"""The one HTTP client every provider adapter uses (on `requests`).

What it guarantees, whichever provider is behind it:

- a (connect, read) timeout on every call and no redirects followed (a
  redirect to another host would carry the API key with it);
- proxies and the CA bundle read from the environment once, when the client
  is built, and `~/.netrc` never (`environment_settings_freeze`);
- requests paced by the connection's one limiter, shared by every process, at
  its effective limit, adaptively: a 429 holds it and halves the rate (`pacing`);
- a few quick retries, exponential backoff with full jitter (0.5 s base, 8 s
  cap), on connection errors, time-outs and 502/503/504, and one on a 2xx
  whose body is not JSON; never urllib3's `Retry`, whose `Retry-After`
  handling can sleep for hours inside a worker;
- on 429, `Retry-After` (seconds or HTTP-date) or a backoff is waited (the
  limiter's hold) only if at most `max_inline_sleep`, twice; else
  `ProviderRateLimited(retry_after=...)` lets the Celery task reschedule
  itself. A quota 429 (`quota_error`) neither waits nor touches the pace;
- every failure is one of the `ProviderError` subclasses of
  `sessions_app.exceptions`, with the HTTP status, the provider's error type
  and message (each provider supplies an `error_parser`);
- the credential never appears in a log record, an exception or a repr: error
  bodies and messages are scrubbed of every secret the client was given.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import requests
from django.conf import settings

from ..exceptions import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderConfigurationError,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from .base import DeletionAnswer
from .concurrency import CONCURRENCY_MAX, round_trips
from .pacing import (
    PaceLimiter,
    ProviderRateLimits,
    RateLimiter,
    connection_rate_limiter,
    rate_limit_effective,
    retry_after_seconds,
)
from .transport import (
    RequestPreparer,
    body_excerpt,
    environment_settings_freeze,
    transport_failure,
)

if TYPE_CHECKING:
    from .base import ConnectionConfig

logger = logging.getLogger(__name__)

# (error_type, message) read from an error response; must accept any body.
ErrorParser = Callable[[requests.Response], tuple[str, str]]

RETRY_STATUSES = frozenset({502, 503, 504})
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
MAX_INVALID_JSON_RETRIES = 1
REDACTED = "[redacted]"
# Header values that are secrets whatever the provider (scrubbed like `secrets`).
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "cookie"}
)
# Where providers put the id of a request (the proof of a deletion names it).
REQUEST_ID_HEADERS = ("X-Request-Id", "X-Request-ID", "X-Amzn-RequestId")
TRANSIENT_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class ProviderHTTP:
    """A JSON client for one provider connection: timeouts, retries, rate limit, errors."""

    def __init__(
        self,
        base_url: str,
        *,
        provider: str,
        headers: Mapping[str, str],
        rate_limit_per_second: float,
        error_parser: ErrorParser,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_retries: int = 3,
        max_inline_sleep: float | None = None,
        max_rate_limit_retries: int = 2,
        default_retry_after: float = 30.0,
        quota_error: Callable[[str], bool] | None = None,
        quota_retry_after: float = 3600.0,
        json_content_type: str = "application/json",
        secrets: Iterable[str] = (),
        rate_limiter: PaceLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        session: requests.Session | None = None,
    ) -> None:
        """Configure the client.

        `default_retry_after` is reported on a 429 that gave no `Retry-After`
        once the inline retries are spent; `quota_error(error_type)` tells a
        quota 429 (no retry helps for hours) from a rate limit; `sleep`,
        `clock` and `jitter` are injectable so that tests never really wait.
        """
        self.base_url = base_url.rstrip("/")
        self.provider = provider
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max_retries
        self.max_inline_sleep = (
            settings.VERITY_HTTP_MAX_INLINE_SLEEP
            if max_inline_sleep is None
            else max_inline_sleep
        )
        self.max_rate_limit_retries = max_rate_limit_retries
        self.default_retry_after = default_retry_after
        self.quota_error = quota_error
        self.quota_retry_after = quota_retry_after
        self.json_content_type = json_content_type
        self.error_parser = error_parser
        self.rate_limiter: PaceLimiter = rate_limiter or RateLimiter(
            rate_limit_per_second, clock=clock
        )
        self._sleep = sleep
        self._jitter = jitter
        secret_values = [*secrets]
        secret_values += [
            value
            for name, value in headers.items()
            if name.lower() in SENSITIVE_HEADERS
        ]
        # Longest first, so that "Token token=abc" is scrubbed before "abc".
        self._secrets = sorted(
            {s for s in secret_values if s and len(s) >= 4}, key=len, reverse=True
        )
        if session is None:
            session = requests.Session()
            # A pooled connection per concurrent read (`concurrency.py`).
            pooled = requests.adapters.HTTPAdapter(pool_maxsize=CONCURRENCY_MAX)
            session.mount("http://", pooled)
            session.mount("https://", pooled)
        # Also an injected session: `_send` sends without `Session.request`,
        # which is where requests would read the environment per request.
        environment_settings_freeze(session, self.base_url)
        self._preparer = RequestPreparer(self.base_url)
        self.session = session
        self.session.headers.update(
            {"Accept": "application/json", "User-Agent": "verity/0.1"}
        )
        self.session.headers.update(headers)

    def __repr__(self) -> str:
        return f"<ProviderHTTP {self.provider} {self.base_url}>"

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET `path` and return its JSON body (ProviderError on failure)."""
        return self._request("GET", path, params=params)

    def post_json(
        self, path: str, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> Any:
        """POST `json` to `path` and return the JSON body (ProviderError on failure).

        Only used for read-only searches (ICA), so retrying a POST is safe.
        """
        return self._request("POST", path, params=params, body=json)

    def delete(self, path: str) -> DeletionAnswer:
        """DELETE `path` (idempotent, so retried like a GET): `deleted` on a
        2xx, `already_gone` on 404/410; any other failure is a ProviderError.
        The answer keeps the status and the provider's request id, never the body."""
        try:
            response = self._request("DELETE", path, want_response=True)
        except ProviderNotFound as exc:
            return DeletionAnswer(
                outcome="already_gone",
                status_code=exc.status,
                excerpt=f"{exc.error_type or 'not found'}: nothing is held under this id.",
            )
        request_id = next(
            (
                response.headers[name]
                for name in REQUEST_ID_HEADERS
                if response.headers.get(name)
            ),
            "",
        )
        return DeletionAnswer(
            outcome="deleted",
            status_code=response.status_code,
            excerpt=f"Request id {self.redact(request_id)[:100]}."
            if request_id
            else "",
        )

    # Internals -----------------------------------------------------------

    def redact(self, text: str) -> str:
        """Return `text` with every secret this client knows replaced."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        want_response: bool = False,
    ) -> Any:
        where = f"{method} {path.split('?')[0]}"
        headers = {}
        data = None
        if method == "POST":
            headers["Content-Type"] = self.json_content_type
            data = json.dumps({} if body is None else body).encode("utf-8")
        transient_retries = rate_limit_retries = invalid_json_retries = 0
        while True:
            self._wait_turn(where, extra={"method": method, "path": path})
            started = time.monotonic()
            try:
                response = self._send(method, path, params, data, headers)
            except TRANSIENT_ERRORS as exc:
                reason = self.redact(f"{type(exc).__name__}: {exc}")[:300]
                if transient_retries < self.max_retries:
                    transient_retries += 1
                    self._retry_sleep(
                        where, reason, transient_retries, self.max_retries
                    )
                    continue
                raise ProviderUnavailable(
                    f"{reason} ({where}, {transient_retries + 1} attempts)",
                    provider=self.provider,
                    status=None,
                    extra={
                        "method": method,
                        "path": path,
                        "transport": transport_failure(exc),
                    },
                ) from None
            except requests.exceptions.InvalidHeader:
                # Its message quotes the header value, i.e. the credential.
                raise ProviderConfigurationError(
                    f"{self.provider}: a request header is invalid (check the credential's characters)."
                ) from None
            except requests.exceptions.RequestException as exc:
                raise ProviderConfigurationError(
                    self.redact(
                        f"{self.provider}: cannot call {self.base_url}: {type(exc).__name__}: {exc}"
                    )
                ) from None
            status = response.status_code
            round_trip = time.monotonic() - started
            round_trips.note(self.base_url, round_trip)
            logger.debug(
                "%s %s -> %s in %.0f ms",
                self.provider,
                where,
                status,
                round_trip * 1000,
            )

            if 200 <= status < 300:
                self.rate_limiter.succeeded()
                if want_response:
                    return response
                if status == 204:
                    return None
                try:
                    return response.json()
                except ValueError:
                    if invalid_json_retries < MAX_INVALID_JSON_RETRIES:
                        invalid_json_retries += 1
                        self._retry_sleep(
                            where,
                            f"HTTP {status} body is not JSON",
                            invalid_json_retries,
                            MAX_INVALID_JSON_RETRIES,
                        )
                        continue
                    raise ProviderResponseInvalid(
                        f"body is not valid JSON ({where}): {self.redact(body_excerpt(response))!r}",
                        provider=self.provider,
                        status=status,
                        extra={"method": method, "path": path},
                    ) from None

            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            if status == 429 or (status == 503 and retry_after is not None):
                error_type, message = self._error_details(response)
                if (
                    status == 429
                    and self.quota_error is not None
                    and self.quota_error(error_type)
                ):
                    raise ProviderRateLimited(
                        f"quota exhausted: {message} ({where})",
                        retry_after=max(retry_after or 0.0, self.quota_retry_after),
                        provider=self.provider,
                        status=status,
                        error_type=error_type,
                        extra={"method": method, "path": path, "quota": True},
                    )
                wait = retry_after
                if wait is None:
                    wait = min(
                        BACKOFF_CAP, BACKOFF_BASE * 2 ** (rate_limit_retries + 1)
                    )
                # The connection holds until then, in every process; its rate is cut.
                self.rate_limiter.throttled(wait)
                if (
                    rate_limit_retries < self.max_rate_limit_retries
                    and wait <= self.max_inline_sleep
                ):
                    rate_limit_retries += 1
                    logger.info(  # routine under adaptive pacing: not a warning
                        "%s %s: HTTP %s, waiting %.1f s then retrying (%d/%d)",
                        self.provider,
                        where,
                        status,
                        wait,
                        rate_limit_retries,
                        self.max_rate_limit_retries,
                    )
                    continue  # `_wait_turn` waits for the hold
                raise ProviderRateLimited(
                    f"{message or 'rate limited'} ({where})",
                    retry_after=retry_after
                    if retry_after is not None
                    else max(wait, self.default_retry_after),
                    provider=self.provider,
                    status=status,
                    error_type=error_type,
                    extra={"method": method, "path": path},
                )

            if status in RETRY_STATUSES and transient_retries < self.max_retries:
                transient_retries += 1
                self._retry_sleep(
                    where, f"HTTP {status}", transient_retries, self.max_retries
                )
                continue

            raise self._error(response, method=method, path=path, where=where)

    def _send(
        self, method: str, path: str, params: Any, data: Any, headers: dict[str, str]
    ) -> requests.Response:
        # `Session.request` less its cookie jars, settings merging, URL re-parsing
        # (PERFORMANCE 1e, 1f) and `Session.send`'s extras (1g: answers' cookies
        # kept, hooks, a redirect look-ahead). APIs authenticate by key.
        prepared = self._preparer.prepare(
            method,
            path,
            params=params,
            data=data,
            headers={**self.session.headers, **headers},
        )
        response = self.session.get_adapter(prepared.url).send(
            prepared,
            timeout=self.timeout,
            proxies=self.session.proxies,
            verify=self.session.verify,
            cert=self.session.cert,
            stream=False,
        )
        _ = response.content  # read now, as `Session.send` does unless streaming
        return response

    def _wait_turn(self, where: str, *, extra: dict[str, Any]) -> None:
        # Sleep for a slot outside every lock; honour a hold set meanwhile. A
        # hold longer than a 429 would be waited out inline (another thread's
        # or process's 429) ends this request as that 429 would have.
        while True:
            wait = self.rate_limiter.reserve()
            if wait > self.max_inline_sleep:
                held = self.rate_limiter.held()
                if held > 0:
                    raise ProviderRateLimited(
                        f"rate limited: the connection is held after a 429 ({where})",
                        retry_after=held,
                        provider=self.provider,
                        status=429,
                        extra={**extra, "held": True},
                    )
            if wait <= 0:
                return  # no time passed for a hold to be set meanwhile
            self._sleep(wait)
            held = self.rate_limiter.held()
            if held <= 0:
                return
            self._sleep(held)

    def _retry_sleep(self, where: str, reason: str, attempt: int, limit: int) -> None:
        # Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))].
        delay = self._jitter() * min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
        logger.warning(
            "%s %s: %s, retrying in %.2f s (%d/%d)",
            self.provider,
            where,
            reason,
            delay,
            attempt,
            limit,
        )
        self._sleep(delay)

    def _error_details(self, response: requests.Response) -> tuple[str, str]:
        try:
            error_type, message = self.error_parser(response)
        except Exception as exc:  # a parser must never turn an error into a crash
            # Only the type: the message could quote the body, and so a secret.
            logger.debug(
                "%s error parser failed: %s", self.provider, type(exc).__name__
            )
            error_type, message = "", ""
        error_type = self.redact(str(error_type or ""))[:100]
        message = self.redact(str(message or "")).strip()
        if not message:
            message = self.redact(body_excerpt(response)) or response.reason or ""
        return error_type, message[:500]

    def _error(
        self, response: requests.Response, *, method: str, path: str, where: str
    ) -> ProviderError:
        status = response.status_code
        error_type, message = self._error_details(response)
        if status in (401, 402, 403):
            cls: type[ProviderError] = ProviderAuthError
        elif status in (404, 410):
            cls = ProviderNotFound
        elif 500 <= status < 600:
            cls = ProviderUnavailable
        elif 400 <= status < 500:
            cls = ProviderBadRequest
        else:  # a redirect (not followed) or an informational status
            cls = ProviderResponseInvalid
            message = f"unexpected HTTP {status}"
        return cls(
            f"{message} ({where})",
            provider=self.provider,
            status=status,
            error_type=error_type,
            extra={"method": method, "path": path},
        )


def connection_http(
    config: ConnectionConfig,
    overrides: Mapping[str, Any],
    *,
    rate_limits: ProviderRateLimits | None = None,
    **options: Any,
) -> ProviderHTTP:
    """Return the ProviderHTTP of one connection: `options` from its adapter, then `overrides`.

    The credential is always scrubbed from errors and logs. The connection is
    paced at its effective limit (its override, else `rate_limits`) by its
    shared limiter, unless a test injects its own clock or limiter.
    """
    rate = rate_limit_effective(
        rate_limits,
        override=config.rate_limit_per_second,
        credential=config.credential,
        options=config.options,
    ).per_second
    kwargs: dict[str, Any] = {
        "provider": config.slug or config.kind,
        "rate_limit_per_second": rate,
        "secrets": [config.credential],
        **options,
    }
    if "rate_limiter" not in overrides and "clock" not in overrides:
        kwargs["rate_limiter"] = connection_rate_limiter(
            f"{config.kind}:{config.slug}", rate
        )
    kwargs.update(overrides)
    return ProviderHTTP(config.base_url, **kwargs)
