"""Measurement 6, the audit hash chain: an append at N existing events, and the
throughput of `audit_verify`.

- Fill: the chain is brought up to BENCH_AUDIT_EVENTS events (1,000,000 by
  default) if it holds fewer: the missing events are chained in Python (the
  application's own hash) and written with COPY on PostgreSQL (executemany
  elsewhere), then the head row is set to their tail. Only inserts: the
  append-only trigger allows them.
- Append: BENCH_AUDIT_APPENDS events (1,000), each written by
  `services.audit_event_record` in its own transaction, committed; the median
  and p95 of the wall time per event, beside the same number of plain
  inserts of an event row (no chain) for the chain's own share.
- Verify: `privacy.audit_chain.chain_verify` over the whole chain (streamed,
  2,000 per round trip); events per second and the process's RSS growth.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import time
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from bench.generate import Writer
from bench.harness import Stats, banner, table
from sessions_app.models import AuditChainHead, AuditEvent
from sessions_app.privacy.audit_chain import CHAIN_COLUMNS, chain_verify, event_hash
from sessions_app.services import audit_event_record

FILL_COLUMNS = [c for c in CHAIN_COLUMNS if c != "id"]
PLAIN_SEQUENCE_BASE = 10**15


def _fill_rows(start: int, count: int, prev_hash: str, head: list[Any]):
    """Chained event rows from sequence start+1, as COPY tuples; the last
    (sequence, hash) ends up in `head`."""
    moment = timezone.now() - dt.timedelta(days=365)
    for n in range(start + 1, start + count + 1):
        fields = {
            "sequence": n,
            "prev_hash": prev_hash,
            "hash": "",
            "created_at": moment + dt.timedelta(seconds=n * 0.03),
            "actor_id": None,
            "actor_label": "sync",
            "source": "sync",
            "action": "sync.run",
            "object_type": "sessions_app.syncrun",
            "object_id": str(n),
            "object_repr": f"sync run {n}",
            "client_id": None,
            "before": {},
            "after": {"seen": n % 500, "created": n % 7, "state": "succeeded"},
        }
        prev_hash = fields["hash"] = event_hash(fields)
        head[:] = [n, prev_hash]
        yield tuple(
            json.dumps(fields[c]) if c in ("before", "after") else fields[c]
            for c in FILL_COLUMNS
        )


def chain_fill(target: int) -> int:
    """Append plain events until the chain holds `target`; return how many."""
    tail = AuditChainHead.objects.values_list("sequence", "hash").first() or (
        0,
        "0" * 64,
    )
    missing = target - tail[0]
    if missing <= 0:
        return 0
    head: list[Any] = list(tail)
    with transaction.atomic():
        Writer().write(
            AuditEvent._meta.db_table,
            FILL_COLUMNS,
            _fill_rows(tail[0], missing, tail[1], head),
        )
        AuditChainHead.objects.update_or_create(
            pk=1, defaults={"sequence": head[0], "hash": head[1]}
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {AuditEvent._meta.db_table}")
    return missing


def _append(index: int) -> None:
    audit_event_record(
        actor=None,
        source="command",
        action="bench.append",
        object_type="bench.thing",
        object_id=str(index),
        after={"index": index, "note": "an event of ordinary size"},
    )


def _plain_insert(index: int) -> None:
    """The same row without the chain (its chain fields given): the insert's own cost."""
    AuditEvent.objects.create(
        actor_label="command",
        source="command",
        action="bench.plain",
        object_type="bench.thing",
        object_id=str(index),
        after={"index": index, "note": "an event of ordinary size"},
        sequence=PLAIN_SEQUENCE_BASE
        + index,  # above the chain: verify stops at the head
        prev_hash="0" * 64,
        hash="0" * 64,
    )


def _committed(write, index: int) -> float:
    started = time.perf_counter()
    with transaction.atomic():
        write(index)
    return time.perf_counter() - started


def _in_transaction(write, indexes: range) -> list[float]:
    """Per-event times inside one open transaction (committed at the end): the
    statements' cost without the commit the caller's transaction pays anyway."""
    samples = []
    with transaction.atomic():
        for index in indexes:
            started = time.perf_counter()
            write(index)
            samples.append(time.perf_counter() - started)
    return samples


def _plain_rows_delete() -> None:
    """Remove the plain rows (outside the chain's sequence range) so the next
    run's verify is not slowed by them: a DELETE the trigger refuses on
    PostgreSQL, lifted for this bench-only cleanup."""
    table_name = AuditEvent._meta.db_table
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            cursor.execute(f"ALTER TABLE {table_name} DISABLE TRIGGER USER")
        cursor.execute(f"DELETE FROM {table_name} WHERE action = 'bench.plain'")  # noqa: S608
        if postgres:
            cursor.execute(f"ALTER TABLE {table_name} ENABLE TRIGGER USER")


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(*, events: int, appends: int) -> dict[str, Any]:
    banner(f"Audit hash chain: append at {events:,} events, and audit_verify")
    started = time.perf_counter()
    filled = chain_fill(events)
    fill_seconds = time.perf_counter() - started
    if filled:
        print(f"filled {filled:,} chained events in {fill_seconds:.1f} s", flush=True)
    existing = AuditChainHead.objects.values_list("sequence", flat=True).first() or 0
    for index in range(20):  # warm-up
        _committed(_append, -index)
    # Interleaved, so both see the same load; each in its own committed transaction.
    append_samples, plain_samples = [], []
    for index in range(appends):
        append_samples.append(_committed(_append, index))
        plain_samples.append(_committed(_plain_insert, index))
    append, plain = Stats.of(append_samples), Stats.of(plain_samples)
    share = Stats.of(
        [a - p for a, p in zip(append_samples, plain_samples, strict=True)]
    )
    append_open = Stats.of(_in_transaction(_append, range(appends)))
    plain_open = Stats.of(_in_transaction(_plain_insert, range(appends, 2 * appends)))
    _plain_rows_delete()
    rss_before = _rss_mib()
    started = time.perf_counter()
    finding = chain_verify()
    verify_seconds = time.perf_counter() - started
    rss_growth = _rss_mib() - rss_before
    rate = finding.events_checked / verify_seconds if verify_seconds else 0.0
    table(
        ["per event", "median ms", "p95 ms", "n"],
        [
            (label, f"{stats.median * 1000:.2f}", f"{stats.p95 * 1000:.2f}", stats.n)
            for label, stats in (
                ("append (audit_event_record), committed", append),
                ("plain insert, no chain, committed", plain),
                ("the chain's share (append - plain, paired)", share),
                ("append inside an open transaction", append_open),
                ("plain insert inside an open transaction", plain_open),
            )
        ],
    )
    print(
        f"audit_verify: {finding.events_checked:,} events in {verify_seconds:.1f} s "
        f"({rate:,.0f} events/s), intact={finding.intact}, "
        f"peak RSS growth {rss_growth:.0f} MiB"
    )
    return {
        "events_before": existing,
        "filled": filled,
        "fill_seconds": round(fill_seconds, 1),
        "append": append.as_dict(),
        "plain_insert": plain.as_dict(),
        "chain_share": share.as_dict(),
        "append_in_transaction": append_open.as_dict(),
        "plain_insert_in_transaction": plain_open.as_dict(),
        "verify": {
            "events": finding.events_checked,
            "seconds": round(verify_seconds, 2),
            "events_per_second": round(rate),
            "intact": finding.intact,
            "rss_growth_mib": round(rss_growth, 1),
        },
    }
