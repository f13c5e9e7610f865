"""The session tally (models/tallies.py): the triggers that keep it, and its
rebuild from the sessions.

The triggers are SQL, one set per database: PostgreSQL counts per statement
(transition tables: one grouped upsert per bulk write, in key order so that
concurrent writers never deadlock on the tally rows); SQLite counts per row.
"Needs attention" is spelled in SQL here from the same constants as
`models.attention.needs_attention_q`; `session_tally_differences` (run by the
tests, and by `manage.py tally_rebuild --check`) compares the tally with a
real aggregate, so the two definitions cannot drift apart unnoticed.
"""

# ruff: noqa: S608 - the SQL here is built from Verity's own table names and
# vocabulary constants at import time; no request value ever reaches it.
from __future__ import annotations

from django.db import connection, models, transaction
from django.db.models import Count, ExpressionWrapper

from .models import (
    NEEDS_ATTENTION_CASE_STATES,
    NEEDS_ATTENTION_OUTCOMES,
    NEEDS_ATTENTION_STATUSES,
    SessionTally,
    WorkflowSession,
    needs_attention_q,
)

SESSIONS = "sessions_app_workflowsession"
TALLY = "sessions_app_sessiontally"
KEY = "connection_id, status, outcome, needs_attention"


def _words(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


# The rule's versions, as the migrations that created the triggers knew it:
# "decision" (migration 0017: no decision recorded yet) and "case" (0023:
# the case is open or in review, issue 19). Each migration names its own.
RULE_DECISION, RULE_CASE = "decision", "case"
CURRENT_RULE = RULE_CASE
# The column each version reads besides status and outcome.
RULE_COLUMN = {RULE_DECISION: "last_decision", RULE_CASE: "case_state"}


def _needs_attention(row: str, rule: str = CURRENT_RULE) -> str:
    """`needs_attention_q()` as SQL over the row alias `row`."""
    pending = (
        f"{row}.last_decision = ''"
        if rule == RULE_DECISION
        else f"{row}.case_state IN ({_words(NEEDS_ATTENTION_CASE_STATES)})"
    )
    return (
        f"(({row}.outcome IN ({_words(NEEDS_ATTENTION_OUTCOMES)}) AND {pending}) "
        f"OR {row}.status IN ({_words(NEEDS_ATTENTION_STATUSES)}))"
    )


def needs_attention_q_for(rule: str) -> models.Q:
    """The same rule as a Q, for the migration that counts under it."""
    if rule == RULE_CASE:
        return needs_attention_q()
    return models.Q(outcome__in=NEEDS_ATTENTION_OUTCOMES, last_decision="") | models.Q(
        status__in=NEEDS_ATTENTION_STATUSES
    )


def _key(row: str, rule: str = CURRENT_RULE) -> str:
    return (
        f"{row}.connection_id, {row}.status, {row}.outcome, "
        f"{_needs_attention(row, rule)}"
    )


def _pg_upsert(select: str) -> str:
    return (
        f"INSERT INTO {TALLY} ({KEY}, sessions) {select} "
        f"ON CONFLICT ({KEY}) DO UPDATE SET sessions = {TALLY}.sessions + EXCLUDED.sessions;"
    )


def postgres_create(rule: str) -> str:
    """The trigger function and triggers for PostgreSQL, under `rule`."""
    return f"""
CREATE OR REPLACE FUNCTION verity_session_tally() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {
        _pg_upsert(
            f"SELECT {_key('n', rule)}, count(*) FROM new_rows n GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        )
    }
  ELSIF TG_OP = 'DELETE' THEN
    {
        _pg_upsert(
            f"SELECT {_key('o', rule)}, -count(*) FROM old_rows o GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        )
    }
  ELSE
    {
        _pg_upsert(
            "SELECT connection_id, status, outcome, needs_attention, sum(d) FROM ("
            f"SELECT {_key('o', rule)}, -1 AS d FROM old_rows o JOIN new_rows n ON n.id = o.id "
            f"WHERE ({_key('o', rule)}) IS DISTINCT FROM ({_key('n', rule)}) "
            "UNION ALL "
            f"SELECT {_key('n', rule)}, 1 AS d FROM old_rows o JOIN new_rows n ON n.id = o.id "
            f"WHERE ({_key('o', rule)}) IS DISTINCT FROM ({_key('n', rule)})"
            ") AS k (connection_id, status, outcome, needs_attention, d) "
            "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        )
    }
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER verity_session_tally_insert AFTER INSERT ON {SESSIONS}
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION verity_session_tally();
CREATE TRIGGER verity_session_tally_update AFTER UPDATE ON {SESSIONS}
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION verity_session_tally();
CREATE TRIGGER verity_session_tally_delete AFTER DELETE ON {SESSIONS}
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION verity_session_tally();
"""


POSTGRES_DROP = f"""
DROP TRIGGER IF EXISTS verity_session_tally_insert ON {SESSIONS};
DROP TRIGGER IF EXISTS verity_session_tally_update ON {SESSIONS};
DROP TRIGGER IF EXISTS verity_session_tally_delete ON {SESSIONS};
DROP FUNCTION IF EXISTS verity_session_tally();
"""


def _sqlite_add(row: str, delta: str, rule: str) -> str:
    where = (
        f"connection_id = {row}.connection_id AND status = {row}.status "
        f"AND outcome = {row}.outcome "
        f"AND needs_attention = {_needs_attention(row, rule)}"
    )
    # Not INSERT OR IGNORE: inside a trigger fired by an upsert (the sync's
    # bulk writes) SQLite applies the outer statement's conflict handling.
    return (
        f"INSERT INTO {TALLY} ({KEY}, sessions) SELECT {_key(row, rule)}, 0 "
        f"WHERE NOT EXISTS (SELECT 1 FROM {TALLY} WHERE {where}); "
        f"UPDATE {TALLY} SET sessions = sessions {delta} WHERE {where};"
    )


def sqlite_create(rule: str) -> list[str]:
    """The triggers for SQLite (per row), under `rule`."""
    column = RULE_COLUMN[rule]
    return [
        f"CREATE TRIGGER verity_session_tally_insert AFTER INSERT ON {SESSIONS} "
        f"BEGIN {_sqlite_add('NEW', '+ 1', rule)} END;",
        f"CREATE TRIGGER verity_session_tally_delete AFTER DELETE ON {SESSIONS} "
        f"BEGIN {_sqlite_add('OLD', '- 1', rule)} END;",
        "CREATE TRIGGER verity_session_tally_update "
        f"AFTER UPDATE OF connection_id, status, outcome, {column} ON {SESSIONS} "
        f"BEGIN {_sqlite_add('OLD', '- 1', rule)} "
        f"{_sqlite_add('NEW', '+ 1', rule)} END;",
    ]


SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS verity_session_tally_{event};"
    for event in ("insert", "delete", "update")
]


