"""Measurement 1, sync ingest: the real sync against a raw bulk_create (the
limit) and the per-row `update_or_create` loop (the common pattern).

The provider simulator runs in this process (rate limits off, time frozen).
One HTTP-only pass per provider records the adapters' pages; every approach
then writes exactly those records:

- `sync end to end`: `sync.provider_sync_pass`, HTTP included (the real path).
  The time spent inside `sync.sync_page_commit` is the database share.
- `sync engine (replayed pages)`: the same `provider_sync_pass` with the
  adapter swapped for one that replays the recorded pages, so the lease, the
  per-page transactions and cursors, the change detection, the clients,
  checks, policies and tags are all the sync's own code, without HTTP.
- `raw bulk_create`: the same model rows (clients, provider clients,
  sessions, checks, policies, tag links), built from the records beforehand,
  inserted with one plain `bulk_create` per table in one transaction.
- `per-row update_or_create`: the loop most code starts with, on a sample of
  the same records (autocommit, as such loops usually run).
- `re-sync, nothing changed`: an incremental and a full pass right after the
  first end-to-end sync, simulated time frozen, so nothing changed.

Every approach starts from the same state: what one wrote is deleted before
the next runs (rows above the ids recorded beforehand).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from bench.harness import Stats, banner, ratio, table

KINDS = ("onfido", "complycube", "ica")
TRANSPORTS = ("socket", "in-process")
SLUG_PREFIX = "benchsync"


def _models() -> Any:
    from sessions_app import models

    return models


# --- Set-up and clean-up --------------------------------------------------------------


def connections_ensure(sim: Any) -> dict[str, Any]:
    """One ProviderConnection per simulated provider, cursor and lease cleared."""
    m = _models()
    conns = {}
    for kind in KINDS:
        env_name = f"VERITY_PROVIDER_BENCH_SIM_{kind.upper()}_CREDENTIAL"
        os.environ[env_name] = sim.credentials[kind]
        conn, _ = m.ProviderConnection.objects.update_or_create(
            slug=f"{SLUG_PREFIX}-{kind}",
            defaults={
                "kind": kind,
                "display_name": f"Bench sync {kind}",
                "base_url": sim.base_urls[kind],
                "credential_env": env_name,
                # The simulator's limits are off; the client-side limiter too.
                "rate_limit_per_second": 1_000_000.0,
                "options": {},
                "enabled": False,
                "sync_cursor": {},
                "lock_token": "",
                "lock_expires_at": None,
            },
        )
        conns[kind] = conn
    return conns


# Tables the approaches write, children first (deleting rows above a mark).
# Not the audit events of the sync runs: the audit trail is append-only (on
# PostgreSQL a trigger refuses the DELETE), so each bench run's events stay.
def _written_tables() -> list[tuple[Any, str, str]]:
    """(model whose max id marks the start, table, column compared with it)."""
    m = _models()
    session = m.WorkflowSession
    return [
        (session, session.tags.through._meta.db_table, "workflowsession_id"),
        (m.Check, m.Check._meta.db_table, "id"),
        (session, m.PolicyAssurance._meta.db_table, "session_id"),
        (session, m.SessionReason._meta.db_table, "session_id"),
        (session, m.Review._meta.db_table, "session_id"),
        (m.QuarantinedRecord, m.QuarantinedRecord._meta.db_table, "id"),
        (m.SyncRun, m.SyncRun._meta.db_table, "id"),
        (session, session._meta.db_table, "id"),
        (m.ProviderClient, m.ProviderClient._meta.db_table, "id"),
        (m.Client, m.Client._meta.db_table, "id"),
    ]


def marks_take() -> dict[Any, int]:
    from django.db.models import Max

    marks = {}
    for model, _, _ in _written_tables():
        if model not in marks:
            marks[model] = model.objects.aggregate(top=Max("id"))["top"] or 0
    return marks


def marks_restore(marks: dict[Any, int], conns: Mapping[str, Any]) -> None:
    """Delete every row written since `marks`; reset the bench connections."""
    from django.db import connection, transaction

    m = _models()
    with transaction.atomic(), connection.cursor() as cursor:
        for model, table_name, column in _written_tables():
            cursor.execute(
                f"DELETE FROM {table_name} WHERE {column} > %s",  # noqa: S608 - fixed names
                [marks[model]],
            )
        m.ProviderConnection.objects.filter(
            pk__in=[c.pk for c in conns.values()]
        ).update(sync_cursor={}, lock_token="", lock_expires_at=None)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Every approach starts from the same tables: the rows just deleted are
        # vacuumed now, not by autovacuum in the middle of the next measurement
        # (it competed for this 2-vCPU machine's second core; section 1g).
        # Not inside a transaction (a test's), where VACUUM cannot run.
        with connection.cursor() as cursor:
            for table_name in dict.fromkeys(t for _, t, _ in _written_tables()):
                cursor.execute(f"VACUUM {table_name}")
    for conn in conns.values():
        conn.refresh_from_db()


def tags_ensure(records: Sequence[Any]) -> dict[tuple[str, str], int]:
    """Create the records' tags up front, so every approach finds them existing."""
    m = _models()
    pairs = sorted(
        {
            (t.name.strip()[:255], t.kind if t.kind in m.TagKind.values else "user")
            for r in records
            for t in r.tags
            if t.name.strip()
        }
    )
    m.Tag.objects.bulk_create(
        [m.Tag(name=n, kind=k) for n, k in pairs], ignore_conflicts=True
    )
    return {(n, k): pk for pk, n, k in m.Tag.objects.values_list("pk", "name", "kind")}


