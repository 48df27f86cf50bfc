"""CRM v3 object routes: basic CRUD, batches, search and merge for contacts and companies."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .errors import not_found
from .routes_common import (
    json_object,
    no_content,
    object_type,
    portal_of,
    query_list,
    query_value,
    respond,
)

BASE = "/crm/v3/objects/{object_type}"
BATCH_OPERATIONS = ("read", "create", "update", "upsert", "archive")


async def list_objects(request: Request) -> Response:
    """GET /crm/v3/objects/{type}."""
    body = portal_of(request).list_objects(
        object_type=object_type(request),
        limit=query_value(request, "limit"),
        after=query_value(request, "after"),
        properties=query_list(request, "properties"),
        archived=query_value(request, "archived") or False,
    )
    return respond(body)


async def create_object(request: Request) -> Response:
    """POST /crm/v3/objects/{type} -> 201."""
    body = await json_object(request)
    created = portal_of(request).create_object(object_type=object_type(request), body=body)
    return respond(created, status=201)


async def get_object(request: Request) -> Response:
    """GET /crm/v3/objects/{type}/{id}."""
    found = portal_of(request).get_object(
        object_type=object_type(request),
        object_id=request.path_params["object_id"],
        id_property=query_value(request, "idProperty"),
        properties=query_list(request, "properties"),
        archived=query_value(request, "archived") or False,
    )
    return respond(found)


async def update_object(request: Request) -> Response:
    """PATCH /crm/v3/objects/{type}/{id} -> 200."""
    body = await json_object(request)
    updated = portal_of(request).update_object(
        object_type=object_type(request),
        object_id=request.path_params["object_id"],
        body=body,
        id_property=query_value(request, "idProperty"),
    )
    return respond(updated)


async def archive_object(request: Request) -> Response:
    """DELETE /crm/v3/objects/{type}/{id} -> 204."""
    portal_of(request).archive_object(
        object_type=object_type(request), object_id=request.path_params["object_id"]
    )
    return no_content()


async def search(request: Request) -> Response:
    """POST /crm/v3/objects/{type}/search -> 200."""
    body = await json_object(request)
    return respond(portal_of(request).search(object_type=object_type(request), body=body))


async def merge(request: Request) -> Response:
    """POST /crm/v3/objects/{type}/merge -> 200 with the surviving object."""
    body = await json_object(request)
    return respond(portal_of(request).merge(object_type=object_type(request), body=body))


async def batch(request: Request) -> Response:
    """POST /crm/v3/objects/{type}/batch/{operation}: status comes from the portal's result."""
    operation = str(request.path_params["operation"])
    if operation not in BATCH_OPERATIONS:
        raise not_found(f"Unknown batch operation: {operation}")
    body = await json_object(request)
    portal, kind = portal_of(request), object_type(request)
    if operation == "archive":
        portal.batch_archive(object_type=kind, body=body)
        return no_content()
    if operation == "read":
        result = portal.batch_read(
            object_type=kind, body=body, archived=query_value(request, "archived") or False
        )
    elif operation == "create":
        result = portal.batch_create(object_type=kind, body=body)
    elif operation == "update":
        result = portal.batch_update(object_type=kind, body=body)
    else:
        result = portal.batch_upsert(object_type=kind, body=body)
    return respond(result.body, status=result.status)


def object_routes() -> list[Route]:
    """Routes of the objects API; fixed paths come before `{object_id}` so they win."""
    return [
        Route(BASE, list_objects, methods=["GET"]),
        Route(BASE, create_object, methods=["POST"]),
        Route(f"{BASE}/search", search, methods=["POST"]),
        Route(f"{BASE}/merge", merge, methods=["POST"]),
        Route(f"{BASE}/batch/{{operation}}", batch, methods=["POST"]),
        Route(f"{BASE}/{{object_id}}", get_object, methods=["GET"]),
        Route(f"{BASE}/{{object_id}}", update_object, methods=["PATCH"]),
        Route(f"{BASE}/{{object_id}}", archive_object, methods=["DELETE"]),
    ]
