"""Measurement 2, the review queue: Verity's queue page and API list against
the Django admin changelist, on the same data, for the same pages and filters.

Everything goes through the Django test client as a logged-in user, so
middleware, authentication, filters, pagination, serialisation and template
rendering are all in the time. Compared:

- `queue`: `/sessions/` (keyset pages, no COUNT), as a reviewer, at its
  default 25 rows and at 100;
- `api`: `/api/v1/sessions/` (keyset cursor pagination), as a reviewer, at
  its default 50 rows and at 100;
- `stock admin`: a plain `ModelAdmin` with Django's defaults on its own
  AdminSite (`bench.default_admin`): COUNT of the filtered rows, a second
  unfiltered COUNT (`show_full_result_count`), OFFSET pages, 100 rows;
- `verity admin`: Verity's own tuned admin (`/admin/`, 50 rows), for reference.

Case work (issue 19): the queue's case-state and overdue filters and a
saved view (filters combined, sorted by due time) on the queue and the API
only (the admins have no such filters), first and deep pages.
BENCH_QUEUE_CASES=case_work runs only those, without the walk.

Deep pages: the queue and the API get the cursor of the row halfway through
the filtered order (what following `next` that far would hand them); the
stock admin gets the page number of the same row, Verity's admin (keyset
pages) the cursor. A separate walk follows the
queue's `next` links 200 pages deep to show the cost does not grow.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.harness import Stats, banner, interleaved, ms, ratio, table

PAGE_SIZE = 100
# Each surface at its own default page size, and the queue and the API at the
# stock admin's 100 rows too (like for like).
SURFACES = ("queue", "api", "queue_100", "api_100", "stock_admin", "verity_admin")
SURFACE_LABELS = {
    "queue": "queue (25)",
    "api": "api (50)",
    "queue_100": "queue (100)",
    "api_100": "api (100)",
    "stock_admin": "stock admin (100)",
    "verity_admin": "verity admin (50)",
}
ADMIN_PER_PAGE = {"stock_admin": 100, "verity_admin": 50}
# A plan is printed (BENCH_EXPLAIN=1) and kept for every query at least this slow.
EXPLAIN_MS = 20.0


@dataclasses.dataclass
class Case:
    name: str
    queue: dict[str, str]  # filters, as the queue and the API take them
    admin: dict[str, str]  # the same filters as admin lookups
    deep: bool = False
    sort: str = "-created"  # the queue's `sort`
    ours_only: bool = False  # no admin has these filters: queue and API only


def _users() -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user_model = get_user_model()
    reviewer, _ = user_model.objects.get_or_create(username="bench-reviewer")
    reviewer.groups.add(Group.objects.get(name="reviewer"))
    admin, _ = user_model.objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    exporter, _ = user_model.objects.get_or_create(username="bench-exporter")
    exporter.groups.add(Group.objects.get(name="exporter"))
    return {"reviewer": reviewer, "admin": admin, "exporter": exporter}


def client_for(user: Any) -> Any:
    """A test client signed in as `user`; an admin also with a verified second
    factor (a confirmed authenticator app), which every admin page asks for
    in production settings (docs/operations.md)."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    if user.is_staff or user.is_superuser:
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="Bench authenticator", defaults={"confirmed": True}
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def cases_build() -> list[Case]:
    """The compared pages, with filter values picked from the data."""
    from sessions_app.models import ProviderConnection, Tag, WorkflowSession

    provider = (
        ProviderConnection.objects.filter(slug="bench-onfido").first()
        or ProviderConnection.objects.order_by("pk").first()
    )
    vip = Tag.objects.filter(name="vip").order_by("pk").first()
    named = WorkflowSession.objects.filter(
        provider_client__client__isnull=False
    ).order_by("pk")
    count = named.count()
    client_name = (
        named.values_list("provider_client__client__display_name", flat=True)[
            count // 3
        ]
        if count
        else "nobody"
    )
    if os.environ.get("BENCH_QUEUE_CASES") == "case_work":
        return case_work_cases(provider.slug)
    since = "2026-01-01"
    since_admin = "2026-01-01 00:00:00+00:00"
    cases = [
        Case("no filter", {}, {}),
        Case(
            "status=completed&outcome=attention",
            {"status": "completed", "outcome": "attention"},
            {"status__exact": "completed", "outcome__exact": "attention"},
        ),
        Case(
            f"provider={provider.slug}&assignee=none",
            {"provider": provider.slug, "assignee": "none"},
            {"connection__id__exact": str(provider.pk), "assignee__isnull": "True"},
        ),
        Case(
            f"tag=vip&created_after={since}",
            {"tag": "vip", "created_after": since},
            {
                "tags__id__exact": str(vip.pk if vip else 0),
                "provider_created_at__gte": since_admin,
            },
        ),
        Case(f"q={client_name}", {"q": client_name}, {"q": client_name}),
    ]
    deep = [
        dataclasses.replace(c, name=f"{c.name} (deep)", deep=True) for c in cases[:3]
    ]
    return (
        cases[:1]
        + deep[:1]
        + cases[1:2]
        + deep[1:2]
        + cases[2:3]
        + deep[2:3]
        + cases[3:]
        + case_work_cases(provider.slug)
    )


