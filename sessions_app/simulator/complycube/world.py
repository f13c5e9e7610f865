"""ComplyCube's part of the world: clients, workflow templates, sessions, checks.

Sessions end in every status and outcome of ComplyCube's row of Verity's
normalisation table (`CC_COVERAGE`, once `sessions` >= 15); checks cover
every outcome, including a failed check. `api.py` serves these records in
ComplyCube's wire format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..generation import (
    Cycle,
    Person,
    Timeline,
    WorldPart,
    client_count,
    clients_make,
    index_by_id,
    part_plan,
    timeline_walk,
)


@dataclass(frozen=True, slots=True)
class CCClient:
    id: str
    person: Person
    external_id: str | None
    created: int


@dataclass(frozen=True, slots=True)
class CCTemplate:
    id: str
    name: str
    description: str
    workflow_id: str
    version: int
    version_description: str
    capture_tasks: tuple[str, ...]
    check_types: tuple[str, ...]
    policies: tuple[tuple[str, str], ...]  # (policy id, policy name)


@dataclass(frozen=True, slots=True)
class CCTask:
    id: str
    type: str
    done: int | None


@dataclass(frozen=True, slots=True)
class CCCheck:
    id: str
    type: str
    session_id: str
    client: CCClient
    task_id: str
    timeline: Timeline  # pending -> complete | failed
    outcome: str | None  # result.outcome once complete
    breakdown: dict[str, Any]
    document_id: str | None
    live_photo_id: str | None
    enable_monitoring: bool


@dataclass(frozen=True, slots=True)
class CCSession:
    id: str
    client: CCClient
    template: CCTemplate
    timeline: Timeline
    outcome: str | None  # served once complete
    checks: tuple[CCCheck, ...]
    tasks: tuple[CCTask, ...]


class ComplyCubeWorld(WorldPart[CCClient, CCSession]):
    """ComplyCube's part: clients, workflow sessions, and their checks by id."""

    def __init__(
        self, *, clients: Sequence[CCClient], sessions: Sequence[CCSession]
    ) -> None:
        super().__init__(clients=clients, sessions=sessions)
        self.check_by_id = index_by_id(
            check for session in self.sessions for check in session.checks
        )


# --- generation -----------------------------------------------------------------

CC_COVERAGE = (
    "complete:clear", "complete:attention", "complete:attention", "complete:attention",
    "complete:rejected", "complete:rejected", "complete:review", "complete:decline",
    "started", "processing", "abandoned", "cancelled",
)  # fmt: skip
CC_WEIGHTS = {
    "complete:clear": 40, "complete:attention": 12, "complete:rejected": 8,
    "complete:review": 2, "complete:decline": 2, "started": 10, "processing": 10,
    "abandoned": 8, "cancelled": 5,
}  # fmt: skip
CC_TEMPLATES = (
    (
        "Standard KYC",
        "Document, identity and sanctions screening for retail customers.",
        ("consent", "personal_details", "document_capture"),
        ("document_check", "identity_check", "standard_screening_check"),
        ("AML Standard",),
    ),
    (
        "Enhanced Due Diligence",
        "Full due diligence for high-risk and business customers.",
        (
            "consent",
            "personal_details",
            "document_capture",
            "selfie_capture",
            "address_capture",
        ),
        (
            "document_check",
            "face_authentication_check",
            "extensive_screening_check",
            "proof_of_address_check",
        ),
        ("AML Enhanced", "Source of Funds"),
    ),
)


def _cc_breakdown(check_type: str, outcome: str | None) -> dict[str, Any]:
    flag = "clear" if outcome in {None, "clear"} else "attention"
    if check_type.endswith("screening_check"):
        return {
            "summary": {
                "pep": {
                    "level1": flag,
                    "level2": "clear",
                    "level3": "clear",
                    "level4": "clear",
                },
                "watchlist": {
                    "sanctionsLists": flag,
                    "otherOfficialLists": "clear",
                    "warCrimes": "clear",
                    "terror": "clear",
                    "otherExclusionLists": "clear",
                    "sanctionsControlAndOwnership": "clear",
                },
                "adverseMedia": {
                    "environmentProduction": "clear",
                    "socialLabour": "clear",
                    "competitiveFinancial": flag,
                    "regulatory": "clear",
                },
            }
        }
    if check_type == "document_check":
        return {
            "extractedData": {"documentDetails": {"documentType": "passport"}},
            "documentAuthenticity": {"outcome": flag},
            "dataIntegrity": {"outcome": flag},
        }
    if check_type == "face_authentication_check":
        return {
            "faceDetection": {"outcome": "clear"},
            "faceComparison": {"outcome": flag},
        }
    if check_type == "proof_of_address_check":
        return {
            "addressMatch": {"outcome": flag},
            "documentValidity": {"outcome": "clear"},
        }
    return {"sourcesMatched": 2 if flag == "clear" else 0, "dateOfBirthMatch": flag}


