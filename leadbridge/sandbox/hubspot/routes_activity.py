"""Events v3 and Lists v3 routes: behaviour events on contacts and static list memberships."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .errors import not_found, validation_error
from .events import EVENT_TYPES
from .routes_common import json_body, json_object, portal_of, query_list, query_value, respond


async def query_events(request: Request) -> Response:
    """GET /events/v3/events/ (the SDK's path ends with a slash)."""
    sort = query_list(request, "sort")
    body = portal_of(request).query_events(
        object_type=query_value(request, "objectType") or "contact",
        object_id=query_value(request, "objectId"),
        event_type=query_value(request, "eventType"),
        occurred_after=query_value(request, "occurredAfter"),
        occurred_before=query_value(request, "occurredBefore"),
        after=query_value(request, "after"),
        limit=query_value(request, "limit"),
        sort=sort[0] if sort else None,
    )
    return respond(body)


async def event_types(request: Request) -> Response:
    """GET /events/v3/events/event-types."""
    return respond({"eventTypes": sorted(EVENT_TYPES)})


async def create_list(request: Request) -> Response:
    """POST /crm/v3/lists/ -> 200 (HubSpot answers 200, not 201, here)."""
    body = await json_object(request)
    return respond(portal_of(request).create_list(body))


async def lists_by_id(request: Request) -> Response:
    """GET /crm/v3/lists/?listIds=..: the lists asked for, in creation order."""
    wanted = set(query_list(request, "listIds") or [])
    found = [item for item in portal_of(request).lists.all_lists() if item["listId"] in wanted]
    return respond({"lists": found})


async def get_list(request: Request) -> Response:
    """GET /crm/v3/lists/{listId}."""
    return respond(portal_of(request).get_list(str(request.path_params["list_id"])))


async def list_by_name(request: Request) -> Response:
    """GET /crm/v3/lists/object-type-id/{objectTypeId}/name/{listName}: 404 when absent."""
    name = str(request.path_params["list_name"])
    type_id = str(request.path_params["object_type_id"])
    for item in portal_of(request).lists.all_lists():
        if item["name"].lower() == name.lower() and item["objectTypeId"] == type_id:
            return respond({"list": item})
    raise not_found(f"List with name {name} does not exist.")


async def add_members(request: Request) -> Response:
    """PUT /crm/v3/lists/{listId}/memberships/add with a JSON array of record ids."""
    record_ids = await json_body(request)
    if not isinstance(record_ids, list):
        raise validation_error("The request body must be a JSON array of record ids")
    body = portal_of(request).add_list_members(
        list_id=str(request.path_params["list_id"]), record_ids=record_ids
    )
    return respond(body)


async def remove_members(request: Request) -> Response:
    """PUT /crm/v3/lists/{listId}/memberships/remove with a JSON array of record ids."""
    record_ids = await json_body(request)
    if not isinstance(record_ids, list):
        raise validation_error("The request body must be a JSON array of record ids")
    body = portal_of(request).remove_list_members(
        list_id=str(request.path_params["list_id"]), record_ids=record_ids
    )
    return respond(body)


async def memberships(request: Request) -> Response:
    """GET /crm/v3/lists/{listId}/memberships."""
    body = portal_of(request).list_memberships(
        list_id=str(request.path_params["list_id"]),
        after=query_value(request, "after"),
        limit=query_value(request, "limit"),
    )
    return respond(body)


def activity_routes() -> list[Route]:
    """Routes of the events and lists APIs, with and without the SDK's trailing slashes."""
    lists = "/crm/v3/lists"
    one = f"{lists}/{{list_id}}"
    return [
        Route("/events/v3/events", query_events, methods=["GET"]),
        Route("/events/v3/events/", query_events, methods=["GET"]),
        Route("/events/v3/events/event-types", event_types, methods=["GET"]),
        Route(lists, create_list, methods=["POST"]),
        Route(f"{lists}/", create_list, methods=["POST"]),
        Route(lists, lists_by_id, methods=["GET"]),
        Route(f"{lists}/", lists_by_id, methods=["GET"]),
        Route(f"{lists}/object-type-id/{{object_type_id}}/name/{{list_name}}", list_by_name),
        Route(one, get_list, methods=["GET"]),
        Route(f"{one}/memberships/add", add_members, methods=["PUT"]),
        Route(f"{one}/memberships/remove", remove_members, methods=["PUT"]),
        Route(f"{one}/memberships", memberships, methods=["GET"]),
    ]