def case_work_cases(provider_slug: str) -> list[Case]:
    """The case-state and overdue filters and a saved view, first and deep."""
    saved_view = {
        "case_state": "open",
        "provider": provider_slug,
        "overdue": "true",
        "sort": "due",
    }
    cases = [
        # The same run's reference: the unfiltered queue.
        Case("no filter (reference)", {}, {}, ours_only=True),
        Case("case_state=open", {"case_state": "open"}, {}, ours_only=True),
        Case("case_state=escalated", {"case_state": "escalated"}, {}, ours_only=True),
        Case("overdue=true", {"overdue": "true"}, {}, ours_only=True),
        Case(
            "overdue=true&sort=due", {"overdue": "true"}, {}, sort="due", ours_only=True
        ),
        Case(
            "saved view: " + "&".join(f"{k}={v}" for k, v in saved_view.items()),
            {k: v for k, v in saved_view.items() if k != "sort"},
            {},
            sort="due",
            ours_only=True,
        ),
    ]
    out = []
    for case in cases:
        out += [case, dataclasses.replace(case, name=f"{case.name} (deep)", deep=True)]
    return out


def _deep_position(case: Case) -> tuple[str, int] | None:
    """Return the cursor and the index of the first row of the page halfway
    through the case's order (a multiple of 100, so every page size agrees)."""
    from sessions_app import filters, selectors
    from sessions_app.pagination import KeysetPaginator

    field = selectors.SESSION_SORTS[case.sort.removeprefix("-")]
    qs = (
        filters.session_list(params=case.queue)
        .filter(selectors.session_sort_filter(case.sort))
        .order_by(*selectors.session_sort_ordering(case.sort))
    )
    total = qs.count()
    if total < 4 * PAGE_SIZE:
        return None
    # The row just before the deep page: the page starts at a page boundary.
    page_no = total // 2 // PAGE_SIZE
    anchor = qs.values_list(field, "provider_created_at", "id")[page_no * PAGE_SIZE - 1]
    paginator = KeysetPaginator(
        qs,
        sort_field=field,
        descending=case.sort.startswith("-"),
        tie_field=selectors.SESSION_TIE_FIELD,
    )
    cursor = paginator.encode_cursor(
        value=anchor[0], tie=anchor[1], pk=anchor[2], backwards=False
    )
    return cursor, page_no * PAGE_SIZE


