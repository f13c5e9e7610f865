"""Every row of the normalisation table (docs/providers/README.md), unknown values, both ICA spellings."""

import pytest

from sessions_app.models import Outcome, ProviderKind, Status
from sessions_app.normalization import (
    SESSION_STATUS,
    in_rotation,
    normalise_check,
    normalise_session,
)
from sessions_app.providers.onfido.adapter import FILTER_STATUSES, IN_ROTATION_STATUSES

ONFIDO, CC, ICA = ProviderKind.ONFIDO, ProviderKind.COMPLYCUBE, ProviderKind.ICA

SESSION_TABLE = [
    (ONFIDO, "processing", None, Status.IN_PROGRESS, Outcome.NONE),
    (ONFIDO, "awaiting_input", None, Status.AWAITING_INPUT, Outcome.NONE),
    (ONFIDO, "awaiting_client_input", None, Status.AWAITING_INPUT, Outcome.NONE),
    (ONFIDO, "approved", None, Status.COMPLETED, Outcome.CLEAR),
    (ONFIDO, "declined", None, Status.COMPLETED, Outcome.REJECTED),
    (ONFIDO, "review", None, Status.COMPLETED, Outcome.ATTENTION),
    (ONFIDO, "abandoned", None, Status.ABANDONED, Outcome.NONE),
    (ONFIDO, "error", None, Status.FAILED, Outcome.NONE),
    (CC, "started", None, Status.IN_PROGRESS, Outcome.NONE),
    (CC, "processing", None, Status.IN_PROGRESS, Outcome.NONE),
    (CC, "complete", "clear", Status.COMPLETED, Outcome.CLEAR),
    (CC, "complete", "attention", Status.COMPLETED, Outcome.ATTENTION),
    (CC, "complete", "review", Status.COMPLETED, Outcome.ATTENTION),
    (CC, "complete", "rejected", Status.COMPLETED, Outcome.REJECTED),
    (CC, "complete", "decline", Status.COMPLETED, Outcome.REJECTED),
    (CC, "complete", None, Status.COMPLETED, Outcome.NONE),
    (CC, "abandoned", None, Status.ABANDONED, Outcome.NONE),
    (CC, "cancelled", None, Status.CANCELLED, Outcome.NONE),
    (ICA, "REQUESTED", None, Status.PENDING, Outcome.NONE),
    (ICA, "QUEUED", None, Status.PENDING, Outcome.NONE),
    (ICA, "INITIALIZING", None, Status.PENDING, Outcome.NONE),
    (ICA, "PREPARING_INPUTS", None, Status.PENDING, Outcome.NONE),
    (ICA, "INPROGRESS", None, Status.IN_PROGRESS, Outcome.NONE),
    (ICA, "IN_PROGRESS", None, Status.IN_PROGRESS, Outcome.NONE),
    (ICA, "GENERATING_OUTPUTS", None, Status.IN_PROGRESS, Outcome.NONE),
    (ICA, "ABORTING", None, Status.IN_PROGRESS, Outcome.NONE),
    (ICA, "AWAITINGINPUT", None, Status.AWAITING_INPUT, Outcome.NONE),
    (ICA, "AWAITING_INPUT", None, Status.AWAITING_INPUT, Outcome.NONE),
    (ICA, "SUCCEEDED", None, Status.COMPLETED, Outcome.CLEAR),
    (ICA, "FAILED", None, Status.FAILED, Outcome.ATTENTION),
    (ICA, "FAILEDFINAL", None, Status.FAILED, Outcome.REJECTED),
    (ICA, "FAILED_FINAL", None, Status.FAILED, Outcome.REJECTED),
    (ICA, "ABORTED", None, Status.CANCELLED, Outcome.NONE),
]


@pytest.mark.parametrize(
    ("kind", "raw_status", "raw_outcome", "status", "outcome"), SESSION_TABLE
)
def test_session_table_row(kind, raw_status, raw_outcome, status, outcome):
    result = normalise_session(kind, raw_status, raw_outcome)
    assert (result.status, result.outcome, result.known) == (status, outcome, True)


@pytest.mark.parametrize(
    ("v3", "v4"),
    [
        ("INPROGRESS", "IN_PROGRESS"),
        ("AWAITINGINPUT", "AWAITING_INPUT"),
        ("FAILEDFINAL", "FAILED_FINAL"),
    ],
)
def test_ica_v3_and_v4_spellings_agree(v3, v4):
    assert normalise_session(ICA, v3) == normalise_session(ICA, v4)


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        (ONFIDO, "brand_new_status"),
        (CC, "paused"),
        (ICA, "HIBERNATING"),
        (ONFIDO, ""),
        (ONFIDO, None),
        (ICA, 42),
        (CC, {"nested": "object"}),
        ("unheard-of-provider", "approved"),
    ],
)
def test_unknown_session_values_normalise_to_unknown(kind, raw):
    result = normalise_session(kind, raw)
    assert result.status == Status.UNKNOWN
    assert result.outcome == Outcome.NONE
    assert result.known is False


