"""OAuth 2.0 token flows, SOAP login and session validation of the Salesforce emulator."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import html
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leadbridge.sandbox.salesforce.org import Org

TOKEN_PATH = "/services/oauth2/token"  # noqa: S105  (a URL path, not a secret)
_SOAP_LOGIN = re.compile(r"/services/Soap/u/(\d+\.\d)(?:/.*)?$")
_JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Real Salesforce answers JWT assertions addressed to its public login hosts.
_PUBLIC_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


class OAuthError(Exception):
    """A token-endpoint failure: HTTP 400 with {"error", "error_description"}."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def response(self) -> Response:
        """The JSON error body Salesforce's token endpoint sends."""
        return JSONResponse(
            {"error": self.error, "error_description": self.description}, status_code=self.status
        )


@dataclass(frozen=True)
class Credentials:
    """The connected app and the integration user the emulator accepts."""

    client_id: str
    client_secret: str
    username: str
    password: str
    security_token: str
    jwt_public_key_pem: bytes | None


def is_token_path(path: str) -> bool:
    """Any path ending in /services/oauth2/token, so `domain="host:port/x"` logins land here."""
    return path.rstrip("/").endswith(TOKEN_PATH)


def is_soap_login_path(path: str) -> bool:
    """SOAP partner login, used by simple-salesforce's username/password/security-token flow."""
    return _SOAP_LOGIN.search(path) is not None


def base_url(request: Request) -> str:
    """scheme://host[:port] as the client reached us: the instance_url to hand out."""
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return f"{request.url.scheme}://{host}"


