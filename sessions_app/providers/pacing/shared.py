"""One limiter per connection, shared by every process: which backend, and the fallback.

`VERITY_RATE_LIMIT_URL` chooses where a connection's pace lives:

- `redis://…` (or `rediss://…`): Redis, for production (every host shares it);
- a directory path (or `file:///path`): one locked file per connection, for
  the embedded default where every process runs on one machine;
- `memory`: this process only (tests; a single process).

`connection_rate_limiter(key, rate)` returns the limiter of one connection.
A shared backend that fails (Redis down, the directory not writable) never
stops a sync: the connection is paced in this process instead, with one log
line, and the shared backend is tried again after `RETRY_SHARED_SECONDS`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.conf import settings

from .file_backend import FileRateLimiter
from .limiter import PaceLimiter, RateLimiter

logger = logging.getLogger(__name__)
T = TypeVar("T")

REDIS_KEY_PREFIX = "verity:pace:"
RETRY_SHARED_SECONDS = 30.0
# A limiter call must never hang a sync: Redis answers in milliseconds or not at all.
REDIS_TIMEOUT_SECONDS = 0.5


def _backend_errors() -> tuple[type[BaseException], ...]:
    import redis

    return (OSError, ValueError, redis.RedisError)


class FallbackRateLimiter(PaceLimiter):
    """A shared limiter that paces in this process while its backend is unreachable."""

    def __init__(
        self,
        shared: PaceLimiter,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(shared.rate_per_second)
        self.shared = shared
        self.backend = shared.backend
        self.local = RateLimiter(shared.rate_per_second)
        self._clock = clock
        self._down_until = -1.0
        self._lock = threading.Lock()

    def _use(self, call: Callable[[PaceLimiter], T]) -> T:
        with self._lock:
            down = self._clock() < self._down_until
        if not down:
            try:
                result = call(self.shared)
            except _backend_errors() as exc:
                with self._lock:
                    if self._down_until < 0:  # one line per outage, not per request
                        logger.warning(
                            "Rate limiter backend %s unreachable (%s: %s); pacing "
                            "in this process only until it is back.",
                            self.backend,
                            type(exc).__name__,
                            str(exc)[:200],
                        )
                    self._down_until = self._clock() + RETRY_SHARED_SECONDS
            else:
                with self._lock:
                    if self._down_until >= 0:
                        logger.info("Rate limiter backend %s is back.", self.backend)
                        self._down_until = -1.0
                return result
        return call(self.local)

    @property
    def degraded(self) -> bool:
        """True while pacing falls back to this process."""
        with self._lock:
            return self._down_until >= 0

    def reserve(self) -> float:
        return self._use(lambda limiter: limiter.reserve())

    def held(self) -> float:
        return self._use(lambda limiter: limiter.held())

    def throttled(self, wait: float) -> None:
        self._use(lambda limiter: limiter.throttled(wait))

    def succeeded(self) -> None:
        self._use(lambda limiter: limiter.succeeded())

    def current_rate(self) -> float:
        return self._use(lambda limiter: limiter.current_rate())


def rate_limit_backend_url() -> str:
    """The configured backend: the setting, else derived from the broker."""
    url = (getattr(settings, "VERITY_RATE_LIMIT_URL", "") or "").strip()
    if url:
        return url
    broker = getattr(settings, "CELERY_BROKER_URL", "") or ""
    if broker.startswith(("redis://", "rediss://")):
        return getattr(settings, "REDIS_URL", "") or broker
    return str(settings.VAR_DIR / "pace")


_redis_clients: dict[str, Any] = {}
_limiters: dict[tuple[str, str, float], PaceLimiter] = {}
_limiters_lock = threading.Lock()


def _redis_client(url: str) -> Any:
    client = _redis_clients.get(url)
    if client is None:
        import redis

        client = _redis_clients[url] = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
    return client


def limiter_build(url: str, key: str, rate_per_second: float) -> PaceLimiter:
    """Return a new limiter of connection `key` ("<kind>:<slug>") on backend `url`."""
    if url == "memory":
        return RateLimiter(rate_per_second)
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss", "unix"):
        from .redis_backend import RedisRateLimiter

        shared: PaceLimiter = RedisRateLimiter(
            rate_per_second, client=_redis_client(url), key=REDIS_KEY_PREFIX + key
        )
    else:
        directory = urlsplit(url).path if scheme == "file" else url
        shared = FileRateLimiter(rate_per_second, directory=directory, key=key)
    return FallbackRateLimiter(shared)


def connection_rate_limiter(key: str, rate_per_second: float) -> PaceLimiter:
    """Return the limiter of connection `key`, one per backend, key and rate per process."""
    url = rate_limit_backend_url()
    with _limiters_lock:
        cache_key = (url, key, rate_per_second)
        limiter = _limiters.get(cache_key)
        if limiter is None:
            for stale in [k for k in _limiters if k[:2] == (url, key)]:
                del _limiters[stale]
            limiter = _limiters[cache_key] = limiter_build(url, key, rate_per_second)
        return limiter


def limiters_reset() -> None:
    """Forget every limiter of this process (tests: no pace leaks between them)."""
    with _limiters_lock:
        _limiters.clear()
