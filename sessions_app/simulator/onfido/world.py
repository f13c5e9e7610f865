"""Onfido's part of the world: applicants and their workflow runs with tasks.

Runs end in every status word of Onfido's row of Verity's normalisation table
(`ONFIDO_COVERAGE`, once `sessions` >= 15); report tasks (document, face,
watchlist: Verity's checks) cover every result and sub-result. `api.py` serves
these records in Onfido's wire format.
"""

from __future__ import annotations

import dataclasses
import random
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
    part_plan,
    random_hex,
    timeline_walk,
)


@dataclass(frozen=True, slots=True)
class OnfidoApplicant:
    id: str
    person: Person
    created: int
    # The customer_user_id its runs carry (None: runs omit it).
    reference: str | None


@dataclass(frozen=True, slots=True)
class OnfidoTask:
    id: str
    task_def_id: str
    task_def_version: str | None
    started: int
    completed: int | None
    input: dict[str, Any]
    output: dict[str, Any] | None  # served once completed
    report: bool  # a verification (document, face, watchlist): a Verity check


@dataclass(frozen=True, slots=True)
class OnfidoRun:
    id: str
    applicant: OnfidoApplicant
    workflow_id: str
    workflow_version_id: int
    timeline: Timeline
    tags: tuple[str, ...] | None
    link_token: str
    tasks: tuple[OnfidoTask, ...]
    reasons: tuple[str, ...]
    output: dict[str, Any]
    error: dict[str, str] | None


class OnfidoWorld(WorldPart[OnfidoApplicant, OnfidoRun]):
    """Onfido's part: its clients are applicants, its sessions workflow runs."""


# --- generation -----------------------------------------------------------------

ONFIDO_TAGS = (
    "onboarding",
    "vip",
    "retail",
    "business",
    "high-risk",
    "re-verification",
    "uk",
    "eu",
)

ONFIDO_COVERAGE = (
    "approved", "declined", "declined", "review", "review", "review", "abandoned",
    "error", "processing", "awaiting_input", "awaiting_client_input",
)  # fmt: skip
ONFIDO_WEIGHTS = {
    "approved": 40, "declined": 10, "review": 12, "abandoned": 8, "error": 4,
    "processing": 8, "awaiting_input": 6, "awaiting_client_input": 12,
}  # fmt: skip
ONFIDO_REPORT_TASKS = (
    "document_check",
    "facial_similarity_photo",
    "watchlist_standard",
)
ONFIDO_WORKFLOWS = (
    # (name, report task definitions)
    ("Standard KYC", ("document_check", "facial_similarity_photo")),
    (
        "Enhanced KYC",
        ("document_check", "facial_similarity_photo", "watchlist_standard"),
    ),
)


def _onfido_path(rng: random.Random, final: str) -> list[str]:
    if final == "awaiting_client_input":
        return ["awaiting_client_input"]
    if final == "abandoned":
        return ["awaiting_client_input", "abandoned"]
    prefix = ["awaiting_client_input"] if rng.random() < 0.6 else []
    if final == "processing":
        return [*prefix, "processing"]
    return [*prefix, "processing", final]


