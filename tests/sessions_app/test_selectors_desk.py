"""The desk's read side: needs attention, overview aggregates, health, detail pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from sessions_app import filters, selectors, services
from sessions_app.models import (
    Outcome,
    Status,
    SyncRunState,
    TagKind,
    WorkflowSession,
    needs_attention_q,
)
from tests.factories import (
    CheckFactory,
    ClientFactory,
    PolicyAssuranceFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    QuarantinedRecordFactory,
    ReviewFactory,
    SyncRunFactory,
    TagFactory,
    UserFactory,
    WebhookDeliveryFactory,
    WorkflowSessionFactory,
)
from tests.sessions_app.desk_data import desk_data_create

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("status", "outcome", "last_decision", "needs"),
    [
        (Status.COMPLETED, Outcome.ATTENTION, "", True),
        (Status.COMPLETED, Outcome.REJECTED, "", True),
        (Status.COMPLETED, Outcome.ATTENTION, "escalate", False),
        (Status.COMPLETED, Outcome.CLEAR, "", False),
        (Status.IN_PROGRESS, Outcome.NONE, "", False),
        (Status.PENDING, Outcome.NONE, "", False),
        (Status.AWAITING_INPUT, Outcome.NONE, "", True),
        (Status.FAILED, Outcome.ATTENTION, "approve", True),
        (Status.UNKNOWN, Outcome.NONE, "", True),
        (Status.ABANDONED, Outcome.NONE, "", False),
    ],
)
def test_needs_attention_definition(status, outcome, last_decision, needs):
    session = WorkflowSessionFactory(
        status=status, outcome=outcome, last_decision=last_decision
    )
    selected = WorkflowSession.objects.filter(needs_attention_q())
    assert (session in selected) is needs
    excluded = WorkflowSession.objects.exclude(needs_attention_q())
    assert (session in excluded) is not needs


def test_needs_attention_is_a_shared_filter():
    needs = WorkflowSessionFactory(status=Status.FAILED)
    fine = WorkflowSessionFactory(status=Status.COMPLETED, outcome=Outcome.CLEAR)
    assert list(filters.session_list(params={"needs_attention": "true"})) == [needs]
    assert list(filters.session_list(params={"needs_attention": "false"})) == [fine]
    filterset = filters.session_filterset(params={"needs_attention": "maybe"})
    assert not filterset.is_valid()
    assert "needs_attention" in filterset.errors


def test_breakdown_counts_by_status_outcome_and_provider(django_assert_num_queries):
    onfido = ProviderConnectionFactory(slug="onfido-a", display_name="Onfido A")
    ica = ProviderConnectionFactory(slug="ica-b", kind="ica", display_name="ICA B")
    WorkflowSessionFactory.create_batch(
        3, connection=onfido, status=Status.COMPLETED, outcome=Outcome.CLEAR
    )
    WorkflowSessionFactory(
        connection=onfido, status=Status.FAILED, outcome=Outcome.ATTENTION
    )
    WorkflowSessionFactory.create_batch(
        2, connection=ica, status=Status.IN_PROGRESS, outcome=Outcome.NONE
    )
    with django_assert_num_queries(2):  # counts, then connection names
        breakdown = selectors.session_breakdown()
    assert breakdown.total == 6
    assert [(r.value, r.count) for r in breakdown.by_status] == [
        ("in_progress", 2),
        ("completed", 3),
        ("failed", 1),
    ]
    assert [(r.value, r.label, r.count) for r in breakdown.by_outcome] == [
        ("none", "None yet", 2),
        ("clear", "Clear", 3),
        ("attention", "Attention", 1),
    ]
    assert [(r.value, r.label, r.count) for r in breakdown.by_provider] == [
        ("ica-b", "ICA B", 2),
        ("onfido-a", "Onfido A", 4),
    ]


def test_attention_summary_buckets_by_age(django_assert_num_queries):
    def make(hours: float, **kwargs):
        return WorkflowSessionFactory(
            provider_created_at=NOW - dt.timedelta(hours=hours), **kwargs
        )

    make(2, status=Status.AWAITING_INPUT)
    make(23, status=Status.FAILED)
    make(30, outcome=Outcome.REJECTED)
    make(24 * 6.5, status=Status.UNKNOWN)
    oldest = make(24 * 40, outcome=Outcome.ATTENTION)
    make(24 * 90, outcome=Outcome.ATTENTION, last_decision="approve")  # decided
    make(1, outcome=Outcome.CLEAR)  # fine
    with django_assert_num_queries(1):
        summary = selectors.session_attention_summary(now=NOW)
    assert summary.total == 5
    assert summary.under_1_day == 2
    assert summary.days_1_to_7 == 2
    assert summary.over_7_days == 1
    assert summary.oldest_created_at == oldest.provider_created_at


def test_attention_summary_when_nothing_waits():
    WorkflowSessionFactory(outcome=Outcome.CLEAR)
    summary = selectors.session_attention_summary(now=NOW)
    assert summary.total == 0
    assert summary.oldest_created_at is None


def test_daily_activity_counts_created_and_completed_per_day(django_assert_num_queries):
    day = dt.timedelta(days=1)
    WorkflowSessionFactory(
        provider_created_at=NOW - dt.timedelta(hours=1),
        completed_at=NOW - dt.timedelta(minutes=5),
    )
    WorkflowSessionFactory(
        provider_created_at=NOW - dt.timedelta(hours=2), completed_at=None
    )
    WorkflowSessionFactory(provider_created_at=NOW - 3 * day, completed_at=NOW - day)
    WorkflowSessionFactory(
        provider_created_at=NOW - 45 * day, completed_at=NOW - 44 * day
    )  # too old
    with django_assert_num_queries(2):
        activity = selectors.session_daily_activity(days=30, now=NOW)
    assert len(activity.days) == 30
    assert activity.days[-1] == NOW.date()
    assert activity.days[0] == NOW.date() - 29 * day
    assert sum(activity.created) == 3
    assert activity.created[-1] == 2
    assert activity.created[-4] == 1
    assert activity.completed[-1] == 1
    assert activity.completed[-2] == 1
    assert sum(activity.completed) == 2
    data = activity.as_chart_data()
    assert data["labels"][-1] == "2026-06-15"
    assert data["created"] == activity.created


def test_provider_health_states_and_staleness(django_assert_num_queries):
    fresh = ProviderConnectionFactory(slug="fresh", sync_interval_seconds=300)
    SyncRunFactory(
        connection=fresh,
        state=SyncRunState.SUCCEEDED,
        finished_at=NOW - dt.timedelta(minutes=5),
    )
    stale = ProviderConnectionFactory(slug="stale", sync_interval_seconds=300)
    SyncRunFactory(
        connection=stale,
        state=SyncRunState.SUCCEEDED,
        finished_at=NOW - dt.timedelta(minutes=16),
    )
    failing = ProviderConnectionFactory(slug="failing", sync_interval_seconds=300)
    SyncRunFactory(
        connection=failing,
        state=SyncRunState.SUCCEEDED,
        finished_at=NOW - dt.timedelta(minutes=2),
    )
    SyncRunFactory(
        connection=failing, state=SyncRunState.FAILED, error="HTTP 401", finished_at=NOW
    )
    never = ProviderConnectionFactory(slug="never")
    off = ProviderConnectionFactory(slug="off", enabled=False)
    with django_assert_num_queries(2):
        health = {h.connection.slug: h for h in selectors.provider_health_list(now=NOW)}
    assert health["fresh"].state == "ok"
    assert not health["fresh"].stale
    assert health["stale"].state == "stale"
    assert health["failing"].state == "failing"
    assert health["failing"].last_run.error == "HTTP 401"
    assert health["failing"].last_success_at == NOW - dt.timedelta(minutes=2)
    assert health["never"].state == "never"
    assert health["never"].stale
    assert health["off"].state == "disabled"
    assert not health["off"].stale
    assert never.pk
    assert off.pk


def test_provider_health_uses_the_connections_own_last_success():
    conn = ProviderConnectionFactory(
        slug="own",
        sync_interval_seconds=60,
        last_success_at=NOW - dt.timedelta(seconds=30),
    )
    [health] = selectors.provider_health_list(now=NOW)
    assert health.connection == conn
    assert health.last_success_at == NOW - dt.timedelta(seconds=30)
    assert not health.stale


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
    services.review_decision_record(
        session=session, reviewer=reviewer, decision="approve", reason_code="verified"
    )
    services.review_decision_record(
        session=other,
        reviewer=reviewer,
        decision="reject",
        reason_code="other",
        comment="x",
    )
    with django_assert_num_queries(6):
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


def test_client_detail_spans_providers_and_is_bounded(
    django_assert_num_queries, reviewer
):
    client = ClientFactory()
    stranger = WorkflowSessionFactory()
    identities = [
        ProviderClientFactory(
            client=client, connection=ProviderConnectionFactory(slug=slug, kind=kind)
        )
        for slug, kind in (("onfido-x", "onfido"), ("cc-x", "complycube"))
    ]
    sessions = [
        WorkflowSessionFactory(
            connection=pc.connection,
            provider_client=pc,
            provider_created_at=NOW - dt.timedelta(hours=i),
        )
        for i, pc in enumerate(identities * 3)
    ]
    for s in sessions:
        CheckFactory(session=s)
    services.session_assign(session=sessions[0], assignee=reviewer, actor=reviewer)
    services.session_assign(session=stranger, assignee=reviewer, actor=reviewer)
    with django_assert_num_queries(6):
        detail = selectors.client_detail_get(pk=client.pk, limit=4)
    assert {pc.connection.slug for pc in detail.provider_clients} == {
        "onfido-x",
        "cc-x",
    }
    assert [s.pk for s in detail.sessions] == [s.pk for s in sessions[:4]]
    assert detail.sessions_truncated
    assert len(detail.checks) == 4
    assert detail.checks_truncated
    assert all(c.session.provider_client.client_id == client.pk for c in detail.checks)
    assert [e.object_id for e in detail.audit_events] == [str(sessions[0].pk)]
    assert not detail.audit_truncated
    full = selectors.client_detail_get(pk=client.pk, limit=200)
    assert len(full.sessions) == 6
    assert not full.sessions_truncated


def test_sync_status_limits_and_aggregates(django_assert_num_queries):
    a = ProviderConnectionFactory(slug="a-conn")
    b = ProviderConnectionFactory(slug="b-conn", kind="ica")
    base = timezone.now()
    for i in range(12):
        run = SyncRunFactory(
            connection=a, unknown_values={"NEW_STATE": 1} if i % 2 else {}
        )
        SyncRunFactory(connection=b, unknown_values={"WEIRD": 2, "ODD": 1})
        type(run).objects.filter(pk=run.pk).update(
            started_at=base - dt.timedelta(minutes=i)
        )
    for _ in range(55):
        QuarantinedRecordFactory(connection=a, raw="x" * 5000)
    WebhookDeliveryFactory.create_batch(25, connection=b)
    with django_assert_num_queries(6):
        status = selectors.sync_status_get()
    by_slug = {c.health.connection.slug: c for c in status.connections}
    assert len(by_slug["a-conn"].recent_runs) == 10
    assert len(by_slug["b-conn"].recent_runs) == 10
    starts = [r.started_at for r in by_slug["a-conn"].recent_runs]
    assert starts == sorted(starts, reverse=True)
    assert starts[0] == base
    assert dict(by_slug["b-conn"].unknown_values) == {"WEIRD": 24, "ODD": 12}
    assert by_slug["b-conn"].unknown_values[0] == ("WEIRD", 24)
    assert dict(by_slug["a-conn"].unknown_values) == {"NEW_STATE": 6}
    assert len(status.quarantined) == 50
    record = status.quarantined[0]
    assert len(record.raw_excerpt) == selectors.QUARANTINE_EXCERPT_CHARS
    assert record.raw_length == 5000
    assert len(status.webhooks) == 20


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
