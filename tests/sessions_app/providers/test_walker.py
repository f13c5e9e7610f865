"""The shared pass walker and the typed pass states: stored cursors resume as written."""

from __future__ import annotations

import pytest

from sessions_app.providers.complycube.adapter import ComplyCubeAdapter
from sessions_app.providers.complycube.cursor import ComplyCubePass
from sessions_app.providers.ica.adapter import IcaAdapter
from sessions_app.providers.ica.cursor import IcaPass
from sessions_app.providers.onfido.adapter import OnfidoAdapter
from sessions_app.providers.onfido.cursor import OnfidoPass
from sessions_app.providers.walker import RETRY_IDS_MAX, pass_in_progress, resumable
from tests.helpers.providers import (
    COMPLYCUBE_BASE,
    ICA_BASE,
    ONFIDO_BASE,
    make_adapter,
    register_complycube,
    register_ica,
    register_onfido,
    run_to_end,
)

STARTED = "2025-06-05T03:00:00.000Z"
# Unfinished passes as the release before the typed walker wrote them, one per
# provider and shape: they must resume and be written back key for key.
ONFIDO_LISTING = {
    "mode": "incremental",
    "started_at": STARTED,
    "created_at_gt": "2025-06-03",
    "phase": "list",
    "page": 2,
    "done_ids": ["a"],
    "prev_ids": ["b", "c"],
    "refresh_after": "",
    "retry_ids": ["r"],
    "incomplete_ids": ["i"],
}
ONFIDO_REFRESHING = {
    **ONFIDO_LISTING,
    "phase": "refresh",
    "page": 1,
    "done_ids": [],
    "prev_ids": [],
    "refresh_after": "m",
    "listed_refresh_ids": ["x"],
    "unfinished_pages_max": 3,
}
COMPLYCUBE_PASS = {
    "mode": "full",
    "started_at": STARTED,
    "updated_after": None,
    "phase": "retry",
    "page": 4,
    "done_ids": [],
    "prev_ids": ["s1"],
    "max_updated": "2025-06-03T11:00:00.000Z",
    "retry_ids": ["s9"],
    "listed_retry_ids": [],
    "retry_after": "s8",
    "incomplete_ids": [],
}
ICA_PASS = {
    "mode": "full",
    "started_at": STARTED,
    "projects": ["p1", "p2"],
    "index": 1,
    "page_token": "token",
    "offset": 25,
}


@pytest.mark.parametrize(
    ("state_type", "stored"),
    [
        (OnfidoPass, ONFIDO_LISTING),
        (OnfidoPass, ONFIDO_REFRESHING),
        (ComplyCubePass, COMPLYCUBE_PASS),
        (IcaPass, ICA_PASS),
    ],
)
def test_a_stored_pass_resumes_and_is_written_back_key_for_key(state_type, stored):
    state = resumable(state_type, {"v": 1, "pass": stored}, False)

    assert state is not None
    assert state.to_json() == stored
    assert list(state.to_json()) == list(stored)


@pytest.mark.parametrize(
    ("state_type", "stored"),
    [
        (OnfidoPass, {**ONFIDO_LISTING, "page": 0}),
        (OnfidoPass, {**ONFIDO_LISTING, "page": "three"}),
        (OnfidoPass, {**ONFIDO_LISTING, "phase": "sideways"}),
        (OnfidoPass, {**ONFIDO_LISTING, "done_ids": "a"}),
        (OnfidoPass, {**ONFIDO_LISTING, "refresh_after": None}),
        (OnfidoPass, {**ONFIDO_LISTING, "created_at_gt": 20250603}),
        (OnfidoPass, {**ONFIDO_LISTING, "listed_refresh_ids": [{"id": "x"}]}),
        (OnfidoPass, {**ONFIDO_LISTING, "unfinished_pages_max": "3"}),
        (
            OnfidoPass,
            {**ONFIDO_LISTING, "retry_ids": [str(n) for n in range(RETRY_IDS_MAX + 1)]},
        ),
        (OnfidoPass, {k: v for k, v in ONFIDO_LISTING.items() if k != "mode"}),
        (OnfidoPass, {k: v for k, v in ONFIDO_LISTING.items() if k != "phase"}),
        (ComplyCubePass, {**COMPLYCUBE_PASS, "started_at": "yesterday"}),
        (ComplyCubePass, {**COMPLYCUBE_PASS, "phase": "refresh"}),
        (ComplyCubePass, {**COMPLYCUBE_PASS, "retry_after": 7}),
        (IcaPass, {**ICA_PASS, "index": -1}),
        (IcaPass, {**ICA_PASS, "offset": None}),
        (IcaPass, {**ICA_PASS, "projects": "p1"}),
        (IcaPass, {**ICA_PASS, "page_token": 5}),
        (IcaPass, "garbage"),
    ],
)
def test_an_unusable_pass_is_not_resumed(state_type, stored):
    assert state_type.from_json(stored) is None


def test_fields_a_pass_may_lack_take_their_defaults():
    onfido = OnfidoPass.from_json(
        {
            k: v
            for k, v in ONFIDO_LISTING.items()
            if k not in ("retry_ids", "incomplete_ids")
        }
    )
    complycube = ComplyCubePass.from_json(
        {
            k: v
            for k, v in COMPLYCUBE_PASS.items()
            if k not in ("phase", "listed_retry_ids", "retry_after")
        }
    )

    assert (onfido.retry_ids, onfido.incomplete_ids) == ([], [])
    assert "listed_refresh_ids" not in onfido.to_json()
    assert (complycube.phase, complycube.listed_retry_ids, complycube.retry_after) == (
        "list",
        [],
        "",
    )


def test_pass_in_progress():
    running = {"mode": "incremental", "page": 3}
    assert pass_in_progress({"v": 1, "pass": running}, False) == running
    assert (
        pass_in_progress({"v": 1, "pass": running}, True) is None
    )  # a full pass was asked for
    assert pass_in_progress({"v": 1, "pass": {"mode": "full"}}, True) == {
        "mode": "full"
    }
    assert pass_in_progress({"v": 2, "pass": running}, False) is None
    assert pass_in_progress({"v": 1}, False) is None
    assert pass_in_progress({"v": 1, "pass": "garbage"}, False) is None


@pytest.mark.parametrize(
    ("adapter_class", "state_type", "base_url", "register", "options"),
    [
        (OnfidoAdapter, OnfidoPass, ONFIDO_BASE, register_onfido, {"batch_size": 1}),
        (
            ComplyCubeAdapter,
            ComplyCubePass,
            COMPLYCUBE_BASE,
            register_complycube,
            {"batch_size": 1, "page_size": 2},
        ),
        (IcaAdapter, IcaPass, ICA_BASE, register_ica, {"batch_size": 1}),
    ],
)
def test_every_cursor_of_a_pass_resumes_as_it_was_written(
    rsps, fake_time, adapter_class, state_type, base_url, register, options
):
    register(rsps)
    adapter = make_adapter(adapter_class, fake_time, base_url=base_url, options=options)

    pages, _ = run_to_end(adapter, max_pages=1)

    passes = [page.cursor["pass"] for page in pages if "pass" in page.cursor]
    assert len(passes) >= 3
    for stored in passes:
        state = state_type.from_json(stored)
        assert state is not None
        assert state.to_json() == stored
    assert "pass" not in pages[-1].cursor
