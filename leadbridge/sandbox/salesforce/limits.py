"""Daily API allocation counters behind Sforce-Limit-Info, /limits and REQUEST_LIMIT_EXCEEDED."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from leadbridge.sandbox.salesforce.errors import SalesforceError


@dataclass
class Counter:
    """One daily allocation: its maximum and how much of it is used."""

    max: int
    used: int = 0

    @property
    def remaining(self) -> int:
        """What is left today (never negative)."""
        return max(0, self.max - self.used)

    def as_limit(self) -> dict[str, int]:
        """The /limits entry: {"Max", "Remaining"}."""
        return {"Max": self.max, "Remaining": self.remaining}


@dataclass
class ApiLimits:
    """The org's daily allocations, reset when the clock's UTC date changes."""

    clock: Callable[[], dt.datetime]
    daily_api_requests: Counter = field(default_factory=lambda: Counter(15000))
    bulk_v2_query_jobs: Counter = field(default_factory=lambda: Counter(10000))
    bulk_api_batches: Counter = field(default_factory=lambda: Counter(15000))
    _day: dt.date | None = None

    def _roll(self) -> None:
        today = self.clock().astimezone(dt.UTC).date()
        if self._day != today:
            self._day = today
            for counter in self._counters():
                counter.used = 0

    def _counters(self) -> tuple[Counter, ...]:
        return (self.daily_api_requests, self.bulk_v2_query_jobs, self.bulk_api_batches)

    def consume_request(self, count: int = 1) -> None:
        """Count API calls, raising 403 REQUEST_LIMIT_EXCEEDED once the allocation is spent."""
        self._roll()
        counter = self.daily_api_requests
        if counter.used + count > counter.max:
            raise SalesforceError(
                status=403,
                error_code="REQUEST_LIMIT_EXCEEDED",
                message="TotalRequests Limit exceeded.",
            )
        counter.used += count

    def consume_query_job(self) -> None:
        """Count one Bulk 2.0 query job."""
        self._roll()
        counter = self.bulk_v2_query_jobs
        if counter.used >= counter.max:
            raise SalesforceError(
                status=403,
                error_code="REQUEST_LIMIT_EXCEEDED",
                message="DailyBulkV2QueryJobs Limit exceeded.",
            )
        counter.used += 1

    def consume_batches(self, count: int) -> None:
        """Count Bulk ingest batches (Salesforce bills one per 10,000 records)."""
        self._roll()
        counter = self.bulk_api_batches
        if counter.used + count > counter.max:
            raise SalesforceError(
                status=403,
                error_code="REQUEST_LIMIT_EXCEEDED",
                message="DailyBulkApiBatches Limit exceeded.",
            )
        counter.used += count

    def header(self) -> str:
        """The Sforce-Limit-Info header value, e.g. api-usage=18/15000."""
        self._roll()
        return f"api-usage={self.daily_api_requests.used}/{self.daily_api_requests.max}"

    def body(self) -> dict[str, Any]:
        """The /limits response body."""
        self._roll()
        return {
            "DailyApiRequests": self.daily_api_requests.as_limit(),
            "DailyBulkV2QueryJobs": self.bulk_v2_query_jobs.as_limit(),
            "DailyBulkApiBatches": self.bulk_api_batches.as_limit(),
            "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
        }
