"""Helpers of the pacing tests: a provider's token bucket on a fake clock, a
Redis reachable for tests (or a skip), and the one-second-window check."""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable, Sequence

import pytest

REDIS_TEST_URL = os.environ.get("VERITY_TEST_REDIS_URL") or os.environ.get(
    "REDIS_URL", "redis://127.0.0.1:6379/0"
)
REDIS_TEST_PREFIX = "verity-test-pace:"


class TokenBucket:
    """A provider enforcing `rate` requests/s with a one-second burst, as real
    APIs and the simulator do; `take()` says whether a request is answered, and
    `retry_after()` how long until the next one would be."""

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.clock = clock
        self.stamp = clock()
        self.answered = 0
        self.throttled = 0

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            self.answered += 1
            return True
        self.throttled += 1
        return False

    def retry_after(self) -> int:
        return max(1, math.ceil((1.0 - self.tokens) / self.rate))


def redis_test_client():
    """A client of the test Redis, or skip the test (CI's Redis stage runs it)."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_TEST_URL} ({type(exc).__name__})")
    return client


def redis_test_key(name: str) -> str:
    return f"{REDIS_TEST_PREFIX}{name}:{uuid.uuid4().hex}"


def busiest_second(stamps: Sequence[float]) -> int:
    """The most requests inside any window of one second (sliding, from each request)."""
    ordered = sorted(stamps)
    best = 0
    start = 0
    for end, stamp in enumerate(ordered):
        while stamp - ordered[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best
