"""Run the measurements on the data `bench/generate.py` loaded; print every figure.

    python -m bench.main                      # all of them, sizes from the environment
    python -m bench.main --only queue,export  # some of them

Environment (optional; defaults in brackets):
  BENCH_SYNC_SESSIONS     sessions per simulated provider [1500; 500 on SQLite]
  BENCH_SYNC_REPEAT       runs of each database write path [3]
  BENCH_SYNC_E2E_REPEAT   runs of the end-to-end (HTTP) sync and re-syncs [3]
  BENCH_SYNC_PER_ROW_SAMPLE  sessions written by the per-row loop [300]
  BENCH_SYNC_RATE_LIMIT_URL  the sync's client pace backend [memory; "" = the
                          configured one, e.g. the embedded default's files]
  BENCH_SYNC_TRANSPORT    how the sync reaches the in-process simulator:
                          "in-process" (a requests transport adapter, no socket:
                          bench/in_process.py) or "socket" (loopback HTTP to its
                          http.server, whose parsing then counts) [in-process]
  BENCH_PACE_SESSIONS     sessions of the provider-pace measurement [60]
  BENCH_PACE_LATENCY_MS   its simulated provider latency per request [250]
  BENCH_PACE_RPS          its provider rate limit, requests per second [10]
  BENCH_PACE_CONCURRENCY  the concurrencies it runs, comma-separated [1,4]
  BENCH_REPEAT            runs per page in the queue measurement [10]
  BENCH_QUEUE_CASES=case_work  the queue's case-work pages only (no walk)
  BENCH_EXPORT_REPEAT     runs of each full export [2]
  BENCH_IMPORT_EXPORT_ROWS  django-import-export sample [10000]
  BENCH_AUDIT_EVENTS      audit events the chain is filled to [1000000]
  BENCH_AUDIT_APPENDS     appends timed at that size [1000]
  BENCH_CLIENT_REFRESH=0  skip the daily refresh of every client [1]
  BENCH_EXPLAIN=1         print the plans of slow queries
Results are also written to var/bench/<database>-<sessions>.json.
"""

from __future__ import annotations

import argparse
import os
import time

from bench.harness import banner, django_setup, machine, results_save, table, times

