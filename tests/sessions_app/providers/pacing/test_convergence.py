"""A connection set above its provider's real limit converges (issue 17, item 2).

The provider enforces 5 requests/s (a token bucket with a one-second burst)
while the connection is set to 20. Everything runs on one fake clock: the
client's waits advance it and the provider's bucket reads it, so these tests
never really wait and always see the same sequence.
"""

from __future__ import annotations

import pytest
import responses

from sessions_app.providers.base import ConnectionConfig
from sessions_app.providers.complycube.adapter import ComplyCubeAdapter
from sessions_app.providers.http import ProviderHTTP
from sessions_app.providers.onfido.http import onfido_error
from sessions_app.providers.pacing import RateLimiter
from tests.helpers.pacing import TokenBucket
from tests.helpers.providers import TOKEN
from tests.helpers.simulator import make_sim
from tests.sessions_app.providers.test_e2e_simulator import (
    ADAPTERS,
    INLINE_CAP,
    KINDS,
    assert_clean,
    assert_matches_truth,
    by_id,
    requests_made,
    run_pass,
    truth_of,
)

PROVIDER_RATE = 5.0
CONFIGURED_RATE = 20.0
MAX_THROTTLED_SHARE = 0.10
BASE = "https://api.example.test/v1"


def paced_loop(
    fake_time, *, retry_after: bool, requests: int
) -> tuple[TokenBucket, float]:
    bucket = TokenBucket(PROVIDER_RATE, fake_time.clock)

    def answer(request):
        if bucket.take():
            return 200, {}, "{}"
        headers = {"Retry-After": str(bucket.retry_after())} if retry_after else {}
        return 429, headers, '{"error": {"type": "rate_limit"}}'

    limiter = RateLimiter(CONFIGURED_RATE, clock=fake_time.clock)
    http = ProviderHTTP(
        BASE,
        provider="acme",
        headers={"Authorization": f"Token token={TOKEN}"},
        rate_limit_per_second=CONFIGURED_RATE,
        rate_limiter=limiter,
        error_parser=onfido_error,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        jitter=lambda: 0.5,
        max_inline_sleep=INLINE_CAP,
    )
    started = fake_time.now
    with responses.RequestsMock() as rsps:
        rsps.add_callback(responses.GET, f"{BASE}/things", callback=answer)
        for _ in range(requests):
            assert http.get_json("/things") == {}
    return bucket, fake_time.now - started


@pytest.mark.parametrize("retry_after", [True, False], ids=["retry-after", "none"])
def test_300_requests_set_4x_above_the_limit_end_with_few_throttled(
    fake_time, retry_after
):
    bucket, elapsed = paced_loop(fake_time, retry_after=retry_after, requests=300)

    assert bucket.answered == 300  # every request was answered in the end
    share = bucket.throttled / (bucket.answered + bucket.throttled)
    assert share <= MAX_THROTTLED_SHARE, share
    # Never faster than the provider allows (its one-second burst aside), and
    # not crawling either: the pace settles near the real limit.
    achieved = bucket.answered / elapsed
    print(f"throttled {share:.1%}, achieved {achieved:.2f}/s of {PROVIDER_RATE}/s")
    assert achieved <= PROVIDER_RATE + bucket.capacity / elapsed
    assert achieved >= PROVIDER_RATE / 2, achieved


@pytest.fixture
def bucket_sim(settings, fake_time):
    """A simulator (60 sessions a provider) whose rate limits run on `fake_time`."""
    settings.VERITY_HTTP_MAX_INLINE_SLEEP = INLINE_CAP
    server = make_sim(sessions=60).start()
    faults = server.simulator.faults
    faults._monotonic = fake_time.clock  # the provider's bucket reads the fake clock
    yield server
    server.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_a_full_pass_set_4x_above_the_limit_mirrors_everything_with_few_throttled(
    bucket_sim, fake_time, kind
):
    sim = bucket_sim
    sim.set_faults(kind, rate_limit_rps=PROVIDER_RATE)
    config = ConnectionConfig(
        slug=f"{kind}-converge",
        kind=kind,
        base_url=sim.base_urls[kind],
        credential=sim.credentials[kind],
        rate_limit_per_second=CONFIGURED_RATE,
    )
    adapter_class = ADAPTERS[kind]
    http = adapter_class.make_http(
        config, sleep=fake_time.sleep, clock=fake_time.clock, jitter=lambda: 0.5
    )

    pages, _ = run_pass(adapter_class(config, http=http))

    statuses = [status for _, _, status in requests_made(sim, kind)]
    assert len(statuses) >= 60
    share = statuses.count(429) / len(statuses)
    print(f"{kind}: {len(statuses)} requests, {share:.1%} throttled")
    assert share <= MAX_THROTTLED_SHARE, share
    assert set(statuses) <= {200, 429}
    assert_clean(pages)
    assert_matches_truth(kind, by_id(pages), truth_of(sim, kind))


def test_a_complycube_connection_without_override_uses_the_documented_rate():
    config = ConnectionConfig(
        slug="cc-default", kind="complycube", base_url=BASE, credential="test_abc123"
    )
    assert ComplyCubeAdapter.make_http(config).rate_limiter.rate_per_second == 5.0
