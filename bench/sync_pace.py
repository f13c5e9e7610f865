"""Measurement 1b, the provider's pace: how much of a provider's rate limit the
sync uses when every request waits on the network.

The simulator runs in this process with every ComplyCube request answered
after `latency` seconds (its `delay_seconds` fault: a provider that far away)
and a token bucket of `limit` requests a second (its `rate_limit_rps`: more
is answered 429). The bench connection is configured to that limit, and a
first (full) sync pass runs through the real engine, database writes
included, once per concurrency asked for (`concurrency=1` is the sequential
client). Printed per run: requests made, seconds, the achieved request rate
and its share of the limit, and the 429s.

A sequential client cannot exceed `1 / latency` requests a second whatever
the allowance; concurrent session reads (`providers/concurrency.py`) keep
up to `concurrency` requests in flight, all paced by the connection's limiter.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from bench.harness import banner, table
from bench.ingest import (
    KINDS,
    connections_ensure,
    leftovers_delete,
    marks_restore,
    marks_take,
    sync_all,
    tag_id_next,
)

KIND = "complycube"


def measure(
    *,
    sessions: int,
    latency: float,
    limit: float,
    concurrencies: Sequence[int],
    seed: int = 11,
) -> dict[str, Any]:
    """Run measurement 1b and print its table; return the figures."""
    from sessions_app.simulator.server import SimulatorServer

    banner(
        f"1b. The provider's pace: {KIND}, {sessions:,} sessions, {latency * 1000:.0f} ms "
        f"a request, {limit:g} requests/s allowed; a first sync pass per concurrency"
    )
    sim = SimulatorServer(
        port=0,
        seed=seed,
        sessions=sessions,
        speed=0,
        rate_limits=dict.fromkeys(KINDS),
        faults={KIND: {"delay_seconds": latency, "rate_limit_rps": limit}},
    ).start()
    first_new_tag_id = tag_id_next()
    runs: list[dict[str, Any]] = []
    try:
        conns = connections_ensure(sim)
        conn = conns[KIND]
        marks = marks_take()
        for concurrency in concurrencies:
            conn.rate_limit_per_second = limit
            conn.options = {"concurrency": concurrency}
            conn.save(update_fields=["rate_limit_per_second", "options"])
            sim.reset()
            started = time.perf_counter()
            counts = sync_all({KIND: conn}, full=True, trigger="full")
            seconds = time.perf_counter() - started
            log = sim.requests_log()["counts"].get(KIND, {"total": 0, "by_status": {}})
            requests = log["total"]
            rate = requests / seconds
            runs.append(
                {
                    "concurrency": concurrency,
                    "requests": requests,
                    "throttled": log["by_status"].get("429", 0),
                    "seconds": seconds,
                    "rate": rate,
                    "share": rate / limit,
                    "sessions": counts["created"],
                    "failed_runs": counts["failed"],
                }
            )
            marks_restore(marks, conns)
            print(f"  concurrency {concurrency}: {rate:.2f} requests/s", flush=True)
    finally:
        sim.stop()
    leftovers_delete(conns, first_new_tag_id)
    table(
        [
            "concurrency",
            "sessions",
            "requests",
            "429s",
            "seconds",
            "requests/s",
            "share of the limit",
        ],
        [
            (
                r["concurrency"],
                f"{r['sessions']:,}",
                f"{r['requests']:,}",
                r["throttled"],
                f"{r['seconds']:.1f}",
                f"{r['rate']:.2f}",
                f"{r['share']:.0%}",
            )
            for r in runs
        ],
    )
    return {
        "provider": KIND,
        "sessions": sessions,
        "latency_seconds": latency,
        "limit_per_second": limit,
        "runs": runs,
    }
