"""The simulated world: every client, session and check of the three providers.

`build_world(seed=..., sessions=..., start=...)` is a pure function: the same
seed and session count give the same ids, names, outcomes and timelines (the
`start` datetime only anchors timestamps). Nothing here renders JSON; the
provider modules turn these records into each provider's wire format at a
given simulated second.

Time is whole simulated seconds since the simulator started (`t = 0`). Every
session has a `Timeline` of status words; its status at `t` is the last step
that began at or before `t`, and it is invisible before its first step. Most
sessions are historical (created 6 h to 30 days before start, already in their
final state), about 15 % are in flight at start (they move within minutes at
speed 1) and about 10 % are created after start.

Final states cover every status word of DESIGN.md's normalisation table for
each provider (guaranteed once `sessions` >= 15), and check results cover
every outcome.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import random
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

HISTORY_MIN_AGE = 6 * 3600
HISTORY_MAX_AGE = 30 * 86400


@dataclass(frozen=True, slots=True)
class Timeline:
    """Status words over simulated time: ((second, word), ...) in ascending order."""

    steps: tuple[tuple[int, str], ...]

    @property
    def created(self) -> int:
        return self.steps[0][0]

    @property
    def final(self) -> str:
        return self.steps[-1][1]

    def at(self, t: float) -> tuple[str, int] | None:
        """The (word, since) current at `t`, or None before the first step."""
        current = None
        for when, word in self.steps:
            if when > t:
                break
            current = (word, when)
        return current

    def reached(self, word: str) -> int | None:
        """When `word` began (whether or not that time has come), or None."""
        for when, step_word in self.steps:
            if step_word == word:
                return when
        return None

    def after(self, when: int) -> int | None:
        """When the step following the one that began at `when` begins."""
        for step_when, _ in self.steps:
            if step_when > when:
                return step_when
        return None


@dataclass(frozen=True, slots=True)
class Person:
    first_name: str
    last_name: str
    dob: str
    email: str
    country3: str
    country2: str
    town: str
    postcode: str
    street: str
    phone: str
    reference: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


# --- Onfido -------------------------------------------------------------------


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


# --- ComplyCube ---------------------------------------------------------------


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


# --- ICA ----------------------------------------------------------------------


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
    timeline: Timeline  # V4 words; `v3` sessions are served with V3 spellings
    technical_tags: tuple[str | None, ...] | None
    user_tags: tuple[str | None, ...] | None
    v3: bool
    owner_id: str
    analyses: tuple[IcaAnalysis, ...]
    summary: str | None  # served once final
    application: bool


# --- the world ----------------------------------------------------------------


class World:
    """Everything the simulator serves, indexed by id. Immutable after build."""

    def __init__(
        self,
        *,
        seed: int,
        sessions: int,
        start: dt.datetime,
        onfido_applicants: Sequence[OnfidoApplicant],
        onfido_runs: Sequence[OnfidoRun],
        cc_clients: Sequence[CCClient],
        cc_sessions: Sequence[CCSession],
        ica_projects: Sequence[IcaProject],
        ica_sessions: Sequence[IcaSession],
        ica_tenant_id: str,
        ica_region_id: str,
    ) -> None:
        self.seed = seed
        self.sessions_per_provider = sessions
        self.start = start
        self.onfido_applicants = tuple(onfido_applicants)
        self.onfido_runs = tuple(
            sorted(onfido_runs, key=lambda r: (r.timeline.created, r.id))
        )
        self.cc_clients = tuple(cc_clients)
        self.cc_sessions = tuple(
            sorted(cc_sessions, key=lambda s: (s.timeline.created, s.id))
        )
        self.ica_projects = tuple(sorted(ica_projects, key=lambda p: (p.created, p.id)))
        self.ica_sessions = tuple(
            sorted(ica_sessions, key=lambda s: (s.timeline.created, s.id))
        )
        self.ica_tenant_id = ica_tenant_id
        self.ica_tenant_name = "verity-sim"
        self.ica_region_id = ica_region_id

        self.onfido_run_by_id = {run.id: run for run in self.onfido_runs}
        self.onfido_applicant_by_id = {app.id: app for app in self.onfido_applicants}
        self.cc_session_by_id = {session.id: session for session in self.cc_sessions}
        self.cc_client_by_id = {client.id: client for client in self.cc_clients}
        self.cc_check_by_id = {
            check.id: check for session in self.cc_sessions for check in session.checks
        }
        self.ica_project_by_id = {project.id: project for project in self.ica_projects}
        self.ica_session_by_id = {session.id: session for session in self.ica_sessions}

    def timestamp(self, second: float) -> dt.datetime:
        return self.start + dt.timedelta(seconds=second)


# --- generation helpers -------------------------------------------------------

FIRST_NAMES = (
    "Amelia", "Oliver", "Zoë", "José", "Łukasz", "Aiko", "Chiara", "Mateo", "Freya",
    "Noah", "Ingrid", "Søren", "Priya", "Kwame", "Lucía", "Hannah", "Mehmet", "Anaïs",
    "Tomasz", "Yara", "Emeka", "Sofia", "Felix", "Nadia", "Ravi", "Elif",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Müller", "García", "Nowak", "Rossi", "Dubois", "Kowalski", "Okafor",
    "Tanaka", "Jensen", "Silva", "O'Neill", "Nguyen", "Haddad", "Johansson",
    "Fernández", "Byrne", "Schmidt", "Mensah", "Petrov", "Öztürk", "Andersen",
)  # fmt: skip
# (ISO alpha-3, alpha-2, town, postcode, street)
PLACES = (
    ("GBR", "GB", "London", "SW1A 1AA", "Whitehall"),
    ("FRA", "FR", "Paris", "75001", "Rue de Rivoli"),
    ("DEU", "DE", "Berlin", "10115", "Invalidenstraße"),
    ("ESP", "ES", "Madrid", "28013", "Calle Mayor"),
    ("POL", "PL", "Warszawa", "00-001", "Nowy Świat"),
    ("ITA", "IT", "Roma", "00184", "Via Nazionale"),
    ("IRL", "IE", "Dublin", "D02 X285", "Grafton Street"),
    ("NLD", "NL", "Amsterdam", "1012 AB", "Damrak"),
)
# ComplyCube-only clients at these pool offsets get names that exercise escaping
# (CSV formula injection, HTML). Onfido's spec forbids these characters in names.
HOSTILE_NAMES = (
    ('=HYPERLINK("https://example.invalid","open")', "Eve"),
    ("<b>Bobby</b>", "Tables'); --"),
)

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


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(4 * digits):0{digits}x}"


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum()).lower()


class _Ids:
    """Unique ids within one world (random ids could, rarely, collide)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def make(self, factory) -> str:
        while True:
            value = factory(self.rng)
            if value not in self.seen:
                self.seen.add(value)
                return value

    def uuid(self) -> str:
        return self.make(_uuid)

    def hex(self, digits: int, prefix: str = "") -> str:
        return self.make(lambda rng: f"{prefix}{_hex(rng, digits)}")


