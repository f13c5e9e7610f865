"""The adaptive pace (AIMD), through the in-process limiter on a fake clock."""

from __future__ import annotations

import pytest

from sessions_app.providers.pacing import RateLimiter
from sessions_app.providers.pacing.state import (
    DECREASE,
    MAX_HOLD_SECONDS,
    RATE_FLOOR,
    RECOVERY_REQUESTS,
    PaceState,
)


def test_a_retry_after_holds_every_request_until_it_ends(fake_time):
    limiter = RateLimiter(10.0, clock=fake_time.clock)
    assert limiter.reserve() == 0.0

    limiter.throttled(3.0)

    assert limiter.held() == 3.0
    assert limiter.reserve() == pytest.approx(3.0)  # no request before it


def test_a_429_halves_the_rate_and_successes_creep_it_back(fake_time):
    limiter = RateLimiter(10.0, clock=fake_time.clock)
    limiter.throttled(0.0)
    assert limiter.current_rate() == 10.0 * DECREASE

    rates = []
    for _ in range(RECOVERY_REQUESTS):
        limiter.succeeded()
        rates.append(limiter.current_rate())

    assert rates == sorted(rates)  # additive: it only grows
    assert rates[0] == pytest.approx(5.0 + 5.0 / RECOVERY_REQUESTS)
    assert rates[-1] == pytest.approx(10.0)
    limiter.succeeded()
    assert limiter.current_rate() == 10.0  # never above the ceiling


def test_requests_are_spaced_at_the_cut_rate(fake_time):
    limiter = RateLimiter(10.0, clock=fake_time.clock)
    limiter.throttled(1.0)
    first = limiter.reserve()
    second = limiter.reserve()
    assert first == pytest.approx(1.0)
    assert second - first == pytest.approx(1 / 5.0)


def test_429s_of_one_congestion_cut_once(fake_time):
    limiter = RateLimiter(8.0, clock=fake_time.clock)
    limiter.throttled(1.0)
    limiter.throttled(1.0)  # sent before the cut, answered after it
    assert limiter.current_rate() == 4.0
    fake_time.now += 1.5
    limiter.throttled(1.0)  # a new congestion
    assert limiter.current_rate() == 2.0


def test_the_rate_never_falls_below_the_floor(fake_time):
    limiter = RateLimiter(1.0, clock=fake_time.clock)
    for _ in range(20):
        fake_time.now += 3600
        limiter.throttled(0.0)
    assert limiter.current_rate() == pytest.approx(RATE_FLOOR)


def test_unlimited_only_holds(fake_time):
    limiter = RateLimiter(0.0, clock=fake_time.clock)
    assert limiter.reserve() == limiter.reserve() == 0.0
    limiter.throttled(2.0)
    assert limiter.reserve() == 2.0
    assert limiter.reserve() == 2.0  # no spacing after the hold either
    assert limiter.current_rate() == 0.0


def test_a_hold_seen_after_booking_is_reported(fake_time):
    limiter = RateLimiter(10.0, clock=fake_time.clock)
    assert limiter.reserve() == 0.0
    assert limiter.held() == 0.0
    limiter.throttled(4.0)  # another thread's 429, while this one waits
    assert limiter.held() == 4.0


def test_a_state_from_a_clock_that_jumped_is_not_waited_for(fake_time):
    limiter = RateLimiter(10.0, clock=fake_time.clock)
    limiter._state.next_slot = fake_time.now + MAX_HOLD_SECONDS * 10
    assert limiter.reserve() == 0.0


def test_a_stored_state_that_is_not_a_state_reads_as_fresh():
    assert PaceState.from_dict({"rate": "x"}) == PaceState()
    assert PaceState.from_dict([1]) == PaceState()
    state = PaceState(rate=2.0, next_slot=5.0, hold_until=6.0, step=0.1, calm_until=7.0)
    assert PaceState.from_dict(state.as_dict()) == state
