"""The review queue: shared filters, errors without 500s, sorting, keyset pages,
chips and quick filters, and a query budget independent of the page size."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app import services
from sessions_app.models import Outcome, Status, TagKind, WorkflowSession
from tests.factories import (
    ClientFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    TagFactory,
    UserFactory,
    WorkflowSessionFactory,
)
from tests.helpers import cursors
from tests.sessions_app.desk_data import desk_data_create

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("no_queries_in_templates"),
]

QUEUE = reverse("session-list")


def _ids(response) -> list[str]:
    assert response.status_code == 200
    return [s.external_id for s in response.context["sessions"]]


@pytest.fixture
def world(reviewer):
    """Two providers and sessions that differ in exactly one filtered attribute each."""
    now = timezone.now()
    onfido = ProviderConnectionFactory(
        slug="onfido-eu", kind="onfido", display_name="Onfido EU"
    )
    cube = ProviderConnectionFactory(
        slug="cube", kind="complycube", display_name="ComplyCube"
    )
    ada = ClientFactory(display_name="Ada Lovelace", reference="ref-ada")
    ada_at_cube = ProviderClientFactory(
        connection=cube, client=ada, name="Ada L.", external_id="cc-client-1"
    )
    colleague = UserFactory(username="colin", roles=["reviewer"])

    def make(external_id: str, **kwargs):
        defaults = {
            "connection": onfido,
            "provider_created_at": now - dt.timedelta(days=3),
        }
        return WorkflowSessionFactory(external_id=external_id, **{**defaults, **kwargs})

    sessions = {
        "cube": make("s-cube", connection=cube, provider_client=ada_at_cube),
        "failed": make(
            "s-failed", status=Status.FAILED, raw_status="error", outcome=Outcome.NONE
        ),
        "rejected": make(
            "s-rejected", outcome=Outcome.REJECTED, raw_outcome="declined"
        ),
        "none": make("s-none", status=Status.IN_PROGRESS, outcome=Outcome.NONE),
        "tagged": make(
            "s-tagged",
            tags=[
                TagFactory(name="vip"),
                TagFactory(name="sandbox", kind=TagKind.TECHNICAL),
            ],
        ),
        "workflow": make(
            "s-workflow", workflow_id="wf-aml", workflow_name="AML screening"
        ),
        "old": make(
            "s-old", provider_created_at=dt.datetime(2025, 1, 15, 10, tzinfo=dt.UTC)
        ),
        "mine": make("s-mine"),
        "colins": make("s-colins"),
    }
    services.session_assign(session=sessions["mine"], assignee=reviewer, actor=reviewer)
    services.session_assign(
        session=sessions["colins"], assignee=colleague, actor=reviewer
    )
    return sessions


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("provider=cube", {"s-cube"}),
        ("status=failed", {"s-failed"}),
        ("status=failed,in_progress", {"s-failed", "s-none"}),
        ("outcome=rejected", {"s-rejected"}),
        ("outcome=none", {"s-failed", "s-none"}),
        ("tag=vip", {"s-tagged"}),
        ("tag=sandbox", {"s-tagged"}),
        ("workflow=wf-aml", {"s-workflow"}),
        ("workflow=AML+screening", {"s-workflow"}),
        ("q=lovelace", {"s-cube"}),
        ("q=cc-client-1", {"s-cube"}),
        ("q=s-old", {"s-old"}),
        ("created_before=2025-01-15", {"s-old"}),
        ("created_after=2025-01-16&created_before=2025-12-31", set()),
        ("assignee=rita-reviewer", {"s-mine"}),
        ("assignee=me", {"s-mine"}),
        ("assignee=colin", {"s-colins"}),
        ("needs_attention=true", {"s-failed", "s-rejected"}),
    ],
)
def test_each_filter(reviewer_client, world, query, expected):
    assert set(_ids(reviewer_client.get(f"{QUEUE}?{query}"))) == expected


def test_created_after_and_unassigned_and_client_filters(reviewer_client, world):
    everything = set(_ids(reviewer_client.get(QUEUE)))
    assert set(
        _ids(reviewer_client.get(f"{QUEUE}?created_after=2025-01-16"))
    ) == everything - {"s-old"}
    assert set(_ids(reviewer_client.get(f"{QUEUE}?assignee=none"))) == everything - {
        "s-mine",
        "s-colins",
    }
    client_id = world["cube"].provider_client.client_id
    assert _ids(reviewer_client.get(f"{QUEUE}?client={client_id}")) == ["s-cube"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=bogus", "Status"),
        ("outcome=great", "Outcome"),
        ("created_after=yesterday", "Created from"),
        ("created_before=2026-13-45", "Created until"),
        ("created_after=2026-02-30T10:00", "Created from"),
        ("client=abc", "Client id"),
        ("client=99999999999999999999999", "Client id"),
        ("needs_attention=maybe", "Needs attention"),
        ("provider_kind=fax", "Provider kind"),
    ],
)
def test_invalid_filter_values_show_an_error_and_no_rows(
    reviewer_client, world, query, field
):
    response = reviewer_client.get(f"{QUEUE}?{query}")
    assert response.status_code == 200
    assert response.context["sessions"] == []
    page = response.content.decode()
    assert "These filters are not valid" in page
    assert f">{field}</a>:" in page
    assert "Fix the filters above" in page


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("provider=nope", "provider", "No provider 'nope'; known: "),
        ("provider=cube,nobody", "provider", "No provider 'nobody'"),
        ("assignee=ghost", "assignee", "No user 'ghost'."),
        ("tag=unknown-tag", "tag", "No tag 'unknown-tag'."),
        ("client=987654", "client", "No client with id '987654'."),
    ],
)
def test_a_filter_naming_nothing_is_an_error_not_an_empty_queue(
    reviewer_client, world, query, field, message
):
    response = reviewer_client.get(f"{QUEUE}?{query}")
    assert response.context["sessions"] == []
    assert [e["field"] for e in response.context["filter_errors"]] == [field]
    assert message in response.context["filter_errors"][0]["message"]
    page = response.content.decode()
    assert "These filters are not valid" in page
    assert "No sessions match these filters." not in page


def test_every_filter_error_is_shown_at_once_beside_its_field(reviewer_client, world):
    """A bad date is reported with the other errors, not after they are fixed."""
    response = reviewer_client.get(
        f"{QUEUE}?status=bogus&provider=nope&assignee=ghost&created_after=yesterday"
    )
    assert {e["field"] for e in response.context["filter_errors"]} == {
        "status",
        "provider",
        "assignee",
        "created_after",
    }
    page = response.content.decode()
    for name in ("status", "provider", "assignee", "created_after"):
        widget = re.search(rf'<(select|input) [^>]*name="{name}"[^>]*>', page).group(0)
        assert 'aria-invalid="true"' in widget, name
        assert f"id_{name}_error" in widget, name
        assert re.search(
            rf'<span class="error" id="id_{name}_error">[^<]+</span>', page
        )
    assert "yesterday" in re.search(
        r'<span class="error" id="id_created_after_error">([^<]+)</span>', page
    ).group(1)


def test_an_invalid_filter_marks_its_input(reviewer_client, world):
    page = reviewer_client.get(f"{QUEUE}?status=bogus").content.decode()
    select = re.search(r'<select name="status"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in select
    # The bookmarked value stays visible in the form.
    assert '<option value="bogus" selected>bogus</option>' in page


def test_date_filters_are_iso_text_fields_that_keep_a_bookmarked_date_time(
    reviewer_client, world
):
    """No locale date picker (mm/dd/yyyy beside ISO chips); the format is stated."""
    page = reviewer_client.get(
        f"{QUEUE}?created_after=2025-01-16T10:00:00Z&created_before=2025-02-01"
    ).content.decode()
    after = re.search(r'<input [^>]*name="created_after"[^>]*>', page).group(0)
    before = re.search(r'<input [^>]*name="created_before"[^>]*>', page).group(0)
    for field in (after, before):
        assert 'type="text"' in field
        assert 'placeholder="YYYY-MM-DD"' in field
        assert 'aria-describedby="' in field
    assert 'value="2025-01-16T10:00:00Z"' in after
    assert 'value="2025-02-01"' in before
    for name in ("created_after", "created_before"):
        helptext = re.search(
            rf'<span class="helptext" id="id_{name}_helptext">([^<]*)</span>', page
        ).group(1)
        assert "ISO" in helptext
        assert "YYYY-MM-DD" in helptext
    assert 'type="date"' not in page


@pytest.mark.parametrize(
    "sort", ["created", "updated", "status", "outcome", "provider", "due"]
)
@pytest.mark.parametrize("descending", [False, True])
def test_sorting_by_each_column(reviewer_client, world, sort, descending):
    """Ties break by creation date, then id (issue 19), never by id alone."""
    field = {
        "created": "provider_created_at",
        "updated": "provider_updated_at",
        "status": "status",
        "outcome": "outcome",
        "provider": "connection__slug",
        "due": "case_due_at",
    }[sort]
    if sort == "due":  # due times that tie, on some of the sessions
        for i, pk in enumerate(WorkflowSession.objects.values_list("pk", flat=True)):
            if i % 3:
                WorkflowSession.objects.filter(pk=pk).update(
                    case_due_at=dt.datetime(2026, 12, 1 + i % 2, tzinfo=dt.UTC)
                )
    param = f"-{sort}" if descending else sort
    response = reviewer_client.get(f"{QUEUE}?sort={param}")
    rows = WorkflowSession.objects.filter(**{f"{field}__isnull": False}).values_list(
        field, "provider_created_at", "pk", "external_id"
    )
    expected = [ext for *_, ext in sorted(rows, reverse=descending)]
    assert _ids(response) == expected
    header = response.content.decode()
    direction = "descending" if descending else "ascending"
    label = {
        "created": "Created",
        "updated": "Updated",
        "status": "Status",
        "outcome": "Outcome",
        "provider": "Provider",
        "due": "Age / due",
    }[sort]
    assert re.search(
        rf'<th scope="col" aria-sort="{direction}"><a class="sort" [^>]*>{label}',
        header,
    )


def test_sort_links_toggle_direction_and_drop_the_cursor(reviewer_client, world):
    response = reviewer_client.get(f"{QUEUE}?sort=-created&status=completed&cursor=xyz")
    columns = response.context["columns"]
    assert parse_qs(urlsplit(columns["created"]["url"]).query) == {
        "sort": ["created"],
        "status": ["completed"],
    }
    assert parse_qs(urlsplit(columns["status"]["url"]).query)["sort"] == ["status"]
    assert parse_qs(urlsplit(columns["updated"]["url"]).query)["sort"] == ["-updated"]


def test_unknown_sort_falls_back_with_a_notice(reviewer_client, world):
    response = reviewer_client.get(f"{QUEUE}?sort=password")
    assert response.status_code == 200
    assert response.context["sort"] == "-created"
    assert "Unknown sort order" in response.content.decode()


def _walk(client, url: str) -> tuple[list[str], list[str]]:
    """Follow Next links from `url`; return the ids seen and the page URLs."""
    seen, urls = [], []
    while url:
        urls.append(url)
        response = client.get(url)
        seen += _ids(response)
        next_url = response.context["next_url"]
        url = f"{QUEUE}{next_url}" if next_url else ""
    return seen, urls


@pytest.fixture
def many_ties():
    """53 sessions in clumps of four identical creation and update times."""
    conn = ProviderConnectionFactory(slug="onfido-eu")
    base = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    for i in range(53):
        moment = base + dt.timedelta(hours=i // 4)
        WorkflowSessionFactory(
            connection=conn,
            external_id=f"tie-{i:03d}",
            provider_created_at=moment,
            provider_updated_at=moment,
            status=[Status.COMPLETED, Status.FAILED, Status.PENDING][i % 3],
        )


@pytest.mark.parametrize(
    "sort", ["-created", "created", "status", "-status", "-updated"]
)
@pytest.mark.parametrize("page_size", [25, 50])
def test_keyset_pages_have_no_gaps_or_duplicates(
    reviewer_client, many_ties, sort, page_size
):
    field = {
        "created": "provider_created_at",
        "status": "status",
        "updated": "provider_updated_at",
    }[sort.lstrip("-")]
    rows = WorkflowSession.objects.values_list(field, "pk", "external_id")
    expected = [ext for *_, ext in sorted(rows, reverse=sort.startswith("-"))]
    seen, urls = _walk(reviewer_client, f"{QUEUE}?sort={sort}&page_size={page_size}")
    assert seen == expected
    assert len(urls) == -(-53 // page_size)


def test_previous_links_walk_back_to_the_first_page(reviewer_client, many_ties):
    pages = []
    url = f"{QUEUE}?page_size=25&status=completed,failed,pending"
    while url:
        response = reviewer_client.get(url)
        pages.append(_ids(response))
        url = (
            f"{QUEUE}{response.context['next_url']}"
            if response.context["next_url"]
            else ""
        )
    assert [len(p) for p in pages] == [25, 25, 3]
    back = []
    previous = response.context["previous_url"]
    while previous:
        response = reviewer_client.get(f"{QUEUE}{previous}")
        back.append(_ids(response))
        previous = response.context["previous_url"]
    assert back == [pages[1], pages[0]]
    assert response.context["first_url"] == ""
    # Filters survive paging.
    assert "status=completed%2Cfailed%2Cpending" in response.context["next_url"]


def test_page_size_choices_and_fallback(reviewer_client, many_ties):
    assert len(_ids(reviewer_client.get(f"{QUEUE}?page_size=50"))) == 50
    assert len(_ids(reviewer_client.get(f"{QUEUE}?page_size=100"))) == 53
    response = reviewer_client.get(f"{QUEUE}?page_size=100000")
    assert len(_ids(response)) == 25
    assert "Page size must be one of 25, 50, 100" in response.content.decode()


@pytest.mark.parametrize(
    "cursor", ["garbage", "eyJzIjoic3RhdHVzIiwidiI6ImEiLCJpIjoxLCJiIjpmYWxzZX0"]
)
def test_bad_or_foreign_cursor_shows_the_first_page_with_a_notice(
    reviewer_client, many_ties, cursor
):
    response = reviewer_client.get(f"{QUEUE}?cursor={cursor}")
    assert response.status_code == 200
    first = _ids(reviewer_client.get(QUEUE))
    assert _ids(response) == first
    assert "showing the first page" in response.content.decode()


HOSTILE_QUEUE_CURSORS = {
    **{
        f"nested-{kind}": cursor
        for kind, cursor in cursors.nested_cursors("-provider_created_at").items()
    },
    **{
        f"date-{moment}{'-back' if back else ''}": cursors.date_cursor(
            "-provider_created_at", moment, backwards=back
        )
        for moment in cursors.EDGE_DATES
        for back in (False, True)
    },
}


@pytest.mark.parametrize(
    "cursor", HOSTILE_QUEUE_CURSORS.values(), ids=HOSTILE_QUEUE_CURSORS.keys()
)
def test_a_hostile_cursor_shows_the_first_page_with_a_notice(
    reviewer_client, many_ties, cursor
):
    """Nested 1,500 deep or dated off the calendar: a damaged link, not a 500."""
    response = reviewer_client.get(QUEUE, {"cursor": cursor})
    assert response.status_code == 200
    assert _ids(response) == _ids(reviewer_client.get(QUEUE))
    assert "showing the first page" in response.content.decode()


def test_a_hostile_cursor_on_the_updated_sort_shows_its_first_page(
    reviewer_client, many_ties
):
    cursor = cursors.date_cursor("-provider_updated_at", "0001-01-01T00:00:00+05:00")
    response = reviewer_client.get(QUEUE, {"sort": "-updated", "cursor": cursor})
    assert _ids(response) == _ids(reviewer_client.get(QUEUE, {"sort": "-updated"}))
    assert "The page link was damaged" in response.content.decode()


def test_chips_remove_one_filter_and_keep_the_rest(reviewer_client, world):
    response = reviewer_client.get(
        f"{QUEUE}?status=completed&provider=cube&assignee=none&sort=status&cursor=abc"
    )
    chips = {chip["name"]: chip for chip in response.context["chips"]}
    assert set(chips) == {"status", "provider", "assignee"}
    assert chips["provider"]["value"] == "ComplyCube"
    assert chips["assignee"]["value"] == "Unassigned"
    assert chips["status"]["value"] == "Completed"
    remaining = parse_qs(urlsplit(chips["status"]["remove_url"]).query)
    assert remaining == {"provider": ["cube"], "assignee": ["none"], "sort": ["status"]}
    assert 'aria-label="Remove filter Status: Completed"' in response.content.decode()


@pytest.mark.parametrize("role_client", ["viewer_client", "exporter_client"])
def test_assigned_to_me_is_offered_only_to_those_who_can_be_assigned(
    role_client, request, reviewer_client, world
):
    labels = [
        q["label"]
        for q in request.getfixturevalue(role_client)
        .get(QUEUE)
        .context["quick_filters"]
    ]
    assert labels == [
        "All sessions",
        "Needs attention",
        "Unassigned",
        "Escalated",
        "Waiting for information",
        "Overdue",
    ]
    reviewer = reviewer_client.get(QUEUE).context["quick_filters"]
    assert [q["label"] for q in reviewer[-2:]] == [
        "Assigned to me",
        "Awaiting my approval",
    ]


def test_quick_filters(reviewer_client, world):
    response = reviewer_client.get(f"{QUEUE}?assignee=me&page_size=50")
    quick = {q["label"]: q for q in response.context["quick_filters"]}
    assert quick["Assigned to me"]["current"]
    assert not quick["Unassigned"]["current"]
    assert parse_qs(urlsplit(quick["Needs attention"]["url"]).query) == {
        "needs_attention": ["true"],
        "page_size": ["50"],
    }
    assert parse_qs(urlsplit(quick["Unassigned"]["url"]).query)["assignee"] == ["none"]
    for label, ids in [
        ("Needs attention", {"s-failed", "s-rejected"}),
        ("Assigned to me", {"s-mine"}),
    ]:
        assert set(_ids(reviewer_client.get(f"{QUEUE}{quick[label]['url']}"))) == ids


def test_rows_show_every_column(reviewer_client, world):
    session = world["cube"]
    WorkflowSession.objects.filter(pk=session.pk).update(
        last_decision="approve", last_decision_at=timezone.now()
    )
    page = reviewer_client.get(f"{QUEUE}?provider=cube").content.decode()
    assert f'href="{session.get_absolute_url()}?back=' in page
    assert (
        f'href="{reverse("client-detail", args=[session.provider_client.client_id])}"'
        in page
    )
    assert "Ada Lovelace" not in page  # names as initials in the queue
    assert ">A. L.</a>" in page
    assert "KYC standard" in page
    assert '<span class="raw">approved</span>' in page
    assert "badge-clear" in page
    for header in (
        "Provider",
        "Session",
        "Client",
        "Workflow",
        "Status",
        "Outcome",
        "Tags",
        "Created",
        "Assignee",
    ):
        assert f">{header}<" in page
    # The last decision sits under the assignee (one column, so the queue fits
    # a laptop screen).
    assert '<span class="small">Approve</span>' in page


def _row_of(page: str, external_id: str) -> str:
    """The `<tr>` of one session in a queue page."""
    rows = re.findall(r"<tr>.*?</tr>", page, flags=re.S)
    [row] = [r for r in rows if f'title="{external_id}"' in r]
    return row


def test_rows_escape_provider_text_and_show_every_fallback(reviewer_client):
    hostile = '<script>alert("x")</script>&\'"'
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#x27;&quot;"
    conn = ProviderConnectionFactory(slug="evil", display_name=f"Conn {hostile}")
    assignee = UserFactory(username="ann<b>", roles=["reviewer"])
    decided_at = dt.datetime(2026, 3, 4, 23, 59, tzinfo=dt.UTC)
    full = WorkflowSessionFactory(
        connection=conn,
        external_id=f"s1{hostile}",
        provider_client=ProviderClientFactory(
            connection=conn, client=ClientFactory(display_name=f"Client {hostile}")
        ),
        workflow_name=f"Flow {hostile}",
        workflow_version=f"9{hostile}",
        raw_status=f"st {hostile}",
        outcome=Outcome.REJECTED,
        raw_outcome=f"out {hostile}",
        assignee=assignee,
        last_decision="reject",
        last_decision_at=decided_at,
        provider_created_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        tags=[
            TagFactory(name=f"user {hostile}"),
            TagFactory(name="aml-hit", kind=TagKind.TECHNICAL),
        ],
    )
    unlinked = WorkflowSessionFactory(
        connection=conn,
        external_id="s2",
        provider_client=ProviderClientFactory(
            connection=conn, client=None, name=f"PC {hostile}"
        ),
        workflow_name="",
        workflow_id=f"wf {hostile}",
        workflow_version="",
        raw_status="",
        outcome="",
        raw_outcome="",
    )
    WorkflowSessionFactory(
        connection=conn,
        external_id="s3",
        provider_client=None,
        workflow_name="",
        workflow_id="",
        workflow_version="",
    )

    page = reviewer_client.get(f"{QUEUE}?provider=evil").content.decode()
    assert "<script>alert" not in page
    assert "ann<b>" not in page

    row = _row_of(page, f"s1{escaped}")
    assert f'<span class="cell-wrap">Conn {escaped}</span>' in row
    assert f'href="{full.get_absolute_url()}?back=' in row
    client_url = reverse("client-detail", args=[full.provider_client.client_id])
    # A long client name is cut by an ellipsis (verity.css): the whole name is its title.
    # Names as initials in the queue (docs/data-protection.md), still escaped.
    assert (
        f'<a href="{client_url}" class="ellipsis" title="C. &lt;.">C. &lt;.</a>'
    ) in row
    assert f'Flow {escaped} <span class="muted small">v9{escaped}</span>' in row
    assert (
        f'<span class="status" title="Provider value: st {escaped}">Completed'
        f'<span class="raw">st {escaped}</span></span>'
    ) in row
    # The provider's outcome word in text under the badge, like the status's.
    assert (
        f'<span class="outcome" title="Provider value: out {escaped}">'
        '<span class="badge badge-rejected">Rejected</span>'
        f'<span class="raw">out {escaped}</span></span>'
    ) in row
    # Tags in page order (kind, then name): technical ones marked.
    assert (
        '<span class="tag tag-technical" title="aml-hit">aml-hit</span>'
        f'<span class="tag" title="user {escaped}">user {escaped}</span>'
    ) in row
    assert (
        '<time datetime="2026-01-02T03:04:05+00:00">2026-01-02'
        '<span class="raw">03:04</span></time>'
    ) in row
    assert "ann&lt;b&gt;<br>" in row
    # A closed case shows its case state rather than the bare decision.
    assert '<span class="badge badge-case-rejected">Closed — rejected</span>' in row

    row = _row_of(page, "s2")
    assert (
        '<td class="wrap client" data-label="Client">'
        '<span class="ellipsis" title="P. &lt;.">P. &lt;.</span></td>'
    ) in row
    assert f'<span class="mono id" title="wf {escaped}">wf {escaped}</span>' in row
    assert '<span class="status" title="Provider value: (none)">Completed</span>' in row
    assert '<span class="badge badge-none">' in row
    assert '<span class="muted">Unassigned</span>' in row
    assert '<span class="muted small">No decision</span>' in row
    assert unlinked.provider_client.client_id is None

    row = _row_of(page, "s3")
    # No provider client, no workflow, no tags.
    cells = re.findall(
        r'<td class="wrap [a-z]+" data-label="[A-Za-z]+">(.*?)</td>', row
    )
    assert cells == [
        '<span class="muted">—</span>',
        "—",
        '<span class="muted">—</span>',
    ]


def test_the_queue_never_counts(
    reviewer_client, many_ties, django_assert_max_num_queries
):
    # 11 (one lists the user's saved views), plus PostgreSQL's planner
    # estimate of the total (pg_class.reltuples). The one COUNT allowed is of
    # clients due for re-verification (one range of their next-review index),
    # never of sessions (saved views' counts are capped: test_saved_views.py).
    with django_assert_max_num_queries(14) as captured:
        reviewer_client.get(QUEUE)
    assert not [
        q
        for q in captured.captured_queries
        if "COUNT(" in q["sql"].upper() and "sessions_app_workflowsession" in q["sql"]
    ]


def _queue_queries(client, django_assert_max_num_queries, query: str) -> int:
    # 12 (one counts the clients due for re-verification, one lists the
    # user's saved views), plus the tag filter's look-up of the tag's ids.
    with django_assert_max_num_queries(15) as captured:
        response = client.get(f"{QUEUE}?{query}")
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize(
    "query",
    ["page_size=100", "page_size=100&assignee=olga-officer&tag=vip&sort=provider"],
)
def test_query_budget_does_not_grow_with_rows(
    reviewer_client, django_assert_max_num_queries, query
):
    desk_data_create(sessions=5)
    small = _queue_queries(reviewer_client, django_assert_max_num_queries, query)
    desk_data = desk_data_create(sessions=60, prefix="more-")
    assert len(desk_data.sessions) == 60
    large = _queue_queries(reviewer_client, django_assert_max_num_queries, query)
    assert small == large


# --- The filter form keeps what it has no field for ---------------------------------


def _form_inputs(page: str) -> dict[str, str]:
    """Return the hidden inputs of the queue's filter form, as a browser would send."""
    form = page.split('role="search"')[1].split("</form>")[0]
    return dict(
        re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
    )


