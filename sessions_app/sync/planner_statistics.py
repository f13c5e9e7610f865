"""PostgreSQL's planner statistics of the sessions table, refreshed when a
connection is new to them (`new_connection_statistics_refresh`).

The planner estimates how many rows a condition keeps from statistics that
`ANALYZE` gathers; autovacuum runs it once a table has changed by about a
tenth since the last time, checking every minute or so. Until then, a
connection whose sessions arrived since the last analysis is unknown to the
statistics and estimated at one row, so any index beginning with the
connection looks as good as another, and PostgreSQL took one that does not
hold the external id for the sync's known-versions look-up
(`schedule.known_versions_for`): each page's look-up read every row of the
connection. In a table of a million sessions autovacuum waits for 100,000
changed rows: a new connection's first sync can be over by then. Right
after a first sync of 4,050 sessions the incremental pass
spent 0.37 to 0.65 s of its 1.1 to 1.7 s in those 291 look-ups, and 0.07 s
with fresh statistics (docs/PERFORMANCE.md, section 1i).

So a run that created sessions ends by asking PostgreSQL whether its
connection is among the connection column's most common values. When it is
not, and the connection already holds enough sessions for the misestimate to
cost something (`MIN_ROWS`, or `MIN_SHARE` of the table if more), the table
is analysed once: a sample of 30,000 rows, tens of milliseconds at a first
sync's size but 1 to 13 s at a million sessions (the sampled pages are read
from disk). That is about once per new connection: the connection is then
among the most common values, and the planner scales its share with the
table's growth by itself. A connection the analysis still leaves out (a tiny
share of a huge table) is not analysed again by this process within
`RETRY_SECONDS`. (A first version that analysed every stale table of the
sync after every run cost 0.8 to 0.9 s of a 9 s first sync: 30 analyses.)
`SKIP_LOCKED`: a table another run or autovacuum is analysing is left to
it. SQLite keeps no such statistics unless asked, and Django never asks:
nothing to do there. A failure is logged and the run is not affected.
"""

from __future__ import annotations

import logging
import math
import threading
import time

from django.db import DatabaseError, connections, router, transaction

from ..models import ProviderConnection, WorkflowSession

logger = logging.getLogger(__name__)

# A connection holding fewer sessions than this (or than this share of the
# table, if more) is left to autovacuum: scanning its few rows costs less
# than sampling the table.
MIN_ROWS = 1_000
MIN_SHARE = 0.005
# This process does not analyse the table again for one connection within
# this long (the safety valve for a connection the sample keeps missing).
RETRY_SECONDS = 3_600.0

_analysed_at: dict[int, float] = {}  # connection pk -> time.monotonic()
_analysed_lock = threading.Lock()

_KNOWN_AND_SIZE = """
SELECT COALESCE(
           (SELECT %s = ANY (st.most_common_vals::text::text[])
            FROM pg_stats st
            WHERE st.schemaname = s.schemaname
              AND st.tablename = s.relname
              AND st.attname = %s),
           false),
       s.n_live_tup
FROM pg_stat_user_tables s
WHERE s.relid = %s::regclass
"""


def new_connection_statistics_refresh(connection: ProviderConnection) -> bool:
    """Analyse the sessions table if `connection` is unknown to its statistics
    and holds enough sessions to matter; return whether it was analysed."""
    alias = router.db_for_write(WorkflowSession)
    db = connections[alias]
    if db.vendor != "postgresql" or _analysed_recently(connection.pk):
        return False
    table = WorkflowSession._meta.db_table
    column = WorkflowSession._meta.get_field("connection").column
    quote = db.ops.quote_name
    try:
        # A savepoint when called inside a transaction: a failure here must
        # not leave the caller's transaction broken.
        with transaction.atomic(using=alias), db.cursor() as cursor:
            cursor.execute(_KNOWN_AND_SIZE, [str(connection.pk), column, table])
            row = cursor.fetchone()
            if row is None or row[0]:
                return False
            enough = max(MIN_ROWS, math.ceil(MIN_SHARE * max(row[1], 0)))
            cursor.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {quote(table)} "  # noqa: S608 - names, not values
                f"WHERE {quote(column)} = %s LIMIT %s) AS held",
                [connection.pk, enough],
            )
            if cursor.fetchone()[0] < enough:
                return False
            started = time.monotonic()
            cursor.execute(f"ANALYZE (SKIP_LOCKED) {quote(table)}")
    except DatabaseError as exc:
        logger.warning("Could not refresh the planner's statistics (%s).", exc)
        return False
    # An operator sees why a run took seconds longer (up to 13 s at a million
    # sessions), and that it happens once per new connection.
    logger.info(
        "Sync of %s: analysed %s in %.1f s (the connection was new to "
        "PostgreSQL's statistics).",
        connection.slug,
        table,
        time.monotonic() - started,
    )
    with _analysed_lock:
        _analysed_at[connection.pk] = time.monotonic()
    return True


def _analysed_recently(connection_pk: int) -> bool:
    with _analysed_lock:
        at = _analysed_at.get(connection_pk)
    return at is not None and time.monotonic() - at < RETRY_SECONDS
