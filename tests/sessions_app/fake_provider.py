"""An in-memory provider behind the real adapter interface, for sync-engine tests.

`FakeProvider` holds sessions as plain dicts and pages through them in creation
order, like a provider without change detection (every pass re-reads all, the
engine's payload hashes find what changed). Faults are switches: fail when
asked for page N, rate-limit, quarantine records, a missing credential.
`fake_provider_install` registers it for every provider kind and returns it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from sessions_app import providers
from sessions_app.exceptions import ProviderRateLimited, ProviderUnavailable
from sessions_app.models import ProviderConnection
from sessions_app.normalization import normalise_check, normalise_session
from sessions_app.providers.base import (
    Budget,
    CheckRecord,
    ClientRecord,
    KnownVersions,
    Page,
    PolicyRecord,
    ProviderAdapter,
    QuarantineRecord,
    SessionRecord,
    TagRecord,
    no_known_versions,
)

BASE_TIME = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


class FakeProvider:
    """One provider account's state plus fault switches."""

    registry: ClassVar[dict[str, FakeProvider]] = {}

    def __init__(self, *, slug: str, kind: str, page_size: int = 3) -> None:
        self.slug = slug
        self.kind = kind
        self.page_size = page_size
        self.sessions: dict[str, dict[str, Any]] = {}
        # Raise ProviderUnavailable when asked for this (0-based, per pass) page.
        self.fail_at_page: int | None = None
        self.rate_limit_retry_after: float | None = None
        self.quarantine_on_first_page: list[QuarantineRecord] = []
        # Report sessions whose version Verity already holds as unchanged_ids.
        self.use_versions = False
        # Called before each page is built (e.g. to block a thread mid-sync).
        self.before_page: Callable[[int], None] | None = None
        # external_id -> reason: that session's checks cannot be fetched (the
        # record comes back incomplete, with `missing` set, as real adapters do).
        self.incomplete: dict[str, str] = {}
        self.calls: list[dict[str, Any]] = []
        # Per iter_pages call, the ids reported unchanged by their version.
        self.listed_unchanged: list[list[str]] = []
        self.fetch_calls: list[tuple[str, Mapping[str, Any] | None]] = []
        # Sessions the listing leaves out (a window that does not show sessions
        # holding still, like ComplyCube's `updatedAfter`): only fetch_session
        # reads them.
        self.unlisted: set[str] = set()
        # Write the walker's cursor shape around an unfinished pass
        # ({"v": 1, "pass": {"mode", "started_at"}}), which says when it began.
        self.walker_cursor = False

    def add(
        self,
        external_id: str,
        *,
        status: str = "approved",
        outcome: str = "",
        client: tuple[str, str, str] | None = None,  # (id, name, reference)
        # (id, status, result[, check type, "document" when left out])
        checks: Sequence[tuple[str, ...]] = (),
        tags: Sequence[tuple[str, str]] = (),  # (name, kind)
        policies: Sequence[tuple[str, str, str]] = (),  # (id, name, outcome)
        created_at: dt.datetime | str | None = "auto",
        version: int = 1,
        client_details: Mapping[str, Any] | None = None,  # more of the client's raw
        reasons: Sequence[str] = (),  # the session's reason words
    ) -> dict[str, Any]:
        index = len(self.sessions)
        spec = {
            "id": external_id,
            "status": status,
            "outcome": outcome,
            "client": client,
            "client_details": dict(client_details or {}),
            "checks": list(checks),
            "tags": list(tags),
            "policies": list(policies),
            "reasons": list(reasons),
            "created_at": BASE_TIME + dt.timedelta(minutes=index)
            if created_at == "auto"
            else created_at,
            "version": version,
        }
        self.sessions[external_id] = spec
        return spec

    def change(self, external_id: str, **fields: Any) -> None:
        spec = self.sessions[external_id]
        spec.update(fields)
        spec["version"] += 1

    def record(self, spec: dict[str, Any]) -> SessionRecord:
        normalised = normalise_session(self.kind, spec["status"], spec["outcome"])
        client = None
        if spec["client"]:
            cid, name, reference = spec["client"]
            client = ClientRecord(
                external_id=cid,
                name=name,
                external_reference=reference,
                raw={"id": cid, "name": name, "ref": reference}
                | spec.get("client_details", {}),
            )
        checks = [
            CheckRecord(
                external_id=check_id,
                check_type=check_type[0] if check_type else "document",
                raw_status=check_status,
                raw_outcome=result,
                normalised=normalise_check(self.kind, check_status, result),
                raw={"id": check_id, "status": check_status, "result": result},
            )
            for check_id, check_status, result, *check_type in spec["checks"]
        ]
        missing = []
        if spec["id"] in self.incomplete:
            checks = []
            missing.append(self.incomplete[spec["id"]])
        created = spec["created_at"]
        return SessionRecord(
            external_id=spec["id"],
            raw_status=spec["status"],
            raw_outcome=spec["outcome"],
            normalised=normalised,
            client=client,
            workflow_id="wf-1",
            workflow_name="KYC",
            workflow_version="1",
            created_at=created,
            updated_at=created + dt.timedelta(minutes=spec["version"])
            if created
            else None,
            tags=[TagRecord(name=name, kind=kind) for name, kind in spec["tags"]],
            reasons=list(spec.get("reasons", [])),
            checks=checks,
            policies=[
                PolicyRecord(
                    policy_id=pid,
                    policy_name=name,
                    raw_outcome=outcome,
                    outcome=outcome,
                    details={"id": pid},
                )
                for pid, name, outcome in spec["policies"]
            ],
            # The marker even when the read was incomplete (real adapters leave
            # it empty then): the sync's own guard must drop it, and the tests
            # of incomplete reads see that guard rather than this fake's.
            source_version=f"v{spec['version']}",
            missing=missing,
            unknown_values=[] if normalised.known else [spec["status"]],
            raw={key: spec[key] for key in ("id", "status", "outcome", "version")}
            | {
                "checks": [list(c) for c in spec["checks"]],
                "tags": [list(t) for t in spec["tags"]],
            },
        )


