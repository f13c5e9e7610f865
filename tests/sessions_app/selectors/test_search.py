"""The queue's search `q`: same rows whichever way it is answered.

`SessionFilterSet.filter_q` narrows to the matching provider clients first
(a UNION of index-friendly branches) unless the term matches more than
SEARCH_NARROW_LIMIT of them, then it keeps the plain OR condition. Both
branches must select exactly the rows the plain OR condition always did; the
condition itself is kept here as the oracle.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from sessions_app import filters, selectors
from sessions_app.models import ProviderKind, WorkflowSession
from tests.factories import (
    ClientFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    WorkflowSessionFactory,
)

pytestmark = pytest.mark.django_db

# `icontains` appears in the sessions query only on the fallback branch (the
# narrow branch ran it in its own, earlier queries).
NAME_LIKE = " LIKE "


def _old_q(value: str) -> list[int]:
    """The search as it was: one OR across the joined tables."""
    value = value.strip()
    return sorted(
        WorkflowSession.objects.filter(
            Q(provider_client__name__icontains=value)
            | Q(provider_client__client__display_name__icontains=value)
            | Q(external_id=value)
            | Q(user_reference=value)
            | Q(provider_client__external_id=value)
            | Q(provider_client__external_reference=value)
        ).values_list("pk", flat=True)
    )


def _searched(value: str) -> tuple[list[int], str]:
    filterset = filters.session_filterset(params={"q": value})
    assert filterset.is_valid(), filterset.errors
    qs = filterset.qs
    try:
        sql = str(qs.query)
    except EmptyResultSet:  # nothing matched: Django skips the query
        sql = ""
    return sorted(qs.values_list("pk", flat=True)), sql


@pytest.fixture
def people():
    onfido = ProviderConnectionFactory(kind=ProviderKind.ONFIDO, slug="onfido-eu")
    cube = ProviderConnectionFactory(kind=ProviderKind.COMPLYCUBE, slug="cube")
    acme = ClientFactory(display_name="Acme Holdings", reference="REF-ACME")
    zora = ClientFactory(display_name="Zora Quist", reference="REF-ZORA")
    lone = ClientFactory(display_name="Lone Client", reference="")
    pcs = {
        # The provider's own name differs from the client's display name.
        "acme_onfido": ProviderClientFactory(
            connection=onfido,
            client=acme,
            name="ACME Ltd",
            external_id="pc-acme-1",
            external_reference="REF-ACME",
        ),
        "acme_cube": ProviderClientFactory(
            connection=cube,
            client=acme,
            name="Acme Holdings plc",
            external_id="shared-id",
            external_reference="REF-ACME",
        ),
        "zora": ProviderClientFactory(
            connection=cube,
            client=zora,
            name="Z. Quist",
            external_id="pc-zora",
            external_reference="REF-ZORA",
        ),
        # The same external id at another provider: both must match.
        "other": ProviderClientFactory(
            connection=onfido,
            client=lone,
            name="Lone Person",
            external_id="shared-id",
            external_reference="",
        ),
        "unlinked": ProviderClientFactory(
            connection=onfido,
            client=None,
            name="Nobody Linked",
            external_id="pc-unlinked",
            external_reference="REF-LOOSE",
        ),
    }
    for key, pc in pcs.items():
        for n in range(2):
            WorkflowSessionFactory(
                connection=pc.connection,
                provider_client=pc,
                external_id=f"sess-{key}-{n}",
            )
    # No provider client at all: only its own id can find it.
    WorkflowSessionFactory(
        connection=onfido, provider_client=None, external_id="pc-zora"
    )
    WorkflowSessionFactory(connection=cube, provider_client=None, external_id="orphan")
    # ICA sessions found by their user reference (two share one).
    ica = ProviderConnectionFactory(kind=ProviderKind.ICA, slug="ica")
    for n, reference in enumerate(("ws_250603_run_1", "ws_250603_run_1", "ws_other")):
        WorkflowSessionFactory(
            connection=ica, external_id=f"ica-{n}", user_reference=reference
        )
    return pcs


TERMS = [
    "acme",  # provider client names and a display name, any case
    "LTD",  # provider client name only
    "quist",  # display name and provider client name
    "Holdings",  # display name, and one provider name
    "Lone Client",  # display name only
    "sess-zora-1",  # a session's external id
    "orphan",  # a session without provider client
    "pc-zora",  # provider client id, and another session's own id
    "shared-id",  # provider client id at two providers
    "REF-ACME",  # external reference
    "REF-LOOSE",  # external reference of an unlinked provider client
    "  acme  ",  # padded
    "no such person",  # matches nothing
    "ref-acme",  # exact ids are case-sensitive: nothing
    "ws_250603_run_1",  # an ICA user reference, on two sessions
    "ws_250603",  # user references match exactly: nothing
]


@pytest.mark.parametrize("term", TERMS)
def test_narrowed_search_selects_exactly_the_old_rows(term, people):
    got, sql = _searched(term)
    assert got == _old_q(term)
    assert NAME_LIKE not in sql, "the narrow branch reads sessions by id"


@pytest.mark.parametrize("term", TERMS)
def test_fallback_search_selects_exactly_the_old_rows(term, people, monkeypatch):
    # -1: even a term matching nothing takes the fallback branch.
    monkeypatch.setattr(selectors.search, "SEARCH_NARROW_LIMIT", -1)
    got, sql = _searched(term)
    assert got == _old_q(term)
    assert NAME_LIKE in sql, "the fallback branch keeps the OR condition"


def test_common_term_above_the_limit_falls_back(people, monkeypatch):
    # "acme" finds two provider clients by name and the same two by the
    # client's display name: four rows, which is what the limit counts.
    monkeypatch.setattr(selectors.search, "SEARCH_NARROW_LIMIT", 3)
    got, sql = _searched("acme")
    assert NAME_LIKE in sql
    assert got == _old_q("acme")
    monkeypatch.setattr(selectors.search, "SEARCH_NARROW_LIMIT", 4)
    got, sql = _searched("acme")
    assert NAME_LIKE not in sql
    assert got == _old_q("acme")


def test_a_cut_off_list_with_repeated_provider_clients_never_loses_rows(monkeypatch):
    """UNION ALL repeats a provider client found by two branches; counting
    distinct ids of a cut-off list would narrow to an incomplete set."""
    conn = ProviderConnectionFactory()
    # Found by the name and by the display name branches (twice).
    both = ProviderClientFactory(
        connection=conn, name="Tern One", client=ClientFactory(display_name="Tern A")
    )
    by_name = ProviderClientFactory(
        connection=conn, name="Tern Two", client=ClientFactory(display_name="Bee")
    )
    # Found by the display name branch only, after the repeat.
    by_display = ProviderClientFactory(
        connection=conn, name="Kay", client=ClientFactory(display_name="Tern C")
    )
    for pc in (both, by_name, by_display):
        WorkflowSessionFactory(connection=conn, provider_client=pc)
    # Rows in branch order: both, by_name, both, by_display. Three rows are
    # read (limit + 1): two distinct ids, yet by_display was never reached.
    monkeypatch.setattr(selectors.search, "SEARCH_NARROW_LIMIT", 2)
    got, _ = _searched("tern")
    assert got == _old_q("tern")
    assert len(got) == 3


def test_a_user_reference_finds_its_sessions(people):
    got, _ = _searched("ws_250603_run_1")
    assert sorted(
        WorkflowSession.objects.filter(pk__in=got).values_list("external_id", flat=True)
    ) == ["ica-0", "ica-1"]


def test_blank_search_filters_nothing_and_runs_no_query(people):
    with CaptureQueriesContext(connection) as ctx:
        filterset = filters.session_filterset(params={"q": "   "})
        assert filterset.is_valid()
        qs = filterset.qs
    assert ctx.captured_queries == []
    assert qs.count() == WorkflowSession.objects.count()


def test_narrowing_costs_two_small_queries_whatever_the_matches(people):
    with CaptureQueriesContext(connection) as ctx:
        filterset = filters.session_filterset(params={"q": "acme"})
        assert filterset.is_valid()
        filterset.qs  # noqa: B018 - building it runs the narrowing queries
    assert len(ctx.captured_queries) == 2
