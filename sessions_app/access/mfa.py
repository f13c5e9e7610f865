"""Multi-factor for local accounts (django-otp): who needs it, enrolment,
verification, recovery codes and reset. Every change is audited.

Who: with VERITY_MFA_REQUIRED on, a user with the admin role or the export
permission who signed in with a password. Single sign-on sessions are exempt:
the identity provider does their second factor.

The devices: one TOTP device (an authenticator app) and one static device
holding VERITY_MFA_RECOVERY_CODES one-time recovery codes. django-otp keeps
both, throttles failed codes on each (OTP_*_THROTTLE_FACTOR: after n failures
a device waits factor * 2^(n-1) seconds) and deletes a recovery code when it
is used.

Audit actions (source `web`, `admin` or `command`): `mfa.enrolled`,
`mfa.failed` (a wrong code; its throttle state), `mfa.recovery_used`
(codes left), `mfa.reset` (by whom, which devices went).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ..roles import user_can_export, user_is_admin
from ..services import audit_event_record

TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
TOTP_PATTERN = re.compile(r"^\d{6}$")
# What the pages ask the user to type, normalised: spaces and dashes dropped.
TOKEN_JUNK = re.compile(r"[\s-]+")
SSO_BACKEND = "sessions_app.access.sso_backend.VerityOIDCBackend"


@dataclass(frozen=True)
class MFAResult:
    """A code's verdict: the device that accepted it, or why not."""

    device: Any = None
    locked_until: datetime | None = None
    # True when the code was not even checked: the device is still locked.
    was_locked: bool = False
    recovery_codes_left: int | None = None  # set when a recovery code was used

    @property
    def ok(self) -> bool:
        return self.device is not None


def mfa_required_for(*, user: Any, backend: str) -> bool:
    """Must this signed-in user pass a second factor before anything else?"""
    if not settings.VERITY_MFA_REQUIRED or not user.is_authenticated:
        return False
    if backend == SSO_BACKEND:
        return False  # the identity provider does the second factor
    return user_is_admin(user) or user_can_export(user)


def mfa_is_enrolled(*, user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def mfa_enrolment_device(*, user: Any) -> TOTPDevice:
    """The TOTP device being enrolled: an unconfirmed one, kept between the page
    and its POST so reloading the page does not change the secret."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def _normalised(token: str) -> str:
    return TOKEN_JUNK.sub("", token or "").lower()


def _locked_until(device: Any) -> datetime | None:
    allowed, details = device.verify_is_allowed()
    return None if allowed else (details or {}).get("locked_until")


def _failure_record(*, user: Any, device: Any, source: str, during: str) -> MFAResult:
    locked_until = _locked_until(device)
    audit_event_record(
        actor=user,
        source=source,
        action="mfa.failed",
        obj=user,
        after={
            "device": device.name,
            "during": during,
            "failure_count": device.throttling_failure_count,
            "locked_until": locked_until,
        },
    )
    return MFAResult(locked_until=locked_until)


def mfa_enrolment_confirm(
    *, user: Any, token: str, source: str = "web"
) -> tuple[MFAResult, list[str]]:
    """Confirm the enrolment with one code from the app; on success make the
    recovery codes (returned once, never shown again) and audit the enrolment."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .first()
        )
        if device is None:
            return MFAResult(), []
        locked_until = _locked_until(device)
        if locked_until is not None:
            return MFAResult(locked_until=locked_until, was_locked=True), []
        if not device.verify_token(_normalised(token)):  # saves the throttle
            return _failure_record(
                user=user, device=device, source=source, during="enrolment"
            ), []
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        # One app and one set of codes per user: earlier ones go.
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        codes = _recovery_codes_replace(user=user)
        audit_event_record(
            actor=user,
            source=source,
            action="mfa.enrolled",
            obj=user,
            after={"device": device.name, "recovery_codes": len(codes)},
        )
    return MFAResult(device=device), codes


def _recovery_codes_replace(*, user: Any) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [
        StaticToken.random_token() for _ in range(settings.VERITY_MFA_RECOVERY_CODES)
    ]
    StaticToken.objects.bulk_create(
        StaticToken(device=static, token=code) for code in codes
    )
    return codes


def mfa_verify(*, user: Any, token: str, source: str = "web") -> MFAResult:
    """Check a code at sign-in: six digits go to the app's device, anything else
    is tried as a recovery code (consumed when it matches)."""
    token = _normalised(token)
    is_totp = bool(TOTP_PATTERN.match(token))
    model = TOTPDevice if is_totp else StaticDevice
    with transaction.atomic():
        device = (
            model.objects.select_for_update().filter(user=user, confirmed=True).first()
        )
        if device is None:
            return MFAResult()
        locked_until = _locked_until(device)
        if locked_until is not None:
            return MFAResult(locked_until=locked_until, was_locked=True)
        if not device.verify_token(token):  # saves the throttle, consumes a code
            return _failure_record(
                user=user, device=device, source=source, during="sign-in"
            )
        if is_totp:
            return MFAResult(device=device)
        left = device.token_set.count()
        audit_event_record(
            actor=user,
            source=source,
            action="mfa.recovery_used",
            obj=user,
            after={"recovery_codes_left": left},
        )
        return MFAResult(device=device, recovery_codes_left=left)


def mfa_reset(*, user: Any, actor: Any, source: str) -> bool:
    """Remove a user's app and recovery codes: they enrol again at their next
    sign-in (and any session verified with them is verified no longer).
    Returns False, writing nothing, when the user had nothing to reset."""
    with transaction.atomic():
        devices = sorted(
            [
                *TOTPDevice.objects.filter(user=user),
                *StaticDevice.objects.filter(user=user),
            ],
            key=lambda device: device.persistent_id,
        )
        if not devices:
            return False
        before = [
            {"device": device.name, "confirmed": device.confirmed} for device in devices
        ]
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        audit_event_record(
            actor=actor,
            source=source,
            action="mfa.reset",
            obj=user,
            before={"devices": before},
            after={"devices": []},
        )
    return True


def mfa_totp_qr_svg(*, device: TOTPDevice) -> str:
    """The device's otpauth:// URL as an inline SVG QR code (no request leaves
    the page, and the CSP allows no other image source than our own)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode")