def tag_id_next() -> int:
    from django.db.models import Max

    return (_models().Tag.objects.aggregate(top=Max("id"))["top"] or 0) + 1


def leftovers_delete(conns: Mapping[str, Any], first_new_tag_id: int) -> None:
    """Delete the bench connections and the tags created since `first_new_tag_id`.

    Called once every approach has deleted what it wrote, so nothing refers
    to them any more.
    """
    m = _models()
    m.Tag.objects.filter(id__gte=first_new_tag_id).delete()
    m.ProviderConnection.objects.filter(pk__in=[c.pk for c in conns.values()]).delete()


def older_leftovers_delete() -> dict[str, int]:
    """Delete tags no session uses and the sync measurement's connections.

    What runs of this measurement before `leftovers_delete` existed left in
    the bench database (the generator's tags are all in use).
    """
    m = _models()
    tags, _ = m.Tag.objects.filter(sessions__isnull=True).delete()
    connections, _ = m.ProviderConnection.objects.filter(
        slug__startswith=f"{SLUG_PREFIX}-",
        sessions__isnull=True,
        provider_clients__isnull=True,
        checks__isnull=True,
    ).delete()
    return {k: v for k, v in (("tags", tags), ("connections", connections)) if v}


# --- HTTP-only pass: record the pages -------------------------------------------------


def pages_record(conn: Any) -> tuple[list[Any], float]:
    """Walk one provider's whole pass without touching the database.

    Return the pages that hold sessions and the seconds it took (HTTP, JSON
    parsing and the adapter's normalisation).
    """
    from sessions_app.providers import adapter_for
    from sessions_app.providers.base import Budget

    adapter = adapter_for(conn)
    started = time.perf_counter()
    pages = [
        page
        for page in adapter.iter_pages(
            cursor={},
            budget=Budget(max_pages=10**9, max_seconds=10**9),
            full=True,
        )
        if page.sessions or page.quarantined
    ]
    return pages, time.perf_counter() - started


