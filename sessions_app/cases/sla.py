"""Due times (SLAs): when a session started needing attention, and when its
case is due, per queue rule (docs/case-work.md, "Due times").

The rules are settings (`VERITY_SLA_RULES`: business days per rule, and
`VERITY_SLA_HOLIDAYS`), read here and checked at start-up:

- needs attention (`models.needs_attention_q`): due `needs_attention`
  business days after it started needing attention (`attention_since`);
- waiting for information: due `waiting` business days after its
  waiting-until date (0: the date itself);
- escalated and awaiting approval: due that many business days after the
  case entered the state (`case_state_changed_at`).

A case in one of the last three states takes that state's rule even when its
status also needs attention (a failed session that is escalated is the
escalation's to answer); otherwise the needs-attention rule applies, and a
session that needs nothing has no due time. The two columns are written
where their inputs change: the sync's write (`sessions_sla_follow`, one
UPDATE per batch) and the case services (`session_sla_apply`, the locked
row). `sla_rebuild` (manage.py sla_rebuild [--check]) recomputes them
set-based, as migration 0026 does, after the rules or holidays change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import Case, ExpressionWrapper, F, Q, Value, When
from django.db.models.functions import Coalesce, ExtractWeekDay, Greatest, TruncDate
from django.db.models.lookups import Exact, GreaterThan, IsNull, LessThan
from django.utils import timezone

from ..models import WorkflowSession, needs_attention_q, needs_attention_words
from .business_days import (
    business_day_offset,
    business_days_add,
    holiday_sensitive_days,
)
from .states import CaseState

RULE_NEEDS_ATTENTION = "needs_attention"
RULE_WAITING = "waiting"
RULE_ESCALATED = "escalated"
RULE_AWAITING_APPROVAL = "awaiting_approval"
DEFAULT_SLA_RULES = {
    RULE_NEEDS_ATTENTION: 2,
    RULE_WAITING: 0,
    RULE_ESCALATED: 5,
    RULE_AWAITING_APPROVAL: 1,
}
# The case states with a rule of their own, and the column their clock starts from.
STATE_RULES = {
    CaseState.WAITING: (RULE_WAITING, "case_waiting_until"),
    CaseState.ESCALATED: (RULE_ESCALATED, "case_state_changed_at"),
    CaseState.AWAITING_APPROVAL: (RULE_AWAITING_APPROVAL, "case_state_changed_at"),
}
SLA_FIELDS = ("attention_since", "case_due_at")
MAX_BUSINESS_DAYS = 60


@dataclasses.dataclass(frozen=True)
class SlaRules:
    business_days: dict[str, int]
    holidays: frozenset[dt.date]

    def due(self, rule: str, start: dt.datetime) -> dt.datetime:
        return business_days_add(
            start,
            self.business_days[rule],
            holidays=self.holidays,
            tz=timezone.get_default_timezone(),
        )


def sla_rules_parse(rules: object, holidays: object) -> SlaRules:
    """The settings as SlaRules; raise ImproperlyConfigured saying what is wrong."""
    if not isinstance(rules, dict):
        raise ImproperlyConfigured("VERITY_SLA_RULES must map a rule to business days.")
    unknown = set(rules) - set(DEFAULT_SLA_RULES)
    if unknown:
        raise ImproperlyConfigured(
            f"VERITY_SLA_RULES: unknown rule(s) {', '.join(sorted(unknown))}; "
            f"the rules are {', '.join(DEFAULT_SLA_RULES)}."
        )
    merged = {**DEFAULT_SLA_RULES, **rules}
    for rule, days in merged.items():
        if not isinstance(days, int) or isinstance(days, bool):
            raise ImproperlyConfigured(f"VERITY_SLA_RULES[{rule!r}] must be a number.")
        if not 0 <= days <= MAX_BUSINESS_DAYS:
            raise ImproperlyConfigured(
                f"VERITY_SLA_RULES[{rule!r}] must be 0 to {MAX_BUSINESS_DAYS} "
                f"business days, not {days}."
            )
    days_off: set[dt.date] = set()
    for holiday in holidays or ():
        try:
            days_off.add(
                holiday
                if isinstance(holiday, dt.date)
                else dt.date.fromisoformat(str(holiday).strip())
            )
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"VERITY_SLA_HOLIDAYS: {holiday!r} is not a date (YYYY-MM-DD)."
            ) from exc
    return SlaRules(business_days=merged, holidays=frozenset(days_off))


def sla_rules() -> SlaRules:
    """The rules in force (settings are read each call: tests override them)."""
    return _parsed(
        tuple(sorted(getattr(settings, "VERITY_SLA_RULES", {}).items())),
        tuple(getattr(settings, "VERITY_SLA_HOLIDAYS", ())),
    )


@cache
def _parsed(rules: tuple, holidays: tuple) -> SlaRules:
    return sla_rules_parse(dict(rules), holidays)


def session_due(
    *,
    needs_attention: bool,
    case_state: str,
    attention_since: dt.datetime | None,
    case_state_changed_at: dt.datetime | None,
    case_waiting_until: dt.datetime | None,
    rules: SlaRules | None = None,
) -> dt.datetime | None:
    """When a session's case is due under `rules` (module docstring), or None."""
    rules = rules or sla_rules()
    if case_state in STATE_RULES:
        rule, column = STATE_RULES[case_state]
        start = {
            "case_waiting_until": case_waiting_until,
            "case_state_changed_at": case_state_changed_at,
        }[column]
        return rules.due(rule, start) if start is not None else None
    if needs_attention and attention_since is not None:
        return rules.due(RULE_NEEDS_ATTENTION, attention_since)
    return None


