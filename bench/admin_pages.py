"""Measurement 6, the admin changelists: Verity's own admin (`/admin/`) for
sessions and the audit trail, its first page and a deep page, on the bench's
data, through the Django test client as a superuser (middleware, the
changelist, the estimated count and the template all in the time).

A deep page is the page starting halfway through the list in the admin's
default order. How it is asked for depends on the admin: one that pages by
keyset (`keyset_sort`, sessions_app/admin/paging.py) gets the cursor of the row
before it (what following "Older" that far hands over); one that pages by
OFFSET gets the page number (`?p=`). Either way the rows shown are checked
against the database's own order, so a fast wrong page cannot pass.
"""

from __future__ import annotations

import re
from typing import Any

from bench.harness import Stats, banner, counted_get, interleaved, ms, table

# A page that has spent this long gets no more runs (min 3).
BUDGET_S = 20.0
TARGET_S = 1.0


def _changelists() -> list[tuple[str, Any, str]]:
    from django.contrib import admin

    from sessions_app.models import AuditEvent, WorkflowSession

    return [
        (
            "sessions",
            admin.site._registry[WorkflowSession],
            "/admin/sessions_app/workflowsession/",
        ),
        ("audit", admin.site._registry[AuditEvent], "/admin/sessions_app/auditevent/"),
    ]


def _deep_query(model_admin: Any) -> tuple[dict[str, str], list[int]] | None:
    """The query string of the page halfway down, and the ids it must show."""
    model = model_admin.model
    per_page = model_admin.list_per_page
    ordered = model.objects.order_by(*model_admin.ordering)
    total = model.objects.count()
    if total < 4 * per_page:
        return None
    page_no = total // 2 // per_page  # pages before the deep one
    start = page_no * per_page
    expected = list(ordered.values_list("pk", flat=True)[start : start + 5])
    keyset = getattr(model_admin, "keyset_sort", None)
    if keyset is None:
        return {"p": str(page_no + 1)}, expected
    from sessions_app.pagination import KeysetPaginator

    field, descending = keyset
    value, pk = ordered.values_list(field, "pk")[start - 1]
    paginator = KeysetPaginator(
        ordered, sort_field=field, descending=descending, page_size=per_page
    )
    cursor = paginator.encode_cursor(value=value, pk=pk, backwards=False)
    return {"cursor": cursor}, expected


def _sorted_last_page(model_admin: Any) -> tuple[dict[str, str], list[int]] | None:
    """Sorted by a column (numbered OFFSET pages), the deepest page offered."""
    if "status" not in model_admin.list_display:
        return None
    from sessions_app.admin.paging import BoundedPaginator

    per_page = model_admin.list_per_page
    total = model_admin.model.objects.count()
    last = min(BoundedPaginator.max_pages, -(-total // per_page))
    if last < 2:
        return None
    # The admin's `o=` counts list_display from 1; its order then follows the
    # default one, which ends with the id.
    column = model_admin.list_display.index("status") + 1
    ordered = model_admin.model.objects.order_by("status", *model_admin.ordering)
    start = (last - 1) * per_page
    expected = list(ordered.values_list("pk", flat=True)[start : start + 5])
    return {"o": str(column), "p": str(last)}, expected


def _ids(path: str, body: bytes) -> list[int]:
    found = re.findall(rf'href="{re.escape(path)}(\d+)/change/', body.decode())
    return list(dict.fromkeys(int(i) for i in found))


def measure(*, repeat: int) -> dict[str, Any]:
    """Time each changelist's first and deep page; print and return the figures."""
    from django.contrib.auth import get_user_model

    from bench.review_queue import client_for

    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = client_for(user)
    banner(f"6. Admin changelists: first and deep page, median of {repeat} runs")
    results: dict[str, Any] = {}
    rows = []
    for name, model_admin, path in _changelists():
        total = model_admin.model.objects.count()
        pages: dict[str, tuple[dict[str, str], list[int] | None]] = {
            "first page": ({}, None)
        }
        deep = _deep_query(model_admin)
        if deep is not None:
            pages["deep page (halfway)"] = deep
        sorted_page = _sorted_last_page(model_admin)
        if sorted_page is not None:
            pages["sorted by status, last page offered"] = sorted_page
        for page, (query, expected) in pages.items():
            response, queries = counted_get(client, path, query)
            if response.status_code != 200:
                raise RuntimeError(f"{name} {page}: HTTP {response.status_code}")
            shown = _ids(path, response.content)
            if expected is not None and shown[: len(expected)] != expected:
                raise RuntimeError(
                    f"{name} {page}: shows {shown[:5]}, the database says {expected}"
                )
            samples = interleaved(
                {page: lambda q=query, p=path: client.get(p, q)},
                repeat=repeat,
                warmup=0,
                budget_s=BUDGET_S,
            )[page]
            stats = Stats.of(samples)
            key = f"{name}: {page}"
            results[key] = {
                "rows": total,
                "how": "cursor" if "cursor" in query else ("p" if query else "-"),
                "query": {k: v for k, v in query.items() if k != "cursor"},
                "queries": queries,
                "stats": stats.as_dict(),
            }
            rows.append(
                (
                    key,
                    f"{total:,}",
                    results[key]["how"],
                    queries,
                    ms(stats.median),
                    ms(stats.p95),
                )
            )
            print(f"  {key}: {ms(stats.median)} ms", flush=True)
    print()
    table(["page", "rows", "asked by", "queries", "median ms", "p95 ms"], rows)
    return results
