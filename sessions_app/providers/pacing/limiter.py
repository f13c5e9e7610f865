"""The limiter interface `ProviderHTTP` uses, and its in-process backend.

A limiter paces one connection: `reserve()` books the next slot and returns how
long the caller must wait for it (callers sleep outside every lock, so several
threads get distinct slots); `held()` says whether a 429 seen meanwhile asks
for more; `throttled(wait)` and `succeeded()` feed the adaptive rate
(`state.py`). All four are thread-safe.

`PaceLimiter` applies the rules to a state kept somewhere: subclasses say where
(`_apply`). `RateLimiter` keeps it in this process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from . import state as pace
from .state import PaceState

T = TypeVar("T")


class PaceLimiter:
    """Paces one connection to `rate_per_second` (its ceiling; 0 = unlimited)."""

    backend = "memory"

    def __init__(self, rate_per_second: float) -> None:
        self.rate_per_second = max(0.0, rate_per_second)
        # Whether the last look at the state found the rate cut (by a 429 here
        # or in another process). While it is not, `succeeded()` has nothing
        # to do and skips the store: on a shared backend (a locked file, Redis)
        # that is one round trip a request instead of two.
        self._cut_seen = False

    @property
    def interval(self) -> float:
        """Seconds between requests at the ceiling (0 when unlimited)."""
        return 1.0 / self.rate_per_second if self.rate_per_second > 0 else 0.0

    def _apply(self, rule: Callable[[PaceState, float], T]) -> T:
        """Run `rule(state, now)` atomically on the stored state; store the result."""
        raise NotImplementedError

    def reserve(self) -> float:
        """Book the next slot; return the seconds to wait before using it."""

        def rule(state: PaceState, now: float) -> float:
            self._cut_seen = state.rate > 0
            return pace.reserve(state, now, self.rate_per_second)

        return self._apply(rule)

    def held(self) -> float:
        """Seconds still to wait because of a 429 seen since the slot was booked."""
        return self._apply(pace.held)

    def throttled(self, wait: float) -> None:
        """A 429: hold every request for `wait` seconds and cut the rate."""
        self._cut_seen = True
        self._apply(lambda s, now: pace.throttle(s, now, self.rate_per_second, wait))

    def succeeded(self) -> None:
        """A request was answered: let the rate creep back towards the ceiling
        (nothing to store while the rate was not cut when last looked at)."""
        if not self._cut_seen:
            return

        def rule(state: PaceState, now: float) -> None:
            pace.succeed(state, self.rate_per_second)
            self._cut_seen = state.rate > 0

        self._apply(rule)

    def current_rate(self) -> float:
        """The rate requests go at now (requests per second; 0 = unlimited)."""
        return self._apply(lambda s, now: pace.current_rate(s, self.rate_per_second))


class RateLimiter(PaceLimiter):
    """A limiter whose state lives in this process (one per connection)."""

    def __init__(
        self, rate_per_second: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(rate_per_second)
        self._clock = clock
        self._state = PaceState()
        self._lock = threading.Lock()

    def _apply(self, rule: Callable[[PaceState, float], T]) -> T:
        with self._lock:
            return rule(self._state, self._clock())