def session_sla_apply(session: WorkflowSession, *, now: dt.datetime) -> list[str]:
    """Set a session's `attention_since` and `case_due_at` from its current
    state (a case service's locked row, before its save); return the fields.
    Attention that goes on keeps its start; attention that begins starts now."""
    needs = bool(
        needs_attention_words(
            status=session.status,
            outcome=session.outcome,
            case_state=session.case_state,
        )
    )
    if not needs:
        session.attention_since = None
    elif session.attention_since is None:
        session.attention_since = now
    session.case_due_at = session_due(
        needs_attention=needs,
        case_state=session.case_state,
        attention_since=session.attention_since,
        case_state_changed_at=session.case_state_changed_at,
        case_waiting_until=session.case_waiting_until,
    )
    return list(SLA_FIELDS)


def sessions_sla_follow(*, session_ids: Iterable[int], now: dt.datetime) -> int:
    """After the sync wrote these sessions (status and outcome may have
    changed): start the attention clock of those that began needing
    attention, stop it for those that no longer do, in one UPDATE touching
    only those rows. The case state is the services', never changed here, so
    a case-state rule's due time stays. Return the rows updated."""
    ids = list(session_ids)
    if not ids:
        return 0
    needs = needs_attention_q()
    own_rule = Q(case_state__in=list(STATE_RULES))
    due_now = sla_rules().due(RULE_NEEDS_ATTENTION, now)
    return (
        WorkflowSession.objects.filter(pk__in=ids)
        .filter(
            (needs & Q(attention_since__isnull=True))
            | (~needs & Q(attention_since__isnull=False))
        )
        .update(
            attention_since=Case(When(needs, then=Value(now)), default=Value(None)),
            case_due_at=Case(
                When(own_rule, then=F("case_due_at")),
                When(needs, then=Value(due_now)),
                default=Value(None),
            ),
        )
    )


# --- The same rules as SQL: the migration's backfill and the rebuild ---------------


def _week_day(day: dt.date) -> int:
    """Django's `__week_day` number: Sunday 1 … Saturday 7."""
    return (day.weekday() + 1) % 7 + 1


