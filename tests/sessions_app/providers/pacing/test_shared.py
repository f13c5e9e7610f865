"""The shared backends (file, Redis), their choice, and the fallback when one is down."""

from __future__ import annotations

import itertools
import logging
import os

import pytest
import responses

from sessions_app.providers.base import ConnectionConfig
from sessions_app.providers.complycube.adapter import ComplyCubeAdapter
from sessions_app.providers.http import ProviderHTTP
from sessions_app.providers.onfido.http import onfido_error
from sessions_app.providers.pacing import (
    RateLimiter,
    connection_rate_limiter,
    rate_limit_backend_url,
)
from sessions_app.providers.pacing.file_backend import FileRateLimiter
from sessions_app.providers.pacing.redis_backend import RedisRateLimiter
from sessions_app.providers.pacing.shared import FallbackRateLimiter
from sessions_app.providers.pacing.state import RECOVERY_REQUESTS
from tests.helpers.pacing import redis_test_client, redis_test_key
from tests.helpers.providers import TOKEN, load

BASE = "https://api.example.test/v1"


@pytest.mark.parametrize(
    ("configured", "broker", "redis_url", "expected"),
    [
        ("memory", "redis://b:6379/0", "", "memory"),
        ("", "redis://b:6379/0", "", "redis://b:6379/0"),
        ("", "redis://b:6379/0", "redis://r:6379/1", "redis://r:6379/1"),
        ("", "filesystem://", "", "VAR/pace"),
    ],
)
def test_the_backend_follows_the_setting_else_the_broker(
    settings, tmp_path, configured, broker, redis_url, expected
):
    settings.VERITY_RATE_LIMIT_URL = configured
    settings.CELERY_BROKER_URL = broker
    settings.REDIS_URL = redis_url
    settings.VAR_DIR = tmp_path / "VAR"
    assert rate_limit_backend_url() == expected.replace("VAR", str(tmp_path / "VAR"))


def test_one_limiter_per_connection_on_the_configured_backend(settings, tmp_path):
    settings.VERITY_RATE_LIMIT_URL = str(tmp_path)
    limiter = connection_rate_limiter("onfido:a", 4.0)
    assert connection_rate_limiter("onfido:a", 4.0) is limiter
    assert isinstance(limiter, FallbackRateLimiter)
    assert isinstance(limiter.shared, FileRateLimiter)
    assert connection_rate_limiter("onfido:b", 4.0) is not limiter


def test_two_file_limiters_of_one_connection_share_slots_holds_and_rate(
    tmp_path, fake_time
):
    first, second = (
        FileRateLimiter(10.0, directory=tmp_path, key="cc:x", clock=fake_time.clock)
        for _ in range(2)
    )
    assert first.reserve() == 0.0
    assert second.reserve() == pytest.approx(0.1)  # the slot after the first's

    first.throttled(2.0)

    assert second.held() == pytest.approx(2.0 - 0.0)
    assert second.current_rate() == 5.0
    second.reserve()  # a request booked after the cut...
    second.succeeded()  # ...and answered: the rate creeps back
    assert first.current_rate() > 5.0


def test_a_request_while_the_rate_is_not_cut_costs_one_file_operation(
    tmp_path, fake_time, monkeypatch
):
    limiter = FileRateLimiter(
        10.0, directory=tmp_path, key="cc:y", clock=fake_time.clock
    )
    other = FileRateLimiter(10.0, directory=tmp_path, key="cc:y", clock=fake_time.clock)
    operations = []
    apply = FileRateLimiter._apply
    monkeypatch.setattr(
        FileRateLimiter,
        "_apply",
        lambda self, rule: operations.append(self) or apply(self, rule),
    )

    limiter.reserve()
    limiter.succeeded()  # nothing to creep back: not stored
    assert operations == [limiter]

    other.throttled(0.0)  # another process's 429 cuts the shared rate
    operations.clear()
    limiter.reserve()  # sees the cut...
    limiter.succeeded()  # ...so its success counts
    assert operations == [limiter, limiter]
    assert limiter.current_rate() > 5.0


def test_the_file_is_rewritten_in_place_never_truncated(
    tmp_path, fake_time, monkeypatch
):
    """ext4 flushes a file truncated to zero and rewritten when it is closed
    (auto_da_alloc): ~2.5 ms a request on the embedded default. The state is
    written over the old bytes, padded, and still reads back when it shrinks."""
    truncations = []
    real_ftruncate = os.ftruncate
    monkeypatch.setattr(
        os,
        "ftruncate",
        lambda fd, size: truncations.append(size) or real_ftruncate(fd, size),
    )
    limiter = FileRateLimiter(
        10.0, directory=tmp_path, key="cc:z", clock=fake_time.clock
    )
    limiter.throttled(30.0)  # a hold and a cut: the longest state
    longest = limiter.path.stat().st_size
    fake_time.sleep(3600 * 2)  # the hold is long past
    for _ in range(RECOVERY_REQUESTS + 5):
        limiter.reserve()
        limiter.succeeded()

    assert truncations == []
    assert limiter.path.stat().st_size >= longest  # written over, never cut
    assert limiter.current_rate() == pytest.approx(10.0)
    again = FileRateLimiter(10.0, directory=tmp_path, key="cc:z", clock=fake_time.clock)
    assert again.current_rate() == pytest.approx(10.0)


