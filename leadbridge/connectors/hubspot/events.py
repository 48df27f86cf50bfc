"""Behaviour events of contacts through HubSpot's event analytics API (events v3).

Reads are ascending by occurrence time, paged with `after`, and bounded by `occurredAfter`
(exclusive, millisecond precision). The caller keeps the newest `occurred_at` it has processed
as its cursor and asks again from there minus an overlap: an event stored late with an older
timestamp is then still seen, and repeats are harmless because scoring recomputes a lead from
its whole history rather than adding events up.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from leadbridge.connectors.hubspot.client import HubSpotClient
from leadbridge.connectors.hubspot.values import parse_datetime
from leadbridge.errors import TransientError

EVENT_PAGE = 1000
OBJECT_TYPE = "contact"

# The SDK builds a new HTTP pool on every attribute access, so one EventsApi per client.
_APIS: weakref.WeakKeyDictionary[HubSpotClient, Any] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Event:
    """One behaviour event of one contact (properties as HubSpot gives them, as text)."""

    contact_id: str
    event_type: str
    occurred_at: datetime
    properties: Mapping[str, str] = field(default_factory=dict)
    id: str = ""


@dataclass(frozen=True)
class EventPage:
    """One page of events and the newest occurrence time read so far (the cursor)."""

    events: tuple[Event, ...]
    newest: datetime | None


def _api(client: HubSpotClient) -> Any:
    api = _APIS.get(client)
    if api is None:
        api = _APIS[client] = client.sdk.events.events_api
    return api


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_event(raw: Mapping[str, Any]) -> Event:
    """An ExternalUnifiedEvent body as an Event."""
    props = raw.get("properties") or {}
    return Event(
        contact_id=str(raw.get("objectId", "")),
        event_type=str(raw.get("eventType", "")),
        occurred_at=parse_datetime(str(raw.get("occurredAt"))),
        properties={str(k): "" if v is None else str(v) for k, v in props.items()},
        id=str(raw.get("id", "")),
    )


def read_events(
    client: HubSpotClient,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    contact_id: str | None = None,
    event_type: str | None = None,
    page_size: int = EVENT_PAGE,
) -> Iterator[EventPage]:
    """Contact events after `since` (exclusive) and before `until`, oldest first, a page a call."""
    api = _api(client)
    seen: set[str] = set()
    after: str | None = None
    newest = since
    while True:
        query: dict[str, Any] = {
            "object_type": OBJECT_TYPE,
            "limit": page_size,
            # The SDK sends `sort` in "multi" format: a list, or it iterates the string.
            "sort": ["ASCENDING"],
        }
        if since is not None:
            query["occurred_after"] = _iso(since)
        if until is not None:
            query["occurred_before"] = _iso(until)
        if contact_id is not None:
            query["object_id"] = contact_id
        if event_type is not None:
            query["event_type"] = event_type
        if after is not None:
            query["after"] = after
        body = client.call(
            "events",
            lambda q=query: api.get_page_with_http_info(  # type: ignore[misc]
                **q, _request_timeout=client.timeout, _preload_content=False
            ),
            idempotent=True,
        )
        events = tuple(to_event(row) for row in (body or {}).get("results") or [])
        for event in events:
            newest = event.occurred_at if newest is None else max(newest, event.occurred_at)
        after = (((body or {}).get("paging") or {}).get("next") or {}).get("after")
        yield EventPage(events=events, newest=newest)
        if not after:
            return
        if after in seen:
            # A repeated page token would loop forever: stop and let the next run resume.
            raise TransientError(
                "HubSpot's events paging repeated a page token",
                hint="retried on the next run from the last cursor",
                code="PAGING_LOOP",
            )
        seen.add(str(after))
