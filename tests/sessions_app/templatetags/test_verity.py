"""The desk's template tags (templatetags/verity.py): the provider's own words
in text, and the queue's tags cut to "+N more"."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils.safestring import SafeString

from sessions_app.models import Outcome, TagKind
from sessions_app.templatetags.verity import (
    QUEUE_TAGS_SHOWN,
    break_after_underscores,
    outcome_badge,
)
from tests.factories import (
    CheckFactory,
    ClientFactory,
    ProviderClientFactory,
    TagFactory,
    WorkflowSessionFactory,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("no_queries_in_templates"),
]


def _text(html: str) -> str:
    """What a reader sees without hovering: the page's text, no attributes
    (a `<wbr>` is a place a line may break, not a space)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.replace("<wbr>", "")))


@pytest.mark.parametrize(
    ("word", "html"),
    [
        ("awaiting_client_input", "awaiting_<wbr>client_<wbr>input"),
        ("consider", "consider"),
        ("<script>_x", "&lt;script&gt;_<wbr>x"),
        ("a\"b'_&c", "a&quot;b&#x27;_<wbr>&amp;c"),
        ("", ""),
    ],
)
def test_a_raw_word_is_escaped_then_breaks_after_its_underscores(word, html):
    shown = break_after_underscores(word)
    assert shown == html
    assert isinstance(shown, SafeString)


def test_the_queue_and_the_session_page_break_raw_words_after_underscores(
    viewer_client,
):
    session = WorkflowSessionFactory(
        external_id="run-underscores",
        raw_status="awaiting_client_input",
        raw_outcome="needs_<b>_review",
    )
    breakable_status = "awaiting_<wbr>client_<wbr>input"
    breakable_outcome = "needs_<wbr>&lt;b&gt;_<wbr>review"

    page = viewer_client.get(reverse("session-list")).content.decode()
    [row] = [
        r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if "run-underscores" in r
    ]
    assert f'<span class="raw">{breakable_status}</span>' in row
    assert f'<span class="raw">{breakable_outcome}</span>' in row
    # The tooltip keeps the provider's word as it is.
    assert 'title="Provider value: awaiting_client_input"' in row
    assert "<b>" not in row

    detail = viewer_client.get(session.get_absolute_url()).content.decode()
    assert f'<span class="mono">{breakable_status}</span>' in detail
    assert "<b>_" not in detail


def test_the_outcome_badge_shows_the_providers_word_in_text():
    html = outcome_badge(Outcome.ATTENTION, "consider")
    assert "Attention" in _text(html)
    assert "consider" in _text(html)
    # No provider word, nothing under the badge.
    assert _text(outcome_badge(Outcome.NONE, "")).split() == ["None", "yet"]


@pytest.fixture
def linked_session():
    client = ClientFactory(display_name="Grace Hopper")
    session = WorkflowSessionFactory(
        external_id="run-raw-words",
        provider_client=ProviderClientFactory(client=client),
        outcome=Outcome.ATTENTION,
        raw_outcome="session_says_consider",
    )
    CheckFactory(
        session=session,
        external_id="chk-raw-words",
        outcome=Outcome.REJECTED,
        raw_outcome="check_says_rejected",
    )
    return session


def test_the_queue_row_shows_the_raw_outcome_in_text(viewer_client, linked_session):
    page = viewer_client.get(reverse("session-list")).content.decode()
    [row] = [r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if "run-raw-words" in r]
    assert "session_says_consider" in _text(row)


def test_the_check_rows_show_the_raw_outcome_in_text(viewer_client, linked_session):
    page = viewer_client.get(linked_session.get_absolute_url()).content.decode()
    [row] = [r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if "chk-raw-words" in r]
    assert "check_says_rejected" in _text(row)


def test_the_client_page_shows_the_raw_outcomes_in_text(viewer_client, linked_session):
    url = reverse("client-detail", args=[linked_session.provider_client.client_id])
    rows = re.findall(r"<tr>.*?</tr>", viewer_client.get(url).content.decode(), re.S)
    [session_row] = [
        r for r in rows if "run-raw-words" in r and '<th scope="row"><a' in r
    ]
    assert "session_says_consider" in _text(session_row)
    # The check's row in the checks list, and its kind's row in the matrix.
    check_rows = [r for r in rows if "check_says_rejected" in _text(r)]
    assert len(check_rows) == 2
    assert all("run-raw-words" in row for row in check_rows)


