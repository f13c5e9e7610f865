"""Seeded generation shared by every provider's part of the world.

Time is whole simulated seconds since the simulator started (`t = 0`). Every
session has a `Timeline` of status words; its status at `t` is the last step
that began at or before `t`, and it is invisible before its first step: that
is all the clock-driven progression there is, and every provider's API reads
its records through it. `slots_plan` decides, for one provider, when each
session is created (about 75 % historical, created 6 h to 30 days before start
and already final; about 15 % in flight at start, moving within minutes at
speed 1; about 10 % created after start), which final status it reaches and
which client it belongs to. `people_generate` is the pool of people the
providers' clients are drawn from.

Every random draw comes from a `random.Random` seeded by a string naming the
seed and the part ("verity-sim:<seed>:onfido", ...), so each provider's part
is reproducible on its own and the order of draws inside a part is the
contract: reordering them changes the world a seed gives.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Sequence
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


# --- generation ---------------------------------------------------------------

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


def random_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def random_hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(4 * digits):0{digits}x}"


def ascii_word(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum()).lower()


class Ids:
    """Unique ids within one world (random ids could, rarely, collide)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def make(self, factory: Callable[[random.Random], str]) -> str:
        while True:
            value = factory(self.rng)
            if value not in self.seen:
                self.seen.add(value)
                return value

    def uuid(self) -> str:
        return self.make(random_uuid)

    def hex(self, digits: int, prefix: str = "") -> str:
        return self.make(lambda rng: f"{prefix}{random_hex(rng, digits)}")


def people_generate(seed: int, count: int) -> list[Person]:
    rng = random.Random(f"verity-sim:{seed}:people")
    references: set[str] = set()
    people = []
    for index in range(count):
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        country3, country2, town, postcode, street = rng.choice(PLACES)
        born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 55))
        while True:
            reference = f"cust-{random_hex(rng, 8)}"
            if reference not in references:
                references.add(reference)
                break
        people.append(
            Person(
                first_name=first,
                last_name=last,
                dob=born.isoformat(),
                email=f"{ascii_word(first)}.{ascii_word(last)}.{index}@example.com",
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
class Slot:
    phase: str  # historical | active | future
    created: int
    final: str
    client: int


def slots_plan(
    rng: random.Random,
    *,
    count: int,
    clients: int,
    coverage: Sequence[str],
    weights: dict[str, int],
) -> list[Slot]:
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
        slots.append(Slot(phase=phase, created=created, final=final, client=client))
    return slots


def timeline_walk(rng: random.Random, slot: Slot, words: Sequence[str]) -> Timeline:
    low, high = (120, 2400) if slot.phase == "historical" else (30, 240)
    steps = []
    when = slot.created
    for word in words:
        steps.append((when, word))
        when += rng.randint(low, high)
    return Timeline(tuple(steps))


def client_count(sessions: int) -> int:
    return max(1, sessions // 3)


def clients_make[Client](
    slots: Iterable[Slot], make: Callable[[int, int], Client]
) -> dict[int, Client]:
    """{client index: client} for every client the `slots` use.

    `make(index, first)` builds one, `first` being when its first session is
    created; clients are made in index order (their draws come in that order).
    """
    first: dict[int, int] = {}
    for slot in slots:
        first[slot.client] = min(first.get(slot.client, slot.created), slot.created)
    return {index: make(index, first[index]) for index in sorted(first)}


def part_draws(seed: int, part: str) -> tuple[random.Random, Ids]:
    """The seeded generator of one part of the world ("onfido", ...) and its ids."""
    rng = random.Random(f"verity-sim:{seed}:{part}")
    return rng, Ids(rng)


def part_plan(
    seed: int,
    part: str,
    sessions: int,
    coverage: Sequence[str],
    weights: dict[str, int],
) -> tuple[random.Random, Ids, list[Slot]]:
    """`part_draws`, then the part's session slots (`client_count` clients) drawn first."""
    rng, ids = part_draws(seed, part)
    slots = slots_plan(
        rng,
        count=sessions,
        clients=client_count(sessions),
        coverage=coverage,
        weights=weights,
    )
    return rng, ids, slots


def creation_order[Session](sessions: Iterable[Session]) -> tuple[Session, ...]:
    """Sessions (anything with a `timeline` and an `id`) oldest first, then by id."""
    return tuple(sorted(sessions, key=lambda s: (s.timeline.created, s.id)))


def index_by_id[Record](records: Iterable[Record]) -> dict[str, Record]:
    """{record.id: record}."""
    return {record.id: record for record in records}


class WorldPart[Client, Session]:
    """One provider's part of the world: its clients (in the order given) and
    its sessions (in creation order), each indexed by id. Immutable after build."""

    def __init__(
        self, *, clients: Iterable[Client], sessions: Iterable[Session]
    ) -> None:
        self.clients = tuple(clients)
        self.sessions = creation_order(sessions)
        self.client_by_id = index_by_id(self.clients)
        self.session_by_id = index_by_id(self.sessions)


class Cycle:
    """Deterministic round-robin over variants, so every outcome shows up."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}

    def pick(self, key: str, variants: Sequence[Any]) -> Any:
        index = self.counters.get(key, 0)
        self.counters[key] = index + 1
        return variants[index % len(variants)]
