"""Measurement 3, the CSV export of every session: Verity's streamed export
against PostgreSQL's COPY (the limit) and django-import-export (the usual
library).

- `verity`: GET /sessions/export.csv through the test client as an exporter,
  consuming the streamed response (what a browser download costs the server).
  On PostgreSQL the export has the server write the CSV (`exports._copy_records`).
- `verity_python`: the same request with VERITY_EXPORT_POSTGRES_COPY=false,
  the Python writer other databases use (and PostgreSQL used before).
- `copy`: `COPY (SELECT <the same columns> ...) TO STDOUT WITH CSV`, the
  export's own query plus the tag names and the URL, read by psycopg.
- `import-export`: a `ModelResource` with the same columns over the same
  queryset, `export()` then `.csv`. It holds the whole file in memory, so it
  is measured on a sample (BENCH_IMPORT_EXPORT_ROWS) and a fifth of it, to
  show how it scales. Tags are read per row (`dehydrate_tags`): with
  `prefetch_related`, as its docs advise, import-export pages the queryset
  with OFFSET, and with the export's per-row subqueries that is quadratic
  (20,000 rows took 221 s on the bench machine; see docs/PERFORMANCE.md).

Each run is a fresh child process, so one variant's memory never shows in
another's. Memory: peak RSS growth (Linux VmHWM, reset before the export,
minus VmRSS before it) in every timed run, and the peak of Python allocations
(tracemalloc) in one extra, untimed run per variant, since tracing slows
Python down.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
from typing import Any

from bench.harness import ROOT, Stats, banner, peak_rss_reset, proc_status_kib, table

VARIANTS = ("verity", "verity_python", "copy", "import_export")


# --- In the child process -------------------------------------------------------------


def _verity(rows: int | None) -> dict[str, Any]:
    query = (
        {"created_after": os.environ["BENCH_SINCE"]}
        if os.environ.get("BENCH_SINCE")
        else {}
    )
    from django.contrib.auth import get_user_model
    from django.test import Client

    from sessions_app.models import AuditEvent

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-exporter"))
    # Warm up (imports, URL resolver, templates) on a tiny export.
    for _chunk in client.get(
        "/sessions/export.csv", {"created_after": "2100-01-01"}
    ).streaming_content:
        pass

    def run() -> dict[str, Any]:
        size = 0
        response = client.get("/sessions/export.csv", query)
        for chunk in response.streaming_content:
            size += len(chunk)
        response.close()
        event = (
            AuditEvent.objects.filter(action="export.sessions_csv.finished")
            .order_by("-pk")
            .first()
        )
        return {"bytes": size, "rows": event.after["row_count"]}

    return _observed(run)


def copy_sql() -> str:
    """The export's own query (as Django builds it) plus the tag names and the URL, as plain SQL.

    Tags are one grouped join here, the cheapest shape PostgreSQL offers for
    a whole-table dump; Verity's export reads them per row (a correlated
    subquery inside its COPY, so a filtered export never aggregates every
    session's tags), and formats and neutralises every cell besides.
    """
    from django.db import connection

    from sessions_app import exports, filters, selectors
    from sessions_app.models import Tag, WorkflowSession

    fields = [c.field for c in exports.SESSION_COLUMNS]
    queryset = selectors.session_export_queryset(
        queryset=filters.session_list(params={})
    )
    sql, params = queryset.values_list(*fields).query.sql_with_params()
    with connection.cursor() as cursor:
        inner = cursor.mogrify(sql, params)
    through = WorkflowSession.tags.through._meta.db_table
    tags = Tag._meta.db_table
    # Table names and Django's own SQL only; no user input reaches this text.
    return (
        f"SELECT q.*, tg.names, 'http://testserver/sessions/' || q.id || '/' "  # noqa: S608
        f"FROM ({inner}) q LEFT JOIN ("
        f"SELECT wt.workflowsession_id, string_agg(t.name, '; ' ORDER BY t.kind, t.name) AS names "
        f"FROM {through} wt JOIN {tags} t ON t.id = wt.tag_id GROUP BY wt.workflowsession_id"
        f") tg ON tg.workflowsession_id = q.id "
        f"ORDER BY q.provider_created_at DESC, q.id DESC"
    )


def _copy(rows: int | None) -> dict[str, Any]:
    from django.db import connection

    sql = copy_sql()

    def run() -> dict[str, Any]:
        size = lines = 0
        statement = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)"
        with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            for block in copy:
                size += len(block)
                lines += bytes(block).count(b"\n")
        return {"bytes": size, "rows": lines - 1}

    return _observed(run)


def _import_export(rows: int | None) -> dict[str, Any]:
    from django.db.models import Prefetch
    from import_export import fields as ie_fields
    from import_export import resources

    from sessions_app import exports, filters, selectors
    from sessions_app.models import Tag, WorkflowSession

    declared: dict[str, Any] = {
        column.field: ie_fields.Field(attribute=column.field, column_name=column.header)
        for column in exports.SESSION_COLUMNS
    }
    declared["tags"] = ie_fields.Field(column_name="Tags")

    def dehydrate_tags(self: Any, session: WorkflowSession) -> str:
        return "; ".join(tag.name for tag in session.tags.order_by("kind", "name"))

    def dehydrate_verity_url(self: Any, session: WorkflowSession) -> str:
        return f"http://testserver/sessions/{session.pk}/"

    declared["verity_url"] = ie_fields.Field(column_name="Verity URL")
    meta = type(
        "Meta",
        (),
        {
            "model": WorkflowSession,
            "fields": tuple(declared),
            "export_order": tuple(declared),
        },
    )
    resource_class = type(
        "SessionResource",
        (resources.ModelResource,),
        {
            **declared,
            "Meta": meta,
            "dehydrate_tags": dehydrate_tags,
            "dehydrate_verity_url": dehydrate_verity_url,
        },
    )
    queryset = selectors.session_export_queryset(
        queryset=filters.session_list(params={})
    )
    if os.environ.get("BENCH_IE_PREFETCH"):
        queryset = queryset.prefetch_related(
            Prefetch("tags", queryset=Tag.objects.order_by("kind", "name"))
        )
    if rows:
        queryset = queryset[:rows]

    def run() -> dict[str, Any]:
        dataset = resource_class().export(queryset=queryset)
        text = dataset.csv
        return {"bytes": len(text.encode()), "rows": len(dataset)}

    return _observed(run)


def _observed(run: Any) -> dict[str, Any]:
    """Run `run()` once, timed and with its memory growth observed."""
    trace = bool(os.environ.get("BENCH_TRACEMALLOC"))
    gc.collect()
    rss_before = proc_status_kib("VmRSS") or 0
    reset = peak_rss_reset()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    out = run()
    seconds = time.perf_counter() - started
    if trace:
        out["python_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    hwm = proc_status_kib("VmHWM") or 0
    out.update(
        seconds=seconds,
        rss_before_mib=rss_before / 1024,
        rss_growth_mib=(hwm - rss_before) / 1024 if reset else None,
    )
    return out


def child_main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument("--rows", type=int, default=0)
    args = parser.parse_args()
    from bench.harness import django_setup

    django_setup()
    runner = {
        "verity": _verity,
        "verity_python": _verity,
        "copy": _copy,
        "import_export": _import_export,
    }[args.variant]
    print("RESULT " + json.dumps(runner(args.rows or None)), flush=True)


# --- In the parent ----------------------------------------------------------------------


def _child(
    variant: str,
    *,
    rows: int = 0,
    trace: bool = False,
    since: str = "",
) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("BENCH_TRACEMALLOC", None)
    if trace:
        env["BENCH_TRACEMALLOC"] = "1"
    env["BENCH_SINCE"] = since
    # Read by the settings: the Python writer instead of COPY.
    env["VERITY_EXPORT_POSTGRES_COPY"] = (
        "false" if variant == "verity_python" else "true"
    )
    command = [sys.executable, "-m", "bench.csv_export", variant]
    if rows:
        command += ["--rows", str(rows)]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line.removeprefix("RESULT "))
    raise RuntimeError(
        f"{variant} export failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    )


def _since_for(rows: int) -> str:
    """The created_after date that selects about `rows` of the newest sessions."""
    from sessions_app.models import WorkflowSession

    moment = WorkflowSession.objects.order_by("-provider_created_at").values_list(
        "provider_created_at", flat=True
    )[max(rows - 1, 0)]
    return moment.date().isoformat()


# (key, child variant, label)
RUNS = (
    ("copy", "copy", "PostgreSQL COPY of the export's query (limit)"),
    ("verity", "verity", "Verity /sessions/export.csv"),
    ("verity_python", "verity_python", "Verity export, Python writer (COPY off)"),
)


def measure(*, repeat: int, import_export_rows: int) -> dict[str, Any]:
    """Run measurement 3 and print its tables; return the figures."""
    from django.db import connection

    from bench.review_queue import _users
    from sessions_app.models import WorkflowSession

    _users()  # the exporter the child processes log in as
    total = WorkflowSession.objects.count()
    postgres = connection.vendor == "postgresql"
    sample = min(import_export_rows, total)
    small = max(1, sample // 5)
    banner(
        f"3. CSV export of all {total:,} sessions: {repeat} runs each; "
        f"django-import-export on {small:,} and {sample:,} rows"
    )
    # Without PostgreSQL there is no COPY, and the export is the Python writer.
    runs_spec = [r for r in RUNS if postgres or r[1] not in {"copy", "verity_python"}]
    runs: dict[str, list[dict[str, Any]]] = {key: [] for key, *_ in runs_spec}
    runs["import_export"], runs["import_export_small"] = [], []
    for round_no in range(repeat):
        shift = round_no % len(runs_spec)
        for key, variant, _ in runs_spec[shift:] + runs_spec[:shift]:
            runs[key].append(_child(variant))
        if round_no < 2:
            runs["import_export"].append(_child("import_export", rows=sample))
            runs["import_export_small"].append(_child("import_export", rows=small))
        print(f"  round {round_no + 1}/{repeat} done", flush=True)
    # Python allocations (tracemalloc slows Python down, so untimed and on the
    # sample): Verity's peak does not depend on the row count, import-export's does.
    since = _since_for(sample)
    traced = {
        "verity": _child("verity", trace=True, since=since),
        "import_export": _child("import_export", rows=sample, trace=True),
    }

    out: dict[str, Any] = {"total_sessions": total, "traced": traced}
    rows = []
    labels = {key: label for key, _, label in runs_spec}
    labels["import_export_small"] = labels["import_export"] = "django-import-export"
    for key in [*(k for k, *_ in runs_spec), "import_export_small", "import_export"]:
        if not runs.get(key):
            continue
        stats = Stats.of([r["seconds"] for r in runs[key]])
        n = runs[key][0]["rows"]
        growth = max((r["rss_growth_mib"] or 0) for r in runs[key])
        python_peak = traced[key]["python_peak_mib"] if key in traced else None
        out[key] = {
            "rows": n,
            "bytes": runs[key][0]["bytes"],
            "stats": stats.as_dict(),
            "rows_per_s": n / stats.median,
            "rss_growth_mib": growth,
            "python_peak_mib": python_peak,
        }
        rows.append(
            (
                f"{labels[key]} ({n:,} rows)",
                f"{stats.median:.1f}",
                f"{stats.p95:.1f}",
                f"{n / stats.median:,.0f}",
                f"{runs[key][0]['bytes'] / stats.median / 2**20:.1f}",
                f"{growth:.0f}",
                f"{python_peak:.1f}" if python_peak is not None else "-",
            )
        )
    table(
        [
            "export",
            "median s",
            "p95 s",
            "rows/s",
            "MiB/s",
            "peak RSS growth MiB",
            "Python peak MiB",
        ],
        rows,
    )
    print(
        f"Python peak (tracemalloc) of Verity's export measured on the {traced['verity']['rows']:,} "
        f"sessions created since {since}; of django-import-export on {sample:,} rows."
    )
    ie = out["import_export"]
    scale = total / ie["rows"]
    out["import_export_extrapolated"] = {
        "rows": total,
        "seconds": ie["stats"]["median"] * scale,
        "rss_growth_mib": ie["rss_growth_mib"] * scale,
        "note": "linear from the sample",
    }
    small_rate = out["import_export_small"]["rows_per_s"]
    print(
        f"django-import-export: {small_rate:,.0f} rows/s at {out['import_export_small']['rows']:,} rows, "
        f"{ie['rows_per_s']:,.0f} rows/s at {ie['rows']:,}; extrapolated linearly to {total:,} rows: "
        f"about {out['import_export_extrapolated']['seconds']:,.0f} s and "
        f"{out['import_export_extrapolated']['rss_growth_mib']:,.0f} MiB"
    )
    verity = out["verity"]
    out["django"] = verity
    out["ratios"] = {
        "django_vs_copy": verity["rows_per_s"] / out["copy"]["rows_per_s"]
        if "copy" in out
        else None,
        "django_vs_import_export": verity["rows_per_s"] / ie["rows_per_s"],
        "python_writer_vs_copy": out["verity_python"]["rows_per_s"]
        / out["copy"]["rows_per_s"]
        if "verity_python" in out
        else None,
    }
    r = out["ratios"]
    if r["django_vs_copy"] is not None:
        print(
            f"Verity export: {r['django_vs_copy']:.2f}x COPY's rows/s, "
            f"{r['django_vs_import_export']:.1f}x django-import-export's; "
            f"its Python writer (COPY off): {r['python_writer_vs_copy']:.2f}x COPY's"
        )
    return out


if __name__ == "__main__":
    child_main()
