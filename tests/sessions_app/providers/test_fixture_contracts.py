"""The recorded fixtures are what the providers' contracts say they send.

Onfido and ICA fixtures are validated against the official OpenAPI specs in
tests/contracts/ (extra fields allowed, as the specs allow them), so the adapter
tests cannot drift into testing a provider that does not exist. ComplyCube has no
spec: its fixtures are checked against the field lists of docs/providers/complycube.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.helpers.providers import FIXTURES

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
# Where the bundled spec is stricter than Onfido itself: (fixture, JSON path).
# Task `output` is "an Object, List, etc." in its own description and untyped
# in the modular source (schemas/tasks/task.yaml), and a photo-upload task
# outputs a list (onfido-python tests/media/studio_webhook_event_with_list_in_output.json),
# but the bundler typed it `object`.
ONFIDO_SPEC_GAPS = {
    (
        "workflow_runs/b48fdff9-66a1-405d-9912-54780799bd68/tasks/document_photo_5c229.json",
        "output",
    )
}


def _validator_factory(spec_file: str, uri: str):
    # A safe loader, the C one when available (the ICA spec is 700 KB).
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load((CONTRACTS / spec_file).read_text(), Loader=loader)  # noqa: S506
    registry = Registry().with_resource(
        uri, Resource.from_contents(spec, default_specification=DRAFT4)
    )

    def validator(schema: dict) -> OAS30Validator:
        return OAS30Validator(
            schema, registry=registry, format_checker=OAS30Validator.FORMAT_CHECKER
        )

    return validator


@pytest.fixture(scope="module")
def onfido_schema():
    make = _validator_factory("onfido-openapi.bundled.yaml", "urn:onfido")
    return lambda name, array=False: make(
        {"type": "array", "items": {"$ref": f"urn:onfido#/components/schemas/{name}"}}
        if array
        else {"$ref": f"urn:onfido#/components/schemas/{name}"}
    )


@pytest.fixture(scope="module")
def ica_schema():
    make = _validator_factory("ica-openapi.libica-bb92fb4d.yaml", "urn:ica")
    return lambda name: make({"$ref": f"urn:ica#/components/schemas/{name}"})


def _errors(validator, path: Path, gaps=frozenset()) -> list[str]:
    """Return the contract violations of one fixture, minus the known spec gaps."""
    relative = path.relative_to(FIXTURES)
    within_provider = relative.relative_to(relative.parts[0]).as_posix()
    errors = []
    for error in validator.iter_errors(json.loads(path.read_text())):
        where = "/".join(map(str, error.path))
        if (within_provider, where) not in gaps:
            errors.append(f"{relative}: {where}: {error.message}")
    return errors


def _onfido_cases():
    root = FIXTURES / "onfido"
    for path in sorted(root.rglob("*.json")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith("workflow_runs/page-"):
            yield relative, ("workflow_run", True)
        elif relative.endswith("/tasks.json"):
            yield relative, ("TaskItem", True)
        elif "/tasks/" in relative:
            yield relative, ("task", False)
        elif relative.startswith("workflow_runs/"):
            yield relative, ("workflow_run", False)
        elif relative.startswith("applicants/"):
            yield relative, ("applicant", False)
        elif relative.startswith("errors/"):
            yield relative, ("Error", False)
        else:
            raise AssertionError(f"no contract for onfido fixture {relative}")


def _ica_cases():
    root = FIXTURES / "ica"
    for path in sorted(root.rglob("*.json")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith("projects/page-"):
            yield relative, "ProjectPagedList"
        elif "/workflowSessions-search/" in relative:
            yield relative, "WorkflowSessionPagedListV4"
        elif relative.endswith("/analyses-search.json"):
            yield relative, "WorkflowSessionAnalysisPagedListV4"
        elif relative.startswith("projects/"):
            yield relative, "Project"
        elif relative.startswith("errors/"):
            yield relative, "Problem"
        else:
            raise AssertionError(f"no contract for ica fixture {relative}")


@pytest.mark.parametrize(
    ("relative", "schema"),
    list(_onfido_cases()),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_onfido_fixtures_match_the_official_spec(onfido_schema, relative, schema):
    name, array = schema
    path = FIXTURES / "onfido" / relative
    assert _errors(onfido_schema(name, array), path, ONFIDO_SPEC_GAPS) == []


@pytest.mark.parametrize(
    ("relative", "schema"),
    list(_ica_cases()),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_ica_fixtures_match_the_official_spec(ica_schema, relative, schema):
    assert _errors(ica_schema(schema), FIXTURES / "ica" / relative) == []


def test_the_spec_validation_can_fail(onfido_schema, ica_schema):
    """Guard against a validator that accepts anything."""
    bad_run = [{"id": "not-a-uuid", "status": 7}]
    assert list(onfido_schema("workflow_run", True).iter_errors(bad_run))
    assert list(
        ica_schema("WorkflowSessionPagedListV4").iter_errors({"items": [{"id": "x"}]})
    )


# ComplyCube: the field lists of docs/providers/complycube.md as JSON Schema.
_TS = {"type": "string"}
CC_SESSION_SUMMARY = {
    "type": "object",
    "required": [
        "id",
        "clientId",
        "entityName",
        "status",
        "workflowTemplateId",
        "createdAt",
        "updatedAt",
    ],
    "properties": {
        "id": _TS,
        "clientId": _TS,
        "entityName": _TS,
        "status": {
            "enum": ["started", "processing", "complete", "abandoned", "cancelled"]
        },
        "workflowTemplateId": _TS,
        "workflowTemplateName": _TS,
        "workflowTemplateDescription": _TS,
        "workflowId": _TS,
        "workflowVersion": {"type": "number"},
        "workflowDescription": _TS,
        "outcome": _TS,
        "createdAt": _TS,
        "updatedAt": _TS,
        "completedAt": _TS,
        "lastCompletedTaskId": _TS,
        "compliancePolicies": {"type": "array", "items": {"type": "object"}},
        "policyAssurance": {"type": "array", "items": {"type": "object"}},
        "tasks": {"type": "array", "items": {"type": "object"}},
        "allRelatedChecks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["checkId", "type", "taskId"],
                "additionalProperties": False,
                "properties": {"checkId": _TS, "type": _TS, "taskId": _TS},
            },
        },
    },
    "additionalProperties": False,
}
CC_SCHEMAS = {
    "envelope": {
        "type": "object",
        "required": ["page", "pageSize", "totalItems", "pages", "items"],
        "additionalProperties": False,
        "properties": {
            "page": {"type": "integer", "minimum": 1},
            "pageSize": {"type": "integer", "minimum": 1, "maximum": 1000},
            "totalItems": {"type": "integer"},
            "pages": {"type": "integer"},
            "items": {"type": "array", "items": CC_SESSION_SUMMARY},
        },
    },
    "session": CC_SESSION_SUMMARY,
    "check": {
        "type": "object",
        "required": ["id", "clientId", "type", "status", "createdAt", "updatedAt"],
        "additionalProperties": False,
        "properties": {
            "id": _TS,
            "clientId": _TS,
            "entityName": _TS,
            "type": _TS,
            "enableMonitoring": {"type": "boolean"},
            "documentId": _TS,
            "addressId": _TS,
            "livePhotoId": _TS,
            "liveVideoId": _TS,
            "options": {"type": "object"},
            "clientConsent": {"type": "boolean"},
            "status": {"enum": ["pending", "complete", "failed"]},
            "result": {"type": "object", "required": ["outcome"]},
            "createdAt": _TS,
            "updatedAt": _TS,
        },
    },
    "client": {
        "type": "object",
        "required": ["id", "type", "entityName", "createdAt"],
        "additionalProperties": False,
        "properties": {
            "id": _TS,
            "type": {"enum": ["person", "company"]},
            "entityName": _TS,
            "email": _TS,
            "mobile": _TS,
            "telephone": _TS,
            "externalId": _TS,
            "joinedDate": _TS,
            "personDetails": {"type": "object"},
            "companyDetails": {"type": "object"},
            "metadata": {"type": "object"},
            "createdAt": _TS,
            "updatedAt": _TS,
        },
    },
    "error": {
        "type": "object",
        "required": ["type", "message"],
        "additionalProperties": False,
        "properties": {"type": _TS, "message": _TS, "param": _TS},
    },
}


def _complycube_cases():
    root = FIXTURES / "complycube"
    for path in sorted(root.rglob("*.json")):
        relative = path.relative_to(root).as_posix()
        folder, name = relative.split("/", 1)
        if folder == "workflowSessions":
            yield (
                relative,
                "envelope" if name.startswith(("page-", "empty")) else "session",
            )
        else:
            yield (
                relative,
                {"checks": "check", "clients": "client", "errors": "error"}[folder],
            )


@pytest.mark.parametrize(("relative", "schema"), list(_complycube_cases()))
def test_complycube_fixtures_match_the_documented_fields(relative, schema):
    validator = OAS30Validator(CC_SCHEMAS[schema])
    assert _errors(validator, FIXTURES / "complycube" / relative) == []