MEASUREMENTS = (
    "sync",
    "pace",
    "queue",
    "export",
    "selection",
    "admin",
    "audit",
    "overview",
    "clients",
    "session",
)


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").replace("_", "").replace(",", "")
    return int(raw) if raw else default


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default=",".join(MEASUREMENTS))
    args = parser.parse_args()
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(only) - set(MEASUREMENTS)
    if unknown:
        parser.error(f"unknown measurement(s): {', '.join(sorted(unknown))}")

    django_setup()
    from django.db import connection

    from bench import (
        admin_pages,
        audit_chain,
        client_pages,
        csv_export,
        ingest,
        overview,
        review_queue,
        session_page,
        sync_pace,
        sync_selection,
    )
    from sessions_app.models import WorkflowSession

    postgres = connection.vendor == "postgresql"
    sessions = WorkflowSession.objects.count()
    info = machine()
    banner("Verity benchmarks")
    for key, value in info.items():
        print(f"{key:>10}: {value}")
    print(f"{'sessions':>10}: {sessions:,}", flush=True)
    results: dict = {"machine": info, "sessions": sessions}
    started = time.perf_counter()
    if "sync" in only:
        results["sync"] = ingest.measure(
            per_provider=env_int("BENCH_SYNC_SESSIONS", 1500 if postgres else 500),
            repeat=env_int("BENCH_SYNC_REPEAT", 3),
            e2e_repeat=env_int("BENCH_SYNC_E2E_REPEAT", 3),
            per_row_sample=env_int("BENCH_SYNC_PER_ROW_SAMPLE", 300),
            rate_limit_url=os.environ.get("BENCH_SYNC_RATE_LIMIT_URL", "memory"),
            transport=os.environ.get("BENCH_SYNC_TRANSPORT", "in-process"),
        )
    if "pace" in only:
        results["pace"] = sync_pace.measure(
            sessions=env_int("BENCH_PACE_SESSIONS", 60),
            latency=env_int("BENCH_PACE_LATENCY_MS", 250) / 1000,
            limit=float(env_int("BENCH_PACE_RPS", 10)),
            concurrencies=[
                int(n)
                for n in os.environ.get("BENCH_PACE_CONCURRENCY", "1,4").split(",")
                if n.strip()
            ],
        )
    if "queue" in only:
        # A database reused from a run before the sync cleaned up after itself
        # still holds its tags, which would slow the stock admin's tag filter.
        removed = ingest.older_leftovers_delete()
        if removed:
            print(f"removed what an older sync measurement left: {removed}")
        results["queue"] = review_queue.measure(repeat=env_int("BENCH_REPEAT", 10))
    if "export" in only:
        results["export"] = csv_export.measure(
            repeat=env_int("BENCH_EXPORT_REPEAT", 2),
            import_export_rows=env_int("BENCH_IMPORT_EXPORT_ROWS", 10_000),
        )
    if "selection" in only:
        results["selection"] = sync_selection.measure(
            repeat=env_int("BENCH_REPEAT", 10)
        )
    if "admin" in only:
        results["admin"] = admin_pages.measure(repeat=env_int("BENCH_REPEAT", 10))
    if "audit" in only:
        results["audit"] = audit_chain.measure(
            events=env_int("BENCH_AUDIT_EVENTS", 1_000_000),
            appends=env_int("BENCH_AUDIT_APPENDS", 1000),
        )
    if "overview" in only:
        results["overview"] = overview.measure(repeat=env_int("BENCH_REPEAT", 10))
    if "clients" in only:
        results["clients"] = client_pages.measure(
            repeat=env_int("BENCH_REPEAT", 10),
            refresh=os.environ.get("BENCH_CLIENT_REFRESH", "1") != "0",
        )
    if "session" in only:
        results["session"] = session_page.measure(repeat=env_int("BENCH_REPEAT", 10))
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["targets"] = targets(results)
    path = results_save(results, name=f"{connection.vendor}-{sessions}")
    print(
        f"\nall measurements took {results['seconds']:.0f} s; figures saved to {path}"
    )


