"""Behaviour events per contact, queried like HubSpot's event analytics API (events v3)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sortedcontainers import SortedList

from .errors import JsonDict, validation_error
from .values import iso_ms, parse_time_ms

EVENT_TYPES = frozenset(
    {"form_submission", "webinar_attended", "page_view", "email_open", "email_click"}
)
OBJECT_TYPES = {"contact": "contacts", "contacts": "contacts", "0-1": "contacts"}
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class BehaviourEvent:
    """One event that happened to a contact."""

    seq: int
    object_id: int
    event_type: str
    occurred_ms: int
    properties: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, int]:
        """Sort key: time, then arrival order for events of the same millisecond."""
        return (self.occurred_ms, self.seq)

    def to_dict(self) -> JsonDict:
        """The ExternalUnifiedEvent shape."""
        return {
            "objectType": "contact",
            "objectId": str(self.object_id),
            "eventType": self.event_type,
            "occurredAt": iso_ms(self.occurred_ms),
            "id": str(uuid.UUID(int=self.seq)),
            "properties": dict(self.properties),
        }


def _encode_cursor(key: tuple[int, int]) -> str:
    raw = f"{key[0]}:{key[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        ms, seq = base64.urlsafe_b64decode(padded.encode()).decode().split(":")
        return int(ms), int(seq)
    except (ValueError, UnicodeDecodeError):
        raise validation_error(f"Invalid paging cursor: {cursor!r}") from None


class EventLog:
    """All behaviour events of a portal, indexed by time overall and per contact."""

    def __init__(self) -> None:
        self._seq = 0
        self._all: Any = SortedList(key=lambda e: e.key)
        self._by_object: dict[int, Any] = {}

    def record(
        self,
        *,
        object_id: int,
        event_type: str,
        occurred_ms: int,
        properties: Mapping[str, object] | None = None,
    ) -> JsonDict:
        """Store one event (the caller checks that the contact exists)."""
        if event_type not in EVENT_TYPES:
            raise validation_error(
                f"Unknown event type {event_type!r}; known: {', '.join(sorted(EVENT_TYPES))}"
            )
        self._seq += 1
        event = BehaviourEvent(
            seq=self._seq,
            object_id=object_id,
            event_type=event_type,
            occurred_ms=occurred_ms,
            properties={k: str(v) for k, v in (properties or {}).items()},
        )
        self._all.add(event)
        per_object = self._by_object.get(object_id)
        if per_object is None:
            per_object = self._by_object[object_id] = SortedList(key=lambda e: e.key)
        per_object.add(event)
        return event.to_dict()

    def move(self, *, from_id: int, to_id: int) -> None:
        """Re-attribute a merged-away contact's events to the surviving contact."""
        moved = self._by_object.pop(from_id, None)
        if not moved:
            return
        for event in list(moved):
            self._all.remove(event)
            again = BehaviourEvent(
                seq=event.seq,
                object_id=to_id,
                event_type=event.event_type,
                occurred_ms=event.occurred_ms,
                properties=event.properties,
            )
            self._all.add(again)
            self._by_object.setdefault(to_id, SortedList(key=lambda e: e.key)).add(again)

    def query(
        self,
        *,
        object_type: str = "contact",
        object_id: str | int | None = None,
        event_type: str | None = None,
        occurred_after: object = None,
        occurred_before: object = None,
        after: str | None = None,
        limit: int | str | None = None,
        sort: str | None = None,
    ) -> JsonDict:
        """GET /events/v3/events: newest first unless sort is ASCENDING; cursor paging."""
        if object_type not in OBJECT_TYPES:
            raise validation_error(f"Unsupported objectType: {object_type}")
        size = DEFAULT_LIMIT if limit in (None, "") else int(str(limit))
        if size < 1 or size > MAX_LIMIT:
            raise validation_error(f"limit must be between 1 and {MAX_LIMIT}")
        descending = str(sort or "DESCENDING").upper() in ("DESCENDING", "-OCCURREDAT")
        low = self._time(occurred_after, "occurredAfter")
        high = self._time(occurred_before, "occurredBefore")
        if object_id is not None and object_id != "":
            source = self._by_object.get(int(str(object_id)))
            if source is None:
                return {"results": []}
        else:
            source = self._all
        # occurredAfter/occurredBefore are exclusive bounds.
        lo_key = (low + 1, 0) if low is not None else None
        hi_key = (high, 0) if high is not None else None
        cursor = _decode_cursor(after) if after else None
        if descending:
            if cursor is not None:
                hi_key = cursor if hi_key is None else min(hi_key, cursor)
            events = source.irange_key(lo_key, hi_key, inclusive=(True, False), reverse=True)
        else:
            if cursor is not None:
                lo_key = cursor if lo_key is None else max(lo_key, cursor)
            include_low = cursor is None or lo_key != cursor
            events = source.irange_key(lo_key, hi_key, inclusive=(include_low, False))
        page: list[BehaviourEvent] = []
        more = False
        for event in events:
            if event_type and event.event_type != event_type:
                continue
            if len(page) == size:
                more = True
                break
            page.append(event)
        body: JsonDict = {"results": [e.to_dict() for e in page]}
        if more:
            body["paging"] = {"next": {"after": _encode_cursor(page[-1].key)}}
        return body

    @staticmethod
    def _time(raw: object, what: str) -> int | None:
        if raw is None or raw == "":
            return None
        ms = parse_time_ms(raw)
        if ms is None:
            raise validation_error(f"{what} must be an ISO 8601 datetime, got {raw!r}")
        return ms
