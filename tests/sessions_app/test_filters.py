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


def test_blank_filters_removed_keeps_other_parameters_and_non_text_values():
    from django.http import QueryDict

    from sessions_app.filter_fields import blank_filters_removed
    from sessions_app.filters import SessionFilterSet

    params = QueryDict(
        "status=,completed,&status=%20&q=%20&tag=vip&cursor=&sort=%20&provider=a,%20b"
    )
    cleaned = blank_filters_removed(params, filterset_class=SessionFilterSet)
    assert dict(cleaned.lists()) == {
        "status": ["completed"],
        "tag": ["vip"],
        "cursor": [""],  # not a filter: the caller's to judge
        "sort": [" "],
        "provider": ["a,b"],
    }
    mapping = blank_filters_removed(
        {"client": 5, "q": ""}, filterset_class=SessionFilterSet
    )
    assert mapping.dict() == {"client": 5}
