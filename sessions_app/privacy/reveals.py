"""Revealing masked personal data: who sees it, the reveal (a service, audited)
and whether one is in force (a selector). docs/data-protection.md.

A reveal is stored server-side per user and object (a session or a client)
and lasts `VERITY_PERSONAL_DATA_REVEAL_SECONDS`; a client's reveal covers its
sessions too. Viewers and exporters never see personal data unmasked on the
pages or the API; reviewers and admins see it masked until they reveal.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from ..exceptions import ApplicationError
from ..models import PersonalDataReveal
from ..roles import user_can_reveal

REVEAL_REASON_MAX = 500
_AUDIT_TYPES = {
    PersonalDataReveal.SESSION: "sessions_app.workflowsession",
    PersonalDataReveal.CLIENT: "sessions_app.client",
}


@dataclasses.dataclass(frozen=True)
class PersonalDataAccess:
    """How a page or an API answer shows one object's personal data."""

    masked: bool
    can_reveal: bool
    revealed_until: dt.datetime | None = None


def personal_data_access(
    *,
    user: Any,
    session_id: int | None = None,
    client_id: int | None = None,
    now: dt.datetime | None = None,
) -> PersonalDataAccess:
    """Whether `user` sees a session's or client's personal data masked now.

    At most one query (none for a user who may not reveal).
    """
    if not user_can_reveal(user):
        return PersonalDataAccess(masked=True, can_reveal=False)
    until = personal_data_revealed_until(
        user=user, session_id=session_id, client_id=client_id, now=now
    )
    return PersonalDataAccess(
        masked=until is None, can_reveal=True, revealed_until=until
    )


def personal_data_revealed_until(
    *,
    user: Any,
    session_id: int | None = None,
    client_id: int | None = None,
    now: dt.datetime | None = None,
) -> dt.datetime | None:
    """Until when `user` has the session (or its client) revealed; None if not."""
    condition = Q()
    if session_id is not None:
        condition |= Q(object_type=PersonalDataReveal.SESSION, object_id=session_id)
    if client_id is not None:
        condition |= Q(object_type=PersonalDataReveal.CLIENT, object_id=client_id)
    if not condition:
        return None
    return (
        PersonalDataReveal.objects.filter(
            condition, user=user, expires_at__gt=now or timezone.now()
        )
        .aggregate(until=Max("expires_at"))
        .get("until")
    )


def personal_data_reveal(
    *,
    user: Any,
    object_type: str,
    object_id: int,
    object_label: str,
    client_id: int | None,
    reason: str,
    source: str,
    now: dt.datetime | None = None,
) -> PersonalDataReveal:
    """Reveal an object's personal data to `user` for a while, with a reason.

    Writes the reveal and its `personal_data.reveal` audit event in one
    transaction. `object_label` names the object in the audit trail without
    personal data (a session's external id, "Client <id>").
    """
    from ..services import audit_event_record

    if not user_can_reveal(user):
        raise PermissionDenied("Only reviewers may reveal personal data.")
    if object_type not in _AUDIT_TYPES:
        raise ApplicationError(f"Cannot reveal a {object_type!r}.")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why you need to see the personal data.")
    if len(reason) > REVEAL_REASON_MAX:
        raise ApplicationError(
            f"The reason is too long ({len(reason)} characters, at most "
            f"{REVEAL_REASON_MAX})."
        )
    now = now or timezone.now()
    expires = now + dt.timedelta(seconds=settings.VERITY_PERSONAL_DATA_REVEAL_SECONDS)
    with transaction.atomic():
        reveal = PersonalDataReveal.objects.create(
            user=user,
            object_type=object_type,
            object_id=object_id,
            reason=reason,
            source=source,
            created_at=now,
            expires_at=expires,
        )
        audit_event_record(
            actor=user,
            source=source,
            action="personal_data.reveal",
            object_type=_AUDIT_TYPES[object_type],
            object_id=str(object_id),
            object_repr=object_label,
            client=client_id,
            after={"reason": reason, "expires_at": expires.isoformat()},
        )
    return reveal
