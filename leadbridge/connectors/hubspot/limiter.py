"""Client-side rate limiting: stay inside HubSpot's windows instead of collecting 429s."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

TEN_SECOND_LIMITS = {"free": 100, "starter": 100, "professional": 190, "enterprise": 190}
DAILY_LIMITS = {
    "free": 250_000,
    "starter": 250_000,
    "professional": 650_000,
    "enterprise": 1_000_000,
}


class WindowLimiter:
    """At most `max_calls` in any rolling window of `window_seconds` (sliding log)."""

    def __init__(
        self,
        *,
        max_calls: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_calls < 1:
            raise ValueError("max_calls must be at least 1")
        self.max_calls = max_calls
        self.window_seconds = window_seconds
        self._clock = clock
        self._sleep = sleep
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def acquire(self) -> None:
        """Block until one more call fits in the window, then count it."""
        while True:
            with self._lock:
                now = self._clock()
                while self._stamps and now - self._stamps[0] >= self.window_seconds:
                    self._stamps.popleft()
                if len(self._stamps) < self.max_calls:
                    self._stamps.append(now)
                    return
                wait = self.window_seconds - (now - self._stamps[0])
            self.waited_seconds += wait
            self._sleep(wait)
