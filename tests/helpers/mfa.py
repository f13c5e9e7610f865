"""Second-factor helpers: enrol a user, compute a code their app would show,
and sign a test client in as an authenticator app would let them."""

from __future__ import annotations

import time
from typing import Any

from django.test import Client as DjangoClient
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODES = ("recov3ry01", "recov3ry02", "recov3ry03")


def mfa_enrol(
    user: Any, *, recovery_codes: tuple[str, ...] = RECOVERY_CODES
) -> TOTPDevice:
    """Give `user` a confirmed authenticator app and these recovery codes."""
    device = TOTPDevice.objects.create(
        user=user, name="Authenticator app", confirmed=True
    )
    static = StaticDevice.objects.create(
        user=user, name="Recovery codes", confirmed=True
    )
    StaticToken.objects.bulk_create(
        StaticToken(device=static, token=c) for c in recovery_codes
    )
    return device


def totp_code(device: TOTPDevice) -> str:
    """A code the device accepts now: this time step's, or the next one's when
    this step's was used already (a TOTP code works once)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    now = time.time()
    totp.time = now
    if totp.t() <= device.last_t:
        totp.time = now + device.step * (device.last_t + 1 - totp.t())
    return f"{totp.token():0{device.digits}d}"


def mfa_verified_client(user: Any) -> DjangoClient:
    """A client signed in as `user` with a verified second factor."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or mfa_enrol(
        user
    )
    client = DjangoClient()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
