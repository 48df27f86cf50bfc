"""Shared plumbing of the emulator's REST routes: the call object, route table, bodies, errors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import QueryParams
from starlette.responses import JSONResponse, Response

from leadbridge.sandbox.salesforce.errors import SalesforceError, bad_request

JSON_TYPE = "application/json;charset=UTF-8"


@dataclass
class ApiCall:
    """One authenticated REST call: who, which path parameters, query string, headers, body."""

    method: str
    user_id: str
    params: tuple[str, ...]
    query: QueryParams
    headers: Mapping[str, str]
    body: bytes = b""
    extra: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        """The body as JSON; malformed JSON is Salesforce's 400 JSON_PARSER_ERROR."""
        if not self.body.strip():
            raise bad_request("JSON_PARSER_ERROR", "No content to map due to end-of-input")
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad_request("JSON_PARSER_ERROR", f"Unexpected character: {exc}") from None

    def json_object(self) -> dict[str, Any]:
        """The body, which must be a JSON object."""
        data = self.json()
        if not isinstance(data, dict):
            raise bad_request(
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of SObject out of START_ARRAY token",
            )
        return data


Handler = Callable[[ApiCall], Response]


@dataclass(frozen=True)
class Route:
    """Methods and a full-match pattern over the path after /services/data/vXX.X."""

    methods: frozenset[str]
    pattern: re.Pattern[str]
    handler: Handler


def route(methods: str, pattern: str, handler: Handler) -> Route:
    """A route from "GET,PATCH" and a regex (groups become ApiCall.params)."""
    return Route(frozenset(methods.split(",")), re.compile(pattern), handler)


def resolve(routes: Sequence[Route], method: str, path: str) -> tuple[Handler, tuple[str, ...]]:
    """The handler for a path; 404 NOT_FOUND or 405 METHOD_NOT_ALLOWED as Salesforce answers."""
    allowed: list[str] = []
    for candidate in routes:
        match = candidate.pattern.fullmatch(path)
        if match is None:
            continue
        if method in candidate.methods:
            return candidate.handler, tuple(g or "" for g in match.groups())
        allowed += sorted(candidate.methods)
    if allowed:
        raise SalesforceError(
            status=405,
            error_code="METHOD_NOT_ALLOWED",
            message=f"HTTP Method '{method}' not allowed. Allowed are {','.join(allowed)}",
        )
    raise SalesforceError(
        status=404, error_code="NOT_FOUND", message="The requested resource does not exist"
    )


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response with Salesforce's content type."""
    return Response(
        json.dumps(body, ensure_ascii=False, default=str),
        status_code=status,
        headers=dict(headers or {}),
        media_type=JSON_TYPE,
    )


def error_response(err: SalesforceError) -> Response:
    """The REST error: status plus the JSON array body (a URL list for 300)."""
    return json_response(err.body(), err.status)


def no_content() -> Response:
    """204 with no body."""
    return Response(status_code=204)


def sf_error_body(error_code: str, message: str) -> list[dict[str, Any]]:
    """A bare Salesforce error array."""
    return [{"message": message, "errorCode": error_code}]


def unauthorized() -> Response:
    """401 INVALID_SESSION_ID, the shape simple-salesforce re-authenticates on."""
    return JSONResponse(
        sf_error_body("INVALID_SESSION_ID", "Session expired or invalid"),
        status_code=401,
        headers={"WWW-Authenticate": "Token"},
    )


def flag(value: str | None) -> bool:
    """A boolean query parameter (`allOrNone=true`)."""
    return (value or "").strip().lower() == "true"
