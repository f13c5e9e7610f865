"""Bounded concurrent reads of one page's sessions, in order; a fetch-once cache.

A sequential client cannot use a provider's allowance when each request
waits on the network: 250 ms away, one request at a time is 4 requests a
second whatever the limit. So the per-session reads of a page (a session's
detail, its checks, tasks, reports or analyses, its applicant or client) run
on up to `size` lanes at once, every request still paced by the connection's
one rate limiter (`pacing.py`, thread-safe).

The two hazards that kept threads out before, and how they are met:

- **Order and failures.** `ReadPool.run(calls, stops=...)` returns one
  `Outcome` per call, in the order of `calls`, whatever order they finished
  in. Lanes claim calls in that order, and a call that fails with an error
  `stops` says ends the page (a rate limit, an outage, an auth error, a bug)
  keeps every later call from starting; calls before it still finish. The
  caller replays the outcomes in order through exactly the code the
  sequential loop ran (`Outcome.get()` returns the value or raises the
  error), so the page holds the same records, quarantines, `missing` and
  gone ids, and raises the same first error, as the sequential loop.
- **Shared caches.** Readers remember each client, applicant or project
  they fetched. `FetchOnce` gives them a cache where concurrent askers for
  one key wait for a single fetch (one request, as sequentially); a fetch
  that raises is not cached and the next asker fetches again, as the
  sequential loop would on its next session.

Lanes open only while the provider is seen answering across a network: its
typical round trip (`round_trips`, noted by `ProviderHTTP` for every answer,
per base URL, in this process) is at least `lanes_round_trip` seconds
(`VERITY_SYNC_LANES_ROUND_TRIP`, 10 ms). A provider 250 ms away opens them
from its first answer; a local simulator answering in a millisecond never
does, and a single slow answer (a pause of the collector) soon drowns in the
average. Reads that do not wait have nothing to overlap: under one
interpreter lock, four lanes of pure Python are slower than one
(docs/PERFORMANCE.md, section 1e).

No thread outlives `run`: the calling thread is one of the lanes, and the
others are joined before it returns or raises (a signal in the calling
thread stops new calls from starting, then waits for the ones in flight).
Nothing here touches the database: Django gives another thread another
connection, which would not see the caller's transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

# The most lanes a connection may ask for (its `concurrency` option); the
# HTTP client keeps that many pooled connections per host.
CONCURRENCY_MAX = 16
# A request answered in this long crossed a network; one to a simulator on
# this machine takes a millisecond or less.
LANES_ROUND_TRIP = 0.01
# The weight of the newest answer in a provider's typical round trip.
ROUND_TRIP_WEIGHT = 0.2


class RoundTrips:
    """Each provider's typical round trip in this process (an exponentially
    weighted average of its answers' times), by base URL."""

    def __init__(self) -> None:
        self._typical: dict[str, float] = {}
        self._lock = threading.Lock()

    def note(self, key: str, seconds: float) -> None:
        with self._lock:
            before = self._typical.get(key)
            self._typical[key] = (
                seconds
                if before is None
                else before + ROUND_TRIP_WEIGHT * (seconds - before)
            )

    def typical(self, key: str) -> float:
        """The typical round trip of `key` (0.0 before its first answer)."""
        with self._lock:
            return self._typical.get(key, 0.0)

    def forget(self, key: str) -> None:
        with self._lock:
            self._typical.pop(key, None)


round_trips = RoundTrips()