def _people(seed: int, count: int) -> list[Person]:
    rng = random.Random(f"verity-sim:{seed}:people")
    references: set[str] = set()
    people = []
    for index in range(count):
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        country3, country2, town, postcode, street = rng.choice(PLACES)
        born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 55))
        while True:
            reference = f"cust-{_hex(rng, 8)}"
            if reference not in references:
                references.add(reference)
                break
        people.append(
            Person(
                first_name=first,
                last_name=last,
                dob=born.isoformat(),
                email=f"{_ascii(first)}.{_ascii(last)}.{index}@example.com",
                country3=country3,
                country2=country2,
                town=town,
                postcode=postcode,
                street=f"{rng.randint(1, 220)} {street}",
                phone=f"+44 20 7946 {rng.randint(0, 9999):04d}",
                reference=reference,
            )
        )
    return people


@dataclass(frozen=True, slots=True)
class _Slot:
    phase: str  # historical | active | future
    created: int
    final: str
    client: int


def _slots(
    rng: random.Random,
    *,
    count: int,
    clients: int,
    coverage: Sequence[str],
    weights: dict[str, int],
) -> list[_Slot]:
    """Decide, for `count` sessions, when each is created, where it ends, whose it is.

    The first historical sessions take the `coverage` finals (so every status is
    on show from the start) and one client each (so every client has a session
    from the start); the rest draw from `weights`.
    """
    active = round(count * 0.15)
    future = round(count * 0.10)
    # Enough historical sessions for the coverage finals whenever count allows.
    historical = max(1, min(count, len(coverage)), count - active - future)
    active = min(active, count - historical)
    future = count - historical - active
    clients = max(1, min(clients, historical))
    words = list(weights)
    slots = []
    for index in range(count):
        if index < historical:
            phase = "historical"
            created = -rng.randint(HISTORY_MIN_AGE, HISTORY_MAX_AGE)
        elif index < historical + active:
            phase = "active"
            created = -rng.randint(60, 600)
        else:
            phase = "future"
            created = rng.randint(30, 900)
        if phase == "historical" and index < len(coverage):
            final = coverage[index]
        else:
            final = rng.choices(words, weights=[weights[w] for w in words])[0]
        client = (
            index
            if phase == "historical" and index < clients
            else rng.randrange(clients)
        )
        slots.append(_Slot(phase=phase, created=created, final=final, client=client))
    return slots