class ReplayAdapter:
    """An adapter serving recorded pages, resuming from its own cursor.

    It asks `known_versions` once per page, as the real adapters do, and
    stops when the sync's budget says so.
    """

    def __init__(self, pages: Sequence[Any]) -> None:
        self.pages = pages
        self.by_id = {r.external_id: r for page in pages for r in page.sessions}

    def refresh_hint(self, stored_payload: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    def fetch_session(
        self, external_id: str, *, hint: Mapping[str, Any] | None = None
    ) -> Any:
        """The recorded copy (the sync's children re-read asks by id)."""
        return self.by_id.get(external_id)

    def iter_pages(
        self,
        *,
        cursor: Mapping[str, Any],
        budget: Any,
        full: bool = False,
        refresh_ids: Sequence[str] = (),
        known_versions: Callable[[Sequence[str]], Mapping[str, str]] = lambda ids: {},
    ) -> Iterator[Any]:
        from sessions_app.providers.base import Page

        start = int((cursor or {}).get("replay", 0))
        for done, index in enumerate(range(start, len(self.pages))):
            if budget.exhausted(done):
                return
            recorded = self.pages[index]
            known_versions([r.external_id for r in recorded.sessions])
            yield Page(
                sessions=recorded.sessions,
                quarantined=recorded.quarantined,
                cursor={"replay": index + 1},
                done=index == len(self.pages) - 1,
            )


@contextlib.contextmanager
def adapters_replaced(pages: Mapping[str, Sequence[Any]]) -> Iterator[None]:
    from sessions_app.sync import engine as sync

    original = sync.adapter_for
    sync.adapter_for = lambda conn: ReplayAdapter(pages[conn.kind])
    try:
        yield
    finally:
        sync.adapter_for = original


@contextlib.contextmanager
def commit_timer() -> Iterator[list[float]]:
    """Accumulate the seconds spent in `runs.sync_page_commit` (the DB writes)."""
    from sessions_app.sync import runs as sync

    spent = [0.0]
    original = sync.sync_page_commit

    def timed(**kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(**kwargs)
        finally:
            spent[0] += time.perf_counter() - started

    sync.sync_page_commit = timed
    try:
        yield spent
    finally:
        sync.sync_page_commit = original


def sync_all(
    conns: Mapping[str, Any], *, full: bool = False, trigger: str = "manual"
) -> dict[str, int]:
    """Run `provider_sync_pass` for every provider; return the summed run counts."""
    from sessions_app.sync import engine as sync

    totals = {"runs": 0, "created": 0, "updated": 0, "unchanged": 0, "failed": 0}
    for conn in conns.values():
        runs = sync.provider_sync_pass(connection=conn, trigger=trigger, full=full)
        totals["runs"] += len(runs)
        for run in runs:
            totals["created"] += run.created
            totals["updated"] += run.updated
            totals["unchanged"] += run.unchanged
            totals["failed"] += run.state not in ("succeeded", "partial")
            if run.state not in ("succeeded", "partial"):
                print(f"  ! {conn.slug}: sync run {run.state}: {run.error[:300]}")
    return totals


# --- The same rows, built from the records ------------------------------------------


def _aware(value: Any) -> Any:
    import datetime as dt

    from django.utils import timezone

    if not isinstance(value, dt.datetime):
        return None
    return timezone.make_aware(value, dt.UTC) if timezone.is_naive(value) else value


def session_fields(record: Any, now: Any) -> dict[str, Any]:
    """The session columns the sync writes, from one record."""
    from sessions_app.providers.base import payload_hash

    return {
        "workflow_id": record.workflow_id[:255],
        "workflow_name": record.workflow_name[:255],
        "workflow_version": record.workflow_version[:50],
        "status": record.normalised.status,
        "raw_status": record.raw_status[:100],
        "outcome": record.normalised.outcome,
        "raw_outcome": record.raw_outcome[:100],
        "reasons": list(record.reasons or []),
        "summary": record.summary,
        "error": record.error,
        "dashboard_url": record.dashboard_url[:1000],
        "provider_created_at": _aware(record.created_at) or now,
        "provider_updated_at": _aware(record.updated_at) or now,
        "started_at": _aware(record.started_at),
        "completed_at": _aware(record.completed_at),
        "raw_payload": record.raw,
        "payload_hash": payload_hash(record.raw),
        "source_version": record.source_version[:100],
        "last_synced_at": now,
    }


def check_fields(check: Any, now: Any) -> dict[str, Any]:
    from sessions_app.providers.base import payload_hash

    return {
        "check_type": check.check_type[:100],
        "status": check.normalised.status,
        "raw_status": check.raw_status[:100],
        "outcome": check.normalised.outcome,
        "raw_outcome": check.raw_outcome[:100],
        "task_id": check.task_id[:255],
        "breakdown": check.breakdown or {},
        "provider_created_at": _aware(check.created_at),
        "provider_updated_at": _aware(check.updated_at),
        "raw_payload": check.raw or {},
        "payload_hash": payload_hash(check.raw or {}),
        "last_synced_at": now,
    }


def client_fields(client: Any) -> dict[str, Any]:
    from sessions_app.providers.base import payload_hash

    return {
        "name": client.name[:255],
        "external_reference": client.external_reference[:255],
        "raw_payload": client.raw or {},
        "payload_hash": payload_hash(client.raw or {}),
    }


@dataclasses.dataclass
class Rows:
    clients: list[Any]
    provider_clients: list[tuple[Any, str]]  # (row, client reference)
    sessions: list[tuple[Any, str]]  # (row, provider client external id)
    checks: list[tuple[Any, Any]]  # (row, session row)
    policies: list[tuple[Any, Any]]
    tag_links: list[tuple[Any, int]]  # (session row, tag id)
    existing_client_ids: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def count(self) -> int:
        return (
            len(self.clients)
            + len(self.provider_clients)
            + len(self.sessions)
            + len(self.checks)
            + len(self.policies)
            + len(self.tag_links)
        )


def rows_build(
    records_by_conn: Sequence[tuple[Any, Sequence[Any]]],
    tag_ids: Mapping[tuple[str, str], int],
) -> Rows:
    """Model instances for every record (not saved), de-duplicated like the sync."""
    from django.utils import timezone

    m = _models()
    now = timezone.now()
    rows = Rows([], [], [], [], [], [])
    references: dict[str, str] = {}
    for conn, records in records_by_conn:
        pcs: dict[str, Any] = {}
        sessions: dict[str, Any] = {}
        for record in records:
            pc_key = ""
            if record.client is not None and record.client.external_id:
                pc_key = record.client.external_id[:255]
                pcs[pc_key] = record.client
            sessions[record.external_id] = (record, pc_key)
        for external_id, client in pcs.items():
            reference = client.external_reference[:255]
            if reference:
                references.setdefault(reference, client.name[:255])
            rows.provider_clients.append(
                (
                    m.ProviderClient(
                        connection=conn,
                        external_id=external_id,
                        **client_fields(client),
                    ),
                    reference,
                )
            )
        checks: dict[str, tuple[Any, Any]] = {}
        for record, pc_key in sessions.values():
            session = m.WorkflowSession(
                connection=conn,
                external_id=record.external_id,
                **session_fields(record, now),
            )
            rows.sessions.append((session, pc_key))
            for check in record.checks:
                if check.external_id:
                    checks[check.external_id[:255]] = (
                        m.Check(
                            connection=conn,
                            external_id=check.external_id[:255],
                            **check_fields(check, now),
                        ),
                        session,
                    )
            for position, policy in enumerate(record.policies):
                rows.policies.append(
                    (
                        m.PolicyAssurance(
                            policy_id=policy.policy_id[:255],
                            policy_name=policy.policy_name[:255],
                            outcome=policy.outcome,
                            raw_outcome=policy.raw_outcome[:100],
                            details=policy.details or {},
                            position=position,
                        ),
                        session,
                    )
                )
            pairs = {
                (t.name.strip()[:255], t.kind if t.kind in m.TagKind.values else "user")
                for t in record.tags
                if t.name.strip()
            }
            rows.tag_links.extend((session, tag_ids[pair]) for pair in sorted(pairs))
        rows.checks.extend(checks.values())
    # Clients that already exist are linked, not inserted (as the sync does).
    rows.existing_client_ids = dict(
        m.Client.objects.filter(reference__in=list(references)).values_list(
            "reference", "pk"
        )
    )
    rows.clients = [
        m.Client(reference=ref, display_name=name)
        for ref, name in references.items()
        if ref not in rows.existing_client_ids
    ]
    return rows


def rows_insert(rows: Rows) -> None:
    """Insert the rows with one plain bulk_create per table, in one transaction."""
    from django.db import transaction

    m = _models()
    through = m.WorkflowSession.tags.through
    with transaction.atomic():
        m.Client.objects.bulk_create(rows.clients)
        client_ids = {
            **rows.existing_client_ids,
            **{c.reference: c.pk for c in rows.clients},
        }
        for pc, reference in rows.provider_clients:
            pc.client_id = client_ids.get(reference)
        m.ProviderClient.objects.bulk_create([pc for pc, _ in rows.provider_clients])
        pc_ids = {
            (pc.connection_id, pc.external_id): pc.pk for pc, _ in rows.provider_clients
        }
        for session, pc_key in rows.sessions:
            session.provider_client_id = pc_ids.get((session.connection_id, pc_key))
        m.WorkflowSession.objects.bulk_create([s for s, _ in rows.sessions])
        for check, session in rows.checks:
            check.session_id = session.pk
        m.Check.objects.bulk_create([c for c, _ in rows.checks])
        for policy, session in rows.policies:
            policy.session_id = session.pk
        m.PolicyAssurance.objects.bulk_create([p for p, _ in rows.policies])
        through.objects.bulk_create(
            [through(workflowsession_id=s.pk, tag_id=t) for s, t in rows.tag_links]
        )


def per_row_upsert(
    conn: Any, records: Sequence[Any], tag_ids: Mapping[tuple[str, str], int]
) -> None:
    """The common pattern: one update_or_create per object, autocommit."""
    from django.utils import timezone

    m = _models()
    now = timezone.now()
    for record in records:
        pc = None
        if record.client is not None and record.client.external_id:
            pc, _ = m.ProviderClient.objects.update_or_create(
                connection=conn,
                external_id=record.client.external_id[:255],
                defaults=client_fields(record.client),
            )
            reference = record.client.external_reference[:255]
            if reference and pc.client_id is None:
                client, _ = m.Client.objects.get_or_create(
                    reference=reference,
                    defaults={"display_name": record.client.name[:255]},
                )
                pc.client = client
                pc.save(update_fields=["client"])
        session, _ = m.WorkflowSession.objects.update_or_create(
            connection=conn,
            external_id=record.external_id,
            defaults={"provider_client": pc, **session_fields(record, now)},
        )
        for check in record.checks:
            if check.external_id:
                m.Check.objects.update_or_create(
                    connection=conn,
                    external_id=check.external_id[:255],
                    defaults={"session": session, **check_fields(check, now)},
                )
        m.PolicyAssurance.objects.filter(session=session).delete()
        for position, policy in enumerate(record.policies):
            m.PolicyAssurance.objects.create(
                session=session,
                policy_id=policy.policy_id[:255],
                policy_name=policy.policy_name[:255],
                outcome=policy.outcome,
                raw_outcome=policy.raw_outcome[:100],
                details=policy.details or {},
                position=position,
            )
        session.tags.set(
            {
                tag_ids[
                    (
                        t.name.strip()[:255],
                        t.kind if t.kind in m.TagKind.values else "user",
                    )
                ]
                for t in record.tags
                if t.name.strip()
            }
        )


# --- The measurement ---------------------------------------------------------------


def measure(
    *,
    per_provider: int,
    repeat: int,
    e2e_repeat: int,
    per_row_sample: int,
    seed: int = 11,
    rate_limit_url: str = "memory",
    transport: str = "socket",
) -> dict[str, Any]:
    """Run measurement 1 and print its tables; return the figures.

    Limits are off, the client's too: its connections are paced in this
    process (`rate_limit_url`, "memory") at a million requests a second, not
    through the shared backend (on the embedded default, a locked file read
    and rewritten three times a request: docs/PERFORMANCE.md, section 1c).
    `transport` is "socket" (loopback HTTP to the simulator's server) or
    "in-process" (the same requests handed to the simulator without a socket,
    `bench/in_process.py`).
    """
    if transport not in TRANSPORTS:
        raise SystemExit(
            f"BENCH_SYNC_TRANSPORT must be one of {TRANSPORTS}, not {transport!r}"
        )
    from django.test import override_settings

    with override_settings(VERITY_RATE_LIMIT_URL=rate_limit_url):
        figures = _measure(
            per_provider=per_provider,
            repeat=repeat,
            e2e_repeat=e2e_repeat,
            per_row_sample=per_row_sample,
            seed=seed,
            transport=transport,
        )
    figures["rate_limit_url"] = rate_limit_url
    figures["transport"] = transport
    return figures


def _measure(
    *,
    per_provider: int,
    repeat: int,
    e2e_repeat: int,
    per_row_sample: int,
    seed: int,
    transport: str,
) -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection

    from bench.in_process import simulator_in_process
    from sessions_app.simulator.server import SimulatorServer

    banner(
        f"1. Sync ingest: simulator with {per_provider:,} sessions per provider "
        f"(in-process, rate limits off, time frozen); {repeat} runs of the database "
        f"paths, {min(e2e_repeat, repeat)} of the HTTP paths; client pace backend "
        f"{settings.VERITY_RATE_LIMIT_URL or 'the default'}; transport {transport}"
    )
    sim = SimulatorServer(
        port=0,
        seed=seed,
        sessions=per_provider,
        speed=0,
        rate_limits=dict.fromkeys(KINDS),
    ).start()
    # The tags and connections this measurement adds are removed at the end:
    # left behind, thousands of simulator tags would slow the stock admin's
    # tag filter in the queue measurement that follows (they did, before run D).
    first_new_tag_id = tag_id_next()
    transport_stack = contextlib.ExitStack()
    try:
        if transport == "in-process":
            transport_stack.enter_context(simulator_in_process(sim))
        conns = connections_ensure(sim)
        marks = marks_take()

        http_samples: list[float] = []
        pages: dict[str, list[Any]] = {}
        for kind, conn in conns.items():
            pages[kind], seconds = pages_record(conn)
            http_samples.append(seconds)
        http_first = sum(http_samples)
        records = {k: [r for p in ps for r in p.sessions] for k, ps in pages.items()}
        n_sessions = sum(len(r) for r in records.values())
        n_checks = sum(len(r.checks) for rs in records.values() for r in rs)
        print(
            f"recorded {n_sessions:,} sessions ({n_checks:,} checks) in "
            f"{sum(len(p) for p in pages.values())} pages; HTTP-only pass {http_first:.1f} s",
            flush=True,
        )
        tag_ids = tags_ensure([r for rs in records.values() for r in rs])
        marks = marks_take()
        sample = {
            k: rs[: max(1, per_row_sample // len(KINDS))] for k, rs in records.items()
        }
        n_sample = sum(len(s) for s in sample.values())

        samples: dict[str, list[float]] = {
            "e2e": [],
            "e2e_db": [],
            "http_only": [http_first],
            "resync_incremental": [],
            "resync_full": [],
            "replay": [],
            "bulk": [],
            "per_row": [],
        }
        counts: dict[str, Any] = {}

        def run_e2e() -> None:
            with commit_timer() as spent:
                started = time.perf_counter()
                counts["e2e"] = sync_all(conns)
                samples["e2e"].append(time.perf_counter() - started)
            samples["e2e_db"].append(spent[0])
            for key, full in (("resync_incremental", False), ("resync_full", True)):
                started = time.perf_counter()
                counts[key] = sync_all(
                    conns, full=full, trigger="full" if full else "manual"
                )
                samples[key].append(time.perf_counter() - started)

        def run_replay() -> None:
            with adapters_replaced(pages):
                started = time.perf_counter()
                counts["replay"] = sync_all(conns, trigger="full")
                samples["replay"].append(time.perf_counter() - started)

        def run_bulk() -> None:
            rows = rows_build([(conns[k], records[k]) for k in KINDS], tag_ids)
            counts["bulk_rows"] = rows.count
            started = time.perf_counter()
            rows_insert(rows)
            samples["bulk"].append(time.perf_counter() - started)

        def run_per_row() -> None:
            started = time.perf_counter()
            for kind in KINDS:
                per_row_upsert(conns[kind], sample[kind], tag_ids)
            samples["per_row"].append(time.perf_counter() - started)

        for round_no in range(repeat):
            approaches = [run_replay, run_bulk, run_per_row]
            if round_no < e2e_repeat:
                approaches.insert(round_no % 4, run_e2e)
                if round_no > 0:
                    # The HTTP-only pass again, for its own median.
                    http_samples = [pages_record(conn)[1] for conn in conns.values()]
                    samples["http_only"].append(sum(http_samples))
            shift = round_no % len(approaches)
            for approach in approaches[shift:] + approaches[:shift]:
                approach()
                marks_restore(marks, conns)
            print(f"  round {round_no + 1}/{repeat} done", flush=True)
    finally:
        transport_stack.close()
        sim.stop()
    leftovers_delete(conns, first_new_tag_id)
    if connection.vendor == "postgresql":
        m = _models()
        with connection.cursor() as cursor:
            for model in (
                m.WorkflowSession,
                m.Check,
                m.ProviderClient,
                m.Client,
                m.PolicyAssurance,
            ):
                cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
            cursor.execute(
                f"VACUUM ANALYZE {m.WorkflowSession.tags.through._meta.db_table}"
            )

    stats = {name: Stats.of(values) for name, values in samples.items() if values}
    rate = {
        name: (n_sample if name == "per_row" else n_sessions) / s.median
        for name, s in stats.items()
        if name != "e2e_db" and not name.startswith("resync")
    }
    # The limit of an end-to-end sync: the same pages fetched over HTTP and
    # parsed (the HTTP-only pass), then inserted raw. A sum of two measured
    # medians, not a run of its own.
    fetch_then_bulk_s = stats["http_only"].median + stats["bulk"].median
    rate["fetch_then_bulk"] = n_sessions / fetch_then_bulk_s
    db_share = stats["e2e_db"].median / stats["e2e"].median
    if counts.get("e2e", {}).get("created") != n_sessions:
        print(
            f"  ! end-to-end sync created {counts.get('e2e')} for {n_sessions} recorded sessions"
        )
    table(
        [
            "approach",
            "sessions",
            "median s",
            "p95 s",
            "sessions/s",
            "vs raw bulk_create",
        ],
        [
            (
                label,
                f"{(n_sample if key == 'per_row' else n_sessions):,}",
                f"{stats[key].median:.2f}",
                f"{stats[key].p95:.2f}",
                f"{rate[key]:,.0f}",
                f"{rate[key] / rate['bulk']:.2f}x",
            )
            for key, label in (
                ("bulk", "raw bulk_create (limit)"),
                ("replay", "sync engine, replayed pages"),
                ("e2e", "sync end to end (HTTP)"),
                ("http_only", "HTTP + adapter only"),
                ("per_row", "per-row update_or_create"),
            )
        ],
    )
    table(
        [
            "re-sync, nothing changed",
            "median s",
            "p95 s",
            "share of first sync",
            "unchanged",
            "written",
        ],
        [
            (
                label,
                f"{stats[key].median:.2f}",
                f"{stats[key].p95:.2f}",
                f"{stats[key].median / stats['e2e'].median:.3f}",
                f"{counts[key]['unchanged']:,}",
                f"{counts[key]['created'] + counts[key]['updated']:,}",
            )
            for key, label in (
                ("resync_incremental", "incremental pass"),
                ("resync_full", "full pass"),
            )
        ],
    )
    print(
        f"end-to-end first sync: {db_share:.0%} of the time in the database "
        f"(sync_page_commit), {1 - db_share:.0%} in HTTP, the simulator and the adapters"
    )
    for key, label in (("replay", "sync engine"), ("e2e", "sync end to end")):
        print(
            f"{label} vs raw bulk_create: {rate[key] / rate['bulk']:.2f}x the rate; "
            f"vs per-row update_or_create: {rate[key] / rate['per_row']:.1f}x faster"
        )
    print(
        f"sync end to end vs the same HTTP pass then a raw bulk_create "
        f"({fetch_then_bulk_s:.2f} s): {rate['e2e'] / rate['fetch_then_bulk']:.2f}x the rate"
    )
    if counts.get("replay", {}).get("created") != n_sessions:
        print(f"  ! the replayed sync created {counts.get('replay')} of {n_sessions}")
    return {
        "per_provider": per_provider,
        "sessions": n_sessions,
        "checks": n_checks,
        "bulk_rows": counts.get("bulk_rows"),
        "per_row_sample": n_sample,
        "stats": {k: v.as_dict() for k, v in stats.items()},
        "rate_sessions_per_s": rate,
        "db_share_end_to_end": db_share,
        "counts": counts,
        "ratios": {
            "engine_vs_bulk": rate["replay"] / rate["bulk"],
            "engine_vs_per_row": ratio(rate["replay"], rate["per_row"]),
            "e2e_vs_bulk": rate["e2e"] / rate["bulk"],
            "e2e_vs_per_row": ratio(rate["e2e"], rate["per_row"]),
            "e2e_vs_fetch_then_bulk": rate["e2e"] / rate["fetch_then_bulk"],
            "resync_incremental_share": stats["resync_incremental"].median
            / stats["e2e"].median,
            "resync_full_share": stats["resync_full"].median / stats["e2e"].median,
        },
    }
