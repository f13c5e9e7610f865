"""What follows a written batch of sessions outside the mirror itself, in the
batch's transaction: case work and the clients' review summaries.

- Due times (`cases/sla.py`): attention that began or ended starts or stops
  its clock (one UPDATE over the batch's sessions).
- Clients (`client_review/refresh.py`): their review summaries are marked
  stale and follow at the next refresh tick (one UPDATE).
- Outcome overrides (`cases/overrides.py`): a rewritten session whose
  provider outcome moved under its active override goes back to review (one
  query over the rewritten sessions, none for new ones).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from ..cases.overrides import outcome_overrides_provider_changed
from ..cases.sla import sessions_sla_follow
from ..client_review.refresh import clients_mark_stale


def rewritten_sessions_follow(
    *,
    session_ids: Iterable[int],
    rewritten_ids: Collection[int],
    provider_client_ids: set[int],
    now: dt.datetime,
) -> None:
    """Bring case work and client summaries in line with a written batch:
    `session_ids` every session written, `rewritten_ids` those that existed
    before it."""
    sessions_sla_follow(session_ids=session_ids, now=now)
    clients_mark_stale(provider_client_ids=provider_client_ids)
    outcome_overrides_provider_changed(session_ids=list(rewritten_ids), now=now)
