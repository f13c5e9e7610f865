"""Fault switches and rate limits, per provider.

Each provider has its own `FaultSettings`. Bursts ("the next N requests")
count down per provider; probabilities draw from a seeded generator, so the
same request sequence meets the same faults. Rate limits are token buckets in
real (wall-clock) time, one per provider.
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .config import DEFAULT_RATE_LIMITS, DEFAULT_RETRY_AFTER, PROVIDERS


class FaultError(ValueError):
    """A fault setting is unknown or out of range."""


@dataclass(slots=True)
class FaultSettings:
    # 429 for the next N requests / for this share of requests.
    rate_limit_burst: int = 0
    rate_limit_probability: float = 0.0
    # 5xx (server_error_status) for the next N requests / this share of requests.
    server_error_burst: int = 0
    server_error_probability: float = 0.0
    server_error_status: int = 500
    # Wait this long before answering every request.
    delay_seconds: float = 0.0
    # Truncated JSON on the next N session list pages / this share of them.
    malformed_burst: int = 0
    malformed_probability: float = 0.0
    # Truncated JSON on the next N detail replies / this share of them: a session
    # by id and its sub-resources (tasks, a task, checks, analyses, applicant,
    # client, project). `detail_malformed_path`, a regular expression searched
    # in the path under the provider prefix, narrows which (None: all of them).
    detail_malformed_burst: int = 0
    detail_malformed_probability: float = 0.0
    detail_malformed_path: str | None = None
    # This share of sessions and checks carry a status/result word no table knows.
    unknown_enum_probability: float = 0.0
    # Add an unexpected field to every object served.
    extra_fields: bool = False
    # 5xx (server_error_status) for the next N DELETE requests only (a
    # provider deletion that fails, then succeeds once the burst is spent).
    delete_error_burst: int = 0
    # Steady rate limit in requests per second (None: unlimited).
    rate_limit_rps: float | None = None
    # Retry-After on 429s (None: no header).
    retry_after_seconds: int | None = None


def _count(value: Any) -> int:
    if isinstance(value, bool) or int(value) != float(value) or int(value) < 0:
        raise ValueError("must be a non-negative integer")
    return int(value)


def _within(
    parse: Callable[[Any], Any], low: float, high: float, message: str
) -> Callable[[Any], Any]:
    """`parse`, then refuse a number outside [low, high] with `message`."""

    def parse_within(value: Any) -> Any:
        number = parse(value)
        if not low <= number <= high:
            raise ValueError(message)
        return number

    return parse_within


_probability = _within(float, 0.0, 1.0, "must be between 0 and 1")
_status = _within(_count, 500, 599, "must be a 5xx status")
_delay = _within(float, 0.0, 120.0, "must be between 0 and 120 seconds")


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {
        "true",
        "1",
        "yes",
        "on",
        "false",
        "0",
        "no",
        "off",
    }:
        return value.lower() in {"true", "1", "yes", "on"}
    raise ValueError("must be true or false")


def _optional(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def parse_optional(value: Any) -> Any:
        if value is None or (
            isinstance(value, str) and value.lower() in {"none", "null", "off"}
        ):
            return None
        return parse(value)

    return parse_optional


def _pattern(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty regular expression")
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"is not a regular expression ({error})") from None
    return value


def _rps(value: Any) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError("must be > 0 (or null for unlimited)")
    return number


PARSERS: dict[str, Callable[[Any], Any]] = {
    "rate_limit_burst": _count,
    "rate_limit_probability": _probability,
    "server_error_burst": _count,
    "server_error_probability": _probability,
    "server_error_status": _status,
    "delay_seconds": _delay,
    "malformed_burst": _count,
    "malformed_probability": _probability,
    "detail_malformed_burst": _count,
    "detail_malformed_probability": _probability,
    "detail_malformed_path": _optional(_pattern),
    "unknown_enum_probability": _probability,
    "delete_error_burst": _count,
    "extra_fields": _flag,
    "rate_limit_rps": _optional(_rps),
    "retry_after_seconds": _optional(_count),
}


def fault_changes_parse(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and coerce {setting: value}; raise FaultError naming the bad key."""
    parsed = {}
    for key, value in changes.items():
        parser = PARSERS.get(key)
        if parser is None:
            raise FaultError(
                f"Unknown fault setting {key!r}; known: {', '.join(PARSERS)}."
            )
        try:
            parsed[key] = parser(value)
        except (TypeError, ValueError) as error:
            raise FaultError(f"{key}: {error}") from None
    return parsed


def fault_option_parse(option: str) -> tuple[str, dict[str, Any]]:
    """Parse a CLI `--fault [provider.]setting=value` into (scope, changes)."""
    key, sep, value = option.partition("=")
    if not sep:
        raise FaultError(f"Expected [provider.]setting=value, got {option!r}.")
    scope, dot, setting = key.strip().rpartition(".")
    scope = scope if dot else "all"
    if scope not in (*PROVIDERS, "all"):
        raise FaultError(f"Unknown provider {scope!r} in {option!r}.")
    return scope, fault_changes_parse({setting: value.strip()})


