"""How fast a provider may be asked, and how long it asks us to wait.

- `limits.py`: each provider's documented rate (data in `<provider>/http.py`),
  and the effective limit of a connection (its override, else that default);
- `state.py`: the adaptive pace (AIMD): a 429 holds every request for its
  `Retry-After` and halves the rate, successes creep it back to the limit;
- `limiter.py`: the limiter interface and its in-process backend;
- `file_backend.py`, `redis_backend.py`: the same pace shared by every process;
- `shared.py`: which backend (`VERITY_RATE_LIMIT_URL`), the fallback to this
  process when it is unreachable, and one limiter per connection;
- `retry_after_seconds` reads a 429's `Retry-After`.

Used by `http.ProviderHTTP` (through `http.connection_http`).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math

from .limiter import PaceLimiter, RateLimiter
from .limits import (
    DocumentedRate,
    EffectiveRateLimit,
    ProviderRateLimits,
    rate_limit_effective,
)
from .shared import (
    connection_rate_limiter,
    limiters_reset,
    rate_limit_backend_url,
)

__all__ = [
    "DocumentedRate",
    "EffectiveRateLimit",
    "PaceLimiter",
    "ProviderRateLimits",
    "RateLimiter",
    "connection_rate_limiter",
    "limiters_reset",
    "rate_limit_backend_url",
    "rate_limit_effective",
    "retry_after_seconds",
]


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
