"""The pace of one connection as plain data, and the rules that move it (AIMD).

Every limiter backend (in-process, file, Redis) keeps the same `PaceState` and
applies the same four rules, so a connection paces alike wherever its state
lives; the Redis backend runs them as a Lua script (`redis_backend.py`) that
mirrors the functions below line for line.

- `reserve`: book the next free slot, spaced `1 / rate` apart and never before
  `hold_until`; return how long the caller must wait for it.
- `throttle`: a 429 came back. Nothing goes before `now + wait` (the
  provider's `Retry-After`), and the rate is cut by `DECREASE` (down to
  `RATE_FLOOR`): multiplicative decrease. One 429 cuts once: the ones that
  return until the hold ends were sent before the cut and do not cut again.
- `succeed`: a request was answered; the rate creeps back by `step`, a fixed
  share of the last cut (`RECOVERY_REQUESTS` successes recover all of it), up to
  the ceiling: additive increase. Above the old rate it keeps probing with the
  same step, so a provider that raised its limit is found again.
- `held`: seconds left of a hold set after the caller booked its slot.

`ceiling` is the connection's configured rate (its override or the provider's
documented default); 0 means no limit (no spacing, only holds). A ceiling
lowered below the adaptive rate takes effect at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Multiplicative decrease on a 429, and the lowest rate it can reach (one request
# a minute: a provider that throttles even that is down, not slow).
DECREASE = 0.5
RATE_FLOOR = 1 / 60
# Successful requests after which a cut has been fully recovered. With the rate
# halved at each 429 and ~1-2 429s per cut, a connection set above its
# provider's real limit settles with a few per cent of its requests throttled.
RECOVERY_REQUESTS = 40
# A slot or hold further away than this is a clock that jumped (a reboot, a
# restored state file): it is dropped rather than waited for.
MAX_HOLD_SECONDS = 3600.0


@dataclass(slots=True)
class PaceState:
    """One connection's shared pace. `rate` 0 = not adapted yet (the ceiling)."""

    rate: float = 0.0
    next_slot: float = -math.inf
    hold_until: float = -math.inf
    step: float = 0.0
    calm_until: float = -math.inf

    def as_dict(self) -> dict[str, float]:
        return {
            "rate": self.rate,
            "next_slot": _finite(self.next_slot),
            "hold_until": _finite(self.hold_until),
            "step": self.step,
            "calm_until": _finite(self.calm_until),
        }

    @classmethod
    def from_dict(cls, data: object) -> PaceState:
        """Read a stored state; anything unreadable is a fresh state."""
        if not isinstance(data, dict):
            return cls()
        try:
            return cls(
                **{
                    name: float(data[name])
                    for name in (
                        "rate",
                        "next_slot",
                        "hold_until",
                        "step",
                        "calm_until",
                    )
                }
            )
        except (KeyError, TypeError, ValueError):
            return cls()


def _finite(value: float) -> float:
    return value if math.isfinite(value) else -1e18


def current_rate(state: PaceState, ceiling: float) -> float:
    """The rate requests go at now: the adaptive rate, never above the ceiling."""
    if ceiling <= 0:
        return 0.0
    if state.rate <= 0:
        return ceiling
    return min(state.rate, ceiling)


def _drop_jumps(state: PaceState, now: float) -> None:
    if state.next_slot > now + MAX_HOLD_SECONDS:
        state.next_slot = now
    if state.hold_until > now + MAX_HOLD_SECONDS:
        state.hold_until = now


def reserve(state: PaceState, now: float, ceiling: float) -> float:
    _drop_jumps(state, now)
    rate = current_rate(state, ceiling)
    slot = max(now, state.next_slot, state.hold_until)
    state.next_slot = slot + (1.0 / rate if rate > 0 else 0.0)
    return slot - now


def held(state: PaceState, now: float) -> float:
    _drop_jumps(state, now)
    return max(0.0, state.hold_until - now)


def throttle(state: PaceState, now: float, ceiling: float, wait: float) -> None:
    wait = min(max(wait, 0.0), MAX_HOLD_SECONDS)
    state.hold_until = max(state.hold_until, now + wait)
    if ceiling <= 0 or now < state.calm_until:
        return
    before = current_rate(state, ceiling)
    after = max(min(RATE_FLOOR, ceiling), before * DECREASE)
    state.rate = after
    state.step = (before - after) / RECOVERY_REQUESTS
    state.calm_until = max(state.hold_until, now + 1.0 / after)


def succeed(state: PaceState, ceiling: float) -> None:
    if ceiling <= 0 or state.rate <= 0 or state.rate >= ceiling:
        state.rate = 0.0  # at (or above) the ceiling: follow it
        return
    if state.step <= 0:
        state.rate = 0.0
        return
    state.rate = min(ceiling, state.rate + state.step)
    if state.rate >= ceiling:
        state.rate = 0.0