class FakeAdapter(ProviderAdapter):
    kind = "fake"

    def build_http(self) -> Any:
        return None

    @property
    def provider(self) -> FakeProvider:
        return FakeProvider.registry[self.config.slug]

    def iter_pages(
        self,
        *,
        cursor: Mapping[str, Any],
        budget: Budget,
        full: bool = False,
        refresh_ids: Sequence[str] = (),
        known_versions: KnownVersions = no_known_versions,
    ) -> Iterator[Page]:
        provider = self.provider
        provider.calls.append(
            {"cursor": dict(cursor), "full": full, "refresh_ids": list(refresh_ids)}
        )
        if provider.rate_limit_retry_after is not None:
            raise ProviderRateLimited(
                "Too many requests",
                provider=provider.slug,
                retry_after=provider.rate_limit_retry_after,
            )
        ids = [i for i in provider.sessions if i not in provider.unlisted]
        listed_unchanged: list[str] = []
        provider.listed_unchanged.append(listed_unchanged)
        offset = int(cursor.get("offset", 0))
        passes = int(cursor.get("passes", 0))
        pages_done = 0
        while True:
            if budget.exhausted(pages_done):
                return
            page_index = offset // provider.page_size
            if provider.before_page is not None:
                provider.before_page(page_index)
            if (
                provider.fail_at_page is not None
                and page_index == provider.fail_at_page
            ):
                raise ProviderUnavailable(
                    "HTTP 500 from the fake", provider=provider.slug, status=500
                )
            chunk = ids[offset : offset + provider.page_size]
            known = known_versions(list(chunk)) if provider.use_versions else {}
            page = Page()
            for external_id in chunk:
                spec = provider.sessions[external_id]
                if known.get(external_id) == f"v{spec['version']}":
                    page.unchanged_ids.append(external_id)
                    listed_unchanged.append(external_id)
                else:
                    page.sessions.append(provider.record(spec))
            if offset == 0 and provider.quarantine_on_first_page:
                page.quarantined = list(provider.quarantine_on_first_page)
            offset += len(chunk)
            pages_done += 1
            if offset >= len(ids):
                page.cursor = {"offset": 0, "passes": passes + 1}
                page.done = True
                yield page
                return
            page.cursor = {"offset": offset, "passes": passes}
            if provider.walker_cursor:
                started = (cursor.get("pass") or {}).get("started_at") or (
                    dt.datetime.now(dt.UTC).isoformat()
                )
                page.cursor |= {
                    "v": 1,
                    "pass": {"mode": "incremental", "started_at": started},
                }
            yield page

    def fetch_session(
        self, external_id: str, *, hint: Mapping[str, Any] | None = None
    ) -> SessionRecord | None:
        provider = self.provider
        provider.fetch_calls.append((external_id, hint))
        if provider.rate_limit_retry_after is not None:
            raise ProviderRateLimited(
                "Too many requests",
                provider=provider.slug,
                retry_after=provider.rate_limit_retry_after,
            )
        spec = provider.sessions.get(external_id)
        return provider.record(spec) if spec is not None else None


def fake_provider_install(
    monkeypatch: Any,
    *,
    slug: str = "onfido-test",
    kind: str = "onfido",
    page_size: int = 3,
    credential: str | None = "secret-token",
    **connection_fields: Any,
) -> tuple[FakeProvider, ProviderConnection]:
    """Create a connection served by a new FakeProvider; return both."""
    for adapter_kind in list(providers.ADAPTERS):
        monkeypatch.setitem(
            providers.ADAPTERS,
            adapter_kind,
            "tests.sessions_app.fake_provider.FakeAdapter",
        )
    monkeypatch.setattr(FakeProvider, "registry", dict(FakeProvider.registry))
    provider = FakeProvider(slug=slug, kind=kind, page_size=page_size)
    FakeProvider.registry[slug] = provider
    env_name = f"VERITY_PROVIDER_FAKE_{slug.upper().replace('-', '_')}_TOKEN"
    if credential is None:
        monkeypatch.delenv(env_name, raising=False)
    else:
        monkeypatch.setenv(env_name, credential)
    connection = ProviderConnection.objects.create(
        slug=slug,
        kind=kind,
        display_name=slug,
        base_url=f"https://{slug}.example.test",
        credential_env=env_name,
        **connection_fields,
    )
    return provider, connection
