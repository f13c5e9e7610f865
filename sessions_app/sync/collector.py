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
Cycles a pass makes are still collected, one batch later at most; memory is
bounded by the batch (VERITY_SYNC_BATCH_SIZE sessions, or
VERITY_SYNC_COMMIT_SECONDS of reading).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

# CPython's default ratios between its generations' thresholds.
MIDDLE_EVERY = 10
OLDEST_EVERY = 100

_pass = threading.local()


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """Pause automatic collection while the block runs a pass; restore it after.

    Does nothing when collection is already off (an outer pass, a profiler,
    an embedding application's choice): whoever turned it off turns it on.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    _pass.batches = 0
    try:
        yield
    finally:
        _pass.batches = None
        gc.enable()


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
