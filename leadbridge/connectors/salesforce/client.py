"""The Salesforce HTTP layer: sign-in, the retry policy, error translation, the API budget.

Every call to Salesforce goes through SalesforceClient.call(), so there is exactly one place
that retries, one that counts calls, and one that stops at leadbridge's share of the org's
daily allocation.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlparse

import requests
from pydantic import SecretStr
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError

from leadbridge.config import LoadedConfig, SalesforceSettings
from leadbridge.connectors.base import ApiBudget
from leadbridge.connectors.retry import RetryPolicy
from leadbridge.connectors.salesforce.errors import classify_exception
from leadbridge.errors import BudgetExhaustedError, ConfigError, SessionExpiredError
from leadbridge.secrets import resolve_secret

log = logging.getLogger(__name__)

T = TypeVar("T")

# After this long, a daily usage seen at or over the share is re-checked with one call: the
# allocation comes back (a rolling 24 hours), and a connector reused across runs (the scheduler's)
# would otherwise refuse every call forever on the last usage it saw.
BUDGET_RECHECK_SECONDS = 300.0

AuthMode = Literal["jwt", "client_credentials", "token"]


@dataclass(frozen=True)
class SalesforceCredentials:
    """Resolved sign-in material; secrets stay SecretStr so they never print."""

    mode: AuthMode
    instance_url: str
    login_url: str = "https://login.salesforce.com"
    api_version: str = "60.0"
    client_id: str | None = None
    username: str | None = None
    private_key: SecretStr | None = None
    client_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    ca_file: Path | None = None
    timeout_seconds: float = 30.0
    daily_api_share: float = 0.5

    @classmethod
    def from_config(cls, loaded: LoadedConfig) -> SalesforceCredentials:
        """Resolve the [salesforce] section's secrets into credentials."""
        settings: SalesforceSettings | None = loaded.settings.salesforce
        if settings is None:
            raise ConfigError(
                "there is no [salesforce] section",
                source=loaded.source,
                key="salesforce",
                hint="add one (see config.example.toml) or run `leadbridge init`",
            )

        def secret(name: str) -> SecretStr | None:
            ref = getattr(settings, name)
            if ref is None:
                return None
            return resolve_secret(ref, key=f"salesforce.{name}", source=loaded.source)

        return cls(
            mode=settings.auth,
            instance_url=settings.instance_url,
            login_url=settings.login_url,
            api_version=settings.api_version,
            client_id=settings.client_id,
            username=settings.username,
            private_key=secret("private_key"),
            client_secret=secret("client_secret"),
            access_token=secret("access_token"),
            ca_file=loaded.resolve(settings.ca_file) if settings.ca_file else None,
            timeout_seconds=settings.timeout_seconds,
            daily_api_share=settings.daily_api_share,
        )

    def login_domain(self) -> str:
        """simple-salesforce's `domain`: the login host without `.salesforce.com`."""
        parsed = urlparse(self.login_url)
        host_and_path = (parsed.netloc + parsed.path).rstrip("/")
        if not host_and_path.endswith(".salesforce.com"):
            raise ConfigError(
                "must end with .salesforce.com",
                key="salesforce.login_url",
                hint="use https://login.salesforce.com, https://test.salesforce.com or "
                "https://yourdomain.my.salesforce.com",
            )
        return host_and_path.removesuffix(".salesforce.com")


@dataclass
class _Counters:
    calls: int = 0
    daily_used: int | None = None
    daily_limit: int | None = None
    noted_at: float = 0.0  # time.monotonic() of the last Sforce-Limit-Info seen
    lock: threading.Lock = field(default_factory=threading.Lock)


class _TimedSession(requests.Session):
    """A session whose every request has a timeout (requests waits forever by default).

    simple-salesforce sends its sign-in, Tooling and REST calls through the session it is given,
    mostly without a timeout of its own: set here, no call can hang a run.
    """

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        """As Session.request, with the default timeout when none is given."""
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(*args, **kwargs)


