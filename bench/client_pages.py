"""Measurement 8, the clients (issue 18): the client page of a client with 50
sessions and 150 checks, the client directory (first and deep pages, plain and
with two filters), the daily refresh of every client's review schedule, and
what the sync's stale marking adds to a committed batch.

Pages go through the Django test client as a reviewer (middleware, view,
template in the time). The client with 50 sessions is made inside the
measurement when the data has none (the generator's clients have a few
sessions each) and removed afterwards. The daily refresh writes every
client's summary: the pages are measured after it, on real tiers and dates.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from bench.harness import Stats, banner, counted_get, interleaved, ms, table

BUDGET_S = 20.0
TARGET_S = 0.1
BIG_CLIENT_REFERENCE = "bench-client-50-sessions"


def _big_client() -> tuple[Any, bool]:
    """A client with 50 sessions of 3 checks each (150), made if none exists."""
    from django.db import transaction
    from django.utils import timezone

    from sessions_app.models import (
        Check,
        Client,
        ProviderClient,
        ProviderConnection,
        WorkflowSession,
    )

    existing = Client.objects.filter(reference=BIG_CLIENT_REFERENCE).first()
    if existing is not None:
        return existing, False
    connections = list(ProviderConnection.objects.order_by("pk")[:2])
    now = timezone.now()
    kinds = ["document", "biometrics", "screening"]
    with transaction.atomic():
        client = Client.objects.create(
            display_name="Bench Client Fifty", reference=BIG_CLIENT_REFERENCE
        )
        identities = [
            ProviderClient.objects.create(
                connection=c,
                external_id=f"{BIG_CLIENT_REFERENCE}-{c.pk}",
                client=client,
            )
            for c in connections
        ]
        sessions = WorkflowSession.objects.bulk_create(
            WorkflowSession(
                connection=identities[n % len(identities)].connection,
                provider_client=identities[n % len(identities)],
                external_id=f"{BIG_CLIENT_REFERENCE}-s{n}",
                status="completed",
                outcome="clear",
                provider_created_at=now - dt.timedelta(days=n),
                provider_updated_at=now - dt.timedelta(days=n),
            )
            for n in range(50)
        )
        Check.objects.bulk_create(
            Check(
                connection=s.connection,
                session=s,
                external_id=f"{s.external_id}-c{k}",
                check_type=kind,
                kind=kind,
                status="completed",
                outcome="clear",
                provider_updated_at=s.provider_updated_at,
            )
            for s in sessions
            for k, kind in enumerate(kinds)
        )
    return client, True


def _deep_cursor(queryset: Any) -> dict[str, str]:
    """The cursor of the page halfway down `queryset` (in directory order)."""
    from sessions_app.pagination import KeysetPaginator

    total = queryset.count()
    if total < 100:
        return {}
    name, pk = queryset.order_by("display_name", "id").values_list(
        "display_name", "pk"
    )[total // 2]
    cursor = KeysetPaginator(
        queryset, sort_field="display_name", descending=False
    ).encode_cursor(value=name, pk=pk, backwards=False)
    return {"cursor": cursor}


def measure(*, repeat: int, refresh: bool = True) -> dict[str, Any]:
    from django.db import transaction
    from django.utils import timezone

    from sessions_app.client_filters import client_filterset
    from sessions_app.client_review.refresh import (
        clients_mark_stale,
        clients_review_refresh_all,
        clients_review_refresh_batch,
    )
    from sessions_app.models import Client, ProviderClient, ProviderConnection

    banner(f"8. Clients: page, directory, review refresh (median of {repeat} runs)")
    results: dict[str, Any] = {"clients": Client.objects.count()}
    big, made = _big_client()
    try:
        if refresh:
            now = timezone.now()
            started = time.perf_counter()
            done = clients_review_refresh_all(now=now, since=now)
            seconds = time.perf_counter() - started
            results["refresh_all"] = {
                "clients": done.clients,
                "batches": done.batches,
                "seconds": round(seconds, 1),
                "clients_per_second": round(done.clients / seconds) if seconds else 0,
            }
            print(
                f"  daily refresh: {done.clients:,} clients in {seconds:.1f} s "
                f"({done.batches} batches)",
                flush=True,
            )
        else:
            clients_review_refresh_batch(client_ids=[big.pk], now=timezone.now())
        # The sync's share: marking the clients of a 500-session batch stale,
        # inside a transaction rolled back (as a sync batch would commit it).
        identity_ids = list(
            ProviderClient.objects.order_by("-pk").values_list("pk", flat=True)[:500]
        )

        def mark() -> None:
            with transaction.atomic():
                clients_mark_stale(provider_client_ids=identity_ids)
                transaction.set_rollback(True)

        def one_batch() -> None:
            with transaction.atomic():
                ids = list(
                    Client.objects.order_by("-pk").values_list("pk", flat=True)[:2000]
                )
                clients_review_refresh_batch(client_ids=ids, now=timezone.now())
                transaction.set_rollback(True)

        # A reviewer: admins must pass the second factor (docs/operations.md).
        from bench.review_queue import _users, client_for

        browser = client_for(_users()["reviewer"])
        slug = ProviderConnection.objects.order_by("pk").values_list("slug", flat=True)[
            0
        ]
        filters = [
            ("risk tier + gaps", {"risk_tier": "high,medium", "has_gaps": "true"}),
            ("provider + due/overdue", {"provider": slug, "review": "due,overdue"}),
        ]
        pages: dict[str, tuple[str, dict[str, str]]] = {
            "client page (50 sessions, 150 checks)": (big.get_absolute_url(), {}),
            "directory: first page": ("/clients/", {}),
            "directory: deep page (halfway)": (
                "/clients/",
                _deep_cursor(Client.objects.all()),
            ),
        }
        for label, query in filters:
            pages[f"directory {label}: first page"] = ("/clients/", query)
            qs = client_filterset(params=query).qs
            deep = _deep_cursor(qs)
            if deep:
                pages[f"directory {label}: deep page"] = ("/clients/", query | deep)
            pages[f"api {label}: first page"] = ("/api/v1/clients/", query)
        rows = []
        for label, (path, query) in pages.items():
            response, queries = counted_get(browser, path, query)
            if response.status_code != 200:
                raise RuntimeError(f"{label}: HTTP {response.status_code}")
            samples = interleaved(
                {label: lambda p=path, q=query: browser.get(p, q)},
                repeat=repeat,
                budget_s=BUDGET_S,
            )[label]
            stats = Stats.of(samples)
            results[label] = {"queries": queries, "stats": stats.as_dict()}
            rows.append((label, queries, ms(stats.median), ms(stats.p95)))
            print(f"  {label}: {ms(stats.median)} ms", flush=True)
        for label, work in (
            ("sync batch: mark the clients of 500 identities stale", mark),
            ("stale refresh: one batch of 2,000 clients", one_batch),
        ):
            stats = Stats.of(interleaved({label: work}, repeat=repeat)[label])
            results[label] = {"stats": stats.as_dict()}
            rows.append((label, "", ms(stats.median), ms(stats.p95)))
            print(f"  {label}: {ms(stats.median)} ms", flush=True)
        print()
        table(["what", "queries", "median ms", "p95 ms"], rows)
    finally:
        if made:
            from sessions_app.models import WorkflowSession

            WorkflowSession.objects.filter(provider_client__client=big).delete()
            ProviderClient.objects.filter(client=big).delete()
            Client.objects.filter(pk=big.pk).delete()
    return results


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) of every page: under 100 ms median."""
    found = []
    for label, figures in results.items():
        if not isinstance(figures, dict) or "queries" not in figures:
            continue
        median = figures["stats"]["median"]
        found.append(
            (f"{label} < 100 ms median", f"{median * 1000:.1f} ms", median < TARGET_S)
        )
    return found
