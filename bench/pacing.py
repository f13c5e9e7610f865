"""The adaptive pace against a provider stricter than the connection's setting.

    python -m bench.pacing

A fake provider enforces 5 requests/s (a token bucket with a one-second burst,
like the simulator's); the connection is set to 5, 10, 20 or 50 requests/s,
and 1,000 requests go through the real `ProviderHTTP` and limiter. Time is a
fake clock that the client's waits advance and the provider reads, so the
figures are exact and the run takes about a second. Printed per setting: the
share of requests answered 429, and the achieved rate of answered requests as
a share of the provider's limit (issue 17: at most ~10 % throttled).
"""

from __future__ import annotations

import math

import responses

from sessions_app.providers.http import ProviderHTTP
from sessions_app.providers.pacing import RateLimiter

PROVIDER_RATE = 5.0
REQUESTS = 1000
BASE = "https://provider.bench/v1"


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def measure(configured: float, *, retry_after: bool) -> tuple[float, float]:
    """Return (throttled share, achieved rate / provider limit)."""
    clock = _Clock()
    tokens, stamp = PROVIDER_RATE, 0.0
    answered = throttled = 0

    def answer(request):
        nonlocal tokens, stamp, answered, throttled
        tokens = min(PROVIDER_RATE, tokens + (clock.now - stamp) * PROVIDER_RATE)
        stamp = clock.now
        if tokens >= 1:
            tokens -= 1
            answered += 1
            return 200, {}, "{}"
        throttled += 1
        wait = math.ceil((1 - tokens) / PROVIDER_RATE)
        return 429, ({"Retry-After": str(max(1, wait))} if retry_after else {}), "{}"

    http = ProviderHTTP(
        BASE,
        provider="bench",
        headers={},
        rate_limit_per_second=configured,
        rate_limiter=RateLimiter(configured, clock=clock),
        error_parser=lambda response: ("", ""),
        sleep=clock.sleep,
        clock=clock,
        jitter=lambda: 0.5,
        max_inline_sleep=5.0,
    )
    with responses.RequestsMock() as rsps:
        rsps.add_callback(responses.GET, f"{BASE}/x", callback=answer)
        for _ in range(REQUESTS):
            http.get_json("/x")
    return throttled / (answered + throttled), answered / clock.now / PROVIDER_RATE


def main() -> None:
    print(
        f"Provider limit {PROVIDER_RATE:g}/s; {REQUESTS} requests per row (fake clock)."
    )
    print(f"{'configured':>10}  {'Retry-After':>11}  {'throttled':>9}  {'achieved':>8}")
    for configured in (5.0, 10.0, 20.0, 50.0):
        for retry_after in (True, False):
            share, achieved = measure(configured, retry_after=retry_after)
            print(
                f"{configured:>8g}/s  {'yes' if retry_after else 'no':>11}  "
                f"{share:>9.1%}  {achieved:>8.0%}"
            )


if __name__ == "__main__":
    main()
