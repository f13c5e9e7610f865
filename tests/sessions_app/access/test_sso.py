"""Single sign-on, unit by unit: the claim -> roles mapping, the settings that
configure it, the sign-in service and the ID-token checks Verity adds.
The whole flow against a real provider: test_sso_flow.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from config.oidc import oidc_role_map_parse
from sessions_app.access.sso import (
    sso_groups_from_claims,
    sso_roles_from_claims,
    sso_user_sign_in,
)
from sessions_app.access.sso_backend import VerityOIDCBackend
from sessions_app.models import AuditEvent

ROOT = Path(__file__).resolve().parents[3]
ROLE_MAP = {
    "CN=Verity Admins,OU=Groups,DC=corp": ("admin",),
    "kyc-team": ("reviewer", "exporter"),
    "kyc-readers": ("viewer",),
}


# The mapping -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("groups", "roles"),
    [
        (["kyc-team"], ["reviewer", "exporter"]),
        (["kyc-team", "kyc-readers"], ["viewer", "reviewer", "exporter"]),
        (
            ["CN=Verity Admins,OU=Groups,DC=corp", "kyc-team"],
            ["reviewer", "exporter", "admin"],
        ),
        ("kyc-readers", ["viewer"]),  # one group as a plain string
        (["KYC-TEAM", "all-staff"], []),  # exact names only
        ([], []),
        (None, []),
        ({"kyc-team": True}, []),  # not a list: no group
        ([7, "kyc-readers"], ["viewer"]),  # non-strings ignored
    ],
)
def test_groups_map_to_roles(groups, roles):
    claims = {} if groups is None else {"groups": groups}

    assert (
        sso_roles_from_claims(claims=claims, groups_claim="groups", role_map=ROLE_MAP)
        == roles
    )


def test_the_groups_claim_name_is_a_setting():
    claims = {"groups": ["kyc-team"], "roles": ["kyc-readers"]}

    assert sso_groups_from_claims(claims=claims, groups_claim="roles") == [
        "kyc-readers"
    ]


def test_the_role_map_setting_is_json_with_one_role_or_a_list():
    raw = '{"CN=Admins,DC=corp": "admin", "kyc": ["reviewer", "exporter", "reviewer"]}'

    assert oidc_role_map_parse(raw) == {
        "CN=Admins,DC=corp": ("admin",),
        "kyc": ("reviewer", "exporter"),
    }
    assert oidc_role_map_parse("") == {}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("kyc=admin", "not valid JSON"),
        ('["admin"]', "must be a JSON object"),
        ('{"kyc": "root"}', "unknown role"),
        ('{"kyc": [1]}', "a role or a list of roles"),
    ],
)
def test_a_bad_role_map_is_refused_at_start_up(raw, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        oidc_role_map_parse(raw)


def test_a_client_id_without_the_rest_stops_the_process_naming_what_is_missing(
    tmp_path,
):
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("VERITY_OIDC_")
    }
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; settings.INSTALLED_APPS",
        ],
        cwd=ROOT,
        env={
            **environment,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "VERITY_ENV_FILE": str(tmp_path / "absent.env"),
            "VERITY_OIDC_CLIENT_ID": "verity",
            "VERITY_OIDC_ISSUER": "https://idp.example",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert "VERITY_OIDC_CLIENT_SECRET" in result.stderr
    assert "VERITY_OIDC_ROLE_MAP" in result.stderr
    assert "VERITY_OIDC_ISSUER," not in result.stderr


# The sign-in service ----------------------------------------------------------------


@pytest.mark.django_db
def test_sign_in_creates_sets_and_audits_in_one_go():
    outcome = sso_user_sign_in(
        issuer="https://idp.example",
        subject="s-1",
        claims={"email": "ivy@corp.example", "groups": ["kyc-team"]},
        groups_claim="groups",
        role_map=ROLE_MAP,
    )

    assert outcome.user.username == "ivy@corp.example"
    event = AuditEvent.objects.get(action="sso.roles")
    assert event.after["roles"] == ["exporter", "reviewer"]


@pytest.mark.django_db
def test_a_subject_with_no_username_claims_is_named_by_its_subject():
    outcome = sso_user_sign_in(
        issuer="https://idp.example",
        subject="00u1abcd",
        claims={"groups": ["kyc-readers"]},
        groups_claim="groups",
        role_map=ROLE_MAP,
    )

    assert outcome.user.username == "00u1abcd"


# The ID token checks ----------------------------------------------------------------


@pytest.fixture
def backend(settings, monkeypatch):
    settings.VERITY_OIDC_ISSUER = "https://idp.example/"
    settings.OIDC_RP_CLIENT_ID = "verity"
    settings.OIDC_OP_JWKS_ENDPOINT = "https://idp.example/jwks"

    def signed(payload):
        monkeypatch.setattr(
            OIDCAuthenticationBackend, "verify_token", lambda self, token, **kw: payload
        )
        return VerityOIDCBackend().verify_token("token", nonce="n")

    return signed


def test_a_token_of_this_issuer_for_this_client_passes(backend):
    payload = {"iss": "https://idp.example", "aud": ["other", "verity"], "sub": "s"}

    assert backend(payload) == payload


@pytest.mark.parametrize(
    "payload",
    [
        {"iss": "https://evil.example", "aud": "verity", "sub": "s"},
        {"aud": "verity", "sub": "s"},
        {"iss": "https://idp.example", "aud": "another-app", "sub": "s"},
        {"iss": "https://idp.example", "aud": ["a", "b"], "sub": "s"},
        {"iss": "https://idp.example", "aud": "verity", "sub": ""},
    ],
)
def test_a_token_of_another_issuer_or_client_or_without_subject_is_refused(
    backend, payload
):
    with pytest.raises(SuspiciousOperation):
        backend(payload)


def test_a_password_sign_in_never_reaches_the_identity_provider(rf):
    backend = object.__new__(VerityOIDCBackend)

    assert backend.authenticate(rf.post("/login/"), username="a", password="b") is None