def requests_build(case: Case) -> dict[str, tuple[str, dict[str, str]]] | None:
    """(path, query) per surface for one case; None when a deep page makes no sense."""
    sort = {"sort": case.sort} if case.sort != "-created" else {}
    queue, api = {**case.queue, **sort}, {**case.queue, **sort}
    queue_100 = {**case.queue, **sort, "page_size": str(PAGE_SIZE)}
    api_100 = {**case.queue, **sort, "page_size": str(PAGE_SIZE)}
    admins = {name: dict(case.admin) for name in ADMIN_PER_PAGE}
    if case.deep:
        position = _deep_position(case)
        if position is None:
            return None
        cursor, first_row = position
        for query in (queue, api, queue_100, api_100):
            query["cursor"] = cursor
        admins["stock_admin"]["p"] = str(first_row // ADMIN_PER_PAGE["stock_admin"] + 1)
        # Verity's admin pages by keyset in its default order (the queue's):
        # the same cursor reaches the same row (sessions_app/admin/paging.py).
        admins["verity_admin"]["cursor"] = cursor
    if case.ours_only:
        return {
            "queue": ("/sessions/", queue),
            "api": ("/api/v1/sessions/", api),
            "queue_100": ("/sessions/", queue_100),
            "api_100": ("/api/v1/sessions/", api_100),
        }
    return {
        "queue": ("/sessions/", queue),
        "api": ("/api/v1/sessions/", api),
        "queue_100": ("/sessions/", queue_100),
        "api_100": ("/api/v1/sessions/", api_100),
        "stock_admin": (
            "/bench-admin/sessions_app/workflowsession/",
            admins["stock_admin"],
        ),
        "verity_admin": (
            "/admin/sessions_app/workflowsession/",
            admins["verity_admin"],
        ),
    }


def _first_ids(surface: str, body: bytes) -> list[int]:
    """Session ids on a page, in order (to check the surfaces agree)."""
    text = body.decode("utf-8", "replace")
    if surface.startswith("api"):
        return [row["id"] for row in json.loads(text)["results"]]
    if surface.startswith("queue"):
        # Row links carry the queue context (?back=...); the breadcrumb and
        # "Next in queue" are not rows.
        return [
            int(i)
            for i in re.findall(r'<th scope="row"><a href="/sessions/(\d+)/', text)
        ]
    return [int(i) for i in re.findall(r'name="_selected_action" value="(\d+)"', text)]


def _explain(sql: str, *, analyze: bool = True) -> str:
    from django.db import connection

    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            return "\n".join(str(row) for row in cursor.fetchall())
    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN (ANALYZE, BUFFERS) {sql}" if analyze else f"EXPLAIN {sql}"
        )
        return "\n".join(row[0] for row in cursor.fetchall())


