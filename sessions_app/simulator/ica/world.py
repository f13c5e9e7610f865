"""ICA's part of the world: the tenant, projects (the clients), workflow sessions
and their orchestrated analyses (the checks).

Sessions end in every V4 status word of ICA's row of Verity's normalisation
table (`ICA_COVERAGE`, once `sessions` >= 15). The V4 search endpoints the
simulator serves answer V4 spellings only (`IN_PROGRESS`, never V3's
`INPROGRESS`: the spec's V4 status pattern has none); V3 spellings belong to
ICA's deprecated V3 endpoints. `api.py` serves these records in ICA's wire format.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from ..generation import (
    HISTORY_MAX_AGE,
    Ids,
    Timeline,
    WorldPart,
    clients_make,
    part_draws,
    random_hex,
    slots_plan,
    timeline_walk,
)

ICA_TENANT_NAME = "verity-sim"


@dataclass(frozen=True, slots=True)
class IcaProject:
    id: str
    name: str
    created: int
    short_description: str
    user_tags: tuple[str, ...]
    technical_tags: tuple[str, ...]
    owner_id: str


@dataclass(frozen=True, slots=True)
class IcaPipeline:
    id: str
    code: str
    description: str
    created: int


@dataclass(frozen=True, slots=True)
class IcaWorkflow:
    id: str
    code: str
    description: str
    language_version_id: str
    language_version_name: str
    storage_id: str
    storage_name: str
    pipelines: tuple[IcaPipeline, ...]


@dataclass(frozen=True, slots=True)
class IcaAnalysis:
    id: str
    reference: str
    user_reference: str
    pipeline: IcaPipeline
    timeline: Timeline
    owner_id: str


@dataclass(frozen=True, slots=True)
class IcaSession:
    id: str
    project: IcaProject
    user_reference: str
    workflow: IcaWorkflow
    timeline: Timeline  # V4 words, as served
    technical_tags: tuple[str | None, ...] | None
    user_tags: tuple[str | None, ...] | None
    owner_id: str
    analyses: tuple[IcaAnalysis, ...]
    summary: str | None  # served once final
    application: bool


class IcaWorld(WorldPart[IcaProject, IcaSession]):
    """ICA's part: its tenant, projects (its clients, oldest first, also
    `projects`) and workflow sessions."""

    def __init__(
        self,
        *,
        tenant_id: str,
        region_id: str,
        projects: Sequence[IcaProject],
        sessions: Sequence[IcaSession],
    ) -> None:
        super().__init__(
            clients=sorted(projects, key=lambda p: (p.created, p.id)),
            sessions=sessions,
        )
        self.projects = self.clients
        self.tenant_id = tenant_id
        self.tenant_name = ICA_TENANT_NAME
        self.region_id = region_id


# --- generation -----------------------------------------------------------------

ICA_USER_TAGS = (
    "oncology",
    "rare-disease",
    "newborn",
    "research",
    "clinical",
    "priority-high",
)
ICA_PROJECT_NAMES = (
    "Oncology-Panel", "Rare-Disease-Trio", "Newborn-Screening", "Population-Genomics",
    "Pathogen-Surveillance", "Pharmacogenomics", "Cardio-Panel", "Tumour-Normal",
)  # fmt: skip

ICA_V4_PATH = (
    "REQUESTED", "QUEUED", "INITIALIZING", "PREPARING_INPUTS", "IN_PROGRESS",
    "GENERATING_OUTPUTS", "SUCCEEDED",
)  # fmt: skip
# V3 spelling of the V4 words that have one (ICA's deprecated V3 endpoints).
ICA_V3_SPELLING = {
    "IN_PROGRESS": "INPROGRESS",
    "AWAITING_INPUT": "AWAITINGINPUT",
    "FAILED_FINAL": "FAILEDFINAL",
}
ICA_TERMINAL = frozenset({"SUCCEEDED", "FAILED", "FAILED_FINAL", "ABORTED"})
ICA_COVERAGE = (
    "REQUESTED", "QUEUED", "INITIALIZING", "PREPARING_INPUTS", "IN_PROGRESS",
    "GENERATING_OUTPUTS", "ABORTING", "AWAITING_INPUT", "SUCCEEDED", "FAILED",
    "FAILED_FINAL", "ABORTED",
)  # fmt: skip
ICA_WEIGHTS = {
    "SUCCEEDED": 45, "FAILED": 8, "FAILED_FINAL": 8, "ABORTED": 5, "IN_PROGRESS": 11,
    "GENERATING_OUTPUTS": 4, "AWAITING_INPUT": 7, "REQUESTED": 3, "QUEUED": 3,
    "INITIALIZING": 2, "PREPARING_INPUTS": 2, "ABORTING": 2,
}  # fmt: skip
ICA_WORKFLOWS = (
    (
        "bclconvert-dragen-germline",
        "BCL Convert then DRAGEN germline calling",
        ("BclConvert_v4_2_7", "DRAGEN_Germline_4_2_4"),
    ),
    (
        "bclconvert-dragen-somatic",
        "BCL Convert then DRAGEN tumour-normal somatic calling",
        ("BclConvert_v4_2_7", "DRAGEN_Somatic_4_2_4", "TSO500_ctDNA_2_5"),
    ),
)


def _ica_path(final: str) -> list[str]:
    word = final
    upto_running = list(ICA_V4_PATH[: ICA_V4_PATH.index("IN_PROGRESS") + 1])
    if word in ICA_V4_PATH:
        return list(ICA_V4_PATH[: ICA_V4_PATH.index(word) + 1])
    if word in {"FAILED", "FAILED_FINAL"}:
        return [*upto_running, word]
    if word == "ABORTING":
        return [*upto_running, "ABORTING"]
    if word == "ABORTED":
        return [*upto_running, "ABORTING", "ABORTED"]
    if word == "AWAITING_INPUT":
        return [
            *ICA_V4_PATH[: ICA_V4_PATH.index("PREPARING_INPUTS") + 1],
            "AWAITING_INPUT",
        ]
    raise ValueError(f"no ICA path to {final}")


def _ica_analyses(
    rng: random.Random,
    ids: Ids,
    timeline: Timeline,
    workflow: IcaWorkflow,
    user_reference: str,
    owner_id: str,
) -> tuple[IcaAnalysis, ...]:
    running = timeline.reached("IN_PROGRESS")
    if running is None:
        return ()
    following = timeline.after(running)
    next_word = timeline.at(following)[0] if following is not None else None
    count = len(workflow.pipelines)
    analyses = []
    for position, pipeline in enumerate(workflow.pipelines):
        steps = [
            (running + position, "REQUESTED"),
            (running + position + 3, "IN_PROGRESS"),
        ]
        last = position == count - 1
        if next_word == "GENERATING_OUTPUTS":
            steps.append((following - 1, "SUCCEEDED"))
        elif next_word in {"FAILED", "FAILED_FINAL"}:
            steps.append(
                (following, next_word) if last else (following - 2, "SUCCEEDED")
            )
        elif next_word == "ABORTING":
            steps.append((following, "ABORTING"))
            aborted = timeline.reached("ABORTED")
            if aborted is not None:
                steps.append((aborted, "ABORTED"))
        code = pipeline.code.lower().replace("_", "-")
        analyses.append(
            IcaAnalysis(
                id=ids.uuid(),
                reference=f"{user_reference}-{code}-{random_hex(rng, 8)}",
                user_reference=f"{user_reference}_{code}",
                pipeline=pipeline,
                timeline=Timeline(tuple(steps)),
                owner_id=owner_id,
            )
        )
    return tuple(analyses)


def _ica_summary(final: str, analyses: Sequence[IcaAnalysis]) -> str | None:
    word = final
    if word == "SUCCEEDED":
        return f"All {len(analyses)} orchestrated analyses succeeded."
    if word in {"FAILED", "FAILED_FINAL"}:
        return f"Analysis {analyses[-1].user_reference} failed: exit code 1 in step 'dragen'."
    if word == "ABORTED":
        return "Aborted by user."
    return ""


def ica_world_build(*, seed: int, sessions: int) -> IcaWorld:
    """ICA's part for `sessions` sessions (ICA knows none of the people)."""
    rng, ids = part_draws(seed, "ica")
    tenant_id = ids.uuid()
    region_id = ids.uuid()
    owners = [ids.uuid() for _ in range(3)]
    project_count = max(1, sessions // 6)
    slots = slots_plan(
        rng,
        count=sessions,
        clients=project_count,
        coverage=ICA_COVERAGE,
        weights=ICA_WEIGHTS,
    )

    def project_make(index: int, first_session: int) -> IcaProject:
        base = ICA_PROJECT_NAMES[index % len(ICA_PROJECT_NAMES)]
        return IcaProject(
            id=ids.uuid(),
            name=f"{base}-{index // len(ICA_PROJECT_NAMES) + 1:02d}",
            created=first_session - rng.randint(86400, 40 * 86400),
            short_description=f"{base.replace('-', ' ')} sequencing project",
            user_tags=tuple(sorted(rng.sample(ICA_USER_TAGS, 1))),
            technical_tags=("verity-sim",),
            owner_id=rng.choice(owners),
        )

    project_by_index = clients_make(slots, project_make)
    projects = list(project_by_index.values())
    workflows = []
    for code, description, pipelines in ICA_WORKFLOWS:
        workflows.append(
            IcaWorkflow(
                id=ids.uuid(),
                code=code,
                description=description,
                language_version_id=ids.uuid(),
                language_version_name="22.10.0",
                storage_id=ids.uuid(),
                storage_name="Medium",
                pipelines=tuple(
                    IcaPipeline(
                        id=ids.uuid(),
                        code=p,
                        description=p.replace("_", " "),
                        created=-HISTORY_MAX_AGE - 86400 * 90,
                    )
                    for p in pipelines
                ),
            )
        )

    result = []
    for slot in slots:
        project = project_by_index[slot.client]
        workflow = rng.choice(workflows)
        timeline = timeline_walk(rng, slot, _ica_path(slot.final))
        run = (
            f"{rng.randint(23, 26)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            f"_A0{rng.randint(1000, 1999)}_{rng.randint(1, 999):04d}_AH{random_hex(rng, 7).upper()}"
        )
        user_reference = f"ws_{run}_{rng.randint(1, 3)}"
        owner_id = rng.choice(owners)
        roll = rng.random()
        technical: tuple[str | None, ...] | None = (
            f"/ilmn-runs/{run}",
            run,
            ids.uuid(),
        )
        user: tuple[str | None, ...] | None = tuple(
            sorted(rng.sample(ICA_USER_TAGS, rng.randint(0, 2)))
        )
        if roll < 0.1:
            technical = None
        elif roll < 0.2:
            user = None
        elif roll < 0.3:
            user = (*(user or ()), None)
        analyses = _ica_analyses(rng, ids, timeline, workflow, user_reference, owner_id)
        summary = _ica_summary(slot.final, analyses)
        if summary == "" and rng.random() < 0.3:
            summary = None
        result.append(
            IcaSession(
                id=ids.uuid(),
                project=project,
                user_reference=user_reference,
                workflow=workflow,
                timeline=timeline,
                technical_tags=technical,
                user_tags=user,
                owner_id=owner_id,
                analyses=analyses,
                summary=summary,
                application=rng.random() < 0.5,
            )
        )
    return IcaWorld(
        tenant_id=tenant_id, region_id=region_id, projects=projects, sessions=result
    )
