"""The client-side rate limiter keeps inside a rolling window without real sleeping."""

from __future__ import annotations

import pytest

from leadbridge.connectors.hubspot.limiter import WindowLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_calls_beyond_the_window_wait_for_the_oldest_to_expire() -> None:
    time = FakeTime()
    limiter = WindowLimiter(max_calls=3, window_seconds=10, clock=time.clock, sleep=time.sleep)
    for _ in range(3):
        limiter.acquire()
        time.now += 1
    assert time.slept == []
    limiter.acquire()  # 3 calls at 100, 101, 102; now 103: wait until 110
    assert time.slept == [pytest.approx(7.0)]
    assert limiter.waited_seconds == pytest.approx(7.0)


def test_a_rolling_window_never_holds_more_than_the_limit() -> None:
    time = FakeTime()
    limiter = WindowLimiter(max_calls=5, window_seconds=1, clock=time.clock, sleep=time.sleep)
    stamps = []
    for _ in range(40):
        limiter.acquire()
        stamps.append(time.now)
        time.now += 0.05
    for stamp in stamps:
        assert sum(1 for s in stamps if stamp <= s < stamp + 1) <= 5


def test_zero_calls_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        WindowLimiter(max_calls=0, window_seconds=1)