def _probe(client: Any, path: str, query: dict[str, str]) -> dict[str, Any]:
    """One request with its queries captured: count, slowest SQL, ids shown."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, query)
    queries = captured.captured_queries
    slowest = max(queries, key=lambda q: float(q["time"])) if queries else None
    return {
        "status": response.status_code,
        "queries": len(queries),
        "sql_ms": sum(float(q["time"]) for q in queries) * 1000,
        "slowest_ms": float(slowest["time"]) * 1000 if slowest else 0.0,
        "slowest_sql": slowest["sql"] if slowest else "",
        "content": response.content,
    }


# A surface that has spent this long on one page gets no more runs (min 3).
BUDGET_S = 20.0
OUR_SURFACES = ("queue", "api", "queue_100", "api_100")


def measure(*, repeat: int, walk_pages: int = 200) -> dict[str, Any]:
    """Run measurement 2 and print its tables; return the figures."""
    from sessions_app.models import WorkflowSession

    total = WorkflowSession.objects.count()
    banner(
        f"2. Review queue: {total:,} sessions; median and p95 of {repeat} runs per page "
        f"(at least 3 for pages slower than {BUDGET_S / repeat:.1f} s)"
    )
    users = _users()
    reviewer, admin = client_for(users["reviewer"]), client_for(users["admin"])
    clients = {s: admin if s.endswith("admin") else reviewer for s in SURFACES}
    explain = bool(os.environ.get("BENCH_EXPLAIN"))
    results: dict[str, Any] = {"cases": {}, "total_sessions": total}
    rows = []
    for case in cases_build():
        requests = requests_build(case)
        if requests is None:
            continue
        probes = {}
        for surface, (path, query) in requests.items():
            probe = _probe(clients[surface], path, query)
            if probe["status"] != 200:
                raise RuntimeError(f"{surface} {case.name}: HTTP {probe['status']}")
            probes[surface] = probe
        ids = {s: _first_ids(s, p["content"])[:5] for s, p in probes.items()}
        if len({tuple(v) for v in ids.values()}) != 1:
            print(f"  ! {case.name}: surfaces show different first rows: {ids}")
        cases: dict[str, Callable[[], Any]] = {
            surface: (lambda c=clients[surface], p=path, q=query: c.get(p, q))
            for surface, (path, query) in requests.items()
        }
        # The probes above were each surface's warm-up request.
        samples = interleaved(cases, repeat=repeat, warmup=0, budget_s=BUDGET_S)
        stats = {s: Stats.of(v) for s, v in samples.items()}
        plans = {}
        for surface, probe in probes.items():
            if probe["slowest_ms"] >= EXPLAIN_MS:
                # Past two seconds the plan's estimates say enough; ANALYZE would rerun it.
                plan = _explain(
                    probe["slowest_sql"], analyze=probe["slowest_ms"] < 2000
                )
                plans[surface] = {"sql": probe["slowest_sql"], "plan": plan}
                if explain:
                    print(
                        f"\n-- {case.name} / {surface}: slowest query {probe['slowest_ms']:.1f} ms\n"
                        f"{probe['slowest_sql'][:2000]}\n{plans[surface]['plan']}\n"
                    )
        results["cases"][case.name] = {
            "stats": {s: v.as_dict() for s, v in stats.items()},
            "queries": {s: p["queries"] for s, p in probes.items()},
            "slowest_query_ms": {s: p["slowest_ms"] for s, p in probes.items()},
            "plans": plans,
            "stock_admin_vs": {
                s: ratio(stats["stock_admin"].median, stats[s].median)
                for s in ("queue", "api", "queue_100", "api_100")
            }
            if "stock_admin" in stats
            else None,
        }
        vs = results["cases"][case.name]["stock_admin_vs"]
        rows.append(
            (
                case.name[:60],
                *(
                    f"{ms(stats[s].median)} / {ms(stats[s].p95)} ({probes[s]['queries']}q)"
                    if s in stats
                    else "-"
                    for s in SURFACES
                ),
                " ".join(
                    f"{vs[s]:.1f}x" for s in ("queue", "api", "queue_100", "api_100")
                )
                if vs
                else "-",
            )
        )
        print(
            f"  {case.name}: "
            + ", ".join(
                f"{SURFACE_LABELS[s]} {ms(stats[s].median)} ms"
                for s in SURFACES
                if s in stats
            ),
            flush=True,
        )
    print()
    print(
        "ms median / p95 (queries per request); last column: stock admin time divided by"
    )
    print("queue (25), api (50), queue (100), api (100)")
    table(["page", *(SURFACE_LABELS[s] for s in SURFACES), "stock admin / ours"], rows)
    if os.environ.get("BENCH_QUEUE_CASES") != "case_work":
        results["walk"] = walk(reviewer, reviewer, pages=walk_pages)
    return results


def walk(queue_client: Any, api_client: Any, *, pages: int) -> dict[str, Any]:
    """Follow `next` links `pages` deep on the queue and the API; time each page."""
    out: dict[str, Any] = {}
    for surface, client, path in (
        ("queue (25)", queue_client, "/sessions/"),
        ("api (50)", api_client, "/api/v1/sessions/"),
    ):
        query: dict[str, str] = {}
        timings = []
        for _ in range(pages):
            started = time.perf_counter()
            response = client.get(path, query)
            timings.append(time.perf_counter() - started)
            if surface.startswith("api"):
                link = json.loads(response.content)["next"]
            else:
                found = re.search(
                    r'href="(\?[^"]*cursor=[^"]*)"[^>]*rel="next"',
                    response.content.decode(),
                )
                if found is None:
                    found = re.search(
                        r'rel="next"[^>]*href="(\?[^"]*)"', response.content.decode()
                    )
                link = found.group(1).replace("&amp;", "&") if found else None
            if not link:
                break
            query = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
        first, last = timings[:10], timings[-10:]
        out[surface] = {
            "pages": len(timings),
            "all": Stats.of(timings).as_dict(),
            "first_10_median_ms": Stats.of(first).median * 1000,
            "last_10_median_ms": Stats.of(last).median * 1000,
        }
    table(
        [
            "walk: follow next, default page size",
            "pages",
            "median ms",
            "p95 ms",
            "first 10 med ms",
            "last 10 med ms",
        ],
        [
            (
                s,
                out[s]["pages"],
                ms(out[s]["all"]["median"]),
                ms(out[s]["all"]["p95"]),
                f"{out[s]['first_10_median_ms']:.1f}",
                f"{out[s]['last_10_median_ms']:.1f}",
            )
            for s in out
        ],
    )
    return out
