"""ICA's records in its wire format at one simulated instant.

`WorkflowSessionV4`, `ProjectV4` (with its region) and the analysis items of
`analyses:search`, as the official OpenAPI spec describes them, and the
`application/problem+json` errors. The status words are the V4 ones only
(`IN_PROGRESS`, not V3's `INPROGRESS`): the search endpoints answer V4
schemas, whose `status` pattern has no V3 spelling (V3 spellings belong to the
deprecated V3 endpoints, which the simulator does not serve); the
unknown-enum fault swaps in `UNKNOWN_STATUS` / `UNKNOWN_ANALYSIS_STATUS`.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from typing import TYPE_CHECKING, Any

from ..api import served_status
from ..config import ICA_PROBLEM_MEDIA_TYPE
from ..wire import SimResponse, View, iso_millis
from .world import (
    ICA_TERMINAL,
    IcaAnalysis,
    IcaProject,
    IcaSession,
    IcaWorkflow,
)

if TYPE_CHECKING:
    # Only a type: world.py imports this package's world part.
    from ..world import World

UNKNOWN_STATUS = "SUSPENDED"
UNKNOWN_ANALYSIS_STATUS = "PAUSED"
# ICA puts its own error code in a Problem's `title` (docs/providers/ica.md, "Errors").
# ICA_API_004 (missing or wrong Accept) is documented by ICA; the other three
# are those of the ICA replies recorded in tests/fixtures/providers/ica/errors/,
# which no public source confirms. Errors without a known code (parameter
# validation, 405, throttling, 5xx) keep the HTTP reason phrase (`TITLES`).
ERROR_CODES = {
    "invalid_accept": "ICA_API_004",
    "unauthorized": "ICA_SEC_001",
    "not_found": "ICA_GENR_003",
    "invalid_page_token": "ICA_API_010",
}
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@functools.lru_cache(maxsize=4096)  # a few per object, rendered on every read
def derived_uuid(*parts: str) -> str:
    """A stable uuid for a fixed object of the simulated ICA (the region, ...)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "verity-sim:" + ":".join(parts)))


def problem(status: int, code: str, message: str, **extra: Any) -> SimResponse:
    """An ICA error: `code` is ours; its `title` is ICA's code, else the reason phrase."""
    body = {
        "type": "about:blank",
        "title": extra.get("title")
        or ERROR_CODES.get(code)
        or TITLES.get(status, "Error"),
        "status": status,
        "detail": message,
        "timestamp": iso_millis(dt.datetime.now(dt.UTC)),
        "parameters": extra.get("parameters", {}),
    }
    return SimResponse(status, body, content_type=ICA_PROBLEM_MEDIA_TYPE)


def _tenant_json(world: World) -> dict[str, str]:
    return {"id": world.ica.tenant_id, "name": world.ica.tenant_name}


def _storage_json(workflow: IcaWorkflow) -> dict[str, str]:
    return {
        "id": workflow.storage_id,
        "name": workflow.storage_name,
        "description": "Medium analysis storage",
    }


def _dates_json(
    view: View, started: int | None, word: str, since: int
) -> dict[str, str | None]:
    """`startDate` once `started` has come, `endDate` once `word` (since `since`) is final."""
    return {
        "startDate": iso_millis(view.at(started))
        if started is not None and started <= view.t
        else None,
        "endDate": iso_millis(view.at(since)) if word in ICA_TERMINAL else None,
    }


def session_status(session: IcaSession, view: View) -> tuple[str, int] | None:
    """The served status word (its V4 spelling) and since when."""
    return served_status(session, view, salt="ica-session", unknown_word=UNKNOWN_STATUS)


def session_json(world: World, session: IcaSession, view: View) -> dict[str, Any]:
    word, since = session.timeline.at(view.t) or ("", 0)
    served, _ = session_status(session, view) or ("", 0)
    started = session.timeline.reached("INITIALIZING")
    workflow = session.workflow
    final = since == session.timeline.steps[-1][0]
    data: dict[str, Any] = {
        "id": session.id,
        "timeCreated": iso_millis(view.at(session.timeline.created)),
        "owner": {"id": session.owner_id},
        "tenant": _tenant_json(world),
        "userReference": session.user_reference,
        "workflow": {
            "id": workflow.id,
            "code": workflow.code,
            "urn": f"urn:ilmn:ica:workflow:{workflow.id}#{workflow.code}",
            "description": workflow.description,
            "languageVersion": {
                "id": workflow.language_version_id,
                "name": workflow.language_version_name,
                "language": "NEXTFLOW",
            },
            "workflowTags": {"technicalTags": ["auto-launch"]},
            "analysisStorage": _storage_json(workflow),
        },
        "status": served,
        **_dates_json(view, started, word, since),
        "summary": session.summary
        if final
        else ("" if session.summary is not None else None),
        "tags": {
            "technicalTags": list(session.technical_tags)
            if session.technical_tags is not None
            else None,
            "userTags": list(session.user_tags)
            if session.user_tags is not None
            else None,
        },
    }
    if session.application:
        data["application"] = {"id": derived_uuid("application"), "name": "ICA"}
    return data


