"""Python's cyclic garbage collector during a sync pass: once per committed
batch, not every 700 allocations.

A pass allocates hundreds of thousands of short-lived containers (parsed
JSON, records, model rows), almost none of them in a reference cycle:
reference counting frees them as soon as their batch is committed. With
CPython's default thresholds the collector still ran about 150 times in a
first sync of 1,350 sessions, and its full collections walk the whole heap:
17 % of the pass's time (docs/PERFORMANCE.md, section 1e). So a pass pauses
automatic collection (`collection_paused`) and collects once after each
committed batch (`after_batch`): the youngest generation every batch, the
middle one every tenth, all of them every hundredth (CPython's own ratios).
A cycle a pass makes is still collected within ten batches (the batch it
belongs to is alive when its own collection runs), or when the pass ends.

The pause is the process's (`gc.disable`), so it is counted: passes running
at once in threads of one worker share it, each collecting after its own
batches, and automatic collection comes back when the last one ends.
Collection turned off by someone else (a profiler, an embedding program) is
left off, and then no pass collects: that is their choice.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

# CPython's default ratios between its generations' thresholds.
MIDDLE_EVERY = 10
OLDEST_EVERY = 100

_lock = threading.Lock()
_passes = 0  # passes sharing the pause
_paused_here = False  # whether this module turned automatic collection off
_pass = threading.local()  # this thread's pass: its committed batches


def _join() -> bool:
    global _passes, _paused_here
    with _lock:
        if _passes == 0:
            if not gc.isenabled():
                return False  # someone else's choice
            gc.disable()
            _paused_here = True
        elif not _paused_here:
            return False
        _passes += 1
        return True


def _leave() -> None:
    global _passes, _paused_here
    with _lock:
        _passes -= 1
        if _passes == 0 and _paused_here:
            _paused_here = False
            gc.enable()


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """Pause automatic collection while the block runs a pass; restore it
    when the last pass sharing the pause ends."""
    joined = False
    try:
        joined = _join()
        _pass.batches = 0 if joined else None
        yield
    finally:
        _pass.batches = None
        if joined:
            _leave()


def after_batch() -> None:
    """Collect once after a committed batch, in a pass that paused collection."""
    batches = getattr(_pass, "batches", None)
    if batches is None:
        return
    batches += 1
    _pass.batches = batches
    if batches % OLDEST_EVERY == 0:
        gc.collect(2)
    elif batches % MIDDLE_EVERY == 0:
        gc.collect(1)
    else:
        gc.collect(0)