def test_an_unreachable_backend_falls_back_to_this_process_with_one_log_line(
    tmp_path, caplog
):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    limiter = FallbackRateLimiter(
        FileRateLimiter(10.0, directory=blocker / "pace", key="cc:x")
    )
    caplog.set_level(logging.WARNING)

    waits = [limiter.reserve() for _ in range(3)]

    # Still paced, in this process.
    assert waits[0] == 0.0
    assert waits[1] > 0
    assert limiter.degraded
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1
    assert "pacing in this process only" in warnings[0].getMessage()


def test_a_redis_that_is_down_does_not_stop_pacing(caplog):
    import redis

    client = redis.Redis.from_url(
        "redis://127.0.0.1:1/0", socket_connect_timeout=0.2, socket_timeout=0.2
    )
    limiter = FallbackRateLimiter(RedisRateLimiter(5.0, client=client, key="k"))
    caplog.set_level(logging.WARNING)
    assert limiter.reserve() == 0.0
    assert limiter.reserve() == pytest.approx(0.2, abs=0.05)
    assert len([r for r in caplog.records if "unreachable" in r.getMessage()]) == 1


@pytest.mark.redis
def test_the_redis_limiter_holds_cuts_and_recovers_like_the_others(fake_time):
    client = redis_test_client()
    key = redis_test_key("unit")
    try:
        redis_limiter = RedisRateLimiter(
            10.0, client=client, key=key, clock=fake_time.clock
        )
        local = RateLimiter(10.0, clock=fake_time.clock)
        for limiter in (redis_limiter, local):
            assert limiter.reserve() == 0.0
            assert limiter.reserve() == pytest.approx(0.1)
            limiter.throttled(3.0)
            assert limiter.held() == pytest.approx(3.0)
            assert limiter.reserve() == pytest.approx(3.0)  # nothing before it
            assert limiter.current_rate() == pytest.approx(5.0)
            for _ in range(100):
                limiter.succeeded()
            assert limiter.current_rate() == pytest.approx(10.0)
        assert client.ttl(key) > 0
    finally:
        client.delete(key)


# Through ProviderHTTP -----------------------------------------------------------


def test_no_request_goes_before_the_retry_after_and_the_rate_grows_back(fake_time):
    sent: list[float] = []
    answers = iter([(429, {"Retry-After": "3"}, "{}")] + [(200, {}, "{}")] * 60)

    def answer(request):
        sent.append(fake_time.now)
        return next(answers)

    limiter = RateLimiter(8.0, clock=fake_time.clock)
    http = ProviderHTTP(
        BASE,
        provider="acme",
        headers={},
        rate_limit_per_second=8.0,
        rate_limiter=limiter,
        error_parser=onfido_error,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        max_inline_sleep=5.0,
    )
    with responses.RequestsMock() as rsps:
        rsps.add_callback(responses.GET, f"{BASE}/x", callback=answer)
        http.get_json("/x")
        assert sent[1] - sent[0] >= 3.0  # the retry waited for Retry-After
        # The rate was cut to half, and the retry's success added one step back.
        assert limiter.current_rate() == pytest.approx(4.0 + 4.0 / RECOVERY_REQUESTS)
        for _ in range(59):
            http.get_json("/x")

    assert limiter.current_rate() == 8.0  # grown back to the limit
    gaps = [b - a for a, b in itertools.pairwise(sent[1:])]
    assert gaps[0] == pytest.approx(1 / 4.0)  # right after the cut: spaced wider
    assert gaps[-1] == pytest.approx(1 / 8.0)


def test_a_quota_429_neither_holds_nor_slows_the_connection(fake_time):
    config = ConnectionConfig(
        slug="cc", kind="complycube", base_url=BASE, credential=TOKEN
    )
    limiter = RateLimiter(10.0, clock=fake_time.clock)
    http = ComplyCubeAdapter.make_http(
        config, rate_limiter=limiter, sleep=fake_time.sleep, max_inline_sleep=60.0
    )
    with responses.RequestsMock() as rsps:
        rsps.get(
            f"{BASE}/checks", status=429, json=load("complycube", "errors/quota.json")
        )
        with pytest.raises(Exception, match="quota"):
            http.get_json("/checks")

    assert limiter.held() == 0.0
    assert limiter.current_rate() == 10.0