def _cc_check_results(
    cycle: Cycle, outcome: str | None, check_types: Sequence[str]
) -> dict[str, str]:
    """The served status+outcome per check type: 'clear', 'attention', 'failed', ..."""
    results = dict.fromkeys(check_types, "clear")
    screening = next(t for t in check_types if t.endswith("screening_check"))
    if outcome in {"attention", "review"}:
        kind = cycle.pick("attention", ("screening", "failed", "document"))
        if kind == "screening":
            results[screening] = "attention"
        elif kind == "failed":
            results["document_check"] = "failed"
        else:
            results["document_check"] = "attention"
    elif outcome in {"rejected", "decline"}:
        kind = cycle.pick("rejected", ("document", "match"))
        if kind == "document":
            results["document_check"] = "rejected"
        else:
            results[screening] = "match_confirmed"
    return results


def complycube_world_build(
    *, seed: int, sessions: int, people: Sequence[Person], shared: int
) -> ComplyCubeWorld:
    """ComplyCube's part for `sessions` sessions; clients are taken from `people`
    from offset `clients - shared`, so the first `shared` are Onfido's last
    applicants (their externalId is always set).
    """
    rng, ids, slots = part_plan(seed, "complycube", sessions, CC_COVERAGE, CC_WEIGHTS)
    cycle = Cycle()
    clients_wanted = client_count(sessions)
    templates = []
    for name, description, capture, checks, policies in CC_TEMPLATES:
        templates.append(
            CCTemplate(
                id=ids.hex(24),
                name=name,
                description=description,
                workflow_id=ids.hex(24),
                version=rng.randint(1, 9),
                version_description=f"{name}, revised policy thresholds",
                capture_tasks=capture,
                check_types=checks,
                policies=tuple((ids.hex(24), policy) for policy in policies),
            )
        )

    offset = clients_wanted - shared

    def client_make(index: int, first_session: int) -> CCClient:
        person = people[offset + index]
        return CCClient(
            id=ids.hex(24),
            person=person,
            # Some clients were created without an externalId (never the
            # people shared with Onfido).
            external_id=None
            if index % 4 == 3 and index >= shared
            else person.reference,
            created=first_session - rng.randint(60, 3600),
        )

    client_by_index = clients_make(slots, client_make)
    clients = list(client_by_index.values())

    result = []
    for slot in slots:
        client = client_by_index[slot.client]
        template = rng.choice(templates)
        status_word, _, outcome_word = slot.final.partition(":")
        path = {
            "complete": ["started", "processing", "complete"],
            "started": ["started"],
            "processing": ["started", "processing"],
            "abandoned": ["started", "abandoned"],
            "cancelled": ["started", "cancelled"],
        }[status_word]
        timeline = timeline_walk(rng, slot, path)
        session_id = ids.hex(24)
        processing = timeline.reached("processing")
        complete = timeline.reached("complete")
        tasks = []
        captures = template.capture_tasks
        for position, task_type in enumerate(captures):
            if processing is not None:
                done = slot.created + (position + 1) * (processing - slot.created) // (
                    len(captures) + 1
                )
            else:
                done = slot.created + 10 if position == 0 else None
            tasks.append(CCTask(id=ids.hex(8, "task_"), type=task_type, done=done))
        checks = []
        results = _cc_check_results(cycle, outcome_word or None, template.check_types)
        for position, check_type in enumerate(
            template.check_types if processing is not None else ()
        ):
            created = processing + 1 + position
            steps: list[tuple[int, str]] = [(created, "pending")]
            served = results[check_type]
            if complete is not None:
                steps.append(
                    (
                        complete - (len(template.check_types) - position),
                        "failed" if served == "failed" else "complete",
                    )
                )
            task = CCTask(
                id=ids.hex(8, "task_"),
                type=check_type,
                done=steps[-1][0] if len(steps) > 1 else None,
            )
            tasks.append(task)
            check_outcome = None if served == "failed" else served
            checks.append(
                CCCheck(
                    id=ids.hex(24),
                    type=check_type,
                    session_id=session_id,
                    client=client,
                    task_id=task.id,
                    timeline=Timeline(tuple(steps)),
                    outcome=check_outcome,
                    breakdown=_cc_breakdown(check_type, check_outcome),
                    document_id=ids.hex(24)
                    if check_type in {"document_check", "proof_of_address_check"}
                    else None,
                    live_photo_id=ids.hex(24)
                    if check_type == "face_authentication_check"
                    else None,
                    enable_monitoring=check_type.endswith("screening_check")
                    and rng.random() < 0.5,
                )
            )
        result.append(
            CCSession(
                id=session_id,
                client=client,
                template=template,
                timeline=timeline,
                outcome=outcome_word or None,
                checks=tuple(checks),
                tasks=tuple(tasks),
            )
        )
    return ComplyCubeWorld(clients=clients, sessions=result)
