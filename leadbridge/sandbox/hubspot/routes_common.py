"""Request parsing and responses shared by the HubSpot emulator's route modules."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .errors import JsonDict, validation_error
from .portal import HubSpotPortal

# The SDK's generic objects API may address the standard types by their numeric ids.
OBJECT_TYPE_ALIASES = {"0-1": "contacts", "0-2": "companies", "contact": "contacts"}


def portal_of(request: Request) -> HubSpotPortal:
    """The portal behind the Starlette app that serves this request."""
    return cast(HubSpotPortal, request.app.state.portal)


def object_type(request: Request) -> str:
    """The `{object_type}` path parameter, with numeric type ids resolved."""
    raw = str(request.path_params["object_type"])
    return OBJECT_TYPE_ALIASES.get(raw, raw)


def query_list(request: Request, name: str) -> list[str] | None:
    """A list parameter sent repeated (`a=1&a=2`) or comma-joined (`a=1,2`); None if absent."""
    raw = request.query_params.getlist(name)
    if not raw:
        return None
    return [part.strip() for item in raw for part in item.split(",") if part.strip()]


def query_value(request: Request, name: str) -> str | None:
    """A single query parameter, or None when it is absent."""
    return request.query_params.get(name)


async def json_body(request: Request) -> Any:
    """The parsed JSON body; malformed JSON is a 400 like HubSpot's."""
    raw = await request.body()
    if not raw.strip():
        raise validation_error("The request body is empty; a JSON body is required")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise validation_error(f"Invalid input JSON: {exc}") from None


async def json_object(request: Request) -> Mapping[str, Any]:
    """The parsed JSON body, which must be an object."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise validation_error("The request body must be a JSON object")
    return body


def respond(body: JsonDict | list[Any], *, status: int = 200) -> Response:
    """A JSON response with the exact status the SDK expects for the call."""
    return JSONResponse(body, status_code=status)


def no_content() -> Response:
    """An empty 204."""
    return Response(status_code=204)
