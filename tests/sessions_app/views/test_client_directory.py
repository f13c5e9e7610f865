"""The client directory (/clients/), the risk tier form on the client page,
and the due/overdue counts on the overview and the queue."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import AuditEvent, Client
from tests.factories import (
    ClientFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    UserFactory,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("no_queries_in_templates"),
]
TODAY = dt.date(2026, 6, 1)
DIRECTORY = "/clients/"


@pytest.fixture(autouse=True)
def _today(monkeypatch, settings):
    """Time frozen at noon UTC on TODAY (pages compare review dates with it)."""
    settings.VERITY_REVIEW_DUE_WITHIN_DAYS = 30
    noon = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: noon)


@pytest.fixture
def clients():
    onfido = ProviderConnectionFactory(kind="onfido", slug="onfido-eu")
    cube = ProviderConnectionFactory(kind="complycube", slug="complycube")
    rows = {
        "ada": ClientFactory(
            display_name="Ada Adams",
            reference="REF-ADA",
            risk_tier="high",
            has_gaps=True,
            next_review_due=TODAY - dt.timedelta(days=3),
        ),
        "ben": ClientFactory(
            display_name="Ben Brown",
            risk_tier="medium",
            next_review_due=TODAY + dt.timedelta(days=10),
        ),
        "cy": ClientFactory(
            display_name="Cy Cole",
            risk_tier="low",
            next_review_due=TODAY + dt.timedelta(days=400),
        ),
        "dee": ClientFactory(display_name="Dee Dunn", risk_tier="", has_gaps=True),
    }
    ProviderClientFactory(client=rows["ada"], connection=onfido, external_id="app-1")
    ProviderClientFactory(client=rows["ben"], connection=cube, external_id="cc-2")
    ProviderClientFactory(client=rows["cy"], connection=onfido, external_id="app-3")
    ProviderClientFactory(client=rows["cy"], connection=cube, external_id="cc-3")
    return rows


def _names(response) -> list[str]:
    return [row["client"].display_name for row in response.context["rows"]]


def test_the_directory_lists_every_client_by_name(viewer_client, clients):
    response = viewer_client.get(DIRECTORY)
    assert response.status_code == 200
    assert _names(response) == ["Ada Adams", "Ben Brown", "Cy Cole", "Dee Dunn"]
    page = response.content.decode()
    assert f'href="{clients["ada"].get_absolute_url()}"' in page
    assert "Overdue" in page
    assert "Due soon" in page
    assert "Never completely verified" in page
    cy = next(r for r in response.context["rows"] if r["client"] == clients["cy"])
    assert cy["providers"] == ["Complycube", "Onfido Eu"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=ben", ["Ben Brown"]),
        ("q=REF-ADA", ["Ada Adams"]),
        ("q=cc-3", ["Cy Cole"]),  # an exact provider id
        ("q=cc-", []),  # provider ids are exact
        ("provider=complycube", ["Ben Brown", "Cy Cole"]),
        ("provider=onfido-eu,complycube", ["Ada Adams", "Ben Brown", "Cy Cole"]),
        ("risk_tier=high", ["Ada Adams"]),
        ("risk_tier=medium,low", ["Ben Brown", "Cy Cole"]),
        ("risk_tier=none", ["Dee Dunn"]),
        ("has_gaps=true", ["Ada Adams", "Dee Dunn"]),
        ("has_gaps=false", ["Ben Brown", "Cy Cole"]),
        ("review=overdue", ["Ada Adams"]),
        ("review=due", ["Ben Brown"]),
        ("review=due,overdue", ["Ada Adams", "Ben Brown"]),
        ("review=unverified", ["Dee Dunn"]),
        ("provider=onfido-eu&has_gaps=true", ["Ada Adams"]),
        ("risk_tier=", ["Ada Adams", "Ben Brown", "Cy Cole", "Dee Dunn"]),  # blank
    ],
)
def test_directory_filters(viewer_client, clients, query, expected):
    assert _names(viewer_client.get(f"{DIRECTORY}?{query}")) == expected


@pytest.mark.parametrize(
    "query", ["provider=nowhere", "risk_tier=extreme", "review=soon", "has_gaps=x"]
)
def test_a_bad_filter_value_is_shown_and_lists_nothing(viewer_client, clients, query):
    response = viewer_client.get(f"{DIRECTORY}?{query}")
    assert response.status_code == 200
    assert response.context["rows"] == []
    assert 'id="filter-errors"' in response.content.decode()


def test_keyset_pages_walk_forward_and_back(viewer_client, monkeypatch):
    from sessions_app import selectors

    real = selectors.client_directory_page

    def two_a_page(**kwargs):
        return real(**kwargs, page_size=2)

    monkeypatch.setattr(selectors, "client_directory_page", two_a_page)
    for n in range(5):
        ClientFactory(display_name=f"Client {n}")
    first = viewer_client.get(DIRECTORY)
    assert _names(first) == ["Client 0", "Client 1"]
    second = viewer_client.get(DIRECTORY + first.context["next_url"])
    assert _names(second) == ["Client 2", "Client 3"]
    third = viewer_client.get(DIRECTORY + second.context["next_url"])
    assert _names(third) == ["Client 4"]
    assert third.context["next_url"] == ""
    back = viewer_client.get(DIRECTORY + third.context["previous_url"])
    assert _names(back) == ["Client 2", "Client 3"]


def test_a_damaged_cursor_shows_the_first_page(viewer_client, clients):
    response = viewer_client.get(f"{DIRECTORY}?cursor=garbage")
    assert _names(response)[0] == "Ada Adams"
    assert "damaged" in response.content.decode()


def test_a_page_costs_the_same_queries_whatever_its_rows(
    viewer_client, django_assert_max_num_queries
):
    connection = ProviderConnectionFactory()
    for _n in range(3):
        ProviderClientFactory(connection=connection, client=ClientFactory())
    # Session, user, permissions (2), admin role; the provider check (whose
    # ids the filter reuses); the rows, their identities; the connections of
    # the form.
    with django_assert_max_num_queries(9):
        viewer_client.get(f"{DIRECTORY}?provider={connection.slug}&has_gaps=false")
    for _n in range(30):
        ProviderClientFactory(connection=connection, client=ClientFactory())
    with django_assert_max_num_queries(9):
        viewer_client.get(f"{DIRECTORY}?provider={connection.slug}&has_gaps=false")


def test_a_row_says_each_client_in_words(viewer_client, clients):
    """The row built in Python (templatetags/client_rows.py) says what the
    template's cells said, escaped."""
    ada = clients["ada"]
    ada.display_name = "Ada <Adams> & Co"
    ada.risk_tier_source = "reviewer"
    ada.last_activity_at = dt.datetime(2026, 5, 2, 9, 30, tzinfo=dt.UTC)
    ada.save()
    Client.objects.filter(pk=clients["dee"].pk).update(reference="")

    page = viewer_client.get(DIRECTORY).content.decode()

    row = page[page.index(ada.get_absolute_url()) - 40 :].split("</tr>")[0]
    # Initials, escaped, as in the queue: the directory lists many people.
    initials = "A. &lt;. &amp;. C."
    assert (
        f'<a href="{ada.get_absolute_url()}" title="{initials}">{initials}</a>' in row
    )
    assert "Adams" not in page
    assert '<td class="mono" data-label="Reference">REF-ADA</td>' in row
    assert '<td data-label="Providers">Onfido Eu</td>' in row
    assert 'High <span class="muted small">(set by a reviewer)</span>' in row
    assert '<span class="badge badge-rejected">Gaps</span>' in row
    assert '2026-05-29 <span class="badge badge-rejected">Overdue</span>' in row
    assert '<td class="nowrap" data-label="Last activity">2026-05-02 09:30</td>' in row
    dee = page[page.index(clients["dee"].get_absolute_url()) :].split("</tr>")[0]
    assert '<td class="mono" data-label="Reference">—</td>' in dee
    assert '<td data-label="Providers">—</td>' in dee
    assert '<span class="muted">Never completely verified</span></td>' in dee
    assert '<td class="nowrap" data-label="Last activity">—</td>' in dee