def test_hidden_filters_are_derived_from_the_filterset():
    from sessions_app.filters import SessionFilterSet
    from sessions_app.forms import QueueFilterForm
    from sessions_app.views.queue import HIDDEN_FILTERS

    assert {"client", "needs_attention", "provider_kind"} <= set(HIDDEN_FILTERS)
    assert set(HIDDEN_FILTERS) == set(SessionFilterSet.base_filters) - set(
        QueueFilterForm.base_fields
    )


@pytest.mark.parametrize(
    ("query", "hidden", "expected_after_status"),
    [
        ("needs_attention=true", {"needs_attention": "true"}, {"s-rejected"}),
        ("provider_kind=complycube", {"provider_kind": "complycube"}, {"s-cube"}),
        ("client={client}", {"client": "{client}"}, {"s-cube"}),
        (
            "needs_attention=true&sort=created&page_size=50",
            {"needs_attention": "true", "sort": "created", "page_size": "50"},
            {"s-rejected"},
        ),
    ],
)
def test_apply_keeps_the_filters_the_form_has_no_field_for(
    reviewer_client, world, query, hidden, expected_after_status
):
    client_id = str(world["cube"].provider_client.client_id)
    query = query.format(client=client_id)
    hidden = {k: v.format(client=client_id) for k, v in hidden.items()}
    page = reviewer_client.get(f"{QUEUE}?{query}").content.decode()
    inputs = _form_inputs(page)
    assert inputs == hidden
    # The officer refines with a visible field and presses Apply.
    refined = reviewer_client.get(QUEUE, {**inputs, "status": "completed"})
    assert set(_ids(refined)) == expected_after_status
    assert {c["name"] for c in refined.context["chips"]} == {
        *[k for k in hidden if k not in ("sort", "page_size")],
        "status",
    }