def targets(results: dict) -> list[dict]:
    """Check the issue's targets against the figures; print and return them."""
    rows: list[dict] = []

    def add(target: str, value: str, met: bool) -> None:
        rows.append({"target": target, "measured": value, "met": met})

    sync = results.get("sync")
    if sync:
        r = sync["ratios"]
        add(
            "sync engine >= 0.5x raw bulk_create",
            times(r["engine_vs_bulk"], threshold=0.5, digits=2),
            r["engine_vs_bulk"] >= 0.5,
        )
        add(
            "sync engine >= 10x per-row update_or_create",
            times(r["engine_vs_per_row"], threshold=10),
            r["engine_vs_per_row"] >= 10,
        )
        add(
            f"sync end to end >= 0.5x raw bulk_create ({sync['transport']})",
            times(r["e2e_vs_bulk"], threshold=0.5, digits=2),
            r["e2e_vs_bulk"] >= 0.5,
        )
        add(
            "sync end to end >= 10x per-row update_or_create",
            times(r["e2e_vs_per_row"], threshold=10),
            r["e2e_vs_per_row"] >= 10,
        )
        for key, label in (
            ("resync_incremental_share", "incremental"),
            ("resync_full_share", "full"),
        ):
            add(
                f"re-sync ({label}), nothing changed < 0.1x first sync",
                times(r[key], threshold=0.1, digits=3),
                r[key] < 0.1,
            )
    pace = results.get("pace")
    if pace:
        from django.conf import settings

        default = settings.VERITY_SYNC_CONCURRENCY
        at_default = [r for r in pace["runs"] if r["concurrency"] == default]
        best = (at_default or sorted(pace["runs"], key=lambda r: r["rate"]))[-1]
        add(
            f"sync at {pace['latency_seconds'] * 1000:.0f} ms a request uses >= 0.9x "
            f"a {pace['limit_per_second']:g} req/s limit",
            f"{best['rate']:.2f} req/s ({best['share']:.0%}, concurrency "
            f"{best['concurrency']}, {best['throttled']} throttled)",
            best["share"] >= 0.9,
        )
    queue = results.get("queue")
    if queue:
        labels = {
            "queue": "queue (25)",
            "api": "api (50)",
            "queue_100": "queue (100)",
            "api_100": "api (100)",
        }
        for name, case in queue["cases"].items():
            for surface, label in labels.items():
                median_ms = case["stats"][surface]["median"] * 1000
                if case["stock_admin_vs"] is None:  # case work: no admin has it
                    add(
                        f"{label} '{name}': < 100 ms median",
                        f"{median_ms:.1f} ms",
                        median_ms < 100,
                    )
                    continue
                speedup = case["stock_admin_vs"][surface]
                add(
                    f"{label} '{name}': < 100 ms median, >= 5x stock admin",
                    f"{median_ms:.1f} ms, {times(speedup, threshold=5)}",
                    median_ms < 100 and speedup >= 5,
                )
    export = results.get("export")
    if export:
        r = export["ratios"]
        if r["django_vs_copy"] is not None:
            add(
                "CSV export >= 0.5x COPY throughput",
                times(r["django_vs_copy"], threshold=0.5, digits=2),
                r["django_vs_copy"] >= 0.5,
            )
        growth = export["django"]["rss_growth_mib"]
        add(
            "CSV export peak memory growth < 100 MB",
            f"{growth:.0f} MiB RSS",
            growth < 100,
        )
    audit = results.get("audit")
    if audit:
        share_ms = audit["chain_share"]["median"] * 1000
        add(
            f"audit chain < 2 ms per event at {audit['events_before']:,} events",
            f"{share_ms:.2f} ms median over a plain insert (append "
            f"{audit['append']['median'] * 1000:.2f} ms committed, "
            f"{audit['append_in_transaction']['median'] * 1000:.2f} ms in a transaction); "
            f"verify {audit['verify']['events_per_second']:,} events/s",
            share_ms < 2,
        )
    selection = results.get("selection")
    if selection:
        slowest = max(f["median"] for f in selection["queries"].values())
        add(
            "the sync's queries and /sync/ < 100 ms median",
            f"slowest {slowest * 1000:.0f} ms",
            selection["met"],
        )
    for page, figures in (results.get("admin") or {}).items():
        median = figures["stats"]["median"]
        add(
            f"admin {page} < {admin_pages_target()} s median",
            f"{median * 1000:.0f} ms ({figures['rows']:,} rows)",
            median < admin_pages_target(),
        )
    page = (results.get("overview") or {}).get("page")
    if page:
        from bench.overview import TARGET_MS

        add(
            f"overview < {TARGET_MS:.0f} ms median "
            f"({results['overview']['sessions']:,} sessions)",
            f"{page['median'] * 1000:.1f} ms, {results['overview']['queries']} queries",
            page["median"] * 1000 < TARGET_MS,
        )
    if results.get("clients"):
        from bench.client_pages import targets as client_targets

        for target, value, met in client_targets(results["clients"]):
            add(target, value, met)
    if results.get("session"):
        from bench.session_page import targets as session_targets

        for target, value, met in session_targets(results["session"]):
            add(target, value, met)
    banner("Targets")
    table(
        ["target", "measured", "met"],
        [(r["target"], r["measured"], "yes" if r["met"] else "NO") for r in rows],
    )
    return rows


def admin_pages_target() -> float:
    from bench.admin_pages import TARGET_S

    return TARGET_S


if __name__ == "__main__":
    main()