def due_expression(
    start: models.Expression, business_days: int, rules: SlaRules
) -> models.Expression:
    """`start` plus `business_days` business days, as SQL: the calendar days
    to add depend on the start's date alone (business_days.py), so a CASE
    over its weekday, with the dates the holidays change listed first. The
    dates are read in the default time zone, as `SlaRules.due` reads them."""
    monday = dt.date(2024, 1, 1)  # any Monday: one date per weekday
    day_of = TruncDate(start, tzinfo=timezone.get_default_timezone())
    weekday_of = ExtractWeekDay(start, tzinfo=timezone.get_default_timezone())
    whens = [
        When(Exact(day_of, day), then=Value(dt.timedelta(days=offset)))
        for day, offset in sorted(
            holiday_sensitive_days(rules.holidays, business_days).items()
        )
    ]
    for back in range(7):
        day = monday + dt.timedelta(days=back)
        offset = business_day_offset(day, business_days)
        whens.append(
            When(
                Exact(weekday_of, _week_day(day)),
                then=Value(dt.timedelta(days=offset)),
            )
        )
    return ExpressionWrapper(
        start + Case(*whens, output_field=models.DurationField()),
        output_field=models.DateTimeField(),
    )


def expected_due_expression(
    rules: SlaRules, *, since: models.Expression | None = None
) -> models.Expression:
    """`session_due` as SQL, with the attention clock `since` (the stored
    column by default)."""
    since = since if since is not None else F("attention_since")
    return Case(
        *[
            When(
                case_state=state,
                then=due_expression(F(column), rules.business_days[rule], rules),
            )
            for state, (rule, column) in STATE_RULES.items()
        ],
        When(
            needs_attention_q() & ~Q(IsNull(since, True)),
            then=due_expression(
                since, rules.business_days[RULE_NEEDS_ATTENTION], rules
            ),
        ),
        default=Value(None),
        output_field=models.DateTimeField(),
    )


def _attention_since_expected() -> models.Expression:
    """The attention clock as it should be: kept while attention goes on;
    for a session needing attention without one (the rows before migration
    0024), the later of the provider's last change and the case's last
    move, the best evidence of when attention began; none otherwise."""
    estimate = Greatest(
        F("provider_updated_at"),
        Coalesce(F("case_state_changed_at"), F("provider_updated_at")),
    )
    return Case(
        When(needs_attention_q(), then=Coalesce(F("attention_since"), estimate)),
        default=Value(None),
        output_field=models.DateTimeField(),
    )


def _differs(column: str, expected: models.Expression) -> Q:
    """`column IS DISTINCT FROM expected`, in lookups every database has."""
    stored = F(column)
    return (
        Q(LessThan(stored, expected))
        | Q(GreaterThan(stored, expected))
        | (Q(**{f"{column}__isnull": True}) & ~Q(IsNull(expected, True)))
        | (Q(**{f"{column}__isnull": False}) & Q(IsNull(expected, True)))
    )


def sla_rebuild(
    *, check: bool = False, model: type = WorkflowSession
) -> dict[str, int]:
    """Make the stored columns agree with the rules, set-based: start the
    clock of sessions that need attention without one (estimated), stop it
    for those that do not, and recompute every due time, in one UPDATE of
    only the rows that change (a row rewritten once: at a million sessions
    the cost is the rewriting). With `check`, only count the rows that
    disagree, per column. Return the counts (`sessions`: the rows written).

    `model` is the migration's historical model when it backfills.
    """
    rules = sla_rules()
    # Only rows with a clock, a due time, a rule of their own or attention
    # can disagree: the CASE expressions are never evaluated for the rest.
    candidates = model.objects.filter(
        needs_attention_q()
        | Q(attention_since__isnull=False)
        | Q(case_due_at__isnull=False)
        | Q(case_state__in=list(STATE_RULES))
    )
    since = _attention_since_expected()
    if check:
        return {
            "attention_since": candidates.filter(
                _differs("attention_since", since)
            ).count(),
            "case_due_at": candidates.filter(
                _differs("case_due_at", expected_due_expression(rules))
            ).count(),
        }
    due = expected_due_expression(rules, since=since)
    changing = candidates.filter(
        _differs("attention_since", since) | _differs("case_due_at", due)
    )
    return {"sessions": changing.update(attention_since=since, case_due_at=due)}
