"""Measurement 5: the sync's own queries and /sync/ are timed on the data there is,
with the number of sessions in rotation per connection."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from bench import sync_selection
from tests.factories import ProviderConnectionFactory, WorkflowSessionFactory


@pytest.mark.django_db
def test_the_selection_measurement_times_every_query_per_connection(capsys):
    for name in ("reviewer", "exporter"):
        Group.objects.get_or_create(name=name)
    onfido = ProviderConnectionFactory(kind="onfido", slug="onfido-b")
    WorkflowSessionFactory.create_batch(
        3, connection=onfido, status="in_progress", raw_status="processing"
    )
    WorkflowSessionFactory(connection=onfido, status="completed", raw_status="approved")
    ProviderConnectionFactory(kind="ica", slug="ica-empty")  # no sessions: skipped

    figures = sync_selection.measure(repeat=2)

    assert figures["in_rotation"] == {"onfido-b": 3}
    assert set(figures["queries"]) == {
        "onfido-b: children_due (100)",
        "onfido-b: refresh_ids",
        "onfido-b: known_versions (100 ids)",
        "onfido-b: statistics question",
        "GET /sync/ (admin)",
    }
    assert all(q["n"] >= 2 for q in figures["queries"].values())
    out = capsys.readouterr().out
    assert "sessions in rotation per connection: onfido-b 3" in out
    # The one ANALYZE is PostgreSQL's: timed there, left out on SQLite.
    postgresql = connection.vendor == "postgresql"
    assert (figures["analyze_s"] is not None) is postgresql
    assert ("one ANALYZE of the sessions table" in out) is postgresql
