"""Session reads (selectors/sessions.py): the detail page, queue and API rows, keyset
pages, the export's single query."""

from __future__ import annotations

import pytest
from django.utils import timezone

from sessions_app import filters, selectors
from sessions_app.cases import services as case_services
from sessions_app.models import (
    TagKind,
    WorkflowSession,
)
from tests.factories import (
    CheckFactory,
    PolicyAssuranceFactory,
    ReviewFactory,
    TagFactory,
    UserFactory,
    WorkflowSessionFactory,
)
from tests.sessions_app.desk_data import desk_data_create

pytestmark = pytest.mark.django_db


def test_session_detail_returns_everything_evaluated(
    django_assert_num_queries, reviewer
):
    session = WorkflowSessionFactory(
        tags=[
            TagFactory(name="vip"),
            TagFactory(name="sandbox", kind=TagKind.TECHNICAL),
        ]
    )
    other = WorkflowSessionFactory()
    CheckFactory.create_batch(3, session=session)
    CheckFactory(session=other)
    PolicyAssuranceFactory(session=session, position=1, policy_name="B")
    PolicyAssuranceFactory(session=session, position=0, policy_name="A")
    ReviewFactory(session=session)
    case_services.case_decision_record(
        session=session, reviewer=reviewer, decision="approve", reason_code="verified"
    )
    case_services.case_decision_record(
        session=other,
        reviewer=reviewer,
        decision="escalate",
        reason_code="other",
        comment="x",
    )
    with django_assert_num_queries(7):  # +1: the reasons
        detail = selectors.session_detail_get(pk=session.pk)
    with django_assert_num_queries(0):
        assert detail.session.connection.slug
        assert detail.session.provider_client.client.display_name
        assert len(detail.checks) == 3
        assert [p.policy_name for p in detail.policies] == ["A", "B"]
        assert len(detail.reviews) == 2
        assert detail.reviews[0].reviewer.username == reviewer.username
        assert [e.action for e in detail.audit_events] == ["review.approve"]
        assert [t.name for t in detail.user_tags] == ["vip"]
        assert [t.name for t in detail.technical_tags] == ["sandbox"]


def test_session_detail_of_a_missing_session_raises():
    with pytest.raises(WorkflowSession.DoesNotExist):
        selectors.session_detail_get(pk=404)


@pytest.mark.parametrize("sort", ["-created", "provider", "-status"])
def test_queue_page_loads_what_rows_show_and_tags_in_page_order(
    sort, django_assert_num_queries
):
    from django.template import Context

    from sessions_app.templatetags.verity import queue_cells

    vip, aml = TagFactory(name="vip"), TagFactory(name="aml", kind=TagKind.TECHNICAL)
    zed = TagFactory(name="zed")
    tagged = WorkflowSessionFactory(
        tags=[zed, vip, aml],
        assignee=UserFactory(username="rita", roles=["reviewer"]),
        last_decision="approve",
        last_decision_at=timezone.now(),
    )
    WorkflowSessionFactory(provider_client=None)
    qs = filters.session_list(params={})

    page = selectors.session_queue_page(queryset=qs, sort=sort, page_size=10)

    assert {s.pk for s in page.items} == set(qs.values_list("pk", flat=True))
    [row] = [s for s in page.items if s.pk == tagged.pk]
    # Technical tags first, then by name: the order of every other page.
    assert [t.name for t in row.row_tags] == ["aml", "vip", "zed"]
    assert {"raw_payload", "reasons", "summary", "error"} <= row.get_deferred_fields()
    with django_assert_num_queries(0):
        for session in page.items:
            queue_cells(Context(), session)


def test_api_list_rows_load_only_what_the_serializer_returns(
    rf, django_assert_num_queries
):
    from sessions_app.serializers import SessionSerializer

    WorkflowSessionFactory(
        tags=[TagFactory(name="vip")],
        assignee=UserFactory(username="rita", roles=["reviewer"]),
        last_decision="approve",
        last_decision_at=timezone.now(),
    )
    WorkflowSessionFactory(provider_client=None)
    rows = list(selectors.session_api_list_queryset())

    assert {"raw_payload", "reasons", "summary", "error"} <= rows[
        0
    ].get_deferred_fields()
    with django_assert_num_queries(0):
        data = SessionSerializer(rows, many=True, context={"request": rf.get("/")}).data
    assert {row["assignee"] for row in data} == {"rita", None}
    assert [t["name"] for row in data for t in row["tags"]] == ["vip"]


def test_session_page_sorts_and_pages_through_a_filtered_queryset():
    data = desk_data_create(sessions=9, checks_per_session=0)
    qs = filters.session_list(params={"provider": "onfido-eu"})
    first = selectors.session_page(queryset=qs, sort="status", page_size=2)
    rest = selectors.session_page(
        queryset=qs, sort="status", cursor=first.next_cursor, page_size=2
    )
    seen = [s.pk for s in first.items + rest.items]
    expected = sorted(
        (s.status, s.pk) for s in data.sessions if s.connection.slug == "onfido-eu"
    )
    assert seen == [pk for _, pk in expected][:4]
    with pytest.raises(KeyError):
        selectors.session_page(queryset=qs, sort="secret_field")


def test_export_counts_checks_in_the_single_query_without_subqueries():
    sql = str(
        selectors.session_export_queryset(queryset=selectors.session_queryset()).query
    )
    # The only subqueries are the last review's reason, comment and reviewer
    # (read for decided sessions only); the check counts come from the join.
    assert sql.count("SELECT") == 4
    assert sql.count('FROM "sessions_app_review"') == 3
    assert "GROUP BY" in sql
    assert "COUNT(" in sql
    assert "workflowsession_tags" not in sql, "tags are read per chunk, never joined"


# --- "Next in queue" sorted by due time (issue 19) ------------------------------------


def test_next_in_queue_by_due_time_follows_due_then_date():
    import datetime as dt

    base = timezone.now()
    first, second, third = (
        WorkflowSessionFactory(
            external_id=f"due-{i}",
            case_due_at=base + dt.timedelta(hours=1 if i else 0),
            provider_created_at=base - dt.timedelta(days=i),
        )
        for i in range(3)
    )
    undated = WorkflowSessionFactory(external_id="no-due")
    queryset = selectors.session_queryset()
    # due-0 first; due-1 and due-2 tie on the due time: the older one first.
    assert (
        selectors.session_next_in_queue(queryset=queryset, sort="due", session=first)
        == third
    )
    assert (
        selectors.session_next_in_queue(queryset=queryset, sort="due", session=third)
        == second
    )
    assert (
        selectors.session_next_in_queue(queryset=queryset, sort="due", session=second)
        is None
    )
    # A session without a due time is not in that order: "next" is its start.
    assert (
        selectors.session_next_in_queue(queryset=queryset, sort="due", session=undated)
        == first
    )
