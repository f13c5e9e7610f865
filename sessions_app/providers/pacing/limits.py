"""Each provider's documented request rate, and the one a connection uses.

A provider package states its documented limits as data
(`<provider>/http.py: RATE_LIMITS`, a `ProviderRateLimits`); a connection uses
them unless it sets its own `rate_limit_per_second` (an override).
Where a provider documents live and sandbox limits, the account's environment
is the connection's `environment` option ("live" or "sandbox") if set, else
read from the credential's documented prefix (Onfido `api_sandbox` /
`api_live`, ComplyCube `test_` / `live_`); a credential with neither prefix
gets the live limit (the adaptive pacing slows down if that is too fast, while
a live account paced as a sandbox one would stay needlessly slow).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...exceptions import ProviderConfigurationError

ENVIRONMENTS = ("live", "sandbox")


@dataclass(frozen=True, slots=True)
class DocumentedRate:
    """One documented limit: requests per second, and how the provider words it."""

    per_second: float
    wording: str  # e.g. "400 requests/minute"


@dataclass(frozen=True, slots=True)
class ProviderRateLimits:
    """A provider's documented limits (see docs/providers/<provider>.md)."""

    provider: str  # its name in words, e.g. "Onfido"
    live: DocumentedRate
    sandbox: DocumentedRate | None = None
    sandbox_prefixes: tuple[str, ...] = ()
    live_prefixes: tuple[str, ...] = ()
    # When the provider publishes no number, why this default.
    note: str = ""


@dataclass(frozen=True, slots=True)
class EffectiveRateLimit:
    """The rate a connection is paced to, and where it comes from (in words)."""

    per_second: float
    source: str
    overridden: bool = False

    @property
    def per_minute(self) -> float:
        return self.per_second * 60

    @property
    def wording(self) -> str:
        """'10 requests/s' or '2.5 requests/s'; per minute when that is the
        rounder number ('30 requests/min', Onfido's '400 requests/min')."""
        if self.per_second <= 0:
            return "no limit"
        tenths = round(self.per_second, 1)
        if self.per_second >= 1 and abs(self.per_second - tenths) < 0.005:
            return f"{tenths:g} requests/s"
        if abs(self.per_minute - round(self.per_minute)) < 0.05:
            return f"{round(self.per_minute)} requests/min"
        return f"{round(self.per_second, 2):g} requests/s"


def account_environment(
    limits: ProviderRateLimits, *, credential: str | None, options: Mapping[str, Any]
) -> tuple[str, str]:
    """Return ("live" | "sandbox", how it was decided) for a connection."""
    option = options.get("environment")
    if option not in (None, ""):
        if not isinstance(option, str) or option.strip().lower() not in ENVIRONMENTS:
            raise ProviderConfigurationError(
                f"The environment option must be 'live' or 'sandbox', not {str(option)[:40]!r}."
            )
        return option.strip().lower(), "environment option"
    if limits.sandbox is None:
        return "live", ""
    if credential is None:
        return "live", "credential not readable here; its prefix decides at sync time"
    if credential.startswith(limits.sandbox_prefixes):
        return "sandbox", "credential prefix"
    if credential.startswith(limits.live_prefixes):
        return "live", "credential prefix"
    return "live", "credential prefix not recognised, live assumed"


def rate_limit_effective(
    limits: ProviderRateLimits | None,
    *,
    override: float | None,
    credential: str | None,
    options: Mapping[str, Any],
) -> EffectiveRateLimit:
    """The connection's limit: its override, else the provider's documented default.

    `credential` None means it is not readable in this process (the admin may
    lack the worker's environment): the live default is shown and said so.
    """
    if override is not None:
        return EffectiveRateLimit(
            float(override), "set on this connection (overrides the default)", True
        )
    if limits is None:
        return EffectiveRateLimit(5.0, "Verity's default (provider unknown)")
    environment, how = account_environment(
        limits, credential=credential, options=options
    )
    rate = (
        limits.sandbox if environment == "sandbox" and limits.sandbox else limits.live
    )
    if limits.sandbox is None:
        source = f"{limits.provider}'s default: {rate.wording}"
    else:
        source = f"{limits.provider}'s documented {environment} limit: {rate.wording}"
    if how:
        source += f" ({how})"
    if limits.note:
        source += f"; {limits.note}"
    return EffectiveRateLimit(rate.per_second, source)
