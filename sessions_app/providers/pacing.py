"""How fast a provider may be asked, and how long it asks us to wait.

`RateLimiter` spaces one connection's requests; `shared_rate_limiter` gives
every client of a connection in this process the same one; and
`retry_after_seconds` reads a 429's `Retry-After`. Used by `http.ProviderHTTP`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Space calls at least `1 / rate_per_second` apart; thread-safe.

    `reserve()` books the next free slot and returns how long the caller must
    wait for it, so concurrent callers get distinct slots and sleep outside
    the lock.
    """

    def __init__(
        self, rate_per_second: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate_per_second = rate_per_second
        self.interval = 1.0 / rate_per_second if rate_per_second > 0 else 0.0
        self._clock = clock
        self._next_slot = -math.inf
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Book the next slot; return the seconds to wait before using it."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
            return slot - now


_shared_limiters: dict[str, RateLimiter] = {}
_shared_limiters_lock = threading.Lock()


def shared_rate_limiter(key: str, rate_per_second: float) -> RateLimiter:
    """Return the process-wide limiter of one connection (new if its rate changed)."""
    with _shared_limiters_lock:
        limiter = _shared_limiters.get(key)
        if limiter is None or limiter.rate_per_second != rate_per_second:
            limiter = _shared_limiters[key] = RateLimiter(rate_per_second)
        return limiter


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a `Retry-After` header (delta seconds or HTTP-date); None if absent or bad."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