class SalesforceClient:
    """One signed-in simple-salesforce client behind the retry policy and the budget."""

    def __init__(
        self,
        *,
        credentials: SalesforceCredentials,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.credentials = credentials
        self.retry = retry or RetryPolicy()
        self._session = session or self._make_session(
            credentials.ca_file, timeout=credentials.timeout_seconds
        )
        self._sf: Salesforce | None = None
        self._counters = _Counters()
        self._sign_in_lock = threading.Lock()
        self.budget_recheck_seconds = BUDGET_RECHECK_SECONDS

    @staticmethod
    def _make_session(ca_file: Path | None, *, timeout: float) -> requests.Session:
        session = _TimedSession(timeout)
        if ca_file is not None:
            # requests ignores Session.verify when REQUESTS_CA_BUNDLE is set unless trust_env
            # is off; a configured CA must win.
            session.verify = str(ca_file)
            session.trust_env = False
        return session

    @property
    def api_version(self) -> str:
        """The REST API version in use."""
        return self.credentials.api_version

    def _sign_in(self) -> Salesforce:
        creds = self.credentials
        common: dict[str, Any] = {"session": self._session, "version": creds.api_version}
        try:
            if creds.mode == "token":
                assert creds.access_token is not None
                sf = Salesforce(
                    instance_url=creds.instance_url,
                    session_id=creds.access_token.get_secret_value(),
                    **common,
                )
            elif creds.mode == "client_credentials":
                assert creds.client_secret is not None
                sf = Salesforce(
                    consumer_key=creds.client_id,
                    consumer_secret=creds.client_secret.get_secret_value(),
                    domain=creds.login_domain(),
                    **common,
                )
            else:
                assert creds.private_key is not None
                sf = Salesforce(
                    username=creds.username,
                    consumer_key=creds.client_id,
                    privatekey=creds.private_key.get_secret_value(),
                    domain=creds.login_domain(),
                    **common,
                )
        except (SalesforceError, requests.RequestException) as exc:
            raise classify_exception(exc) from None
        return sf

    def sf(self) -> Salesforce:
        """The signed-in simple-salesforce client (signing in on first use)."""
        with self._sign_in_lock:
            if self._sf is None:
                self._sf = self._sign_in()
            return self._sf

    def _forget_session(self) -> None:
        with self._sign_in_lock:
            self._sf = None

    def call(self, what: str, request: Callable[[Salesforce], T], *, idempotent: bool) -> T:
        """Run one API request under the budget and the retry policy; errors come classified."""

        def attempt() -> T:
            self._check_budget()
            sf = self.sf()
            with self._counters.lock:
                self._counters.calls += 1
            try:
                result = request(sf)
            except Exception as exc:
                error = classify_exception(exc)
                self._note_usage(sf)
                if isinstance(error, SessionExpiredError) and self.credentials.mode != "token":
                    # simple-salesforce re-signs in on 401 by itself; reaching here means that
                    # failed too, so sign in from scratch once on the next attempt.
                    self._forget_session()
                log.debug("salesforce %s failed: %s", what, error)
                raise error from None
            self._note_usage(sf)
            return result

        return self.retry.run(attempt, idempotent=idempotent)

    def _note_usage(self, sf: Salesforce) -> None:
        usage = sf.api_usage.get("api-usage")
        if usage is not None:
            with self._counters.lock:
                self._counters.daily_used = int(usage.used)
                self._counters.daily_limit = int(usage.total)
                self._counters.noted_at = time.monotonic()

    def _check_budget(self) -> None:
        budget = self.budget()
        if budget.exhausted:
            with self._counters.lock:
                stale = time.monotonic() - self._counters.noted_at >= self.budget_recheck_seconds
                if stale:
                    # Let this call through: its Sforce-Limit-Info says whether the allocation
                    # came back (and Salesforce refuses it with REQUEST_LIMIT_EXCEEDED if not).
                    self._counters.daily_used = None
            if stale:
                return
            raise BudgetExhaustedError(
                f"leadbridge's share of the Salesforce daily API allocation is used "
                f"({budget.daily_used} of {budget.daily_limit}, share {budget.share:.0%})",
                hint="the run stops cleanly and resumes on the next schedule; raise "
                "salesforce.daily_api_share if leadbridge may use more",
                code="DAILY_SHARE_REACHED",
            )

    def budget(self) -> ApiBudget:
        """Calls made by this client and the org's daily usage from Sforce-Limit-Info."""
        with self._counters.lock:
            return ApiBudget(
                calls_made=self._counters.calls,
                daily_used=self._counters.daily_used,
                daily_limit=self._counters.daily_limit,
                share=self.credentials.daily_api_share,
            )

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()
