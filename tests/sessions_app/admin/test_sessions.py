"""Sessions, checks and what hangs off them (admin/sessions.py): the searches
find what the queue's finds."""

import pytest
from django.urls import reverse

from sessions_app import filters
from tests.factories import (
    CheckFactory,
    ClientFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    WorkflowSessionFactory,
)

pytestmark = pytest.mark.django_db


# --- Search ------------------------------------------------------------------------------


def test_session_admin_search_finds_what_the_queue_search_finds(
    admin_client_verity, admin_user
):
    """Names (contains) and exact ids, through the queue's own search."""
    acme = ClientFactory(display_name="Acme Holdings")
    by_client = WorkflowSessionFactory(
        provider_client=ProviderClientFactory(client=acme, name="ACME Ltd")
    )
    by_provider_name = WorkflowSessionFactory(
        provider_client=ProviderClientFactory(name="Holdings of Acme plc")
    )
    by_id = WorkflowSessionFactory(external_id="run-acme-77")
    by_reference = WorkflowSessionFactory(
        provider_client=ProviderClientFactory(external_reference="ref-9")
    )
    WorkflowSessionFactory(
        provider_client=ProviderClientFactory(name="Someone Else"),
        external_id="run-other-1",
    )
    url = reverse("admin:sessions_app_workflowsession_changelist")

    def found(term: str) -> set[int]:
        response = admin_client_verity.get(url, {"q": term})
        assert response.status_code == 200
        return {s.pk for s in response.context["cl"].result_list}

    def queue_found(term: str) -> set[int]:
        return set(
            filters.session_list(params={"q": term}).values_list("pk", flat=True)
        )

    assert found("acme") == {by_client.pk, by_provider_name.pk} == queue_found("acme")
    # Ids are exact: a part of one finds nothing.
    assert found("run-acme-77") == {by_id.pk} == queue_found("run-acme-77")
    assert found("run-acme") == set()
    assert found("ref-9") == {by_reference.pk}
    assert len(found("")) == 5


def test_check_admin_search_finds_a_check_or_every_check_of_a_session(
    admin_client_verity, django_assert_max_num_queries
):
    onfido = ProviderConnectionFactory(slug="onfido-a", kind="onfido")
    cube = ProviderConnectionFactory(slug="cube-b", kind="complycube")
    session = WorkflowSessionFactory(connection=onfido, external_id="run-1")
    first, second = (
        CheckFactory(session=session, connection=onfido, external_id=f"chk-{n}")
        for n in (1, 2)
    )
    # The same id at another provider is another check.
    twin = CheckFactory(
        session=WorkflowSessionFactory(connection=cube, external_id="sess-9"),
        connection=cube,
        external_id="chk-1",
    )
    CheckFactory(connection=onfido, external_id="chk-3")
    url = reverse("admin:sessions_app_check_changelist")

    def found(term: str) -> set[int]:
        response = admin_client_verity.get(url, {"q": term})
        assert response.status_code == 200
        return {c.pk for c in response.context["cl"].result_list}

    assert found("chk-1") == {first.pk, twin.pk}
    assert found(" run-1 ") == {first.pk, second.pk}
    assert found("sess-9") == {twin.pk}
    # Ids are exact.
    assert found("chk") == set()
    assert found("run") == set()
    assert len(found("")) == 4
    # Two look-ups of ids, then the page: no query per connection or per row
    # (10 on SQLite; on PostgreSQL the paginator's COUNT runs in a savepoint
    # with a statement timeout: 3 more).
    with django_assert_max_num_queries(13):
        found("chk-1")


def test_check_admin_lists_and_filters_checks_by_kind(admin_client_verity):
    onfido = ProviderConnectionFactory(slug="onfido-k", kind="onfido")
    session = WorkflowSessionFactory(connection=onfido)
    screening = CheckFactory(session=session, check_type="watchlist_standard")
    document = CheckFactory(session=session, check_type="document_check")
    url = reverse("admin:sessions_app_check_changelist")

    response = admin_client_verity.get(url, {"kind__exact": "screening"})

    assert response.status_code == 200
    shown = {check.pk for check in response.context["cl"].result_list}
    assert shown == {screening.pk}
    assert document.pk not in shown
    assert "Watchlist / sanctions / PEP screening" in response.content.decode()