def test_fields_the_form_shows_are_not_duplicated_as_hidden_inputs(
    reviewer_client, world
):
    page = reviewer_client.get(
        f"{QUEUE}?status=completed&q=ada&assignee=me&created_after=2025-01-01&cursor=x"
    ).content.decode()
    # The page's cursor is not carried either: new filters start at page one.
    assert _form_inputs(page) == {}


def test_a_client_chip_names_the_client(reviewer_client, world):
    client = world["cube"].provider_client.client
    response = reviewer_client.get(f"{QUEUE}?client={client.pk}")
    chip = response.context["chips"][0]
    assert (chip["label"], chip["value"]) == ("Client", "A. L.")
    unknown = reviewer_client.get(f"{QUEUE}?client=999999").context["chips"][0]
    assert (unknown["label"], unknown["value"]) == ("Client id", "999999")


# --- Assignee select, multi-value filters ------------------------------------------


def _options(page: str, name: str) -> list[tuple[str, str, bool]]:
    select = page.split(f'<select name="{name}"')[1].split("</select>")[0]
    return [
        (value, label, bool(selected))
        for value, selected, label in re.findall(
            r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select
        )
    ]


def test_the_assignee_filter_offers_unassigned_me_and_reviewers(
    reviewer_client, world, viewer
):
    page = reviewer_client.get(QUEUE).content.decode()
    options = _options(page, "assignee")
    assert [(v, label) for v, label, _ in options] == [
        ("", "Any"),
        ("none", "Unassigned"),
        ("me", "Me"),
        ("colin", "colin"),
        ("rita-reviewer", "rita-reviewer"),
    ]
    assert (
        "vera-viewer"
        not in page.split('<select name="assignee"')[1].split("</select>")[0]
    )


@pytest.mark.parametrize(
    ("value", "selected", "ids"),
    [
        ("colin", "colin", {"s-colins"}),
        ("me", "me", {"s-mine"}),
        ("ME", "me", {"s-mine"}),
        ("None", "none", None),
        # A bookmark naming someone no longer a reviewer stays selected.
        ("vera-viewer", "vera-viewer", set()),
    ],
)
def test_bookmarked_assignee_urls_keep_working(
    reviewer_client, world, viewer, value, selected, ids
):
    response = reviewer_client.get(f"{QUEUE}?assignee={value}")
    chosen = [
        v
        for v, _, is_selected in _options(response.content.decode(), "assignee")
        if is_selected
    ]
    assert chosen == [selected]
    if ids is not None:
        assert set(_ids(response)) == ids


def test_a_bookmarked_multi_value_filter_reads_well_in_select_and_chip(
    reviewer_client, world
):
    response = reviewer_client.get(f"{QUEUE}?status=completed,failed&outcome=none")
    page = response.content.decode()
    assert ("completed,failed", "Completed, Failed", True) in _options(page, "status")
    chips = {c["name"]: c["value"] for c in response.context["chips"]}
    assert chips["status"] == "Completed, Failed"
    assert chips["outcome"] == "None yet"
    assert 'aria-label="Remove filter Status: Completed, Failed"' in page
    assert set(_ids(response)) == {"s-failed"}


# --- Session links keep the queue ---------------------------------------------------


def test_session_links_carry_the_queue_they_were_opened_from(reviewer_client, world):
    response = reviewer_client.get(f"{QUEUE}?status=completed&sort=created&back=x")
    link = response.context["session_link_query"]
    back = parse_qs(urlsplit(link).query)["back"]
    assert back == [f"{QUEUE}?status=completed&sort=created"]
    assert reviewer_client.get(QUEUE).context["session_link_query"] == ""


def test_the_scrollable_table_is_a_labelled_focusable_region(reviewer_client, world):
    page = reviewer_client.get(QUEUE).content.decode()
    wraps = re.findall(r'<div class="table-wrap"[^>]*>', page)
    assert wraps == [
        '<div class="table-wrap" tabindex="0" role="region" aria-label="Sessions in the queue">'
    ]


def test_queue_queries_with_a_client_filter_stay_constant(
    reviewer_client, world, django_assert_max_num_queries
):
    client_id = world["cube"].provider_client.client_id
    # 14 with the saved views list (saved_views/).
    with django_assert_max_num_queries(14):
        response = reviewer_client.get(f"{QUEUE}?client={client_id}&assignee=colin")
    assert response.status_code == 200


def test_blank_filter_values_are_unset_with_no_chip_and_no_error(
    reviewer_client, world
):
    """As on the API and in the CSV: blank (or only commas) leaves a filter unset."""
    everything = _ids(reviewer_client.get(QUEUE))
    blanks = {
        "status": ",",
        "outcome": " , ",
        "provider": " ",
        "client": " ",
        "needs_attention": " ",
        "created_after": " ",
    }
    response = reviewer_client.get(QUEUE, blanks)
    assert _ids(response) == everything
    assert response.context["filter_errors"] == []
    assert response.context["chips"] == []
    assert not response.context["is_filtered"]
    assert response.context["hidden_inputs"] == []


def test_blank_items_of_a_list_filter_are_dropped_from_its_chip(reviewer_client, world):
    response = reviewer_client.get(QUEUE, {"status": "completed,", "sort": "status"})
    plain = reviewer_client.get(QUEUE, {"status": "completed", "sort": "status"})
    assert _ids(response) == _ids(plain)
    [chip] = response.context["chips"]
    assert chip["value"] == "Completed"


# --- Due times: the "Why" and "Age / due" columns, the overdue filter --------------


@pytest.mark.parametrize(
    "query",
    [
        "page_size=100&overdue=true",
        "page_size=100&case_state=open&overdue=true&sort=due",
        "page_size=25&case_state=open,in_review&provider=onfido-eu&sort=-due",
    ],
)
def test_the_due_time_views_keep_a_constant_query_count(
    reviewer_client, django_assert_max_num_queries, query
):
    def overdue_and_open():
        WorkflowSession.objects.update(
            case_state="open", case_due_at=timezone.now() - dt.timedelta(days=1)
        )

    desk_data_create(sessions=5)
    overdue_and_open()
    small = _queue_queries(reviewer_client, django_assert_max_num_queries, query)
    desk_data_create(sessions=60, prefix="more-")
    overdue_and_open()
    large = _queue_queries(reviewer_client, django_assert_max_num_queries, query)
    assert small == large


def test_the_why_and_age_due_columns(reviewer_client):
    now = timezone.now()
    overdue = WorkflowSessionFactory(
        external_id="late-1",
        outcome="rejected",
        attention_since=now - dt.timedelta(days=3, hours=1),
        case_due_at=now - dt.timedelta(days=1, hours=1),
    )
    soon = WorkflowSessionFactory(
        external_id="soon-1",
        outcome="attention",
        attention_since=now - dt.timedelta(hours=2),
        case_due_at=now + dt.timedelta(hours=5, minutes=30),
    )
    WorkflowSessionFactory(external_id="clear-1", outcome="clear")
    page = reviewer_client.get(QUEUE).content.decode()
    assert '<th scope="col">Why</th>' in page
    assert "Age / due" in page
    late_row = _row_of(page, overdue.external_id)
    assert (
        '<td class="wrap why-cell" data-label="Why"><span class="why small">'
        "outcome rejected, case open</span></td>"
    ) in late_row
    assert (
        '<td class="age-due overdue" data-label="Age / due">3 d · overdue 1 d</td>'
    ) in late_row
    assert '<td class="age-due" data-label="Age / due">2 h · due in 5 h</td>' in (
        _row_of(page, soon.external_id)
    )
    clear_row = _row_of(page, "clear-1")
    assert '<td class="age-due" data-label="Age / due"><span class="muted">—' in (
        clear_row
    )


