"""KeysetPaginator: no gaps or duplicates at page boundaries, ties broken by id,
both directions, Previous, tampered cursors, one query per page."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.utils import timezone

from sessions_app.models import Client, WorkflowSession
from sessions_app.pagination import (
    MAX_CURSOR_LENGTH,
    MAX_ID,
    InvalidCursor,
    KeysetPaginator,
)
from tests.factories import ProviderConnectionFactory, WorkflowSessionFactory
from tests.helpers.cursors import (
    EDGE_DATES,
    EDGE_DATES_VALID,
    date_cursor,
    nested_cursors,
)

pytestmark = pytest.mark.django_db

BASE = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def sessions():
    """17 sessions whose creation times collide in groups of three (ties)."""
    conn = ProviderConnectionFactory()
    return [
        WorkflowSessionFactory(
            connection=conn,
            external_id=f"run-{i:02d}",
            provider_created_at=BASE + dt.timedelta(minutes=i // 3),
        )
        for i in range(17)
    ]


def _expected(descending: bool) -> list[int]:
    rows = WorkflowSession.objects.values_list("provider_created_at", "pk")
    return [pk for _, pk in sorted(rows, reverse=descending)]


def _walk_forward(paginator: KeysetPaginator) -> list[list[int]]:
    pages, cursor = [], None
    while True:
        page = paginator.page(cursor)
        pages.append([row.pk for row in page.items])
        if not page.has_next:
            return pages
        cursor = page.next_cursor


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("page_size", [1, 2, 3, 4, 5, 16, 17, 100])
def test_walking_forward_visits_every_row_once_in_order(
    sessions, descending, page_size
):
    paginator = KeysetPaginator(
        WorkflowSession.objects.all(),
        sort_field="provider_created_at",
        descending=descending,
        page_size=page_size,
    )
    pages = _walk_forward(paginator)
    flat = [pk for page in pages for pk in page]
    assert flat == _expected(descending)
    assert all(len(page) == page_size for page in pages[:-1])
    assert 1 <= len(pages[-1]) <= page_size


@pytest.mark.parametrize("descending", [True, False])
def test_walking_back_with_previous_returns_the_same_pages(sessions, descending):
    paginator = KeysetPaginator(
        WorkflowSession.objects.all(),
        sort_field="provider_created_at",
        descending=descending,
        page_size=4,
    )
    forward, cursors, cursor = [], [], None
    while True:
        page = paginator.page(cursor)
        forward.append([row.pk for row in page.items])
        cursors.append(page)
        if not page.has_next:
            break
        cursor = page.next_cursor
    # From the last page, follow "Previous" back to the first page.
    page = cursors[-1]
    backward = [[row.pk for row in page.items]]
    while page.has_previous:
        page = paginator.page(page.previous_cursor)
        backward.append([row.pk for row in page.items])
    assert page.is_first
    assert list(reversed(backward)) == forward


def test_previous_from_the_second_page_gives_a_full_first_page(sessions):
    paginator = KeysetPaginator(
        WorkflowSession.objects.all(), sort_field="provider_created_at", page_size=5
    )
    first = paginator.page()
    second = paginator.page(first.next_cursor)
    back = paginator.page(second.previous_cursor)
    assert [r.pk for r in back.items] == [r.pk for r in first.items]
    assert back.is_first
    assert not back.has_previous
    assert back.has_next


def test_first_page_has_no_previous_and_last_page_no_next(sessions):
    paginator = KeysetPaginator(
        WorkflowSession.objects.all(), sort_field="provider_created_at", page_size=10
    )
    first = paginator.page()
    assert first.is_first
    assert not first.has_previous
    assert first.has_next
    last = paginator.page(first.next_cursor)
    assert len(last.items) == 7
    assert not last.has_next
    assert last.has_previous


def test_exactly_full_last_page_has_no_next(sessions):
    paginator = KeysetPaginator(
        WorkflowSession.objects.all(), sort_field="provider_created_at", page_size=17
    )
    page = paginator.page()
    assert len(page.items) == 17
    assert not page.has_next


def test_ties_on_a_text_key_through_a_relation_are_broken_by_id():
    conns = [ProviderConnectionFactory(slug=slug) for slug in ("b-prov", "a-prov")]
    for i in range(9):
        WorkflowSessionFactory(connection=conns[i % 2], external_id=f"s{i}")
    paginator = KeysetPaginator(
        WorkflowSession.objects.select_related("connection"),
        sort_field="connection__slug",
        descending=False,
        page_size=2,
    )
    flat = [pk for page in _walk_forward(paginator) for pk in page]
    expected = [
        pk
        for _, pk in sorted(
            WorkflowSession.objects.values_list("connection__slug", "pk")
        )
    ]
    assert flat == expected


def test_rows_inserted_while_paging_do_not_shift_later_pages(sessions):
    paginator = KeysetPaginator(
        WorkflowSession.objects.all(), sort_field="provider_created_at", page_size=5
    )
    first = paginator.page()
    expected_second = [r.pk for r in paginator.page(first.next_cursor).items]
    # A brand-new session arrives at the top of a newest-first queue.
    WorkflowSessionFactory(provider_created_at=timezone.now())
    assert [r.pk for r in paginator.page(first.next_cursor).items] == expected_second


def test_each_page_is_one_query_without_count(sessions, django_assert_num_queries):
    paginator = KeysetPaginator(
        WorkflowSession.objects.all(), sort_field="provider_created_at", page_size=5
    )
    with django_assert_num_queries(1) as captured:
        first = paginator.page()
    with django_assert_num_queries(1):
        paginator.page(first.next_cursor)
    assert "COUNT(" not in captured.captured_queries[0]["sql"].upper()
    assert "OFFSET" not in captured.captured_queries[0]["sql"].upper()


def test_page_size_is_capped():
    paginator = KeysetPaginator(
        WorkflowSession.objects.all(),
        sort_field="provider_created_at",
        page_size=10_000,
    )
    assert paginator.page_size == 100


def _forge(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!!",
        "e30",  # {}
        _forge([1, 2]),
        _forge(
            {"s": "-provider_created_at", "v": {"dt": "yesterday"}, "i": 1, "b": False}
        ),
        _forge({"s": "-provider_created_at", "v": {"zz": 1}, "i": 1, "b": False}),
        _forge(
            {"s": "-provider_created_at", "v": "x", "i": "1; DROP TABLE", "b": False}
        ),
        _forge({"s": "status", "v": "completed", "i": 1, "b": False}),  # another sort
    ],
)
def test_bad_cursors_raise_invalid_cursor(cursor):
    paginator = KeysetPaginator(
        WorkflowSession.objects.all(), sort_field="provider_created_at"
    )
    with pytest.raises(InvalidCursor):
        paginator.page(cursor)


def test_cursor_is_opaque_base64_json_bound_to_its_sort(sessions):
    desc = KeysetPaginator(
        WorkflowSession.objects.all(), sort_field="provider_created_at", page_size=3
    )
    cursor = desc.page().next_cursor
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert payload["s"] == "-provider_created_at"
    assert payload["b"] is False
    asc = KeysetPaginator(
        WorkflowSession.objects.all(),
        sort_field="provider_created_at",
        descending=False,
    )
    with pytest.raises(InvalidCursor):
        asc.page(cursor)


@pytest.mark.parametrize(
    "payload",
    [
        {"v": "abc"},
        {"v": {"dt": "2026-13-45T00:00:00+00:00"}},
        {"v": "2026-13-45T00:00:00+00:00"},
        {"i": 2**70},
        {"i": -1},
    ],
)
def test_forged_queue_cursor_is_rejected_not_a_server_error(reviewer_client, payload):
    import base64
    import json

    from sessions_app.pagination import KeysetPaginator
    from sessions_app.selectors import session_queryset
    from tests.factories import WorkflowSessionFactory

    WorkflowSessionFactory.create_batch(3)
    paginator = KeysetPaginator(
        session_queryset(),
        sort_field="provider_created_at",
        descending=True,
        page_size=1,
    )
    genuine = paginator.page(None).next_cursor
    decoded = json.loads(base64.urlsafe_b64decode(genuine + "=" * (-len(genuine) % 4)))
    decoded.update(payload)
    forged = base64.urlsafe_b64encode(json.dumps(decoded).encode()).decode().rstrip("=")
    response = reviewer_client.get("/sessions/", {"cursor": forged})
    assert response.status_code in (200, 400)
    api = reviewer_client.get("/api/v1/sessions/", {"cursor": forged})
    assert api.status_code == 400


# --- Hostile cursors (issue 17) ------------------------------------------------------


@pytest.mark.parametrize("kind", ["value", "bare", "objects"])
def test_a_deeply_nested_cursor_is_invalid_not_a_recursion_error(kind):
    paginator = KeysetPaginator(
        WorkflowSession.objects.all(), sort_field="provider_created_at"
    )
    with pytest.raises(InvalidCursor, match="nested too deeply"):
        paginator.page(nested_cursors("-provider_created_at")[kind])


@pytest.mark.parametrize("moment", EDGE_DATES)
@pytest.mark.parametrize("backwards", [False, True])
def test_a_date_time_off_the_calendar_in_utc_or_naive_is_invalid(moment, backwards):
    WorkflowSessionFactory()
    paginator = KeysetPaginator(
        WorkflowSession.objects.all(), sort_field="provider_created_at"
    )
    cursor = date_cursor("-provider_created_at", moment, backwards=backwards)
    with pytest.raises(InvalidCursor, match=r"time zone|out of range"):
        paginator.page(cursor)


@pytest.mark.parametrize("moment", EDGE_DATES_VALID)
def test_the_calendars_own_ends_in_utc_are_valid_boundaries(moment):
    session = WorkflowSessionFactory()
    paginator = KeysetPaginator(
        WorkflowSession.objects.all(), sort_field="provider_created_at"
    )
    page = paginator.page(date_cursor("-provider_created_at", moment))
    expected = [session.pk] if moment.startswith("9999") else []
    assert [s.pk for s in page.items] == expected


def test_a_cursor_longer_than_any_genuine_one_is_refused_before_decoding():
    paginator = KeysetPaginator(Client.objects.all(), sort_field="display_name")
    # The longest genuine cursor: a display name of non-BMP characters at the
    # column's limit, each escaped to a surrogate pair in the JSON.
    longest = paginator.encode_cursor(
        value="\U0001f600" * 255, pk=MAX_ID, backwards=True
    )
    assert len(longest) < MAX_CURSOR_LENGTH
    assert paginator.decode_cursor(longest)[0] == "\U0001f600" * 255
    with pytest.raises(InvalidCursor, match="too long"):
        paginator.page("A" * (MAX_CURSOR_LENGTH + 1))


# --- Ties by date, then id (issue 19) --------------------------------------------------


@pytest.mark.parametrize("descending", [False, True])
def test_ties_break_by_the_tie_field_before_the_id_in_both_directions(descending):
    """Rows sharing a status come in creation order, whatever their ids, on
    every page, walked forward and back."""
    conn = ProviderConnectionFactory()
    # Created in the reverse of their ids, two statuses.
    for i in range(11):
        WorkflowSessionFactory(
            connection=conn,
            external_id=f"t{i:02d}",
            status="failed" if i % 3 else "completed",
            provider_created_at=BASE - dt.timedelta(hours=i // 2),  # pairs tie too
        )
    paginator = KeysetPaginator(
        WorkflowSession.objects.all(),
        sort_field="status",
        descending=descending,
        page_size=3,
        tie_field="provider_created_at",
    )
    pages = _walk_forward(paginator)
    flat = [pk for page in pages for pk in page]
    expected = [
        pk
        for *_, pk in sorted(
            WorkflowSession.objects.values_list("status", "provider_created_at", "pk"),
            reverse=descending,
        )
    ]
    assert flat == expected
    # Back from the last page gives the same pages.
    page = paginator.page(None)
    while page.has_next:
        page = paginator.page(page.next_cursor)
    back = [[row.pk for row in page.items]]
    while page.has_previous:
        page = paginator.page(page.previous_cursor)
        back.insert(0, [row.pk for row in page.items])
    assert back == pages


def test_a_cursor_without_its_tie_value_is_refused():
    WorkflowSessionFactory.create_batch(3)
    untied = KeysetPaginator(
        WorkflowSession.objects.all(), sort_field="status", page_size=1
    )
    tied = KeysetPaginator(
        WorkflowSession.objects.all(),
        sort_field="status",
        page_size=1,
        tie_field="provider_created_at",
    )
    with pytest.raises(InvalidCursor, match="another sort"):
        tied.page(untied.page(None).next_cursor)
    genuine = tied.page(None).next_cursor
    payload = json.loads(base64.urlsafe_b64decode(genuine + "=" * (-len(genuine) % 4)))
    del payload["t"]
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    with pytest.raises(InvalidCursor, match="incomplete"):
        tied.page(forged)
    payload["t"] = "not a date"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    with pytest.raises(InvalidCursor, match="does not fit"):
        tied.page(forged)


def test_a_nullable_sort_field_lists_only_the_rows_that_have_a_value():
    due = [BASE + dt.timedelta(hours=h) for h in (3, 1, 2)]
    for i, moment in enumerate(due):
        WorkflowSessionFactory(external_id=f"d{i}", case_due_at=moment)
    WorkflowSessionFactory(external_id="none")  # no due time
    paginator = KeysetPaginator(
        WorkflowSession.objects.all(),
        sort_field="case_due_at",
        descending=False,
        page_size=2,
        tie_field="provider_created_at",
    )
    walked = [
        WorkflowSession.objects.get(pk=pk).external_id
        for page in _walk_forward(paginator)
        for pk in page
    ]
    assert walked == ["d1", "d2", "d0"]