@dataclass(frozen=True, slots=True)
class Outcome[T]:
    """What one call returned, or the exception it raised."""

    value: T | None = None
    error: BaseException | None = None

    def get(self) -> T:
        """Return the value, or raise the call's exception (with its traceback)."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


def _call[T](call: Callable[[], T]) -> Outcome[T]:
    try:
        return Outcome(value=call())
    except BaseException as exc:  # replayed in the caller's thread
        return Outcome(error=exc)


class ReadPool:
    """Runs a page's calls on at most `size` lanes (1: in the caller, one by one).

    The other lanes open while the typical round trip of `key` (the
    provider's base URL) is at least `lanes_round_trip` seconds; 0 opens
    them always.
    """

    def __init__(
        self,
        size: int = 1,
        *,
        key: str = "",
        lanes_round_trip: float = LANES_ROUND_TRIP,
    ) -> None:
        if not 1 <= size <= CONCURRENCY_MAX:
            raise ValueError(f"size must be between 1 and {CONCURRENCY_MAX}")
        self.size = size
        self.key = key
        self.lanes_round_trip = lanes_round_trip

    def _waits_on_network(self) -> bool:
        return (
            self.lanes_round_trip <= 0
            or round_trips.typical(self.key) >= self.lanes_round_trip
        )

    def __repr__(self) -> str:
        return f"<ReadPool size={self.size}>"

    def run[T](
        self,
        calls: Sequence[Callable[[], T]],
        *,
        stops: Callable[[BaseException], bool],
    ) -> list[Outcome[T]]:
        """Run `calls`; return their outcomes in order, up to the first that stops.

        The list ends with the first call (in order) whose error `stops` says
        ends the page; calls after it may not have run and are left out.
        """
        lanes = min(self.size, len(calls))
        outcomes: list[Outcome[T] | None] = [None] * len(calls)
        lock = threading.Lock()
        # `claimed`: the next call to start; `end`: no call from here on starts.
        state = {"claimed": 0, "end": len(calls)}

        threads: list[threading.Thread] = []

        def lanes_open() -> None:
            # Only the calling thread opens lanes, once per run.
            for n in range(1, lanes):
                thread = threading.Thread(
                    target=lane, name=f"verity-read-{n}", daemon=True
                )
                threads.append(thread)
                thread.start()

        def lane(caller: bool = False) -> None:
            while True:
                with lock:
                    index = state["claimed"]
                    if index >= state["end"]:
                        return
                    state["claimed"] = index + 1
                outcome = _call(calls[index])
                outcomes[index] = outcome
                if outcome.error is not None and stops(outcome.error):
                    with lock:
                        state["end"] = min(state["end"], index + 1)
                if (
                    caller
                    and lanes > 1
                    and not threads
                    and state["claimed"] < state["end"]
                    and self._waits_on_network()
                ):
                    lanes_open()

        try:
            if lanes > 1 and self._waits_on_network():
                lanes_open()
            lane(caller=True)
        finally:
            _join(threads, stop=lambda: _stop_claiming(lock, state))
        _hold_replaced_by_its_cause(outcomes, state["end"], stops)
        # Every call before `end` was claimed, and so ran to its outcome.
        return [outcome for outcome in outcomes[: state["end"]] if outcome is not None]


def _is_hold(error: BaseException | None) -> bool:
    """True for the error of a call that found the connection held by a 429
    another call met (`ProviderHTTP` raises it instead of waiting long)."""
    extra = getattr(error, "extra", None)
    return isinstance(extra, dict) and bool(extra.get("held"))


def _hold_replaced_by_its_cause[T](
    outcomes: list[Outcome[T] | None],
    end: int,
    stops: Callable[[BaseException], bool],
) -> None:
    # A call that stopped only because a later call's 429 held the connection
    # reports that 429 itself, as the sequential loop would have met it.
    last = outcomes[end - 1] if end else None
    if last is None or not _is_hold(last.error):
        return
    cause = next(
        (
            outcome.error
            for outcome in outcomes
            if outcome is not None
            and outcome.error is not None
            and stops(outcome.error)
            and not _is_hold(outcome.error)
        ),
        None,
    )
    if cause is not None:
        outcomes[end - 1] = Outcome(error=cause)


def _stop_claiming(lock: threading.Lock, state: dict[str, int]) -> None:
    with lock:
        state["end"] = min(state["end"], state["claimed"])


def _join(threads: Sequence[threading.Thread], *, stop: Callable[[], None]) -> None:
    """Join every started thread, even when a signal interrupts a join.

    `stop()` first, so that lanes start nothing more (a signal in the calling
    thread, e.g. SIGTERM raising SystemExit, abandons the rest of the page);
    an interruption is re-raised once every lane has finished its call.
    """
    stop()
    interrupted: BaseException | None = None
    for thread in threads:
        while thread.ident is not None and thread.is_alive():
            try:
                thread.join()
            except BaseException as exc:  # re-raised below
                interrupted = interrupted or exc
    if interrupted is not None:
        raise interrupted


class FetchOnce[K: Hashable, V]:
    """A cache filled by one fetch per key, however many threads ask at once."""

    def __init__(self) -> None:
        self._values: dict[K, V] = {}
        self._pending: dict[K, threading.Event] = {}
        self._lock = threading.Lock()

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def get(self, key: K, fetch: Callable[[], V]) -> V:
        """Return the cached value of `key`, fetching it if nobody has yet.

        While one thread fetches a key, others asking for it wait for that
        fetch. A fetch that raises caches nothing: the error goes to the
        thread that fetched, and a waiting thread fetches again itself.
        """
        while True:
            with self._lock:
                if key in self._values:
                    return self._values[key]
                pending = self._pending.get(key)
                if pending is None:
                    pending = self._pending[key] = threading.Event()
                    break
            pending.wait()
        try:
            value = fetch()
            with self._lock:
                self._values[key] = value
            return value
        finally:
            with self._lock:
                del self._pending[key]
            pending.set()

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._values[key] = value

    def values(self) -> dict[K, V]:
        with self._lock:
            return dict(self._values)


def outcomes_values(outcomes: Sequence[Outcome[Any]]) -> list[Any]:
    """The values of `outcomes`, raising the first error (a sequential loop's result)."""
    return [outcome.get() for outcome in outcomes]