class AuthService:
    """Issues, validates and expires access and refresh tokens against the org's clock."""

    def __init__(self, *, org: Org, credentials: Credentials, ttl_seconds: float) -> None:
        self.org = org
        self.credentials = credentials
        self.ttl = dt.timedelta(seconds=ttl_seconds)
        self._access: dict[str, tuple[str, dt.datetime]] = {}
        self._refresh: dict[str, str] = {}

    # ---- tokens -----------------------------------------------------------------------------

    def issue_access_token(self, user_id: str | None = None) -> str:
        """A new access token (shaped like a real session id) valid for the TTL."""
        token = f"{self.org.org_id[:15]}!{secrets.token_urlsafe(72)}"
        self._access[token] = (user_id or self.org.integration_user_id, self.org.clock() + self.ttl)
        return token

    def issue_refresh_token(self, user_id: str | None = None) -> str:
        """A refresh token that never expires (revoked only by a new emulator)."""
        token = f"5Aep861{secrets.token_urlsafe(60)}"
        self._refresh[token] = user_id or self.org.integration_user_id
        return token

    def expire_all(self) -> None:
        """Invalidate every issued access token; refresh tokens stay valid."""
        self._access.clear()

    def user_for(self, authorization: str | None) -> str | None:
        """The user id behind an `Authorization: Bearer|OAuth <token>` header, or None."""
        if not authorization:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not token:
            return None
        entry = self._access.get(token.strip())
        if entry is None:
            return None
        user_id, expires = entry
        if self.org.clock() >= expires:
            del self._access[token.strip()]
            return None
        return user_id

    def user_by_username(self, username: str) -> str | None:
        """The configured integration user, or any live org User with that Username."""
        if username.lower() == self.credentials.username.lower():
            return self.org.integration_user_id
        for user in self.org.iter_records("User"):
            if str(user.get("Username", "")).lower() == username.lower():
                return str(user["Id"])
        return None

    # ---- token endpoint ---------------------------------------------------------------------

    def token_response(self, request: Request, body: bytes) -> Response:
        """POST .../services/oauth2/token for every supported grant type."""
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        base = base_url(request)
        try:
            user_id, refresh = self._grant(form, request, base)
        except OAuthError as err:
            return err.response()
        return JSONResponse(self._token_body(base, user_id, refresh=refresh))

    def _grant(self, form: Mapping[str, str], request: Request, base: str) -> tuple[str, bool]:
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            self._check_client(*self._client_from(form, request))
            return self.org.integration_user_id, False
        if grant == "password":
            self._check_client(*self._client_from(form, request))
            username = form.get("username", "")
            if username.lower() != self.credentials.username.lower() or not self._password_ok(
                form.get("password", "")
            ):
                raise OAuthError("invalid_grant", "authentication failure")
            return self.org.integration_user_id, False
        if grant == "refresh_token":
            client_id, secret = self._client_from(form, request)
            self._check_client(client_id, secret, secret_required=False)
            user_id = self._refresh.get(form.get("refresh_token", ""))
            if user_id is None:
                raise OAuthError("invalid_grant", "expired access/refresh token")
            return user_id, False
        if grant == _JWT_GRANT:
            return self._jwt_user(form.get("assertion", ""), request, base), False
        raise OAuthError("unsupported_grant_type", "grant type not supported")

    def _client_from(self, form: Mapping[str, str], request: Request) -> tuple[str, str | None]:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise OAuthError("invalid_client", "invalid client credentials") from None
            client_id, _, secret = decoded.partition(":")
            return client_id, secret
        return form.get("client_id", ""), form.get("client_secret")

    def _check_client(
        self, client_id: str, secret: str | None, *, secret_required: bool = True
    ) -> None:
        if client_id != self.credentials.client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if secret is None and not secret_required:
            return
        if not hmac.compare_digest(secret or "", self.credentials.client_secret):
            raise OAuthError("invalid_client", "invalid client credentials")

    def _password_ok(self, given: str) -> bool:
        creds = self.credentials
        return hmac.compare_digest(given, creds.password) or hmac.compare_digest(
            given, creds.password + creds.security_token
        )

    def _jwt_user(self, assertion: str, request: Request, base: str) -> str:
        key = self.credentials.jwt_public_key_pem
        if key is None:
            raise OAuthError("invalid_client", "no certificate is configured for this client")
        prefix = request.url.path.rstrip("/")[: -len(TOKEN_PATH)]
        audiences = [*_PUBLIC_AUDIENCES, base, base + prefix]
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                key,
                algorithms=["RS256"],
                audience=audiences,
                options={"verify_exp": False, "require": ["iss", "sub", "aud", "exp"]},
            )
            expires = int(claims["exp"])
        except (jwt.PyJWTError, ValueError, TypeError):
            raise OAuthError("invalid_grant", "invalid assertion") from None
        if claims["iss"] != self.credentials.client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if expires <= self.org.clock().timestamp():
            raise OAuthError("invalid_grant", "expired authorization code")
        user_id = self.user_by_username(str(claims["sub"]))
        if user_id is None:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        return user_id

    def identity_url(self, base: str, user_id: str) -> str:
        """The `id` of a token response; it answers GET with the user's identity."""
        return f"{base}/id/{self.org.org_id}/{user_id}"

    def _token_body(self, base: str, user_id: str, *, refresh: bool) -> dict[str, Any]:
        identity = self.identity_url(base, user_id)
        issued_at = str(int(self.org.clock().timestamp() * 1000))
        digest = hmac.new(
            self.credentials.client_secret.encode(),
            (identity + issued_at).encode(),
            hashlib.sha256,
        ).digest()
        body: dict[str, Any] = {
            "access_token": self.issue_access_token(user_id),
            "instance_url": base,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": base64.b64encode(digest).decode(),
            "scope": "api",
        }
        if refresh:
            body["refresh_token"] = self.issue_refresh_token(user_id)
        return body

    # ---- identity and SOAP ------------------------------------------------------------------

    def identity(self, base: str, user_id: str) -> dict[str, Any]:
        """GET on the identity URL: who the token belongs to."""
        user = self.org.get("User", user_id) or {}
        return {
            "id": self.identity_url(base, user_id),
            "asserted_user": True,
            "user_id": user_id,
            "organization_id": self.org.org_id,
            "username": self.credentials.username
            if user_id == self.org.integration_user_id
            else user.get("Username"),
            "nick_name": user.get("Alias"),
            "display_name": " ".join(
                str(p) for p in (user.get("FirstName"), user.get("LastName")) if p
            ),
            "email": user.get("Email"),
            "active": True,
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": 0,
            "urls": {
                "rest": f"{base}/services/data/v{{version}}/",
                "sobjects": f"{base}/services/data/v{{version}}/sobjects/",
                "query": f"{base}/services/data/v{{version}}/query/",
                "limits": f"{base}/services/data/v{{version}}/limits/",
            },
        }

    def soap_login(self, request: Request, body: bytes) -> Response:
        """SOAP partner `login`: a loginResponse with sessionId and serverUrl, or a fault."""
        text = body.decode("utf-8", "replace")
        username = _xml_value(text, "username")
        password = _xml_value(text, "password")
        version_match = _SOAP_LOGIN.search(request.url.path)
        version = version_match.group(1) if version_match else self.org.api_version
        if (
            username is None
            or password is None
            or username.lower() != self.credentials.username.lower()
            or not self._password_ok(password)
        ):
            return Response(_soap_fault(), status_code=500, media_type="text/xml")
        base = base_url(request)
        user_id = self.org.integration_user_id
        token = self.issue_access_token(user_id)
        server = f"{base}/services/Soap/u/{version}/{self.org.org_id}"
        return Response(
            _soap_login_response(token, server, user_id, self.org.org_id), media_type="text/xml"
        )


def _xml_value(text: str, tag: str) -> str | None:
    # Element prefixes vary (n1:, urn:); the body is small and produced by trusted SDKs.
    match = re.search(rf"<(?:\w+:)?{tag}>(.*?)</(?:\w+:)?{tag}>", text, re.DOTALL)
    return html.unescape(match.group(1)) if match else None


def _soap_fault() -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com">'
        "<soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode>"
        "<faultstring>INVALID_LOGIN: Invalid username, password, security token; "
        "or user locked out.</faultstring><detail><sf:LoginFault>"
        "<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>"
        "<sf:exceptionMessage>Invalid username, password, security token; or user locked out."
        "</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body>"
        "</soapenv:Envelope>"
    )


def _soap_login_response(token: str, server_url: str, user_id: str, org_id: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>{html.escape(server_url.replace('/u/', '/m/'))}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
        f"<serverUrl>{html.escape(server_url)}</serverUrl>"
        f"<sessionId>{html.escape(token)}</sessionId>"
        f"<userId>{user_id}</userId>"
        f"<userInfo><organizationId>{org_id}</organizationId><userId>{user_id}</userId>"
        "</userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )
