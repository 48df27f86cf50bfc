"""The Salesforce HTTP emulator: an ASGI app serving OAuth, REST, Tooling and Bulk 2.0."""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import unquote

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from leadbridge.sandbox.faults import CallLog, FaultInjector, FaultMiddleware, FaultRule
from leadbridge.sandbox.salesforce.auth import (
    AuthService,
    Credentials,
    base_url,
    is_soap_login_path,
    is_token_path,
)
from leadbridge.sandbox.salesforce.bulk import BulkService
from leadbridge.sandbox.salesforce.control import CONTROL_ROOT, ControlRoutes
from leadbridge.sandbox.salesforce.errors import SalesforceError
from leadbridge.sandbox.salesforce.org import Org
from leadbridge.sandbox.salesforce.query_service import QueryService
from leadbridge.sandbox.salesforce.rejections import GuardedOrg, RejectRules
from leadbridge.sandbox.salesforce.routes_bulk import BulkRoutes
from leadbridge.sandbox.salesforce.routes_common import (
    ApiCall,
    Route,
    error_response,
    json_response,
    resolve,
    sf_error_body,
    unauthorized,
)
from leadbridge.sandbox.salesforce.routes_query import QueryRoutes, versions
from leadbridge.sandbox.salesforce.routes_sobjects import SObjectRoutes

_API_PATH = re.compile(r"/services/data/v(\d+\.\d)(/.*)?")
_IDENTITY_PATH = re.compile(r"/id/([A-Za-z0-9]{15,18})/([A-Za-z0-9]{15,18})/?")
# Error codes Salesforce sends with each status an injected fault may carry.
_FAULT_CODES = {
    400: ("MALFORMED_QUERY", "injected bad request"),
    401: ("INVALID_SESSION_ID", "Session expired or invalid"),
    403: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    404: ("NOT_FOUND", "The requested resource does not exist"),
    500: ("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId"),
    502: ("SERVER_UNAVAILABLE", "Bad gateway"),
    503: ("SERVER_UNAVAILABLE", "Server is temporarily unavailable, please try again later."),
    504: ("REQUEST_RUNNING_TOO_LONG", "Your request was running for too long"),
}


class SalesforceEmulator:
    """One emulated Salesforce org behind HTTP, as simple-salesforce and the connector see it."""

    def __init__(
        self,
        *,
        org: Org | None = None,
        api_version: str = "60.0",
        token_ttl_seconds: float = 7200,
        client_id: str = "leadbridge-sandbox-client",
        client_secret: str | None = None,
        username: str = "integration@leadbridge.sandbox",
        password: str | None = None,
        jwt_public_key_pem: bytes | None = None,
        daily_api_max: int | None = None,
        seed: int = 0,
    ) -> None:
        if org is None:
            org = Org(api_version=api_version, daily_api_max=daily_api_max or 15000)
        elif daily_api_max is not None:
            org.limits.daily_api_requests.max = daily_api_max
        self.org = org
        self.api_version = api_version
        self.faults = FaultInjector(seed=seed)
        self.calls = CallLog()
        # The test thread may touch `org` while the server thread serves requests.
        self.lock = threading.RLock()
        self.credentials = Credentials(
            client_id=client_id,
            client_secret=client_secret or secrets.token_hex(32),
            username=username,
            password=password or secrets.token_urlsafe(18),
            security_token=secrets.token_hex(12),
            jwt_public_key_pem=jwt_public_key_pem,
        )
        # The org's integration User is the one these credentials sign in as.
        org.system_write(
            "User",
            org.integration_user_id,
            {"Username": username, "Email": username},
            user_id=org.integration_user_id,
        )
        self.auth = AuthService(
            org=org, credentials=self.credentials, ttl_seconds=token_ttl_seconds
        )
        self.rejections = RejectRules()
        guarded = cast(Org, GuardedOrg(org, self.rejections))
        self.queries = QueryService(org)
        self.bulk = BulkService(
            guarded, query_runner=self._bulk_query, polls_before_complete=0, shuffle_seed=0
        )
        self._routes: list[Route] = [
            *QueryRoutes(org=guarded, queries=self.queries).routes(),
            *SObjectRoutes(org=guarded).routes(),
            *BulkRoutes(bulk=self.bulk).routes(),
        ]
        self.control = ControlRoutes(
            org=org,
            faults=self.faults,
            calls=self.calls,
            auth=self.auth,
            rejections=self.rejections,
            default_seed=seed,
        )
        self.app: ASGIApp = FaultMiddleware(
            self._asgi,
            injector=self.faults,
            call_log=self.calls,
            error_response=self._fault_response,
        )

    # ---- public helpers -----------------------------------------------------------------------

    def issue_access_token(self) -> str:
        """A pre-issued access token for the integration user ("token" auth)."""
        with self.lock:
            return self.auth.issue_access_token()

    def issue_refresh_token(self) -> str:
        """A refresh token for the integration user (refresh_token grant)."""
        with self.lock:
            return self.auth.issue_refresh_token()

    def expire_tokens(self) -> None:
        """Every access token issued so far becomes invalid (401 INVALID_SESSION_ID)."""
        with self.lock:
            self.auth.expire_all()

    @property
    def security_token(self) -> str:
        """The integration user's security token (SOAP login appends it to the password)."""
        return self.credentials.security_token

    def client_info(self, *, base_url: str, ca_file: str) -> dict[str, str]:
        """Everything a client needs to connect: URLs, app credentials, tokens, CA file."""
        host = base_url.split("://", 1)[-1].rstrip("/")
        return {
            "instance_url": base_url,
            "client_id": self.credentials.client_id,
            "client_secret": self.credentials.client_secret,
            "refresh_token": self.issue_refresh_token(),
            "access_token": self.issue_access_token(),
            "ca_file": ca_file,
            "api_version": self.api_version,
            "username": self.credentials.username,
            "password": self.credentials.password,
            "token_url": f"{base_url.rstrip('/')}/services/oauth2/token",
            # simple-salesforce posts to https://{domain}.salesforce.com/services/oauth2/token.
            "domain": f"{host}/emu",
        }

    # ---- ASGI ---------------------------------------------------------------------------------

    def _fault_response(self, rule: FaultRule) -> Response:
        headers = {"Sforce-Limit-Info": self.org.limits.header(), **rule.headers}
        if rule.body is not None:
            return JSONResponse(rule.body, status_code=rule.status, headers=headers)
        code, message = _FAULT_CODES.get(rule.status, ("UNKNOWN_EXCEPTION", "injected fault"))
        if rule.status == 401:
            headers.setdefault("WWW-Authenticate", "Token")
        return json_response(sf_error_body(code, message), rule.status, headers)

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        with self.lock:
            response = self._handle(request, body)
        await response(scope, receive, send)

    def _handle(self, request: Request, body: bytes) -> Response:
        path, method = request.url.path, request.method
        if path.startswith(CONTROL_ROOT):
            return self.control.handle(method, path, body)
        if method == "POST" and is_token_path(path):
            return self.auth.token_response(request, body)
        if method == "POST" and is_soap_login_path(path):
            return self.auth.soap_login(request, body)
        identity = _IDENTITY_PATH.fullmatch(path)
        if identity is not None:
            return self._identity(request, identity.group(2))
        if path.rstrip("/") == "/services/data":
            return json_response(versions(self.api_version))
        match = _API_PATH.fullmatch(path)
        if match is None:
            return json_response(
                sf_error_body("NOT_FOUND", "The requested resource does not exist"), 404
            )
        return self._api(request, body, match.group(1))

    def _identity(self, request: Request, user_id: str) -> Response:
        caller = self.auth.user_for(request.headers.get("authorization"))
        token = request.query_params.get("oauth_token")
        if caller is None and token:
            caller = self.auth.user_for(f"Bearer {token}")
        if caller is None:
            return Response("Bad_OAuth_Token", status_code=403, media_type="text/plain")
        if caller != user_id:
            return Response("Bad_Id", status_code=403, media_type="text/plain")
        return JSONResponse(self.auth.identity(base_url(request), user_id))

    def _api(self, request: Request, body: bytes, version: str) -> Response:
        user_id = self.auth.user_for(request.headers.get("authorization"))
        if user_id is None:
            return unauthorized()
        try:
            if float(version) > float(self.api_version) or float(version) < 31.0:
                raise SalesforceError(
                    status=404,
                    error_code="NOT_FOUND",
                    message="The requested resource does not exist",
                )
            self.org.limits.consume_request()
            rest = _api_rest(request)
            handler, groups = resolve(self._routes, request.method, rest)
            call = ApiCall(
                method=request.method,
                user_id=user_id,
                params=tuple(unquote(g) for g in groups),
                query=QueryParams(request.url.query),
                headers=request.headers,
                body=body,
                extra={"version": version},
            )
            response = handler(call)
        except SalesforceError as err:
            response = error_response(err)
        response.headers["Sforce-Limit-Info"] = self.org.limits.header()
        return response

    def _bulk_query(
        self, soql: str, include_deleted: bool, user_id: str
    ) -> tuple[list[str], Iterator[list[Any]]]:
        return self.queries.rows(soql, user_id=user_id, include_deleted=include_deleted)


def _api_rest(request: Request) -> str:
    """The still-encoded path after /services/data/vXX.X, without a trailing slash.

    Matching on the encoded path keeps an external-id value holding %2F in one segment.
    """
    raw = cast(bytes, request.scope.get("raw_path") or request.url.path.encode())
    text = raw.decode("latin-1").split("?", 1)[0]
    match = _API_PATH.fullmatch(text)
    rest = (match.group(2) if match else "") or ""
    return rest.rstrip("/")
