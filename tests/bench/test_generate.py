"""The bench's data generator writes every column the models require, so
`make bench` keeps working when a migration adds one."""

import pytest

from sessions_app.models import Check, WorkflowSession
from sessions_app.normalization import classify_check
from sessions_app.tallies import session_tally_differences


@pytest.mark.django_db
def test_the_generator_writes_sessions_the_models_can_read():
    from bench import generate

    counts = generate.generate(sessions=40, seed=3)

    assert counts["sessions"] == WorkflowSession.objects.count() == 40
    assert Check.objects.exists()
    # Each check carries the kind the sync would give it.
    for check in Check.objects.select_related("connection"):
        assert (
            check.kind == classify_check(check.connection.kind, check.check_type).kind
        )
    assert not WorkflowSession.objects.filter(detail_read_at__isnull=True).exists()
    # Row by row on SQLite, the triggers counted every generated session.
    assert session_tally_differences() == {}
    # Every row loads through the model (no column the ORM cannot read).
    assert len(list(WorkflowSession.objects.all())) == 40
