"""Simulated time: the simulator's start plus real elapsed time times `speed`."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable


class SimClock:
    """A monotonic simulated clock.

    `elapsed()` is the number of simulated seconds since `start`: real seconds
    times `speed` (0 freezes time) plus every `advance()`. It never goes back.
    Thread-safe.
    """

    def __init__(
        self,
        *,
        start: dt.datetime,
        speed: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self.start = start.astimezone(dt.UTC).replace(microsecond=0)
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._speed = float(speed)
        self._real_anchor = monotonic()
        self._sim_anchor = 0.0

    @property
    def speed(self) -> float:
        return self._speed

    def elapsed(self) -> float:
        with self._lock:
            return (
                self._sim_anchor + (self._monotonic() - self._real_anchor) * self._speed
            )

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.elapsed())

    def _rebase(self) -> None:
        now_real = self._monotonic()
        self._sim_anchor += (now_real - self._real_anchor) * self._speed
        self._real_anchor = now_real

    def advance(self, seconds: float) -> float:
        """Move simulated time forward by `seconds`; return the new elapsed time."""
        if seconds < 0:
            raise ValueError("the simulator clock never goes back")
        with self._lock:
            self._rebase()
            self._sim_anchor += float(seconds)
            return self._sim_anchor

    def set_speed(self, speed: float) -> None:
        """Change how many simulated seconds pass per real second (0 freezes)."""
        if speed < 0:
            raise ValueError("speed must be >= 0")
        with self._lock:
            self._rebase()
            self._speed = float(speed)