def region_json(world: World) -> dict[str, Any]:
    created = iso_millis(world.start - dt.timedelta(days=720))
    common = {
        "timeCreated": created,
        "timeModified": created,
        "ownerId": derived_uuid("illumina-owner"),
        "tenantId": derived_uuid("illumina-tenant"),
        "tenantName": "illumina",
    }
    return {
        "id": world.ica.region_id,
        **common,
        "code": "EU",
        "country": {
            "id": derived_uuid("country-de"),
            **common,
            "code": "DE",
            "name": "Germany",
            "region": "EU",
        },
        "cityName": "Frankfurt",
    }


def project_json(world: World, project: IcaProject, view: View) -> dict[str, Any]:
    created = iso_millis(view.at(project.created))
    return {
        "id": project.id,
        "timeCreated": created,
        "timeModified": created,
        "ownerId": project.owner_id,
        "tenantId": world.ica.tenant_id,
        "tenantName": world.ica.tenant_name,
        "urn": f"urn:ilmn:ica:project:{project.id}#{project.name}",
        "name": project.name,
        "active": True,
        "baseEnabled": False,
        "shortDescription": project.short_description,
        "information": None,
        "region": region_json(world),
        "billingMode": "PROJECT",
        "dataSharingEnabled": False,
        "tags": {
            "technicalTags": list(project.technical_tags),
            "userTags": list(project.user_tags),
        },
        "analysisPriority": "MEDIUM",
        "projectOwner": project.owner_id,
    }


def analysis_status(analysis: IcaAnalysis, view: View) -> tuple[str, int] | None:
    return served_status(
        analysis, view, salt="ica-analysis", unknown_word=UNKNOWN_ANALYSIS_STATUS
    )


def analysis_json(
    world: World, session: IcaSession, analysis: IcaAnalysis, view: View
) -> dict[str, Any]:
    word, since = analysis.timeline.at(view.t) or ("", 0)
    served, _ = analysis_status(analysis, view) or ("", 0)
    pipeline = analysis.pipeline
    tenant = _tenant_json(world)
    storage = _storage_json(session.workflow)
    pipeline_created = iso_millis(view.at(pipeline.created))
    running = analysis.timeline.reached("IN_PROGRESS")
    return {
        "analysis": {
            "id": analysis.id,
            "timeCreated": iso_millis(view.at(analysis.timeline.created)),
            "timeModified": iso_millis(view.at(since)),
            "owner": {"id": analysis.owner_id},
            "tenant": tenant,
            "reference": analysis.reference,
            "userReference": analysis.user_reference,
            "pipeline": {
                "id": pipeline.id,
                "urn": f"urn:ilmn:ica:pipeline:{pipeline.id}#{pipeline.code}",
                "timeCreated": pipeline_created,
                "timeModified": pipeline_created,
                "owner": {"id": analysis.owner_id},
                "tenant": tenant,
                "code": pipeline.code,
                "description": pipeline.description,
                "status": "RELEASED",
                "statusAsString": "Released",
                "language": "NEXTFLOW",
                "pipelineTags": {"technicalTags": []},
                "analysisStorage": storage,
                "proprietary": False,
                "inputFormType": "JSON",
            },
            "status": served,
            **_dates_json(view, running, word, since),
            "summary": ""
            if word not in ICA_TERMINAL
            else f"{pipeline.code} {word.lower()}",
            "analysisStorage": storage,
            "analysisPriority": "MEDIUM",
            "tags": {
                "technicalTags": [session.user_reference],
                "userTags": [],
                "referenceTags": [],
            },
        },
        "project": project_json(world, session.project, view),
        "workflowSessionId": session.id,
    }