@pytest.mark.parametrize(
    "role_client", ["viewer_client", "reviewer_client", "admin_client_verity"]
)
def test_no_role_sees_a_full_name_in_the_directory(role_client, request, clients):
    """docs/data-protection.md: names are initials in lists, for every role;
    searching by a full name still finds the client (shown by its initials)."""
    ada = clients["ada"]
    ada.display_name = "Adelaide Quintessa Adams"
    ada.save()
    page_client = request.getfixturevalue(role_client)

    page = page_client.get(DIRECTORY).content.decode()
    found = page_client.get(DIRECTORY, {"q": "Quintessa"}).content.decode()

    assert "Quintessa" not in page
    assert ">A. Q. A.</a>" in page
    assert ">A. Q. A.</a>" in found


def test_who_may_see_the_directory(client, viewer_client):
    assert client.get(DIRECTORY).status_code == 302  # to the sign-in page
    stranger = DjangoClient()
    stranger.force_login(UserFactory(username="no-roles", roles=[]))
    assert stranger.get(DIRECTORY).status_code == 403
    assert viewer_client.get(DIRECTORY).status_code == 200


def test_the_directory_is_in_the_nav(viewer_client):
    page = viewer_client.get(DIRECTORY).content.decode()
    assert f'href="{reverse("client-list")}" aria-current="page"' in page