def baseline_settings() -> dict[str, FaultSettings]:
    """Every provider's settings with no faults and its documented rate limit."""
    return {
        provider: FaultSettings(
            rate_limit_rps=DEFAULT_RATE_LIMITS[provider],
            retry_after_seconds=DEFAULT_RETRY_AFTER[provider],
        )
        for provider in PROVIDERS
    }


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do to one request before it reaches the provider API."""

    delay: float = 0.0
    rate_limited: bool = False
    retry_after: int | None = None
    server_error: int | None = None
    reason: str = ""


class FaultBoard:
    """The live fault settings of every provider. Thread-safe."""

    def __init__(
        self,
        *,
        seed: int,
        baseline: Mapping[str, FaultSettings] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seed = seed
        self._baseline = {
            p: dataclasses.replace(s)
            for p, s in (baseline or baseline_settings()).items()
        }
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Back to the start-up settings: bursts cleared, buckets full."""
        with self._lock:
            self._settings = {
                p: dataclasses.replace(s) for p, s in self._baseline.items()
            }
            self._random = {
                p: random.Random(f"verity-sim:{self._seed}:faults:{p}")
                for p in PROVIDERS
            }
            self._tokens: dict[str, float] = {}
            self._stamps: dict[str, float] = {}
            for provider in PROVIDERS:
                self._refill_reset(provider)

    def _refill_reset(self, provider: str) -> None:
        rps = self._settings[provider].rate_limit_rps
        self._tokens[provider] = max(1.0, rps or 1.0)
        self._stamps[provider] = self._monotonic()

    def update(self, scope: str, changes: Mapping[str, Any]) -> None:
        """Apply validated `changes` to one provider or to "all"."""
        parsed = fault_changes_parse(changes)
        providers = PROVIDERS if scope == "all" else (scope,)
        if scope != "all" and scope not in PROVIDERS:
            raise FaultError(f"Unknown provider {scope!r}.")
        with self._lock:
            for provider in providers:
                for key, value in parsed.items():
                    setattr(self._settings[provider], key, value)
                if "rate_limit_rps" in parsed:
                    self._refill_reset(provider)

    def set_baseline(self, scope: str, changes: Mapping[str, Any]) -> None:
        """Change the start-up settings (what reset() returns to) and apply them."""
        parsed = fault_changes_parse(changes)
        providers = PROVIDERS if scope == "all" else (scope,)
        for provider in providers:
            for key, value in parsed.items():
                setattr(self._baseline[provider], key, value)
        self.update(scope, parsed)

    def settings(self, provider: str) -> FaultSettings:
        with self._lock:
            return dataclasses.replace(self._settings[provider])

    def data_settings(self, provider: str) -> tuple[float, bool]:
        """(unknown_enum_probability, extra_fields): what every answer reads,
        without copying the whole settings per request."""
        with self._lock:
            current = self._settings[provider]
            return current.unknown_enum_probability, current.extra_fields

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {p: dataclasses.asdict(s) for p, s in self._settings.items()}

    def _take_token(self, provider: str, rps: float) -> float:
        """Take a token; return 0 if one was there, else seconds until the next one."""
        now = self._monotonic()
        capacity = max(1.0, rps)
        tokens = min(
            capacity, self._tokens[provider] + (now - self._stamps[provider]) * rps
        )
        self._stamps[provider] = now
        if tokens >= 1.0:
            self._tokens[provider] = tokens - 1.0
            return 0.0
        self._tokens[provider] = tokens
        return (1.0 - tokens) / rps

    def decide(self, provider: str) -> Decision:
        """Consume bursts and tokens for one incoming request and say what to do."""
        with self._lock:
            settings = self._settings[provider]
            rng = self._random[provider]
            delay = settings.delay_seconds
            retry_after = settings.retry_after_seconds
            hit = _burst_or_draw(settings, rng, "rate_limit")
            if hit:
                return Decision(
                    delay, rate_limited=True, retry_after=retry_after, reason=hit
                )
            if settings.rate_limit_rps is not None:
                wait = self._take_token(provider, settings.rate_limit_rps)
                if wait > 0:
                    if retry_after is not None:
                        retry_after = max(retry_after, math.ceil(wait))
                    return Decision(
                        delay,
                        rate_limited=True,
                        retry_after=retry_after,
                        reason="rate_limit_rps",
                    )
            hit = _burst_or_draw(settings, rng, "server_error")
            if hit:
                return Decision(
                    delay, server_error=settings.server_error_status, reason=hit
                )
            return Decision(delay)

    def take_malformed(self, provider: str) -> bool:
        """Whether this session list page should be sent truncated."""
        with self._lock:
            return bool(
                _burst_or_draw(
                    self._settings[provider], self._random[provider], "malformed"
                )
            )

    def take_delete_error(self, provider: str) -> int | None:
        """The 5xx status this DELETE should fail with while `delete_error_burst`
        lasts (one is used up), else None."""
        with self._lock:
            settings = self._settings[provider]
            if settings.delete_error_burst <= 0:
                return None
            settings.delete_error_burst -= 1
            return settings.server_error_status

    def take_detail_malformed(self, provider: str, path: str) -> bool:
        """Whether this detail reply (at `path`, under the provider prefix) should be truncated.

        Only a reply `detail_malformed_path` matches consumes the burst or a draw.
        """
        with self._lock:
            settings = self._settings[provider]
            pattern = settings.detail_malformed_path
            if pattern is not None and re.search(pattern, path) is None:
                return False
            return bool(
                _burst_or_draw(settings, self._random[provider], "detail_malformed")
            )


def _burst_or_draw(settings: FaultSettings, rng: random.Random, fault: str) -> str:
    """Whether `fault` hits this request: "<fault>_burst" while its burst lasts
    (one is used up), else "<fault>_probability" when the seeded draw falls
    under its probability (drawn only when that is set), else ""."""
    burst = f"{fault}_burst"
    if getattr(settings, burst) > 0:
        setattr(settings, burst, getattr(settings, burst) - 1)
        return burst
    probability = getattr(settings, f"{fault}_probability")
    if probability and rng.random() < probability:
        return f"{fault}_probability"
    return ""