def test_the_queue_shows_the_first_tags_then_how_many_more(viewer_client):
    names = [f"ica:pipeline:step-{n}" for n in range(QUEUE_TAGS_SHOWN + 4)]
    WorkflowSessionFactory(
        external_id="run-many-tags",
        tags=[TagFactory(name=name, kind=TagKind.TECHNICAL) for name in names],
    )
    WorkflowSessionFactory(
        external_id="run-few-tags",
        tags=[TagFactory(name="vip"), TagFactory(name="manual-review")],
    )
    page = viewer_client.get(reverse("session-list")).content.decode()
    rows = {
        external_id: row
        for row in re.findall(r"<tr>.*?</tr>", page, re.S)
        for external_id in ("run-many-tags", "run-few-tags")
        if f'title="{external_id}"' in row
    }
    cell = re.search(
        r'<td class="wrap tags"[^>]*>(.*?)</td>', rows["run-many-tags"], re.S
    )
    shown, more = cell.group(1).split('<details class="tags-more">')
    assert (
        re.findall(r">(ica:pipeline:step-\d)</span>", shown) == names[:QUEUE_TAGS_SHOWN]
    )
    summary = re.search(r'<summary title="([^"]*)">(.*?)</summary>', more)
    assert summary.group(2) == "+4 more"
    assert summary.group(1) == ", ".join(names)
    assert (
        re.findall(r">(ica:pipeline:step-\d)</span>", more) == names[QUEUE_TAGS_SHOWN:]
    )
    # Few tags: all of them, no disclosure.
    assert "tags-more" not in rows["run-few-tags"]
    assert "manual-review</span>" in rows["run-few-tags"]


def test_a_queue_row_says_why_it_needs_attention(viewer_client):
    WorkflowSessionFactory(
        external_id="run-why", status="completed", outcome="rejected", last_decision=""
    )
    # Decided once, then reopened: "no decision yet" would be wrong; the rule
    # is the case's state (open or in review).
    WorkflowSessionFactory(
        external_id="run-reopened",
        status="completed",
        outcome="attention",
        last_decision="approve",
        case_state="in_review",
    )
    WorkflowSessionFactory(external_id="run-fine", status="completed", outcome="clear")
    page = viewer_client.get(reverse("session-list")).content.decode()
    rows = {
        external_id: _text(row)
        for row in re.findall(r"<tr>.*?</tr>", page, re.S)
        for external_id in ("run-why", "run-reopened", "run-fine")
        if external_id in row
    }
    assert "outcome rejected, case open" in rows["run-why"]
    assert "outcome attention, case in review" in rows["run-reopened"]
    assert "no decision yet" not in page
    assert ", case " not in rows["run-fine"]
    # Its own column (issue 19), labelled on a phone's card.
    assert re.search(
        r'<td class="wrap why-cell" data-label="Why"><span class="why small">'
        r"outcome rejected, case open</span></td>",
        page,
    )


@pytest.mark.parametrize(
    ("since", "due", "words"),
    [
        (None, None, ""),
        (-dt.timedelta(days=3), dt.timedelta(hours=5, minutes=59), "3 d · due in 5 h"),
        (-dt.timedelta(hours=50), -dt.timedelta(days=1, hours=2), "2 d · overdue 1 d"),
        (None, dt.timedelta(minutes=30), "due in 30 min"),
        (-dt.timedelta(minutes=5), dt.timedelta(0), "5 min · overdue 0 min"),
    ],
)
def test_age_due_words(since, due, words):
    from sessions_app.templatetags.verity import age_due_words

    now = dt.datetime(2026, 12, 4, 15, tzinfo=dt.UTC)
    assert (
        age_due_words(
            since=now + since if since is not None else None,
            due=now + due if due is not None else None,
            now=now,
        )
        == words
    )
