"""Counts kept by the database as sessions change, so the overview never
aggregates a million rows per request (issue 19: the landing page under 100 ms
at 1,000,000 sessions).

`SessionTally` holds how many sessions there are per connection, status,
outcome and "needs attention". Database triggers (migration 0017, SQL in
`sessions_app/tally_sql.py`) add and subtract as rows are inserted, updated
and deleted, whoever writes them: the sync's bulk upserts, the review
services, the admin, cascades, raw SQL. Rows may hold zero or, for a moment
inside a transaction, any value; a sum over them is exact once committed.
`manage.py tally_rebuild` recomputes them from the sessions (a check that the
triggers are in place and agree is part of the tests).
"""

from __future__ import annotations

from django.db import models


class SessionTally(models.Model):
    connection_id = models.BigIntegerField()
    status = models.CharField(max_length=20)
    outcome = models.CharField(max_length=20, blank=True)
    needs_attention = models.BooleanField()
    sessions = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection_id", "status", "outcome", "needs_attention"],
                name="session_tally_key",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.connection_id}/{self.status}/{self.outcome or '-'}"
            f"{' (attention)' if self.needs_attention else ''}: {self.sessions}"
        )