def _timeline(rng: random.Random, slot: _Slot, words: Sequence[str]) -> Timeline:
    low, high = (120, 2400) if slot.phase == "historical" else (30, 240)
    steps = []
    when = slot.created
    for word in words:
        steps.append((when, word))
        when += rng.randint(low, high)
    return Timeline(tuple(steps))


def _client_count(sessions: int) -> int:
    return max(1, sessions // 3)


# --- Onfido -------------------------------------------------------------------

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
        properties = {"document_type": "passport", "issuing_country": "GBR"}
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


class _Cycle:
    """Deterministic round-robin over variants, so every outcome shows up."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}

    def pick(self, key: str, variants: Sequence[Any]) -> Any:
        index = self.counters.get(key, 0)
        self.counters[key] = index + 1
        return variants[index % len(variants)]


def _onfido_results(
    cycle: _Cycle, final: str, reports: Sequence[str]
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


def _build_onfido(
    seed: int, sessions: int, people: Sequence[Person], shared: int
) -> tuple[list[OnfidoApplicant], list[OnfidoRun]]:
    rng = random.Random(f"verity-sim:{seed}:onfido")
    ids = _Ids(rng)
    cycle = _Cycle()
    clients = _client_count(sessions)
    slots = _slots(
        rng,
        count=sessions,
        clients=clients,
        coverage=ONFIDO_COVERAGE,
        weights=ONFIDO_WEIGHTS,
    )
    workflows = [
        (ids.uuid(), rng.randint(1, 40), name, reports)
        for name, reports in ONFIDO_WORKFLOWS
    ]

    first_created: dict[int, int] = {}
    for slot in slots:
        first_created[slot.client] = min(
            first_created.get(slot.client, slot.created), slot.created
        )
    applicants = []
    for index in sorted(first_created):
        person = people[index]
        # A few applicants' runs carry no customer_user_id (not all integrations
        # set it); the people shared with ComplyCube always do.
        is_shared = index >= clients - shared
        reference = None if index % 5 == 4 and not is_shared else person.reference
        applicants.append(
            OnfidoApplicant(
                id=ids.uuid(),
                person=person,
                created=first_created[index] - rng.randint(60, 3600),
                reference=reference,
            )
        )
    applicant_by_index = dict(zip(sorted(first_created), applicants, strict=True))

    runs = []
    for slot in slots:
        applicant = applicant_by_index[slot.client]
        workflow_id, version_id, _, reports = rng.choice(workflows)
        timeline = _timeline(rng, slot, _onfido_path(rng, slot.final))
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
                link_token=_hex(rng, 12),
                tasks=tuple(tasks),
                reasons=reasons,
                output={"decision": final, "risk_score": round(rng.random(), 2)}
                if final in {"approved", "declined", "review"}
                else {},
                error=error,
            )
        )
    return applicants, runs


# --- ComplyCube ---------------------------------------------------------------

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
    cycle: _Cycle, outcome: str | None, check_types: Sequence[str]
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


def _build_complycube(
    seed: int, sessions: int, people: Sequence[Person], shared: int
) -> tuple[list[CCClient], list[CCSession]]:
    rng = random.Random(f"verity-sim:{seed}:complycube")
    ids = _Ids(rng)
    cycle = _Cycle()
    clients_wanted = _client_count(sessions)
    slots = _slots(
        rng,
        count=sessions,
        clients=clients_wanted,
        coverage=CC_COVERAGE,
        weights=CC_WEIGHTS,
    )
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

    first_created: dict[int, int] = {}
    for slot in slots:
        first_created[slot.client] = min(
            first_created.get(slot.client, slot.created), slot.created
        )
    clients = []
    offset = clients_wanted - shared
    for index in sorted(first_created):
        person = people[offset + index]
        clients.append(
            CCClient(
                id=ids.hex(24),
                person=person,
                # Some clients were created without an externalId (never the
                # people shared with Onfido).
                external_id=None
                if index % 4 == 3 and index >= shared
                else person.reference,
                created=first_created[index] - rng.randint(60, 3600),
            )
        )
    client_by_index = dict(zip(sorted(first_created), clients, strict=True))

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
        timeline = _timeline(rng, slot, path)
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
    return clients, result


# --- ICA ----------------------------------------------------------------------

ICA_V4_PATH = (
    "REQUESTED", "QUEUED", "INITIALIZING", "PREPARING_INPUTS", "IN_PROGRESS",
    "GENERATING_OUTPUTS", "SUCCEEDED",
)  # fmt: skip
# V3 spelling of the V4 words that have one. Real ICA still serves these.
ICA_V3_SPELLING = {
    "IN_PROGRESS": "INPROGRESS",
    "AWAITING_INPUT": "AWAITINGINPUT",
    "FAILED_FINAL": "FAILEDFINAL",
}
ICA_V4_SPELLING = {v3: v4 for v4, v3 in ICA_V3_SPELLING.items()}
ICA_TERMINAL = frozenset({"SUCCEEDED", "FAILED", "FAILED_FINAL", "ABORTED"})
ICA_COVERAGE = (
    "REQUESTED", "QUEUED", "INITIALIZING", "PREPARING_INPUTS", "INPROGRESS", "IN_PROGRESS",
    "GENERATING_OUTPUTS", "ABORTING", "AWAITINGINPUT", "AWAITING_INPUT", "SUCCEEDED",
    "FAILED", "FAILEDFINAL", "FAILED_FINAL", "ABORTED",
)  # fmt: skip
ICA_WEIGHTS = {
    "SUCCEEDED": 45, "FAILED": 8, "FAILED_FINAL": 5, "FAILEDFINAL": 3, "ABORTED": 5,
    "IN_PROGRESS": 8, "INPROGRESS": 3, "GENERATING_OUTPUTS": 4, "AWAITING_INPUT": 5,
    "AWAITINGINPUT": 2, "REQUESTED": 3, "QUEUED": 3, "INITIALIZING": 2,
    "PREPARING_INPUTS": 2, "ABORTING": 2,
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
    word = ICA_V4_SPELLING.get(final, final)
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
    ids: _Ids,
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
                reference=f"{user_reference}-{code}-{_hex(rng, 8)}",
                user_reference=f"{user_reference}_{code}",
                pipeline=pipeline,
                timeline=Timeline(tuple(steps)),
                owner_id=owner_id,
            )
        )
    return tuple(analyses)


def _ica_summary(final: str, analyses: Sequence[IcaAnalysis]) -> str | None:
    word = ICA_V4_SPELLING.get(final, final)
    if word == "SUCCEEDED":
        return f"All {len(analyses)} orchestrated analyses succeeded."
    if word in {"FAILED", "FAILED_FINAL"}:
        return f"Analysis {analyses[-1].user_reference} failed: exit code 1 in step 'dragen'."
    if word == "ABORTED":
        return "Aborted by user."
    return ""


def _build_ica(
    seed: int, sessions: int
) -> tuple[str, str, list[IcaProject], list[IcaSession]]:
    rng = random.Random(f"verity-sim:{seed}:ica")
    ids = _Ids(rng)
    tenant_id = ids.uuid()
    region_id = ids.uuid()
    owners = [ids.uuid() for _ in range(3)]
    project_count = max(1, sessions // 6)
    slots = _slots(
        rng,
        count=sessions,
        clients=project_count,
        coverage=ICA_COVERAGE,
        weights=ICA_WEIGHTS,
    )
    first_created: dict[int, int] = {}
    for slot in slots:
        first_created[slot.client] = min(
            first_created.get(slot.client, slot.created), slot.created
        )
    projects = []
    for index in sorted(first_created):
        base = ICA_PROJECT_NAMES[index % len(ICA_PROJECT_NAMES)]
        projects.append(
            IcaProject(
                id=ids.uuid(),
                name=f"{base}-{index // len(ICA_PROJECT_NAMES) + 1:02d}",
                created=first_created[index] - rng.randint(86400, 40 * 86400),
                short_description=f"{base.replace('-', ' ')} sequencing project",
                user_tags=tuple(sorted(rng.sample(ICA_USER_TAGS, 1))),
                technical_tags=("verity-sim",),
                owner_id=rng.choice(owners),
            )
        )
    project_by_index = dict(zip(sorted(first_created), projects, strict=True))
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
        timeline = _timeline(rng, slot, _ica_path(slot.final))
        run = (
            f"{rng.randint(23, 26)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            f"_A0{rng.randint(1000, 1999)}_{rng.randint(1, 999):04d}_AH{_hex(rng, 7).upper()}"
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
        # Sessions ending in a V3 spelling speak V3 throughout, and a few others
        # too; never those ending in a V4 word that has a V3 twin (coverage).
        v3 = slot.final in ICA_V4_SPELLING or (
            slot.final not in ICA_V3_SPELLING and rng.random() < 0.1
        )
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
                v3=v3,
                owner_id=owner_id,
                analyses=analyses,
                summary=summary,
                application=rng.random() < 0.5,
            )
        )
    return tenant_id, region_id, projects, result


@functools.lru_cache(maxsize=16)
def build_world(*, seed: int, sessions: int, start: dt.datetime) -> World:
    """Generate the whole world for `sessions` sessions per provider.

    Pure and immutable, hence cached: simulators with the same arguments share one.
    """
    if sessions < 1:
        raise ValueError("sessions must be >= 1")
    clients = _client_count(sessions)
    # Onfido applicants take people[0:clients]; ComplyCube clients take
    # people[clients - shared : 2 * clients - shared]: the overlap are the same
    # people, with Onfido customer_user_id == ComplyCube externalId.
    shared = clients // 3
    people = _people(seed, 2 * clients - shared)
    cc_only = range(clients, 2 * clients - shared)
    for position, (first, last) in zip(cc_only, HOSTILE_NAMES, strict=False):
        people[position] = dataclasses.replace(
            people[position], first_name=first, last_name=last
        )
    onfido_applicants, onfido_runs = _build_onfido(seed, sessions, people, shared)
    cc_clients, cc_sessions = _build_complycube(seed, sessions, people, shared)
    tenant_id, region_id, ica_projects, ica_sessions = _build_ica(seed, sessions)
    return World(
        seed=seed,
        sessions=sessions,
        start=start,
        onfido_applicants=onfido_applicants,
        onfido_runs=onfido_runs,
        cc_clients=cc_clients,
        cc_sessions=cc_sessions,
        ica_projects=ica_projects,
        ica_sessions=ica_sessions,
        ica_tenant_id=tenant_id,
        ica_region_id=region_id,
    )
