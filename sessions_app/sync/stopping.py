"""Stopping a sync cleanly: the process's stop request and the signals that set it.

Contract:

- `PROCESS_STOP` is this process's request to stop syncing. The engine asks
  it before every adapter page (through the run's Budget) and after every
  committed batch: once it is set, the adapter ends its page, the pages read
  are committed with their cursor, the run ends `interrupted` and the lease
  is released. Nothing is lost (the cursor points past committed rows only)
  and the next run resumes from that cursor.
- `stop_on_signals()` sets it from SIGTERM and SIGINT while a sync runs. The
  first signal asks for a stop after the current page; a second one raises at
  once (KeyboardInterrupt for SIGINT, SystemExit for SIGTERM): the open page
  is rolled back, the run is still marked interrupted and the lease released
  on the way out. On leaving, the previous handlers come back.
- In a Celery prefork child the previous SIGTERM handler is billiard's, which
  exits the child. With `redeliver=True` (the task) a SIGTERM that arrived
  during the sync is raised again under that handler once the sync has
  stopped: the child still exits, as billiard's pool expects of a child it
  terminated, but only after the page is committed and the lease released.
- A warm shutdown (SIGTERM to the worker's main process) does not signal the
  pool children: the main process stops consuming and waits for the running
  tasks, a sync's whole budget. config/celery.py forwards it to them as
  STOP_SIGNAL, whose handler (`stop_signal_install`, from
  `worker_process_init`) only sets the request. STOP_SIGNAL is SIGURG because
  its default action is to do nothing (a child without the handler is not
  killed by it), billiard's child set-up never resets it (it resets SIGTERM,
  SIGUSR1 and, under signal protection, SIGUSR2 to handlers that exit), and
  no terminal sends it (SIGWINCH is sent on every window resize).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import Any

from ..providers.base import Budget

logger = logging.getLogger(__name__)

# Sent by the worker's main process to its pool children on a shutdown:
# "stop syncing after the current page", never "exit" (see above).
STOP_SIGNAL = signal.SIGURG
TERMINATING_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequest:
    """A request to stop syncing after the current page; safe to set from a
    signal handler or another thread."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""
        self.signum: int | None = None  # the signal that asked, if one did

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def request(self, reason: str, *, signum: int | None = None) -> None:
        """Ask running syncs to stop after their current page (first reason kept)."""
        if not self._event.is_set():
            self.reason, self.signum = reason, signum
            self._event.set()

    def clear(self) -> None:
        self._event.clear()
        self.reason, self.signum = "", None


PROCESS_STOP = StopRequest()


@dataclasses.dataclass(slots=True)
class StoppableBudget(Budget):
    """A Budget that is also exhausted once `should_stop()` says so.

    The adapters already ask their budget before every page, so a stop
    requested mid-page ends the pass cleanly after that page, with the
    cursor that resumes after it.
    """

    should_stop: Callable[[], bool] = lambda: False
    # The caller's budget, when it has its own rules (a subclass): asked
    # instead of the limits copied from it.
    inner: Budget | None = None

    @classmethod
    def around(
        cls, budget: Budget, *, should_stop: Callable[[], bool]
    ) -> StoppableBudget:
        """`budget`, also exhausted once `should_stop()` says so."""
        return cls(
            max_pages=budget.max_pages,
            max_seconds=budget.max_seconds,
            started=budget.started,
            should_stop=should_stop,
            inner=budget,
        )

    def exhausted(self, pages_done: int) -> bool:
        if self.should_stop():
            return True
        if self.inner is not None:
            return self.inner.exhausted(pages_done)
        return Budget.exhausted(self, pages_done)


def signal_reason(signum: int) -> str:
    return f"stopped by {signal.Signals(signum).name}"


def stop_signal_install(stop: StopRequest = PROCESS_STOP) -> bool:
    """Make STOP_SIGNAL set `stop` in this process (a Celery pool child).

    Return False where a handler cannot be installed (not the main thread).
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    signal.signal(
        STOP_SIGNAL,
        lambda signum, frame: stop.request(
            "stopped by the worker's shutdown", signum=signal.SIGTERM
        ),
    )
    return True


@contextlib.contextmanager
def stop_on_signals(
    stop: StopRequest = PROCESS_STOP,
    *,
    signals: Sequence[int] = TERMINATING_SIGNALS,
    redeliver: bool = False,
) -> Iterator[StopRequest]:
    """While inside, the first of `signals` requests a stop, a second raises at once.

    Outside the main thread (where Python delivers signals) nothing is
    installed and `stop` is yielded as it is. With `redeliver`, a signal
    received inside is raised again after the previous handlers are back.
    """
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) > 1:
            logger.warning("%s again: stopping at once.", signal.Signals(signum).name)
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise SystemExit(128 + signum)
        logger.warning(
            "%s: the sync stops after its current page (send it again to stop at once).",
            signal.Signals(signum).name,
        )
        stop.request(signal_reason(signum), signum=signum)

    previous: dict[int, Any] = {}
    try:
        for signum in signals:
            previous[signum] = signal.signal(signum, handler)
        yield stop
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
    if redeliver and received:
        logger.info(
            "Re-raising %s now that the sync has stopped.",
            signal.Signals(received[0]).name,
        )
        signal.raise_signal(received[0])
