"""Normalisation rows that mutation testing found unpinned (the table in docs/providers/README.md).

Each test killed a mutant the rest of the suite let live (docs/testing.md):
ComplyCube's `declined` outcome, an Onfido `sub_result` that must override a
clear result too, ICA's `FAILEDFINAL` analysis, Onfido's `cancelled` check.
Only the public `normalise_session` / `normalise_check` are called.
"""

from __future__ import annotations

import pytest

from sessions_app.models import Outcome, ProviderKind, Status
from sessions_app.normalization import normalise_check, normalise_session

ONFIDO, CC, ICA = ProviderKind.ONFIDO, ProviderKind.COMPLYCUBE, ProviderKind.ICA


@pytest.mark.parametrize("word", ["declined", "Declined", " DECLINED "])
def test_complycube_declined_session_is_rejected_not_clear(word):
    result = normalise_session(CC, "complete", word)
    assert (result.status, result.outcome, result.known) == (
        Status.COMPLETED,
        Outcome.REJECTED,
        True,
    )


@pytest.mark.parametrize("word", ["decline", "declined", "rejected"])
def test_complycube_every_rejecting_word_agrees(word):
    assert normalise_session(CC, "complete", word) == normalise_session(
        CC, "complete", "rejected"
    )


@pytest.mark.parametrize(
    "sub_result", ["rejected", "suspected", "Rejected", "SUSPECTED"]
)
@pytest.mark.parametrize("result", ["clear", "consider", "unidentified", None, ""])
def test_onfido_damning_sub_result_overrides_every_result_even_clear(
    result, sub_result
):
    check = normalise_check(ONFIDO, "complete", result, sub_result)
    assert (check.status, check.outcome) == (Status.COMPLETED, Outcome.REJECTED)


@pytest.mark.parametrize(
    ("result", "outcome"),
    [
        ("clear", Outcome.CLEAR),
        ("consider", Outcome.ATTENTION),
        ("unidentified", Outcome.ATTENTION),
    ],
)
@pytest.mark.parametrize("sub_result", ["clear", "caution", "", None])
def test_onfido_other_sub_results_leave_the_result_alone(result, outcome, sub_result):
    assert normalise_check(ONFIDO, "complete", result, sub_result).outcome == outcome


@pytest.mark.parametrize("spelling", ["FAILEDFINAL", "FAILED_FINAL"])
def test_ica_failed_final_analysis_is_failed_and_rejected(spelling):
    by_status = normalise_check(ICA, spelling)
    by_outcome = normalise_check(ICA, spelling, spelling)
    for check in (by_status, by_outcome):
        assert (check.status, check.outcome, check.known) == (
            Status.FAILED,
            Outcome.REJECTED,
            True,
        )


def test_ica_failed_final_session_is_failed_and_rejected():
    for spelling in ("FAILEDFINAL", "FAILED_FINAL"):
        session = normalise_session(ICA, spelling)
        assert (session.status, session.outcome, session.known) == (
            Status.FAILED,
            Outcome.REJECTED,
            True,
        )
        assert session.is_final


def test_ica_plain_failed_is_attention_not_rejected():
    assert normalise_check(ICA, "FAILED").outcome == Outcome.ATTENTION
    assert normalise_session(ICA, "FAILED").outcome == Outcome.ATTENTION


@pytest.mark.parametrize("word", ["cancelled", "withdrawn"])
def test_onfido_cancelled_check_is_cancelled_and_known(word):
    check = normalise_check(ONFIDO, word)
    assert (check.status, check.outcome, check.known) == (
        Status.CANCELLED,
        Outcome.NONE,
        True,
    )
