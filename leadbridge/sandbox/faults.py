"""Faults on request and a per-endpoint call log, shared by both emulators (ASGI middleware).

Control endpoints (under CONTROL_PREFIX) are never faulted nor counted: tests and benchmarks
read the call log to compare API calls against the theoretical minimum.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

CONTROL_PREFIX = "/__sandbox__"

FaultKind = Literal["status", "latency", "timeout"]

_ID_SEGMENT = re.compile(r"^(?:\d+|[a-zA-Z0-9]{15}|[a-zA-Z0-9]{18}|[0-9a-f-]{36})$")


def normalise_path(path: str) -> str:
    """Replace id-like path segments with {id} so calls group by endpoint."""
    parts = [
        ("{id}" if _ID_SEGMENT.match(part) and not part.isalpha() else part)
        for part in path.split("/")
    ]
    return "/".join(parts)


@dataclass
class FaultRule:
    """One fault: which requests it hits (path, method, share, count) and what it does."""

    kind: FaultKind = "status"
    status: int = 503
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    path_contains: str = ""
    method: str | None = None
    rate: float = 1.0
    remaining: int | None = None
    delay_seconds: float = 0.0

    def matches(self, *, method: str, path: str) -> bool:
        """True when this rule applies to a request (before the random share is drawn)."""
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path_contains in path


class FaultInjector:
    """Thread-safe, seeded set of fault rules; the first matching rule that fires wins."""

    def __init__(self, *, seed: int = 0) -> None:
        self._rules: list[FaultRule] = []
        self._random = random.Random(seed)  # noqa: S311  (seeded for reproducible faults)
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> None:
        """Add a rule after the existing ones."""
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        """A copy of the active rules."""
        with self._lock:
            return list(self._rules)

    def decide(self, *, method: str, path: str) -> FaultRule | None:
        """Pick the fault for this request, if any, and count it against its budget."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method=method, path=path) and self._random.random() < rule.rate:
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule
            return None


class CallLog:
    """Counts of API calls per endpoint ("METHOD /normalised/path"), thread-safe."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def record(self, *, method: str, path: str) -> None:
        """Count one call."""
        key = f"{method.upper()} {normalise_path(path)}"
        with self._lock:
            self._counts[key] += 1

    def snapshot(self) -> dict[str, int]:
        """Counts so far, by endpoint."""
        with self._lock:
            return dict(self._counts)

    def total(self) -> int:
        """All calls so far."""
        with self._lock:
            return sum(self._counts.values())

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self._counts.clear()


ErrorBody = Callable[[FaultRule], Response]


def default_error_response(rule: FaultRule) -> Response:
    """A JSON error response carrying the rule's body and headers."""
    body = rule.body if rule.body is not None else {"message": "injected fault"}
    return JSONResponse(body, status_code=rule.status, headers=rule.headers)


class FaultMiddleware:
    """Counts every API call, then applies latency, timeouts or error statuses from the injector."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        injector: FaultInjector,
        call_log: CallLog,
        error_response: ErrorBody = default_error_response,
    ) -> None:
        self.app = app
        self.injector = injector
        self.call_log = call_log
        self.error_response = error_response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI request."""
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        self.call_log.record(method=method, path=path)
        rule = self.injector.decide(method=method, path=path)
        if rule is None:
            await self.app(scope, receive, send)
            return
        if rule.delay_seconds:
            await asyncio.sleep(rule.delay_seconds)
        if rule.kind == "latency":
            await self.app(scope, receive, send)
            return
        response = self.error_response(rule)
        await response(scope, receive, send)


def rule_from_json(data: dict[str, Any]) -> FaultRule:
    """Build a rule from a control-endpoint JSON body (unknown keys are an error)."""
    allowed = set(FaultRule.__dataclass_fields__)
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))}")
    rule = FaultRule(**data)
    if rule.kind not in ("status", "latency", "timeout"):
        raise ValueError("kind must be status, latency or timeout")
    if rule.kind == "timeout" and not rule.delay_seconds:
        rule.delay_seconds = 30.0
        rule.status = 504 if rule.status == 503 else rule.status
    return rule
