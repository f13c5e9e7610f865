"""Multi-factor for local accounts: who must, the gate, enrolment, codes, reset."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.test import Client as DjangoClient
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from sessions_app.access.mfa import (
    SSO_BACKEND,
    mfa_enrolment_confirm,
    mfa_enrolment_device,
    mfa_required_for,
    mfa_reset,
    mfa_verify,
)
from sessions_app.models import AuditEvent
from tests.factories import UserFactory
from tests.helpers.mfa import RECOVERY_CODES, mfa_enrol, mfa_verified_client, totp_code

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mfa_required")]
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
PASSWORD_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _password_sign_in(
    username: str, next_url: str = "/"
) -> tuple[DjangoClient, object]:
    client = DjangoClient()
    response = client.post(
        "/login/", {"username": username, "password": PASSWORD, "next": next_url}
    )
    assert response.status_code == 302, response.content
    return client, response


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# Who must --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "required"),
    [
        (["admin"], True),
        (["exporter"], True),
        (["reviewer", "exporter"], True),
        (["reviewer"], False),
        (["viewer"], False),
    ],
)
def test_admins_and_exporters_need_a_second_factor(roles, required):
    user = UserFactory(roles=roles)

    assert mfa_required_for(user=user, backend=PASSWORD_BACKEND) is required
    # Single sign-on sessions never do: the identity provider asks.
    assert mfa_required_for(user=user, backend=SSO_BACKEND) is False


def test_a_superuser_needs_one_too(superuser):
    assert mfa_required_for(user=superuser, backend=PASSWORD_BACKEND) is True


def test_the_setting_turns_it_off(settings, admin_user):
    settings.VERITY_MFA_REQUIRED = False

    assert mfa_required_for(user=admin_user, backend=PASSWORD_BACKEND) is False


def test_production_requires_it_and_local_settings_do_not():
    from config.settings import base, local

    assert base.VERITY_MFA_REQUIRED is True  # production.py inherits base.py
    assert local.VERITY_MFA_REQUIRED is False  # make run's demo logins


# The gate ----------------------------------------------------------------------


def test_an_admin_without_a_device_is_sent_to_enrolment_and_reaches_nothing(admin_user):
    client, response = _password_sign_in(admin_user.username, "/sessions/")

    assert response["Location"] == "/sessions/"
    for path in (
        "/",
        "/sessions/",
        "/sync/",
        "/admin/",
        "/admin/auth/user/",
        "/admin/login/",
    ):
        blocked = client.get(path)
        assert blocked.status_code == 302, path
        assert blocked["Location"].startswith("/login/mfa/enrol/?next="), path
    api = client.get("/api/v1/sessions/")
    assert api.status_code == 403
    assert "Multi-factor" in api.json()["detail"]


def test_an_enrolled_exporter_is_asked_for_a_code_then_let_in(exporter):
    device = mfa_enrol(exporter)
    client, _ = _password_sign_in(exporter.username)

    blocked = client.get("/sessions/export.csv")
    assert blocked.status_code == 302
    assert blocked["Location"] == "/login/mfa/?next=%2Fsessions%2Fexport.csv"
    page = client.get(blocked["Location"])
    assert page.status_code == 200
    assert "recovery codes" in page.content.decode()

    answer = client.post(
        "/login/mfa/", {"code": totp_code(device), "next": "/sessions/export.csv"}
    )
    assert answer.status_code == 302
    assert answer["Location"] == "/sessions/export.csv"
    assert client.get("/sessions/export.csv").status_code == 200
    assert client.get("/api/v1/sessions/").status_code == 200


def test_a_reviewer_needs_no_second_factor(reviewer):
    client, _ = _password_sign_in(reviewer.username)

    assert client.get("/sessions/").status_code == 200


def test_sign_out_and_health_stay_open_while_the_code_is_pending(admin_user):
    client, _ = _password_sign_in(admin_user.username)

    assert client.get("/healthz").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302  # signed out: the sign-in page
    assert client.get("/").url.startswith("/login/")


def test_a_verified_session_is_let_in_everywhere(admin_user):
    client = mfa_verified_client(admin_user)

    assert client.get("/sessions/").status_code == 200
    assert client.get("/admin/").status_code == 200


def test_a_single_sign_on_session_is_not_asked(settings, admin_user):
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, SSO_BACKEND]
    client = DjangoClient()
    client.force_login(admin_user, backend=SSO_BACKEND)

    assert client.session[BACKEND_SESSION_KEY] == SSO_BACKEND
    assert client.get("/admin/").status_code == 200


# Enrolment -----------------------------------------------------------------------


def test_enrolment_shows_the_secret_as_svg_and_text_and_keeps_it_on_reload(admin_user):
    client, _ = _password_sign_in(admin_user.username)

    page = client.get("/login/mfa/enrol/?next=/sync/")
    body = page.content.decode()
    device = TOTPDevice.objects.get(user=admin_user)
    assert page.status_code == 200
    assert device.confirmed is False
    assert "<svg" in body
    assert "<img" not in body
    secret = re.search(r'class="mono mfa-secret">([A-Z2-7]+)<', body).group(1)
    assert len(secret) == 32
    assert secret in client.get("/login/mfa/enrol/").content.decode()
    assert TOTPDevice.objects.filter(user=admin_user).count() == 1


def test_enrolment_confirms_with_one_code_and_shows_ten_recovery_codes_once(
    settings, admin_user
):
    # No wait after the wrong code (the throttle has its own test).
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    client, _ = _password_sign_in(admin_user.username)
    client.get("/login/mfa/enrol/")
    device = TOTPDevice.objects.get(user=admin_user)

    wrong = client.post("/login/mfa/enrol/", {"code": "000000"})
    assert wrong.status_code == 400
    assert "not right" in wrong.content.decode()
    assert client.get("/").status_code == 302

    done = client.post(
        "/login/mfa/enrol/", {"code": totp_code(device), "next": "/sync/"}
    )
    body = done.content.decode()
    codes = list(
        StaticToken.objects.filter(device__user=admin_user).values_list(
            "token", flat=True
        )
    )
    assert done.status_code == 200
    assert len(codes) == 10
    assert all(code in body for code in codes)
    assert 'href="/sync/"' in body
    assert client.get("/sync/").status_code == 200  # this session is verified
    # Shown once: the enrolment page now sends an enrolled user to the code page.
    assert client.get("/login/mfa/enrol/")["Location"].startswith("/login/mfa/?")
    [enrolled] = _events("mfa.enrolled")
    assert enrolled.actor == admin_user
    assert enrolled.after == {"device": "Authenticator app", "recovery_codes": 10}
    [failed] = _events("mfa.failed")
    assert failed.after["during"] == "enrolment"
    assert failed.after["failure_count"] == 1


def test_enrolling_again_replaces_the_old_app_and_codes(admin_user):
    mfa_enrol(admin_user)
    TOTPDevice.objects.filter(user=admin_user).update(confirmed=False)
    device = mfa_enrolment_device(user=admin_user)

    result, codes = mfa_enrolment_confirm(user=admin_user, token=totp_code(device))

    assert result.ok
    assert TOTPDevice.objects.filter(user=admin_user).count() == 1
    assert StaticDevice.objects.filter(user=admin_user).count() == 1
    assert not set(RECOVERY_CODES) & set(codes)


# Sign-in codes -----------------------------------------------------------------


def test_a_recovery_code_works_once_and_is_audited(admin_user):
    mfa_enrol(admin_user)
    client, _ = _password_sign_in(admin_user.username)

    answer = client.post(
        "/login/mfa/", {"code": " RECOV3RY01 ", "next": "/"}, follow=True
    )
    assert answer.status_code == 200
    assert "recovery code; 2 left" in answer.content.decode()
    again, _ = _password_sign_in(admin_user.username)
    reused = again.post("/login/mfa/", {"code": "recov3ry01"})
    assert reused.status_code == 400
    remaining = StaticToken.objects.filter(device__user=admin_user)
    assert sorted(remaining.values_list("token", flat=True)) == [
        "recov3ry02",
        "recov3ry03",
    ]
    [used] = _events("mfa.recovery_used")
    assert used.after == {"recovery_codes_left": 2}
    assert used.actor == admin_user


def test_wrong_codes_lock_the_device_and_each_failure_is_audited(settings, admin_user):
    # A long factor, so the lock outlasts the test however slow the machine.
    settings.OTP_TOTP_THROTTLE_FACTOR = 600
    device = mfa_enrol(admin_user)

    first = mfa_verify(user=admin_user, token="000000")
    right_but_locked = mfa_verify(user=admin_user, token=totp_code(device))

    assert not first.ok
    assert first.locked_until is not None
    assert not right_but_locked.ok
    assert right_but_locked.locked_until == first.locked_until
    [failed] = _events("mfa.failed")
    assert failed.after["failure_count"] == 1
    assert failed.after["during"] == "sign-in"
    assert failed.after["locked_until"]
    client, _ = _password_sign_in(admin_user.username)
    page = client.post("/login/mfa/", {"code": totp_code(device)})
    assert page.status_code == 400
    assert "Too many wrong codes" in page.content.decode()


def test_a_totp_code_works_only_once(admin_user):
    device = mfa_enrol(admin_user)
    code = totp_code(device)

    assert mfa_verify(user=admin_user, token=code).ok
    assert not mfa_verify(user=admin_user, token=code).ok


def test_next_never_leaves_the_site(admin_user):
    device = mfa_enrol(admin_user)
    client, _ = _password_sign_in(admin_user.username)

    answer = client.post(
        "/login/mfa/", {"code": totp_code(device), "next": "https://evil.example/"}
    )

    assert answer["Location"] == "/"


# Reset ----------------------------------------------------------------------------


def test_an_admin_resets_a_users_second_factor_in_the_admin_audited(
    admin_user, exporter
):
    mfa_enrol(exporter)
    exporter_client = mfa_verified_client(exporter)
    assert exporter_client.get("/sessions/").status_code == 200
    admin = mfa_verified_client(admin_user)

    response = admin.post(
        "/admin/auth/user/",
        {"action": "reset_mfa", "_selected_action": [exporter.pk]},
        follow=True,
    )

    assert "Multi-factor reset for ed-exporter" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=exporter).exists()
    assert not StaticDevice.objects.filter(user=exporter).exists()
    [reset] = _events("mfa.reset")
    assert reset.actor == admin_user
    assert reset.source == "admin"
    assert reset.object_id == str(exporter.pk)
    assert {d["device"] for d in reset.before["devices"]} == {
        "Authenticator app",
        "Recovery codes",
    }
    # The session the old app verified is verified no longer.
    blocked = exporter_client.get("/sessions/")
    assert blocked["Location"].startswith("/login/mfa/enrol/")


def test_resetting_a_user_without_devices_writes_nothing(admin_user, reviewer):
    assert mfa_reset(user=reviewer, actor=admin_user, source="admin") is False
    assert not _events("mfa.reset")


def test_the_device_admins_of_django_otp_are_not_registered(admin_user):
    admin = mfa_verified_client(admin_user)

    assert admin.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert admin.get("/admin/otp_static/staticdevice/").status_code == 404


def test_the_break_glass_command_resets_and_audits(admin_user):
    from io import StringIO

    from django.core.management import CommandError, call_command

    mfa_enrol(admin_user)
    out = StringIO()
    call_command("mfa_reset", admin_user.username, stdout=out)

    assert "reset for ada-admin" in out.getvalue()
    [reset] = _events("mfa.reset")
    assert reset.source == "command"
    assert reset.actor is None
    with pytest.raises(CommandError, match="No user named"):
        call_command("mfa_reset", "nobody")