def test_complycube_unknown_outcome_is_reported_but_status_kept():
    result = normalise_session(CC, "complete", "maybe")
    assert result.status == Status.COMPLETED
    assert result.outcome == Outcome.NONE
    assert result.known is False


def test_final_statuses():
    assert normalise_session(ONFIDO, "approved").is_final
    assert normalise_session(ICA, "ABORTED").is_final
    assert not normalise_session(ONFIDO, "processing").is_final
    assert not normalise_session(ICA, "QUEUED").is_final


CHECK_TABLE = [
    (CC, "complete", "clear", None, Status.COMPLETED, Outcome.CLEAR),
    (CC, "complete", "attention", None, Status.COMPLETED, Outcome.ATTENTION),
    (CC, "complete", "rejected", None, Status.COMPLETED, Outcome.REJECTED),
    (CC, "complete", "match_confirmed", None, Status.COMPLETED, Outcome.REJECTED),
    (CC, "pending", None, None, Status.PENDING, Outcome.NONE),
    (CC, "failed", None, None, Status.FAILED, Outcome.NONE),
    (ONFIDO, "complete", "clear", None, Status.COMPLETED, Outcome.CLEAR),
    (ONFIDO, "complete", "consider", None, Status.COMPLETED, Outcome.ATTENTION),
    (ONFIDO, "complete", "unidentified", None, Status.COMPLETED, Outcome.ATTENTION),
    (ONFIDO, "complete", "consider", "rejected", Status.COMPLETED, Outcome.REJECTED),
    (ONFIDO, "complete", "consider", "suspected", Status.COMPLETED, Outcome.REJECTED),
    (ONFIDO, "complete", "clear", "clear", Status.COMPLETED, Outcome.CLEAR),
    (ONFIDO, "awaiting_data", None, None, Status.AWAITING_INPUT, Outcome.NONE),
    (ONFIDO, "withdrawn", None, None, Status.CANCELLED, Outcome.NONE),
    (ICA, "SUCCEEDED", None, None, Status.COMPLETED, Outcome.CLEAR),
    (ICA, "FAILED", None, None, Status.FAILED, Outcome.ATTENTION),
    (ICA, "FAILED_FINAL", None, None, Status.FAILED, Outcome.REJECTED),
    (ICA, "IN_PROGRESS", None, None, Status.IN_PROGRESS, Outcome.NONE),
]


@pytest.mark.parametrize(
    ("kind", "raw_status", "raw_outcome", "sub", "status", "outcome"), CHECK_TABLE
)
def test_check_table_row(kind, raw_status, raw_outcome, sub, status, outcome):
    result = normalise_check(kind, raw_status, raw_outcome, sub)
    assert (result.status, result.outcome) == (status, outcome)


@pytest.mark.parametrize(
    ("kind", "raw_status", "raw_outcome"),
    [
        (CC, "complete", "weird"),
        (ONFIDO, "complete", "maybe"),
        (ONFIDO, "exploded", None),
        (ICA, "NEW", None),
    ],
)
def test_unknown_check_values_never_raise(kind, raw_status, raw_outcome):
    result = normalise_check(kind, raw_status, raw_outcome)
    assert result.known is False
    assert result.outcome in Outcome.values


def test_in_rotation_is_unfinished_or_reopenable():
    assert in_rotation("onfido", "in_progress", "processing")
    assert in_rotation("onfido", "completed", "review")  # a person may still decide
    assert not in_rotation("onfido", "completed", "approved")
    assert not in_rotation("complycube", "completed", "review")  # Onfido's word only
    assert in_rotation("ica", "unknown", "BRAND_NEW")


def test_onfido_lists_by_status_every_rotation_word_of_the_status_enum():
    rotating = {
        word
        for word, (status, _) in SESSION_STATUS["onfido"].items()
        if in_rotation("onfido", status, word)
    }
    assert set(IN_ROTATION_STATUSES) == rotating & FILTER_STATUSES
    # awaiting_client_input included: the spec's status enum has it, although
    # the filter parameter's description forgets it.
    assert set(IN_ROTATION_STATUSES) == rotating