def _onfido_breakdown(
    task_def: str, result: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    flag = "clear" if result == "clear" else "consider"
    if task_def == "document_check":
        breakdown = {
            "data_validation": {"result": flag, "breakdown": {}},
            "visual_authenticity": {"result": flag, "breakdown": {}},
            "image_integrity": {"result": "clear", "breakdown": {}},
            "data_consistency": {"result": "clear", "breakdown": {}},
        }
        properties = {
            "document_type": "passport",
            "issuing_country": "GBR",
            "date_of_expiry": "2031-06-30",
        }
    elif task_def == "facial_similarity_photo":
        breakdown = {
            "face_comparison": {"result": flag, "breakdown": {}},
            "image_integrity": {"result": "clear", "breakdown": {}},
            "visual_authenticity": {"result": flag, "breakdown": {}},
        }
        properties = {"score": 0.93 if flag == "clear" else 0.41}
    else:
        breakdown = {
            "sanction": {"result": flag},
            "politically_exposed_person": {"result": "clear"},
            "legal_and_regulatory_warnings": {"result": "clear"},
        }
        properties = {
            "records": [] if flag == "clear" else [{"name": "Possible match"}]
        }
    return breakdown, properties


def _onfido_results(
    cycle: Cycle, final: str, reports: Sequence[str]
) -> dict[str, tuple[str, str | None]]:
    """(result, sub_result) per report task definition for a run ending in `final`."""
    results: dict[str, tuple[str, str | None]] = {
        name: ("clear", "clear" if name == "document_check" else None)
        for name in reports
    }
    if final == "declined":
        results["document_check"] = (
            "consider",
            cycle.pick("declined", ("rejected", "suspected")),
        )
    elif final == "review":
        task, result, sub = cycle.pick(
            "review",
            (
                ("facial_similarity_photo", "consider", None),
                ("document_check", "unidentified", "caution"),
                ("document_check", "consider", "caution"),
            ),
        )
        results[task] = (result, sub)
    elif final == "awaiting_input":
        task = (
            "watchlist_standard"
            if "watchlist_standard" in reports
            else "facial_similarity_photo"
        )
        results[task] = ("consider", None)
    return results


def onfido_world_build(
    *, seed: int, sessions: int, people: Sequence[Person], shared: int
) -> OnfidoWorld:
    """Onfido's part for `sessions` runs; applicants are `people[0:clients]`.

    The last `shared` applicants are the people ComplyCube knows too: their
    runs always carry their customer_user_id.
    """
    rng, ids, slots = part_plan(
        seed, "onfido", sessions, ONFIDO_COVERAGE, ONFIDO_WEIGHTS
    )
    cycle = Cycle()
    clients = client_count(sessions)
    workflows = [
        (ids.uuid(), rng.randint(1, 40), name, reports)
        for name, reports in ONFIDO_WORKFLOWS
    ]

    def applicant_make(index: int, first_run: int) -> OnfidoApplicant:
        person = people[index]
        # A few applicants' runs carry no customer_user_id (not all integrations
        # set it); the people shared with ComplyCube always do.
        is_shared = index >= clients - shared
        reference = None if index % 5 == 4 and not is_shared else person.reference
        return OnfidoApplicant(
            id=ids.uuid(),
            person=person,
            created=first_run - rng.randint(60, 3600),
            reference=reference,
        )

    applicant_by_index = clients_make(slots, applicant_make)
    applicants = list(applicant_by_index.values())

    runs = []
    for slot in slots:
        applicant = applicant_by_index[slot.client]
        workflow_id, version_id, _, reports = rng.choice(workflows)
        timeline = timeline_walk(rng, slot, _onfido_path(rng, slot.final))
        run_id = ids.uuid()
        final = timeline.final
        processing = timeline.reached("processing")
        tasks = [
            OnfidoTask(
                id=ids.hex(5, "profile_"),
                task_def_id="profile_data",
                task_def_version=None,
                started=slot.created,
                completed=processing if processing is not None else None,
                input={},
                output={
                    "first_name": applicant.person.first_name,
                    "last_name": applicant.person.last_name,
                    "dob": applicant.person.dob,
                },
                report=False,
            )
        ]
        if processing is not None and processing == slot.created:
            # No link step: the profile was captured just before processing began.
            tasks[0] = dataclasses.replace(tasks[0], completed=processing + 1)
        results = _onfido_results(cycle, final, reports)
        ended = timeline.after(processing) if processing is not None else None
        for position, task_def in enumerate(reports if processing is not None else ()):
            started = processing + 2 + 2 * position
            completed = None
            if ended is not None:
                completed = ended - (len(reports) - position)
                if final == "error" and position == len(reports) - 1:
                    completed = None  # the task that broke the run
            result, sub_result = results[task_def]
            breakdown, properties = _onfido_breakdown(task_def, result)
            tasks.append(
                OnfidoTask(
                    id=ids.make(lambda r, d=task_def: f"{d}_{r.randint(10000, 99999)}"),
                    task_def_id=task_def,
                    task_def_version=str(rng.randint(1, 4)),
                    started=started,
                    completed=completed,
                    input={"applicant_id": applicant.id},
                    output={
                        "status": "complete",
                        "result": result,
                        "sub_result": sub_result,
                        "uuid": ids.uuid(),
                        "breakdown": breakdown,
                        "properties": properties,
                    },
                    report=True,
                )
            )
        reasons: tuple[str, ...] = ()
        if final == "declined":
            reasons = ("document_rejected",)
        elif final in {"review", "awaiting_input"}:
            reasons = ("manual_review_required",)
        tag_roll = rng.random()
        tags: tuple[str, ...] | None
        if tag_roll < 0.15:
            tags = None
        elif tag_roll < 0.3:
            tags = ()
        else:
            tags = tuple(sorted(rng.sample(ONFIDO_TAGS, rng.randint(1, 3))))
        error = None
        if final == "error":
            error = {
                "type": "task_error",
                "message": f"Task {tasks[-1].id} failed: the document service timed out.",
            }
        runs.append(
            OnfidoRun(
                id=run_id,
                applicant=applicant,
                workflow_id=workflow_id,
                workflow_version_id=version_id,
                timeline=timeline,
                tags=tags,
                link_token=random_hex(rng, 12),
                tasks=tuple(tasks),
                reasons=reasons,
                output={"decision": final, "risk_score": round(rng.random(), 2)}
                if final in {"approved", "declined", "review"}
                else {},
                error=error,
            )
        )
    return OnfidoWorld(clients=applicants, sessions=runs)
