"""Shared helpers for the provider tests: recorded fixtures, a fake clock, adapters
wired to it, and `responses` registrations mirroring each provider's URL layout.
(The pytest fixtures using them are in tests/sessions_app/providers/conftest.py.)

Fixtures live under tests/fixtures/providers/<provider>/ at the path of the
endpoint they answer (e.g. onfido/workflow_runs/<run>/tasks.json answers
GET /workflow_runs/<run>/tasks), so every endpoint an adapter calls has one.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from responses import matchers

from sessions_app.providers.base import Budget, ConnectionConfig, Page
from sessions_app.providers.onfido import adapter as onfido

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "providers"
TOKEN = "tok_live_S3cr3t-value-0123456789abcdef"
ONFIDO_BASE = "https://api.eu.onfido.com/v3.6"
COMPLYCUBE_BASE = "https://api.complycube.com/v1"
ICA_BASE = "https://ica.illumina.com/ica/rest"


def load(provider: str, relative: str) -> Any:
    """Return a recorded response body (a fresh copy each call, safe to mutate)."""
    return json.loads((FIXTURES / provider / relative).read_text())


def fixture_files(provider: str, pattern: str) -> list[Path]:
    return sorted((FIXTURES / provider).glob(pattern))


class FakeTime:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_adapter(
    adapter_class,
    fake_time: FakeTime,
    *,
    base_url: str,
    options: dict[str, Any] | None = None,
    **http_overrides: Any,
):
    """Return an adapter whose HTTP client sleeps on `fake_time` (never really)."""
    config = ConnectionConfig(
        slug=f"{adapter_class.kind}-test",
        kind=adapter_class.kind,
        base_url=base_url,
        credential=TOKEN,
        options=options or {},
        rate_limit_per_second=10.0,
    )
    http = adapter_class.make_http(
        config,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        jitter=lambda: 0.5,
        **http_overrides,
    )
    return adapter_class(config, http=http)


def run_pass(
    adapter, *, cursor=None, budget: Budget | None = None, **kwargs: Any
) -> list[Page]:
    return list(
        adapter.iter_pages(cursor=cursor or {}, budget=budget or Budget(), **kwargs)
    )


def run_to_end(
    adapter, *, max_pages: int, cursor=None, **kwargs: Any
) -> tuple[list[Page], int]:
    """Call iter_pages with a small budget until the pass is done; return pages and calls."""
    pages: list[Page] = []
    cursor = cursor or {}
    for calls in range(1, 100):
        batch = list(
            adapter.iter_pages(
                cursor=cursor, budget=Budget(max_pages=max_pages), **kwargs
            )
        )
        assert 1 <= len(batch) <= max_pages + 1  # +1: the empty page that closes a pass
        for page in batch:
            json.dumps(page.cursor)  # every cursor must survive a JSONField and Celery
        pages.extend(batch)
        cursor = batch[-1].cursor
        if batch[-1].done:
            return pages, calls
    raise AssertionError("the pass never finished")


def session_ids(pages: list[Page]) -> list[str]:
    return [record.external_id for page in pages for record in page.sessions]


def calls_to(rsps, pattern: str, method: str = "GET") -> list:
    regex = re.compile(pattern)
    return [
        c
        for c in rsps.calls
        if c.request.method == method and regex.search(c.request.url)
    ]


# Provider URL layouts ------------------------------------------------------------


def register_onfido(
    rsps,
    base: str = ONFIDO_BASE,
    *,
    pages=None,
    query=None,
    unfinished=None,
    unfinished_query=None,
) -> None:
    """Register the run listing (`pages`: bodies, default the recorded 3), the
    listing by rotation status (`unfinished`: bodies, default one empty page)
    and the details."""
    bodies = (
        pages
        if pages is not None
        else [load("onfido", f"workflow_runs/page-{n}.json") for n in (1, 2, 3)]
    )
    _register_onfido_pages(rsps, base, bodies, query or {})
    if unfinished_query is None and (query or {}).get("created_at_gt"):
        # The adapter lists unfinished runs up to the window's first day.
        day = dt.date.fromisoformat(query["created_at_gt"]) + dt.timedelta(days=1)
        unfinished_query = {"created_at_lt": day.isoformat()}
    register_onfido_unfinished(
        rsps,
        base,
        pages=[[]] if unfinished is None else unfinished,
        query=unfinished_query,
    )
    register_onfido_details(rsps, base)


def register_onfido_unfinished(
    rsps, base: str = ONFIDO_BASE, *, pages, query=None
) -> None:
    """Register `GET /workflow_runs?status=<rotation statuses>` page bodies
    (`query`: further parameters, e.g. `created_at_lt`)."""
    status = ",".join(onfido.IN_ROTATION_STATUSES)
    _register_onfido_pages(rsps, base, pages, {"status": status, **(query or {})})


def _register_onfido_pages(rsps, base: str, bodies, query) -> None:
    """`GET /workflow_runs?page=N&sort=desc&<query>` answers the N-th body."""
    for number, body in enumerate(bodies, start=1):
        rsps.get(
            f"{base}/workflow_runs",
            json=body,
            match=[
                matchers.query_param_matcher(
                    {"page": str(number), "sort": "desc", **query}
                )
            ],
        )


def register_onfido_details(rsps, base: str = ONFIDO_BASE) -> None:
    root = FIXTURES / "onfido"
    for path in fixture_files("onfido", "workflow_runs/*/tasks.json"):
        rsps.get(
            f"{base}/{path.parent.relative_to(root).as_posix()}/tasks",
            json=json.loads(path.read_text()),
        )
    for path in fixture_files("onfido", "workflow_runs/*/tasks/*.json"):
        rsps.get(
            f"{base}/{path.relative_to(root).with_suffix('').as_posix()}",
            json=json.loads(path.read_text()),
        )
    for path in fixture_files("onfido", "applicants/*.json"):
        rsps.get(f"{base}/applicants/{path.stem}", json=json.loads(path.read_text()))
    for path in fixture_files("onfido", "workflow_runs/*.json"):
        if not path.stem.startswith("page-"):
            rsps.get(
                f"{base}/workflow_runs/{path.stem}", json=json.loads(path.read_text())
            )


def register_complycube(
    rsps, base: str = COMPLYCUBE_BASE, *, pages=None, query=None, page_size=2
) -> None:
    bodies = (
        pages
        if pages is not None
        else [load("complycube", f"workflowSessions/page-{n}.json") for n in (1, 2)]
    )
    for number, body in enumerate(bodies, start=1):
        rsps.get(
            f"{base}/workflowSessions",
            json=body,
            match=[
                matchers.query_param_matcher(
                    {"page": str(number), "pageSize": str(page_size), **(query or {})}
                )
            ],
        )
    register_complycube_details(rsps, base)


def register_complycube_details(rsps, base: str = COMPLYCUBE_BASE) -> None:
    for folder in ("workflowSessions", "checks", "clients"):
        for path in fixture_files("complycube", f"{folder}/*.json"):
            if path.stem not in ("page-1", "page-2", "empty"):
                rsps.get(
                    f"{base}/{folder}/{path.stem}", json=json.loads(path.read_text())
                )


def register_ica(
    rsps, base: str = ICA_BASE, *, projects: bool = True, page_size: int = 100
) -> None:
    """Register the project listing, per-project searches (with their page tokens) and analyses."""
    api = f"{base}/api"
    if projects:
        first, second = (
            load("ica", "projects/page-1.json"),
            load("ica", "projects/page-2.json"),
        )
        rsps.get(
            f"{api}/projects",
            json=first,
            match=[matchers.query_param_matcher({"pageSize": "1000"})],
        )
        rsps.get(
            f"{api}/projects",
            json=second,
            match=[
                matchers.query_param_matcher(
                    {"pageSize": "1000", "pageToken": first["nextPageToken"]}
                )
            ],
        )
    for path in fixture_files("ica", "projects/*.json"):
        if not path.stem.startswith("page-"):
            rsps.get(f"{api}/projects/{path.stem}", json=json.loads(path.read_text()))
    for project_dir in sorted(
        p for p in (FIXTURES / "ica" / "projects").iterdir() if p.is_dir()
    ):
        token = None
        for page in sorted(
            (project_dir / "workflowSessions-search").glob("page-*.json")
        ):
            body = json.loads(page.read_text())
            query = {
                "pageSize": str(page_size),
                **({"pageToken": token} if token else {}),
            }
            rsps.post(
                f"{api}/projects/{project_dir.name}/workflowSessions:search",
                json=body,
                content_type="application/vnd.illumina.v3+json",
                match=[matchers.query_param_matcher(query)],
            )
            token = body.get("nextPageToken")
        for analyses in sorted(
            project_dir.glob("workflowSessions/*/analyses-search.json")
        ):
            rsps.post(
                f"{api}/projects/{project_dir.name}/workflowSessions/{analyses.parent.name}/analyses:search",
                json=json.loads(analyses.read_text()),
                content_type="application/vnd.illumina.v3+json",
            )