def test_the_overdue_filter_and_the_sort_by_due(reviewer_client):
    now = timezone.now()
    late = WorkflowSessionFactory(
        external_id="late-1",
        outcome="rejected",
        case_due_at=now - dt.timedelta(hours=1),
    )
    later = WorkflowSessionFactory(
        external_id="late-2", outcome="rejected", case_due_at=now - dt.timedelta(days=2)
    )
    WorkflowSessionFactory(
        external_id="fine-1", outcome="rejected", case_due_at=now + dt.timedelta(days=1)
    )
    WorkflowSessionFactory(external_id="none-1", outcome="clear")
    page = reviewer_client.get(f"{QUEUE}?overdue=true&sort=due").content.decode()
    ids = re.findall(r'class="mono id" title="([^"]+)">', page)
    assert [i for i in ids if i.startswith(("late", "fine", "none"))] == [
        later.external_id,
        late.external_id,
    ]
    assert "Overdue: <strong>Yes</strong>" in page
    # Sorted by due time, a list holds only the sessions that have one.
    page = reviewer_client.get(f"{QUEUE}?sort=-due").content.decode()
    ids = re.findall(r'class="mono id" title="([^"]+)">', page)
    assert [i for i in ids if i.startswith(("late", "fine", "none"))] == [
        "fine-1",
        "late-1",
        "late-2",
    ]


def test_sorted_by_due_time_the_queue_says_it_lists_only_sessions_with_one(
    reviewer_client,
):
    WorkflowSessionFactory(external_id="none-due", outcome="clear")

    page = reviewer_client.get(f"{QUEUE}?sort=due").content.decode()

    assert "in total" not in page  # the whole-table estimate would be wrong here
    assert "only sessions with a due time" in page
    assert "No sessions yet" not in page
    assert "the queue lists only sessions that have one" in page
    unsorted = reviewer_client.get(QUEUE).content.decode()
    assert "only sessions with a due time" not in unsorted
