"""A reviewer sets or clears a client's risk tier: audited, in one transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from ..exceptions import ApplicationError
from ..models import Client, RiskTier, RiskTierSource
from ..roles import user_can_decide
from ..services import audit_event_record
from .refresh import clients_review_refresh_batch

RISK_TIER_REASON_MAX_LENGTH = 2000


def _snapshot(client: Client) -> dict[str, Any]:
    return {
        "risk_tier": client.risk_tier,
        "risk_tier_source": client.risk_tier_source,
        "risk_tier_reason": client.risk_tier_reason,
        "next_review_due": client.next_review_due,
    }


@transaction.atomic
def client_risk_tier_set(
    *, client: Client, tier: str, reason: str, actor: Any, source: str = "web"
) -> Client:
    """Set `client`'s risk tier by hand (it wins over the derived one until
    cleared), or clear it with `tier=""` (the derived tier applies again).
    The next review date is recomputed for the new tier.

    Raise ApplicationError for a user who may not decide, an unknown tier, a
    missing or overlong reason, or a clear when no reviewer's tier is set.
    """
    if not user_can_decide(actor):
        raise ApplicationError("You are not allowed to set risk tiers.")
    if tier not in RiskTier.values:
        raise ApplicationError(f"Unknown risk tier {tier!r}.")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why: a reason is required.")
    if len(reason) > RISK_TIER_REASON_MAX_LENGTH:
        raise ApplicationError(
            f"A reason may hold at most {RISK_TIER_REASON_MAX_LENGTH:,} characters."
        )
    locked = Client.objects.select_for_update().get(pk=client.pk)
    before = _snapshot(locked)
    if tier == RiskTier.NOT_SET:
        if locked.risk_tier_source != RiskTierSource.REVIEWER:
            raise ApplicationError("No reviewer's tier is set on this client.")
        locked.risk_tier_source = RiskTierSource.DERIVED
        locked.risk_tier = locked.risk_tier_derived
        action = "client.risk_tier_cleared"
    else:
        locked.risk_tier_source = RiskTierSource.REVIEWER
        locked.risk_tier = tier
        action = "client.risk_tier_set"
    locked.risk_tier_reason = reason
    locked.save(update_fields=["risk_tier", "risk_tier_source", "risk_tier_reason"])
    clients_review_refresh_batch(client_ids=[locked.pk], now=timezone.now())
    locked.refresh_from_db()
    audit_event_record(
        actor=actor,
        source=source,
        action=action,
        obj=locked,
        client=locked,
        before=before,
        after=_snapshot(locked),
    )
    return locked
