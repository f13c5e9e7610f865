"""Fixtures of the CSV export tests (the plain helpers are in tests/helpers/exports.py)."""

from __future__ import annotations

import pytest

from tests.helpers.exports import export_queue_create


@pytest.fixture
def queue(exporter, reviewer):
    """A small queue exercising every filter: two providers, statuses,
    outcomes, tags, assignees, clients and identical creation times."""
    return export_queue_create(exporter=exporter, reviewer=reviewer)
