"""The check-kind taxonomy: every provider check type the contracts name maps
to a kind; an unlisted type is `other` and unknown (counted by the sync)."""

from __future__ import annotations

import pytest

from sessions_app.models import CheckKind, ProviderKind
from sessions_app.normalization import ROWS, classify_check

ONFIDO, CC, ICA = ProviderKind.ONFIDO, ProviderKind.COMPLYCUBE, ProviderKind.ICA
K = CheckKind

# The 21 report names of Onfido's Report schema (docs/providers/onfido.md),
# which Studio task definitions start with.
ONFIDO_REPORTS = {
    "document": K.DOCUMENT,
    "document_video": K.DOCUMENT,
    "document_video_with_address_information": K.DOCUMENT,
    "document_with_address_information": K.DOCUMENT,
    "document_with_driving_licence_information": K.DOCUMENT,
    "document_with_driver_verification": K.DOCUMENT,
    "facial_similarity_photo": K.BIOMETRICS,
    "facial_similarity_photo_fully_auto": K.BIOMETRICS,
    "facial_similarity_video": K.LIVENESS,
    "facial_similarity_motion": K.LIVENESS,
    "known_faces": K.BIOMETRICS,
    "identity_enhanced": K.IDENTITY,
    "watchlist_aml": K.SCREENING,
    "watchlist_enhanced": K.SCREENING,
    "watchlist_standard": K.SCREENING,
    "watchlist_peps_only": K.SCREENING,
    "watchlist_sanctions_only": K.SCREENING,
    "proof_of_address": K.PROOF_OF_ADDRESS,
    "us_driving_licence": K.IDENTITY,
    "device_intelligence": K.FRAUD_SIGNALS,
    "india_pan": K.IDENTITY,
}
# ComplyCube's check `type` values (docs/providers/complycube.md).
COMPLYCUBE_TYPES = {
    "standard_screening_check": K.SCREENING,
    "extensive_screening_check": K.SCREENING,
    "document_check": K.DOCUMENT,
    "identity_check": K.BIOMETRICS,
    "enhanced_identity_check": K.LIVENESS,
    "proof_of_address_check": K.PROOF_OF_ADDRESS,
    "multi_bureau_check": K.IDENTITY,
    "face_authentication_check": K.BIOMETRICS,
    "age_estimation_check": K.BIOMETRICS,
    "driving_license_check": K.IDENTITY,
    "identity_fraud_check": K.FRAUD_SIGNALS,
}


@pytest.mark.parametrize(("report", "kind"), ONFIDO_REPORTS.items())
def test_every_onfido_report_name_maps_to_its_kind(report, kind):
    assert classify_check(ONFIDO, report) == (kind, True)


@pytest.mark.parametrize(
    ("check_type", "kind"),
    [
        # Studio task definitions and the `:<key>` of a task wrapping reports.
        ("document_check", K.DOCUMENT),
        ("document_check_2:doc", K.DOCUMENT),
        ("facial_similarity_photo:selfie", K.BIOMETRICS),
        ("facial_similarity_motion_1", K.LIVENESS),
        ("watchlist_standard_check", K.SCREENING),
    ],
)
def test_onfido_task_definitions_classify_by_their_report_prefix(check_type, kind):
    assert classify_check(ONFIDO, check_type) == (kind, True)


@pytest.mark.parametrize(("check_type", "kind"), COMPLYCUBE_TYPES.items())
def test_every_complycube_check_type_maps_to_its_kind(check_type, kind):
    assert classify_check(CC, check_type) == (kind, True)


def test_complycube_types_match_exactly_not_by_prefix():
    assert classify_check(CC, "document_check_v2") == (K.OTHER, False)


@pytest.mark.parametrize("code", ["DRAGEN_Germline", "bcl-convert", "", "anything"])
def test_every_ica_analysis_is_a_pipeline_analysis(code):
    assert classify_check(ICA, code) == (K.PIPELINE_ANALYSIS, True)


@pytest.mark.parametrize("provider", [ONFIDO, CC])
def test_an_unlisted_type_is_other_and_unknown(provider):
    assert classify_check(provider, "crypto_wallet_check") == (K.OTHER, False)


@pytest.mark.parametrize("provider", [ONFIDO, CC, "no-such-provider"])
def test_an_empty_type_is_other_but_not_an_unknown_word(provider):
    assert classify_check(provider, "") == (K.OTHER, True)
    assert classify_check(provider, None) == (K.OTHER, True)


def test_an_unknown_provider_classifies_everything_as_other():
    assert classify_check("no-such-provider", "document") == (K.OTHER, False)


def test_every_table_entry_is_a_check_kind():
    for rows in ROWS.values():
        kinds = [*rows.check_kinds.values(), *(k for _, k in rows.check_kind_prefixes)]
        kinds += [rows.check_kind_default] if rows.check_kind_default else []
        assert set(kinds) <= set(CheckKind.values)
