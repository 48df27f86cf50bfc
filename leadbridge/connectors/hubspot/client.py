"""The HubSpot HTTP layer: the SDK client, limiter, retry policy, error translation, budget.

Every HubSpot request goes through HubSpotClient.call(): one place that waits for the rate
window, retries, counts calls and reads the X-HubSpot-RateLimit-* headers.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import hubspot
import urllib3
from pydantic import SecretStr
from urllib3.util.retry import Retry

from leadbridge.config import HubSpotSettings, LoadedConfig
from leadbridge.connectors.base import ApiBudget
from leadbridge.connectors.hubspot.errors import classify, parse_body
from leadbridge.connectors.hubspot.limiter import DAILY_LIMITS, TEN_SECOND_LIMITS, WindowLimiter
from leadbridge.connectors.retry import RetryPolicy
from leadbridge.errors import (
    BudgetExhaustedError,
    ConfigError,
    LeadbridgeError,
    RateLimitedError,
    TransientError,
)
from leadbridge.secrets import resolve_secret

log = logging.getLogger(__name__)

Tier = Literal["free", "starter", "professional", "enterprise"]

# After this long, a daily usage seen at or over the share is re-checked with one call: the
# portal's day rolls over, and a connector reused across runs (the scheduler's) would otherwise
# refuse every call forever on the last X-HubSpot-RateLimit-Daily-Remaining it saw.
BUDGET_RECHECK_SECONDS = 300.0


@dataclass(frozen=True)
class HubSpotCredentials:
    """Resolved access settings; the token stays a SecretStr."""

    access_token: SecretStr
    base_url: str = "https://api.hubapi.com"
    tier: Tier = "professional"
    rate_share: float = 0.8
    daily_api_share: float = 0.5
    timeout_seconds: float = 30.0
    search_per_second: int = 4

    @classmethod
    def from_config(cls, loaded: LoadedConfig) -> HubSpotCredentials:
        """Resolve the [hubspot] section into credentials."""
        settings: HubSpotSettings | None = loaded.settings.hubspot
        if settings is None:
            raise ConfigError(
                "there is no [hubspot] section",
                source=loaded.source,
                key="hubspot",
                hint="add one (see config.example.toml) or run `leadbridge init`",
            )
        token = resolve_secret(
            settings.access_token, key="hubspot.access_token", source=loaded.source
        )
        return cls(
            access_token=token,
            base_url=settings.base_url.rstrip("/"),
            tier=settings.tier,
            rate_share=settings.rate_share,
            daily_api_share=settings.daily_api_share,
            timeout_seconds=settings.timeout_seconds,
        )


class HubSpotClient:
    """One hubspot-api-client instance behind the limiter, the retry policy and the budget."""

    def __init__(
        self,
        *,
        credentials: HubSpotCredentials,
        retry: RetryPolicy | None = None,
        window: WindowLimiter | None = None,
        search_window: WindowLimiter | None = None,
    ) -> None:
        self.credentials = credentials
        self.retry = retry or RetryPolicy()
        per_window = max(1, int(TEN_SECOND_LIMITS[credentials.tier] * credentials.rate_share))
        self.window = window or WindowLimiter(max_calls=per_window, window_seconds=10.0)
        self.search_window = search_window or WindowLimiter(
            max_calls=credentials.search_per_second, window_seconds=1.0
        )
        # urllib3 would retry connection errors by itself; the retry policy here is the only one.
        self.sdk = hubspot.Client.create(
            access_token=credentials.access_token.get_secret_value(),
            host=credentials.base_url,
            retry=Retry(total=0, connect=0, read=0, redirect=0, status=0, raise_on_status=False),
        )
        self.apis = _Apis(self.sdk)
        self._lock = threading.Lock()
        self._calls = 0
        self._rate_limited = 0
        self._daily_limit: int | None = DAILY_LIMITS[credentials.tier]
        self._daily_remaining: int | None = None
        self._noted_at = 0.0  # time.monotonic() of the last rate-limit headers seen
        self.budget_recheck_seconds = BUDGET_RECHECK_SECONDS

    @property
    def timeout(self) -> float:
        """Seconds before a request is abandoned."""
        return self.credentials.timeout_seconds

    def call(
        self,
        what: str,
        request: Callable[[], Any],
        *,
        idempotent: bool,
        search: bool = False,
    ) -> Any:
        """Run one SDK request made with `_preload_content=False`; return its JSON body.

        The raw body is parsed here rather than through the SDK's models: model
        deserialisation (dateutil on every timestamp) cost more CPU than everything else in a
        large read, and the raw response also carries the rate-limit headers.
        """

        def attempt() -> Any:
            self._check_budget()
            if search:
                self.search_window.acquire()
            self.window.acquire()
            with self._lock:
                self._calls += 1
            try:
                response = request()
                raw = response.data
                headers = response.headers
                response.release_conn()
            except Exception as exc:
                error = self._classify(exc)
                if isinstance(error, RateLimitedError):
                    # The retry policy waits out the server's window (Retry-After or the
                    # policy's length); the limiter keeps counting on from there.
                    with self._lock:
                        self._rate_limited += 1
                log.debug("hubspot %s failed: %s", what, error)
                raise error from None
            self._note_headers(headers)
            return json.loads(raw) if raw else None

        return self.retry.run(attempt, idempotent=idempotent)

    def _classify(self, exc: BaseException) -> LeadbridgeError:
        if isinstance(exc, LeadbridgeError):
            return exc
        status = getattr(exc, "status", None)
        if isinstance(status, int) and hasattr(exc, "body"):
            headers = getattr(exc, "headers", None) or {}
            self._note_headers(headers)
            retry_after = headers.get("Retry-After") if hasattr(headers, "get") else None
            return classify(
                status=status,
                body=parse_body(exc.body),
                retry_after=float(retry_after) if retry_after else None,
            )
        if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
            return TransientError(
                f"HubSpot did not answer: {type(exc).__name__}",
                hint="network or HubSpot trouble; retried later",
            )
        raise exc

    def _note_headers(self, headers: Any) -> None:
        if not hasattr(headers, "get"):
            return
        daily = headers.get("X-HubSpot-RateLimit-Daily")
        remaining = headers.get("X-HubSpot-RateLimit-Daily-Remaining")
        with self._lock:
            if daily is not None:
                self._daily_limit = int(daily)
            if remaining is not None:
                self._daily_remaining = int(remaining)
                self._noted_at = time.monotonic()

    def _check_budget(self) -> None:
        budget = self.budget()
        if budget.exhausted:
            with self._lock:
                stale = time.monotonic() - self._noted_at >= self.budget_recheck_seconds
                if stale:
                    # Let this call through: its headers say whether a new day began (and
                    # HubSpot answers 429 DAILY if not).
                    self._daily_remaining = None
            if stale:
                return
            raise BudgetExhaustedError(
                f"leadbridge's share of HubSpot's daily API limit is used ({budget.daily_used} "
                f"of {budget.daily_limit}, share {budget.share:.0%})",
                hint="the run stops cleanly and resumes on the next schedule; raise "
                "hubspot.daily_api_share if leadbridge may use more",
                code="DAILY_SHARE_REACHED",
            )

    def budget(self) -> ApiBudget:
        """Calls made and the portal's daily usage (from the rate-limit headers)."""
        with self._lock:
            used = (
                self._daily_limit - self._daily_remaining
                if self._daily_limit is not None and self._daily_remaining is not None
                else None
            )
            return ApiBudget(
                calls_made=self._calls,
                daily_used=used,
                daily_limit=self._daily_limit,
                share=self.credentials.daily_api_share,
            )

    @property
    def rate_limited_responses(self) -> int:
        """How many 429 answers this client received (the limiter should keep this at 0)."""
        with self._lock:
            return self._rate_limited


class _Apis:
    """The SDK API objects, created once: each SDK attribute access builds a new HTTP pool."""

    def __init__(self, sdk: Any) -> None:
        crm = sdk.crm
        self.contacts_basic = crm.contacts.basic_api
        self.contacts_batch = crm.contacts.batch_api
        self.contacts_search = crm.contacts.search_api
        self.companies_basic = crm.companies.basic_api
        self.companies_batch = crm.companies.batch_api
        self.companies_search = crm.companies.search_api
        self.properties = crm.properties.core_api
        self.groups = crm.properties.groups_api

    def basic(self, object_name: str) -> Any:
        """basic_api of an object type."""
        return self.contacts_basic if object_name == "contacts" else self.companies_basic

    def batch(self, object_name: str) -> Any:
        """batch_api of an object type."""
        return self.contacts_batch if object_name == "contacts" else self.companies_batch

    def search(self, object_name: str) -> Any:
        """search_api of an object type."""
        return self.contacts_search if object_name == "contacts" else self.companies_search
