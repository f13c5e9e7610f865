"""A connection's pace in Redis, shared by every process on every host.

One hash per connection (`<prefix><kind>:<slug>`), changed only by one Lua
script, which Redis runs atomically: it is `state.py`'s rules in Lua. The clock
is the Redis server's (`TIME`), so workers on hosts whose clocks differ still
agree; tests may pass their own. The hash expires after a day unused.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .limiter import PaceLimiter
from .state import DECREASE, MAX_HOLD_SECONDS, RATE_FLOOR, RECOVERY_REQUESTS

STATE_TTL_SECONDS = 86_400

# KEYS[1] the hash; ARGV: op, ceiling, wait, now ("" = the server's clock).
# Returns a string (a Lua number would come back truncated to an integer).
PACE_SCRIPT = f"""
local key, op = KEYS[1], ARGV[1]
local ceiling, wait = tonumber(ARGV[2]), tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1e6
end
local h = redis.call('HMGET', key, 'rate', 'next_slot', 'hold_until', 'step', 'calm_until')
local rate = tonumber(h[1]) or 0
local next_slot = tonumber(h[2]) or -1e18
local hold_until = tonumber(h[3]) or -1e18
local step = tonumber(h[4]) or 0
local calm_until = tonumber(h[5]) or -1e18
local function current()
  if ceiling <= 0 then return 0 end
  if rate <= 0 then return ceiling end
  return math.min(rate, ceiling)
end
if next_slot > now + {MAX_HOLD_SECONDS} then next_slot = now end
if hold_until > now + {MAX_HOLD_SECONDS} then hold_until = now end
local result = 0
if op == 'reserve' then
  local r = current()
  local slot = math.max(now, next_slot, hold_until)
  if r > 0 then next_slot = slot + 1 / r else next_slot = slot end
  result = slot - now
  -- and whether the rate is cut (so the caller knows successes count)
  if rate > 0 then result = tostring(result) .. ',1' else result = tostring(result) .. ',0' end
elseif op == 'held' then
  result = math.max(0, hold_until - now)
elseif op == 'throttled' then
  wait = math.min(math.max(wait, 0), {MAX_HOLD_SECONDS})
  hold_until = math.max(hold_until, now + wait)
  if ceiling > 0 and now >= calm_until then
    local before = current()
    local after = math.max(math.min({RATE_FLOOR!r}, ceiling), before * {DECREASE})
    rate = after
    step = (before - after) / {RECOVERY_REQUESTS}
    calm_until = math.max(hold_until, now + 1 / after)
  end
elseif op == 'succeeded' then
  if ceiling <= 0 or rate <= 0 or rate >= ceiling or step <= 0 then
    rate = 0
  else
    rate = math.min(ceiling, rate + step)
    if rate >= ceiling then rate = 0 end
  end
  result = rate
elseif op == 'current' then
  result = current()
end
redis.call('HSET', key, 'rate', tostring(rate), 'next_slot', tostring(next_slot),
  'hold_until', tostring(hold_until), 'step', tostring(step),
  'calm_until', tostring(calm_until))
redis.call('EXPIRE', key, {STATE_TTL_SECONDS})
return tostring(result)
"""


class RedisRateLimiter(PaceLimiter):
    backend = "redis"

    def __init__(
        self,
        rate_per_second: float,
        *,
        client: Any,
        key: str,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(rate_per_second)
        self.client = client
        self.key = key
        self._clock = clock
        self._script = client.register_script(PACE_SCRIPT)

    def _run(self, op: str, wait: float = 0.0) -> str:
        now = "" if self._clock is None else repr(self._clock())
        answer = self._script(
            keys=[self.key], args=[op, repr(self.rate_per_second), repr(wait), now]
        )
        return answer.decode() if isinstance(answer, bytes) else str(answer)

    def _call(self, op: str, wait: float = 0.0) -> float:
        value = float(self._run(op, wait))
        return value if math.isfinite(value) else 0.0

    def reserve(self) -> float:
        wait, _, cut = self._run("reserve").partition(",")
        self._cut_seen = cut == "1"
        value = float(wait)
        return value if math.isfinite(value) else 0.0

    def held(self) -> float:
        return self._call("held")

    def throttled(self, wait: float) -> None:
        self._cut_seen = True
        self._call("throttled", wait)

    def succeeded(self) -> None:
        if self._cut_seen:  # nothing to creep back while the rate is not cut
            self._cut_seen = self._call("succeeded") > 0

    def current_rate(self) -> float:
        return self._call("current")
