"""The one retry policy (tenacity) each connector's HTTP layer owns.

Retries only what is safe: transient failures of idempotent calls. A call whose outcome is
unknown (a create that timed out) is not retried here; the sync engine retries it later as an
idempotent upsert by external id. Retry-After from the server wins over the backoff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from leadbridge.errors import RateLimitedError, TransientError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts and how long to wait between them."""

    attempts: int = 5
    initial_wait: float = 0.5
    max_wait: float = 30.0
    max_retry_after: float = 120.0

    def run(self, attempt: Callable[[], T], *, idempotent: bool) -> T:
        """Call attempt() until it succeeds, retrying transient errors of idempotent calls."""
        backoff = wait_exponential_jitter(
            multiplier=self.initial_wait, max=self.max_wait, jitter=self.initial_wait
        )

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, RateLimitedError) and error.retry_after is not None:
                return min(error.retry_after, self.max_retry_after)
            return float(backoff(state))

        def retryable(error: BaseException) -> bool:
            if isinstance(error, RateLimitedError):
                return True  # refused before any work was done: always safe to repeat
            return idempotent and isinstance(error, TransientError)

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait,
            retry=retry_if_exception(retryable),
            reraise=True,
        )
        return retrying(attempt)