def tally_triggers_create(schema_editor, *, rule: str) -> None:
    """Create the triggers on the migration's database (PostgreSQL or SQLite)."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(postgres_create(rule))
    elif vendor == "sqlite":
        for statement in sqlite_create(rule):
            schema_editor.execute(statement)


def tally_triggers_drop(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement)


def _actual_counts(
    session_model=WorkflowSession, rule: str = CURRENT_RULE
) -> dict[tuple, int]:
    rows = (
        session_model.objects.order_by()
        .annotate(
            attention=ExpressionWrapper(
                needs_attention_q_for(rule), output_field=models.BooleanField()
            )
        )
        .values_list("connection_id", "status", "outcome", "attention")
        .annotate(n=Count("*"))
    )
    return {(c, s, o, bool(a)): n for c, s, o, a, n in rows}


def _tally_counts(tally_model=SessionTally) -> dict[tuple, int]:
    return {
        (c, s, o, bool(a)): n
        for c, s, o, a, n in tally_model.objects.exclude(sessions=0).values_list(
            "connection_id", "status", "outcome", "needs_attention", "sessions"
        )
    }


def session_tally_rebuild(
    *, session_model=None, tally_model=None, rule: str = CURRENT_RULE
) -> int:
    """Recompute the tally from the sessions; return how many keys it holds.

    On PostgreSQL the sessions are locked against writes meanwhile, so no
    change slips between the count and the new tally (`session_model` and
    `tally_model` let the migration pass its historical models).
    """
    session_model = session_model or WorkflowSession
    tally_model = tally_model or SessionTally
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {SESSIONS} IN SHARE MODE")
        tally_model.objects.all().delete()
        counts = _actual_counts(session_model, rule)
        tally_model.objects.bulk_create(
            tally_model(
                connection_id=c, status=s, outcome=o, needs_attention=a, sessions=n
            )
            for (c, s, o, a), n in counts.items()
        )
    return len(counts)


def session_tally_differences() -> dict[tuple, tuple[int, int]]:
    """Keys where the tally and a real count differ: {key: (tally, actual)}."""
    tally, actual = _tally_counts(), _actual_counts()
    return {
        key: (tally.get(key, 0), actual.get(key, 0))
        for key in tally.keys() | actual.keys()
        if tally.get(key, 0) != actual.get(key, 0)
    }
