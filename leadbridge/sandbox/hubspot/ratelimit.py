"""HubSpot's private-app rate limits: ten-second rolling window, daily cap, search per second."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .errors import JsonDict, new_correlation_id

Tier = Literal["free", "starter", "professional", "enterprise"]
Policy = Literal["TEN_SECONDLY_ROLLING", "DAILY", "SECONDLY"]

# (calls per ten seconds, calls per day) for private apps, per subscription tier.
TIER_LIMITS: dict[str, tuple[int, int]] = {
    "free": (100, 250_000),
    "starter": (100, 250_000),
    "professional": (190, 650_000),
    "enterprise": (190, 1_000_000),
}
WINDOW_SECONDS = 10.0
DAY_SECONDS = 86_400.0

_MESSAGES: dict[str, str] = {
    # The ten-secondly wording is the one seen in a real 429 (hubspot-api-python issue #117).
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    "DAILY": "You have reached your daily limit.",
    "SECONDLY": "You have reached your secondly limit.",
}


def rate_limit_body(policy: Policy) -> JsonDict:
    """The JSON body of a HubSpot 429 for one policy."""
    return {
        "status": "error",
        "message": _MESSAGES[policy],
        "errorType": "RATE_LIMIT",
        "correlationId": new_correlation_id(),
        "policyName": policy,
    }


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a call may pass, the policy that refused it, and the headers to answer with."""

    allowed: bool
    policy: Policy | None
    headers: dict[str, str]


class _Rolling:
    """Accepted-call times inside a sliding window of fixed length."""

    def __init__(self, *, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._times: deque[float] = deque()

    def expire(self, now: float) -> None:
        while self._times and self._times[0] <= now - self.seconds:
            self._times.popleft()

    def full(self) -> bool:
        return len(self._times) >= self.limit

    def add(self, now: float) -> None:
        self._times.append(now)

    def remaining(self) -> int:
        return max(0, self.limit - len(self._times))


class RateLimiter:
    """Counts API calls against one portal's limits; thread-safe, driven by an injectable clock."""

    def __init__(
        self,
        *,
        tier: Tier = "professional",
        daily_limit: int | None = None,
        search_per_second: int = 5,
        clock: Callable[[], float],
    ) -> None:
        if tier not in TIER_LIMITS:
            raise ValueError(f"unknown tier {tier!r}; one of {', '.join(TIER_LIMITS)}")
        ten_second, daily = TIER_LIMITS[tier]
        self.tier = tier
        self.daily_limit = daily if daily_limit is None else daily_limit
        self._clock = clock
        self.offset = 0.0
        self._window = _Rolling(limit=ten_second, seconds=WINDOW_SECONDS)
        self._search = _Rolling(limit=search_per_second, seconds=1.0)
        self._day: int | None = None
        self._daily_used = 0
        self._lock = threading.Lock()

    @property
    def ten_second_limit(self) -> int:
        """Calls allowed in any ten-second window."""
        return self._window.limit

    @property
    def search_per_second(self) -> int:
        """Search calls allowed in any one-second window."""
        return self._search.limit

    def now(self) -> float:
        """The limiter's time: the injected clock plus any control-endpoint advance."""
        return self._clock() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the limiter's time forward (the sandbox `clock` control)."""
        if seconds < 0:
            raise ValueError("advance_seconds must not be negative")
        with self._lock:
            self.offset += seconds

    def reset(self) -> None:
        """Forget every counted call."""
        with self._lock:
            self._window = _Rolling(limit=self._window.limit, seconds=WINDOW_SECONDS)
            self._search = _Rolling(limit=self._search.limit, seconds=1.0)
            self._daily_used = 0

    def _roll(self, now: float) -> None:
        # The daily budget restarts when the clock crosses a day boundary (HubSpot: midnight in
        # the account's time zone); with a monotonic clock the boundary is arbitrary but fixed.
        day = math.floor(now / DAY_SECONDS)
        if day != self._day:
            self._day = day
            self._daily_used = 0
        self._window.expire(now)
        self._search.expire(now)

    def check(self, *, search: bool) -> Decision:
        """Admit or refuse one call; a refused call is not counted."""
        with self._lock:
            now = self.now()
            self._roll(now)
            policy: Policy | None = None
            if self._daily_used >= self.daily_limit:
                policy = "DAILY"
            elif self._window.full():
                policy = "TEN_SECONDLY_ROLLING"
            elif search and self._search.full():
                policy = "SECONDLY"
            if policy is None:
                self._daily_used += 1
                self._window.add(now)
                if search:
                    self._search.add(now)
            return Decision(allowed=policy is None, policy=policy, headers=self._headers())

    def headers(self) -> dict[str, str]:
        """The current rate-limit headers without counting a call."""
        with self._lock:
            self._roll(self.now())
            return self._headers()

    def _headers(self) -> dict[str, str]:
        # Secondly headers describe the search bucket, the only per-second limit enforced.
        return {
            "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily_limit - self._daily_used)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(WINDOW_SECONDS * 1000)),
            "X-HubSpot-RateLimit-Max": str(self._window.limit),
            "X-HubSpot-RateLimit-Remaining": str(self._window.remaining()),
            "X-HubSpot-RateLimit-Secondly": str(self._search.limit),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(self._search.remaining()),
        }

    def usage(self) -> JsonDict:
        """Counters for the control endpoint."""
        with self._lock:
            self._roll(self.now())
            return {
                "tier": self.tier,
                "daily_limit": self.daily_limit,
                "daily_used": self._daily_used,
                "ten_second_limit": self._window.limit,
                "ten_second_remaining": self._window.remaining(),
                "search_per_second": self._search.limit,
                "search_remaining": self._search.remaining(),
                "clock_offset_seconds": self.offset,
            }
