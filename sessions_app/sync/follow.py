"""What follows a written batch of sessions outside the mirror itself, in the
batch's transaction: case work and the clients' review summaries.

- Due times (`cases/sla.py`): a new session's clock is set in its own row
  before the insert (`new_sessions_clock_start`), so the UPDATE after the
  write finds nothing to change for it; attention that began or ended on a
  rewritten session starts or stops its clock (one UPDATE over the batch's
  sessions, new ones included: one that another writer inserted meanwhile
  is set right there).
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
from ..cases.sla import session_sla_apply, sessions_sla_follow
from ..client_review.refresh import clients_mark_stale
from ..models import WorkflowSession


def new_sessions_clock_start(
    rows: Iterable[WorkflowSession], *, now: dt.datetime
) -> None:
    """Set the due-time columns of rows about to be inserted (not saved).

    Without it every new session needing attention was written twice in a
    first sync: inserted, then rewritten by `sessions_sla_follow` (20
    indexes and the tally trigger again; about 0.1 s of a 1,350-session
    first sync on PostgreSQL, docs/PERFORMANCE.md section 1g).
    """
    for row in rows:
        session_sla_apply(row, now=now)


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
