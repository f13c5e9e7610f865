"""What every measurement shares: Django set-up, timing statistics, query
counts, memory readings, printed tables and the results file.

Timings are wall-clock (`time.perf_counter`). A figure is the median and the
95th percentile (nearest rank) of repeated runs, and compared things run
interleaved in one process so that machine noise hits all of them alike.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "var" / "bench"


def django_setup() -> None:
    """Configure Django with the bench settings (idempotent)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()


# --- Statistics -------------------------------------------------------------------


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Return the nearest-rank percentile (`fraction` in 0..1) of `samples`."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclasses.dataclass(frozen=True)
class Stats:
    """Seconds: median, 95th percentile, fastest and slowest of n runs."""

    n: int
    median: float
    p95: float
    min: float
    max: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        if not samples:
            raise ValueError("no samples")
        return cls(
            n=len(samples),
            median=statistics.median(samples),
            p95=percentile(samples, 0.95),
            min=min(samples),
            max=max(samples),
        )

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


def interleaved(
    cases: dict[str, Callable[[], Any]],
    *,
    repeat: int,
    warmup: int = 1,
    budget_s: float | None = None,
    min_runs: int = 3,
) -> dict[str, list[float]]:
    """Run every case `warmup` times, then `repeat` rounds of all cases in turn.

    The order inside a round rotates, so no case always runs first (cold) or
    right after an expensive neighbour. A case that has spent `budget_s`
    seconds and has `min_runs` samples sits out the remaining rounds (a
    nine-second admin page needs no fifteen samples to be told apart from a
    sixty-millisecond one).
    """
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            cases[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_no in range(repeat):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            spent = sum(samples[name])
            if (
                budget_s is not None
                and spent >= budget_s
                and len(samples[name]) >= min_runs
            ):
                continue
            started = time.perf_counter()
            cases[name]()
            samples[name].append(time.perf_counter() - started)
    return samples


def counted_get(client: Any, path: str, query: Any = None) -> tuple[Any, int]:
    """GET `path` with the Django test client; return the response and the
    number of SQL statements it ran (counted by a wrapper: the request's
    start resets Django's own query log)."""
    from django.db import connection

    statements: list[str] = []

    def counted(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        response = client.get(path, query or {})
    return response, len(statements)


def ratio(slow: float, fast: float) -> float:
    return slow / fast if fast > 0 else float("inf")


def times(value: float, *, threshold: float, digits: int = 1) -> str:
    """`value` as "9.97x": with as many digits as it takes (up to 4) for the
    text to fall on the same side of `threshold` as the value itself, so a
    missed target never reads as the target ("10.0x NO")."""
    while True:
        text = f"{value:.{digits}f}"
        if digits >= 4 or (float(text) >= threshold) == (value >= threshold):
            return f"{text}x"
        digits += 1


# --- Memory -----------------------------------------------------------------------


def proc_status_kib(field: str) -> int | None:
    """Return a `/proc/self/status` field in KiB (VmRSS, VmHWM), None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_reset() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


# --- Output -----------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def banner(title: str) -> None:
    print(f"\n{'=' * 78}\n{title}\n{'=' * 78}", flush=True)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print an aligned plain-text table (first column left, others right)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        )

    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))
    print(flush=True)


def machine() -> dict[str, Any]:
    """Describe the machine, the database and the code being measured."""
    from django.db import connection

    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in info
                    if line.startswith("model name")
                ),
                "",
            )
    except OSError:
        pass
    ram_kib = None
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            ram_kib = int(
                next(line for line in info if line.startswith("MemTotal")).split()[1]
            )
    except (OSError, StopIteration):
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit, dirty = "", ""
    database = connection.vendor
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database += " " + cursor.fetchone()[0]
            settings = {}
            for name in ("shared_buffers", "work_mem", "effective_cache_size"):
                cursor.execute(f"SHOW {name}")
                settings[name] = cursor.fetchone()[0]
            database += " (" + ", ".join(f"{k}={v}" for k, v in settings.items()) + ")"
    else:
        import sqlite3

        database += " " + sqlite3.sqlite_version
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": commit + ("+local changes" if dirty else ""),
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "ram_gib": round(ram_kib / 1024 / 1024, 1) if ram_kib else None,
        "python": platform.python_version(),
        "database": database,
    }


def results_save(results: dict[str, Any], *, name: str) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return path
