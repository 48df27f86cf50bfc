"""CRM v3 properties routes: property definitions and property groups."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .routes_common import json_object, object_type, portal_of, respond

BASE = "/crm/v3/properties/{object_type}"


async def read_properties(request: Request) -> Response:
    """GET /crm/v3/properties/{type}."""
    return respond(portal_of(request).read_properties(object_type(request)))


async def create_property(request: Request) -> Response:
    """POST /crm/v3/properties/{type} -> 201."""
    body = await json_object(request)
    created = portal_of(request).create_property(object_type=object_type(request), body=body)
    return respond(created, status=201)


async def read_property(request: Request) -> Response:
    """GET /crm/v3/properties/{type}/{name}."""
    found = portal_of(request).read_property(
        object_type=object_type(request), name=str(request.path_params["name"])
    )
    return respond(found)


async def update_property(request: Request) -> Response:
    """PATCH /crm/v3/properties/{type}/{name} -> 200."""
    body = await json_object(request)
    updated = portal_of(request).update_property(
        object_type=object_type(request), name=str(request.path_params["name"]), body=body
    )
    return respond(updated)


async def read_groups(request: Request) -> Response:
    """GET /crm/v3/properties/{type}/groups."""
    return respond(portal_of(request).read_groups(object_type(request)))


async def create_group(request: Request) -> Response:
    """POST /crm/v3/properties/{type}/groups -> 201."""
    body = await json_object(request)
    created = portal_of(request).create_group(object_type=object_type(request), body=body)
    return respond(created, status=201)


def property_routes() -> list[Route]:
    """Routes of the properties API; `groups` comes before `{name}` so it wins."""
    return [
        Route(BASE, read_properties, methods=["GET"]),
        Route(BASE, create_property, methods=["POST"]),
        Route(f"{BASE}/groups", read_groups, methods=["GET"]),
        Route(f"{BASE}/groups", create_group, methods=["POST"]),
        Route(f"{BASE}/{{name}}", read_property, methods=["GET"]),
        Route(f"{BASE}/{{name}}", update_property, methods=["PATCH"]),
    ]
