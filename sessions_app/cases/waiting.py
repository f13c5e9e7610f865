"""The return of waiting cases: a request for information waits until its
date, then the beat brings the case back to work (docs/case-work.md)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from ..models import WorkflowSession
from .services import back_to_work
from .states import CaseAction, CaseState

# How many waiting cases one beat tick brings back (one audit event each).
WAITING_RETURN_BATCH = 500


def cases_waiting_return(
    *, now: dt.datetime | None = None, limit: int = WAITING_RETURN_BATCH
) -> list[int]:
    """Bring back to work the waiting cases whose date has passed, oldest
    date first, at most `limit` per call; one audited transaction each (a
    case resumed by hand meanwhile is skipped). Return their ids.

    The beat runs it every tick (`tasks.cases_waiting_return_due`), so a
    waiting case is back in its queue within a tick of its date.
    """
    now = now or timezone.now()
    due = list(
        WorkflowSession.objects.filter(
            case_state=CaseState.WAITING, case_waiting_until__lte=now
        )
        .order_by("case_waiting_until", "id")
        .values_list("pk", flat=True)[:limit]
    )
    returned = []
    for pk in due:
        with transaction.atomic():
            locked = WorkflowSession.objects.select_for_update().get(pk=pk)
            if locked.case_state != CaseState.WAITING or not (
                locked.case_waiting_until and locked.case_waiting_until <= now
            ):
                continue
            back_to_work(
                session=locked,
                actor=None,
                action=CaseAction.RESUME,
                audit_action="case.waiting_over",
                comment="",
                source="schedule",
            )
            returned.append(pk)
    return returned
