"""The reason taxonomy: each provider's reason words map to a ReasonKind; an
unlisted word is `other` and unknown (counted by the sync), and each
provider's `reasons.reason_words` finds the words in what it sent."""

from __future__ import annotations

import pytest

from sessions_app.models import ProviderKind, ReasonKind
from sessions_app.normalization import ROWS, breakdown_outcome, classify_reason
from sessions_app.providers.complycube.reasons import reason_words as cc_words
from sessions_app.providers.ica.reasons import reason_words as ica_words
from sessions_app.providers.onfido.reasons import reason_words as onfido_words

ONFIDO, CC, ICA = ProviderKind.ONFIDO, ProviderKind.COMPLYCUBE, ProviderKind.ICA
R = ReasonKind


@pytest.mark.parametrize(
    ("provider", "word", "kind"),
    [
        *((ONFIDO, word, kind) for word, kind in ROWS[ONFIDO].reason_kinds.items()),
        *((CC, word, kind) for word, kind in ROWS[CC].reason_kinds.items()),
        # The simulator's Onfido words, and any case.
        (ONFIDO, "document_rejected", R.DOCUMENT_REJECTED),
        (ONFIDO, "Manual_Review_Required", R.MANUAL_REVIEW),
        # By report-name prefix, the more specific first.
        (ONFIDO, "watchlist_standard_hit", R.WATCHLIST_MATCH),
        (ONFIDO, "facial_similarity_motion_failed", R.LIVENESS_FAILED),
        (ONFIDO, "facial_similarity_photo_rejected", R.FACE_MISMATCH),
        (ONFIDO, "proof_of_address_rejected", R.ADDRESS_UNVERIFIED),
        # ComplyCube screening groups.
        (CC, "pep.level1", R.PEP_MATCH),
        (CC, "watchlist.sanctionsLists", R.WATCHLIST_MATCH),
        (CC, "adverseMedia.regulatory", R.ADVERSE_MEDIA),
        # Every ICA failure summary is a failed pipeline.
        (ICA, "Step bwa-mem2 exited with code 137", R.PIPELINE_FAILED),
        (ICA, "FAILED", R.PIPELINE_FAILED),
    ],
)
def test_every_listed_reason_word_maps_to_its_kind(provider, word, kind):
    assert classify_reason(provider, word) == (kind, True)


@pytest.mark.parametrize("provider", [ONFIDO, CC])
def test_an_unlisted_reason_is_other_and_unknown(provider):
    assert classify_reason(provider, "crypto_wallet_flagged") == (R.OTHER, False)


def test_an_empty_word_or_an_unknown_provider_is_other():
    assert classify_reason(ONFIDO, "  ") == (R.OTHER, True)
    assert classify_reason("nobody", "document_rejected") == (R.OTHER, False)


def test_every_table_maps_to_reason_kinds():
    for rows in ROWS.values():
        kinds = [
            *rows.reason_kinds.values(),
            *(k for _, k in rows.reason_kind_prefixes),
        ]
        assert set(kinds) <= set(ReasonKind.values)
        assert all(word == word.lower() for word in rows.reason_kinds)
        assert all(p == p.lower() for p, _ in rows.reason_kind_prefixes)


def test_onfido_reasons_are_the_runs_reasons():
    assert onfido_words({}, ["document_rejected", "", "document_rejected"]) == [
        "document_rejected"
    ]
    assert onfido_words({"run": {"reasons": ["manual_review_required"]}}, []) == [
        "manual_review_required"
    ]


def test_complycube_reasons_come_from_checks_that_are_not_clear():
    raw = {
        "checks": [
            {"type": "document_check", "result": {"outcome": "clear"}},
            {
                "type": "standard_screening_check",
                "result": {
                    "outcome": "attention",
                    "breakdown": {
                        "summary": {
                            "pep": {"level1": "attention", "level2": "clear"},
                            "watchlist": {"sanctionsLists": {"outcome": "attention"}},
                        }
                    },
                },
            },
            {
                "type": "proof_of_address_check",
                "result": {"outcome": "rejected", "rejectionReasons": ["blurry"]},
            },
            {"type": "identity_check", "rejectionReasons": ["selfie_mismatch"]},
            "garbage",
        ]
    }
    assert cc_words(raw, []) == [
        "pep.level1",
        "watchlist.sanctionsLists",
        "proof_of_address_check",
        "blurry",
        "selfie_mismatch",
    ]
    assert cc_words({"checks": "nonsense"}, []) == []


def test_ica_reasons_are_a_failed_sessions_summaries_else_its_status():
    failed = {
        "session": {"status": "FAILED", "summary": "Out of memory"},
        "analyses": [
            {"analysis": {"status": "FAILED", "summary": "bwa exited 137"}},
            {"analysis": {"status": "SUCCEEDED", "summary": "fine"}},
            {"status": "FAILED_FINAL", "summary": "Out of memory"},
        ],
    }
    assert ica_words(failed, []) == ["Out of memory", "bwa exited 137"]
    assert ica_words({"session": {"status": "FAILEDFINAL"}}, []) == ["FAILEDFINAL"]
    assert ica_words({"session": {"status": "SUCCEEDED", "summary": "x"}}, []) == []


@pytest.mark.parametrize(
    ("provider", "word", "outcome"),
    [
        (ONFIDO, "clear", "clear"),
        (ONFIDO, "consider", "attention"),
        (ONFIDO, "suspected", "rejected"),
        (CC, "attention", "attention"),
        (CC, "Rejected", "rejected"),
        (ICA, "SUCCEEDED", "clear"),
        (CC, "passport", None),
        ("nobody", "clear", None),
    ],
)
def test_breakdown_words_in_verity_outcomes(provider, word, outcome):
    assert breakdown_outcome(provider, word) == outcome
