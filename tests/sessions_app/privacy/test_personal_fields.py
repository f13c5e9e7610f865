"""What is personal per provider (`providers/<name>/personal.py`), checked on
fixtures of each provider's payloads, and kept in step with the docs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sessions_app.payload_paths import MASK
from sessions_app.privacy.personal_fields import (
    name_initials,
    payload_masked,
    personal_fields_markdown,
)
from sessions_app.providers.registry import personal_paths_for

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "privacy"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "data-protection.md"


def _fixture(kind: str, name: str) -> dict:
    return json.loads((FIXTURES / kind / f"{name}.json").read_text())


# The personal fields of each provider's payloads, as found in the fixtures.
EXPECTED = {
    ("onfido", "session"): [
        "run.output.dob",
        "run.output.first_name",
        "run.output.last_name",
        "tasks.output.address",
        "tasks.output.dob",
        "tasks.output.email",
        "tasks.output.first_name",
        "tasks.output.last_name",
        "tasks.output.phone_number",
        "tasks.output.properties.date_of_birth",
        "tasks.output.properties.document_numbers",
        "tasks.output.properties.first_name",
        "tasks.output.properties.last_name",
        "tasks.output.properties.nationality",
    ],
    ("onfido", "client"): ["first_name", "last_name"],
    ("complycube", "session"): [
        "checks.entityName",
        "checks.result.breakdown.extractedData.documentDetails.documentNumber",
        "checks.result.breakdown.extractedData.holderDetails",
        "session.entityName",
    ],
    ("complycube", "client"): ["email", "entityName", "mobile", "personDetails"],
    ("ica", "session"): [],
    ("ica", "client"): [],
}


@pytest.mark.parametrize(("kind", "shape"), list(EXPECTED))
def test_the_personal_fields_of_each_provider(kind, shape):
    payload = _fixture(kind, shape)
    assert personal_paths_for(kind, shape).found(payload) == EXPECTED[kind, shape]


def test_masking_keeps_results_and_hides_the_data():
    payload = _fixture("onfido", "session")
    shown = payload_masked("onfido", "session", payload)
    document = shown["tasks"][1]["output"]
    # A breakdown's `first_name` is a result, not the name: kept.
    assert document["breakdown"]["data_comparison"]["breakdown"]["first_name"] == {
        "result": "clear"
    }
    assert document["properties"]["first_name"] == MASK
    assert document["properties"]["document_type"] == "passport"
    assert "Alice" not in json.dumps(shown)
    assert "123456789" not in json.dumps(shown)
    cube = payload_masked("complycube", "session", _fixture("complycube", "session"))
    assert "Alice" not in json.dumps(cube)
    assert cube["checks"][0]["result"]["outcome"] == "clear"


def test_a_breakdown_is_masked_as_the_check_shows_it():
    breakdown = _fixture("complycube", "session")["checks"][0]["result"]["breakdown"]
    shown = payload_masked("complycube", "breakdown", breakdown)
    assert shown["extractedData"]["holderDetails"]["firstName"] == MASK
    assert shown["documentAuthenticity"] == {"outcome": "clear"}


@pytest.mark.parametrize(
    ("name", "initials"),
    [("Alice Lee", "A. L."), ("jean-paul  sartre", "J. P. S."), ("", ""), ("x", "X.")],
)
def test_names_become_initials(name, initials):
    assert name_initials(name) == initials


def test_the_docs_list_every_declared_personal_path():
    """docs/data-protection.md holds the generated list: kept in step here
    (regenerate with `personal_fields_markdown()` when a provider's list changes)."""
    assert personal_fields_markdown() in DOCS.read_text()
