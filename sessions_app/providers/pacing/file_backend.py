"""A connection's pace in a file, shared by every process on this machine.

The embedded default (SQLite, the filesystem broker) runs its web server,
worker and `sync_providers` as separate processes on one machine; they share
one small JSON file per connection under a directory, read and rewritten under
an exclusive `fcntl` lock. The file is opened for each operation, so threads,
and processes forked after a limiter was built, each take the lock for real
(a lock belongs to an open file, which a fork would share). The clock is the
wall clock (`time.time`), the same in every process.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .limiter import PaceLimiter
from .state import PaceState

T = TypeVar("T")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class FileRateLimiter(PaceLimiter):
    backend = "file"

    def __init__(
        self,
        rate_per_second: float,
        *,
        directory: str | os.PathLike[str],
        key: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(rate_per_second)
        self.directory = Path(directory)
        self.path = self.directory / f"{_UNSAFE.sub('_', key)}.json"
        self._clock = clock

    def _apply(self, rule: Callable[[PaceState, float], T]) -> T:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = b""
            while chunk := os.read(fd, 4096):
                raw += chunk
            try:
                state = PaceState.from_dict(json.loads(raw)) if raw else PaceState()
            except ValueError:
                state = PaceState()  # a torn or foreign file: start afresh
            result = rule(state, self._clock())
            # Rewritten in place, padded with spaces to the old length (JSON
            # ignores them) rather than truncated: ext4 flushes a file
            # truncated to zero and rewritten when it is closed
            # (auto_da_alloc), which cost ~2.5 ms per request here.
            data = json.dumps(state.as_dict()).encode().ljust(len(raw))
            os.pwrite(fd, data, 0)
            return result
        finally:
            os.close(fd)  # releases the lock