def test_the_export_link_is_for_exporters_only(viewer_client, exporter_client):
    assert "/clients/export.csv" not in viewer_client.get(DIRECTORY).content.decode()
    page = exporter_client.get(f"{DIRECTORY}?risk_tier=high").content.decode()
    assert "/clients/export.csv?risk_tier=high" in page


# --- The overview and the queue link to the due and overdue clients ------------------


@pytest.mark.parametrize("url", ["/", "/sessions/"])
def test_overview_and_queue_count_due_and_overdue_clients(viewer_client, clients, url):
    page = viewer_client.get(url).content.decode()
    counts = viewer_client.get(url).context["review_counts"]
    assert (counts.due, counts.overdue) == (1, 1)
    assert 'href="/clients/?review=overdue"' in page
    assert 'href="/clients/?review=due"' in page


# --- A reviewer sets the tier from the client page ------------------------------------


def test_a_reviewer_sets_the_tier_from_the_client_page(reviewer_client):
    client = ClientFactory()
    url = reverse("client-risk-tier", args=[client.pk])
    response = reviewer_client.post(url, {"tier": "high", "reason": "PEP"})
    assert response.status_code == 302
    assert response["Location"] == client.get_absolute_url()
    client.refresh_from_db()
    assert (client.risk_tier, client.risk_tier_source) == ("high", "reviewer")
    page = reviewer_client.get(client.get_absolute_url()).content.decode()
    assert "set by a reviewer" in page
    assert "PEP" in page
    response = reviewer_client.post(url, {"tier": "derived", "reason": "cleared"})
    client.refresh_from_db()
    assert client.risk_tier_source == "derived"
    assert AuditEvent.objects.filter(client_id=client.pk).count() == 2


def test_a_tier_without_a_reason_is_refused_in_words(reviewer_client):
    client = ClientFactory()
    url = reverse("client-risk-tier", args=[client.pk])
    response = reviewer_client.post(url, {"tier": "high", "reason": ""}, follow=True)
    assert "Risk tier not changed" in response.content.decode()
    assert Client.objects.get(pk=client.pk).risk_tier_source == "derived"


def test_only_reviewers_set_tiers(viewer_client, reviewer_client):
    client = ClientFactory()
    url = reverse("client-risk-tier", args=[client.pk])
    assert viewer_client.post(url, {"tier": "high", "reason": "x"}).status_code == 403
    assert reviewer_client.get(url).status_code == 405
    missing = reverse("client-risk-tier", args=[999999])
    assert (
        reviewer_client.post(missing, {"tier": "high", "reason": "x"}).status_code
        == 404
    )
    viewer_page = viewer_client.get(client.get_absolute_url()).content.decode()
    assert "Set the risk tier" not in viewer_page
    assert (
        "Set the risk tier"
        in reviewer_client.get(client.get_absolute_url()).content.decode()
    )


def test_the_form_shows_the_filters_without_judging_them(viewer_client, clients):
    response = viewer_client.get(f"{DIRECTORY}?risk_tier=high,none&review=due,overdue")
    page = response.content.decode()
    assert "not one of the available choices" not in page
    assert '<option value="high,none" selected>' in page
    assert '<option value="due,overdue" selected>' in page
