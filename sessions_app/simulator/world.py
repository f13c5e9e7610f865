"""The simulated world: every client, session and check of the three providers.

`build_world(seed=..., sessions=..., start=...)` is a pure function: the same
seed and session count give the same ids, names, outcomes and timelines (the
`start` datetime only anchors timestamps). Nothing here renders JSON; each
provider's `api.py` turns its part of the world into that provider's wire
format at a given simulated second.

This module only assembles: the shared generation (timelines, the people
pool, session slots, ids) is `generation.py`, and each provider's records and
how they are generated are its own `<provider>/world.py`. Final states cover
every status word of Verity's normalisation table for each provider
(guaranteed once `sessions` >= 15), and check results cover every outcome.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

from .complycube.world import ComplyCubeWorld, complycube_world_build
from .generation import client_count, people_generate
from .ica.world import IcaWorld, ica_world_build
from .onfido.world import OnfidoWorld, onfido_world_build

# ComplyCube-only clients at these pool offsets get names that exercise escaping
# (CSV formula injection, HTML). Onfido's spec forbids these characters in names.
HOSTILE_NAMES = (
    ('=HYPERLINK("https://example.invalid","open")', "Eve"),
    ("<b>Bobby</b>", "Tables'); --"),
)


class World:
    """Everything the simulator serves: one part per provider. Immutable after build."""

    def __init__(
        self,
        *,
        seed: int,
        sessions: int,
        start: dt.datetime,
        onfido: OnfidoWorld,
        complycube: ComplyCubeWorld,
        ica: IcaWorld,
    ) -> None:
        self.seed = seed
        self.sessions_per_provider = sessions
        self.start = start
        self.onfido = onfido
        self.complycube = complycube
        self.ica = ica

    def timestamp(self, second: float) -> dt.datetime:
        return self.start + dt.timedelta(seconds=second)


@functools.lru_cache(maxsize=16)
def build_world(*, seed: int, sessions: int, start: dt.datetime) -> World:
    """Generate the whole world for `sessions` sessions per provider.

    Pure and immutable, hence cached: simulators with the same arguments share one.
    """
    if sessions < 1:
        raise ValueError("sessions must be >= 1")
    clients = client_count(sessions)
    # Onfido applicants take people[0:clients]; ComplyCube clients take
    # people[clients - shared : 2 * clients - shared]: the overlap are the same
    # people, with Onfido customer_user_id == ComplyCube externalId.
    shared = clients // 3
    people = people_generate(seed, 2 * clients - shared)
    cc_only = range(clients, 2 * clients - shared)
    for position, (first, last) in zip(cc_only, HOSTILE_NAMES, strict=False):
        people[position] = dataclasses.replace(
            people[position], first_name=first, last_name=last
        )
    return World(
        seed=seed,
        sessions=sessions,
        start=start,
        onfido=onfido_world_build(
            seed=seed, sessions=sessions, people=people, shared=shared
        ),
        complycube=complycube_world_build(
            seed=seed, sessions=sessions, people=people, shared=shared
        ),
        ica=ica_world_build(seed=seed, sessions=sessions),
    )
