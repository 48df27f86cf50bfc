"""The HubSpot HTTP emulator: CRM v3, events and lists over an in-memory portal (Starlette).

Layers, outermost first: FaultMiddleware (call log, injected faults), the gate (bearer token,
rate limits, rate-limit headers), then the routes. Control routes skip all three.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadbridge.sandbox.faults import (
    CONTROL_PREFIX,
    CallLog,
    FaultInjector,
    FaultMiddleware,
    FaultRule,
)

from .control import ControlTargets, control_error, control_routes
from .errors import HubSpotError, error_body
from .portal import HubSpotPortal
from .ratelimit import RateLimiter, Tier, rate_limit_body
from .routes_activity import activity_routes
from .routes_objects import object_routes
from .routes_properties import property_routes

_SEARCH_PATH = re.compile(r"^/crm/v3/objects/[^/]+/search/?$")
_NO_CREDENTIALS = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
_EXPIRED_CREDENTIALS = "The OAuth token used to make this call expired or is not valid."
_CATEGORY_BY_STATUS = {
    400: "VALIDATION_ERROR",
    401: "INVALID_AUTHENTICATION",
    403: "MISSING_SCOPES",
    404: "OBJECT_NOT_FOUND",
    405: "VALIDATION_ERROR",
    409: "CONFLICT",
}


def new_access_token() -> str:
    """A random private-app style token ("pat-na1-" and a UUID-shaped secret)."""
    raw = secrets.token_hex(16)
    return f"pat-na1-{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


class _Gate:
    """Bearer-token check and rate limiting; adds the rate-limit headers to every API answer."""

    def __init__(self, app: ASGIApp, *, emulator: HubSpotEmulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        problem = self._auth_problem(scope)
        if problem is not None:
            # An unauthenticated call belongs to no account, so it uses no budget.
            await JSONResponse(problem, status_code=401)(scope, receive, send)
            return
        search = scope["method"] == "POST" and bool(_SEARCH_PATH.match(scope["path"]))
        decision = self.emulator.limiter.check(search=search)
        if decision.policy is not None:
            response = JSONResponse(
                rate_limit_body(decision.policy), status_code=429, headers=decision.headers
            )
            await response(scope, receive, send)
            return
        extra = [(k.lower().encode(), v.encode()) for k, v in decision.headers.items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _auth_problem(self, scope: Scope) -> dict[str, object] | None:
        header = ""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        scheme, _, token = header.strip().partition(" ")
        if not header or scheme.lower() != "bearer" or not token.strip():
            return error_body(message=_NO_CREDENTIALS, category="INVALID_AUTHENTICATION")
        if not secrets.compare_digest(token.strip(), self.emulator.access_token):
            return error_body(message=_EXPIRED_CREDENTIALS, category="EXPIRED_AUTHENTICATION")
        return None


class HubSpotEmulator:
    """A local HubSpot API for one portal; serve `.app` with any ASGI server."""

    def __init__(
        self,
        *,
        portal: HubSpotPortal | None = None,
        tier: Tier = "professional",
        daily_limit: int | None = None,
        search_per_second: int = 5,
        access_token: str | None = None,
        clock: Callable[[], float] | None = None,
        seed: int = 0,
    ) -> None:
        self.portal = portal or HubSpotPortal()
        self.access_token = access_token or new_access_token()
        self.limiter = RateLimiter(
            tier=tier,
            daily_limit=daily_limit,
            search_per_second=search_per_second,
            clock=clock or time.monotonic,
        )
        self.faults = FaultInjector(seed=seed)
        self.calls = CallLog()
        routes = [*control_routes(), *object_routes(), *property_routes(), *activity_routes()]
        inner = Starlette(
            routes=routes,
            exception_handlers={
                HubSpotError: _hubspot_error,
                HTTPException: _http_error,
                ValueError: _value_error,
            },
        )
        inner.router.redirect_slashes = False
        inner.state.portal = self.portal
        inner.state.control = ControlTargets(
            portal=self.portal,
            faults=self.faults,
            calls=self.calls,
            limiter=self.limiter,
            seed=seed,
        )
        self.app: ASGIApp = FaultMiddleware(
            _Gate(inner, emulator=self),
            injector=self.faults,
            call_log=self.calls,
            error_response=self._fault_response,
        )

    def client_info(self, *, base_url: str) -> dict[str, str]:
        """What a client needs to talk to this emulator once it is served at `base_url`."""
        return {"base_url": base_url.rstrip("/"), "access_token": self.access_token}

    def _fault_response(self, rule: FaultRule) -> Response:
        headers = dict(rule.headers)
        if rule.status == 429:
            headers = {**self.limiter.headers(), **headers}
        if rule.body is not None:
            body = rule.body
        elif rule.status == 429:
            body = rate_limit_body("TEN_SECONDLY_ROLLING")
        elif rule.status >= 500:
            body = error_body(
                message="internal error (injected by the sandbox)", category="INTERNAL_ERROR"
            )
        else:
            category = _CATEGORY_BY_STATUS.get(rule.status, "VALIDATION_ERROR")
            body = error_body(message="injected fault", category=category)
        return JSONResponse(body, status_code=rule.status, headers=headers)


async def _hubspot_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubSpotError)
    return JSONResponse(exc.body, status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    category = _CATEGORY_BY_STATUS.get(exc.status_code, "VALIDATION_ERROR")
    message = "resource not found" if exc.status_code == 404 else str(exc.detail)
    return JSONResponse(error_body(message=message, category=category), status_code=exc.status_code)


async def _value_error(request: Request, exc: Exception) -> Response:
    # Malformed numbers and similar inputs end up here: a 400, not a 500.
    if request.url.path.startswith(CONTROL_PREFIX):
        return control_error(request, exc)
    return JSONResponse(error_body(message=str(exc), category="VALIDATION_ERROR"), status_code=400)
