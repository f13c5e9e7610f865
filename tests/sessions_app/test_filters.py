"""The FilterSets (filters.py): one meaning of every filter for the queue, the API and the CSV."""

from __future__ import annotations

import pytest

from sessions_app import filters
from sessions_app.models import (
    Outcome,
    Status,
)
from tests.factories import (
    WorkflowSessionFactory,
)

pytestmark = pytest.mark.django_db


def test_needs_attention_is_a_shared_filter():
    needs = WorkflowSessionFactory(status=Status.FAILED)
    fine = WorkflowSessionFactory(status=Status.COMPLETED, outcome=Outcome.CLEAR)
    assert list(filters.session_list(params={"needs_attention": "true"})) == [needs]
    assert list(filters.session_list(params={"needs_attention": "false"})) == [fine]
    filterset = filters.session_filterset(params={"needs_attention": "maybe"})
    assert not filterset.is_valid()
    assert "needs_attention" in filterset.errors
