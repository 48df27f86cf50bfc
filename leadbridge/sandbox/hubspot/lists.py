"""Static (MANUAL/SNAPSHOT) lists modelled on HubSpot's Lists v3 API."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sortedcontainers import SortedDict

from .errors import JsonDict, conflict, not_found, validation_error
from .values import iso_ms

OBJECT_TYPE_IDS = {"0-1": "contacts", "0-2": "companies"}
STATIC_TYPES = ("MANUAL", "SNAPSHOT")
MAX_MEMBERSHIP_PAGE = 250


@dataclass(slots=True)
class StaticList:
    """One list and its members (record id -> membership ms)."""

    list_id: int
    name: str
    object_type_id: str
    processing_type: str
    created_ms: int
    updated_ms: int
    version: int = 1
    members: Any = field(default_factory=SortedDict)

    def to_dict(self) -> JsonDict:
        """The PublicObjectList shape."""
        return {
            "listId": str(self.list_id),
            "name": self.name,
            "objectTypeId": self.object_type_id,
            "processingType": self.processing_type,
            "processingStatus": "COMPLETE",
            "listVersion": self.version,
            "size": len(self.members),
            "createdAt": iso_ms(self.created_ms),
            "updatedAt": iso_ms(self.updated_ms),
        }


def _record_ids(raw: Sequence[object]) -> list[str]:
    if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
        raise validation_error("The request body must be a JSON array of record ids")
    return [str(item) for item in raw]


class ListStore:
    """All static lists of a portal."""

    def __init__(self) -> None:
        self._lists: dict[int, StaticList] = {}
        self._next_id = 1

    def create(self, *, body: Mapping[str, Any], now_ms: int) -> JsonDict:
        """POST /crm/v3/lists/: ListCreateResponse body."""
        name = body.get("name")
        object_type_id = str(body.get("objectTypeId", ""))
        processing_type = str(body.get("processingType", ""))
        if not isinstance(name, str) or not name.strip():
            raise validation_error("A list needs a name")
        if object_type_id not in OBJECT_TYPE_IDS:
            raise validation_error(f"Unsupported objectTypeId: {object_type_id!r}")
        if processing_type not in STATIC_TYPES:
            # DYNAMIC lists need the filter-branch engine, which the emulator does not model.
            raise validation_error(
                f"processingType must be one of {', '.join(STATIC_TYPES)} in the sandbox"
            )
        if any(existing.name.lower() == name.lower() for existing in self._lists.values()):
            raise conflict(f"A list named '{name}' already exists.", context={"name": [name]})
        created = StaticList(
            list_id=self._next_id,
            name=name,
            object_type_id=object_type_id,
            processing_type=processing_type,
            created_ms=now_ms,
            updated_ms=now_ms,
        )
        self._lists[created.list_id] = created
        self._next_id += 1
        return {"list": created.to_dict()}

    def _get(self, list_id: str | int) -> StaticList:
        try:
            found = self._lists.get(int(str(list_id)))
        except ValueError:
            found = None
        if found is None:
            raise not_found(f"List {list_id} does not exist.")
        return found

    def object_type(self, list_id: str | int) -> str:
        """Object type (contacts/companies) of a list's members."""
        return OBJECT_TYPE_IDS[self._get(list_id).object_type_id]

    def get(self, list_id: str | int) -> JsonDict:
        """GET /crm/v3/lists/{listId}: ListFetchResponse body."""
        return {"list": self._get(list_id).to_dict()}

    def all_lists(self) -> list[JsonDict]:
        """Every list, in creation order."""
        return [item.to_dict() for item in self._lists.values()]

    def add(
        self,
        *,
        list_id: str | int,
        record_ids: Sequence[object],
        exists: Callable[[int], bool],
        now_ms: int,
    ) -> JsonDict:
        """PUT .../memberships/add: MembershipsUpdateResponse body."""
        target = self._get(list_id)
        added: list[str] = []
        missing: list[str] = []
        for raw in _record_ids(record_ids):
            record_id = int(raw) if raw.isdigit() else None
            if record_id is None or not exists(record_id):
                missing.append(raw)
            elif record_id not in target.members:
                target.members[record_id] = now_ms
                added.append(str(record_id))
        if added:
            target.updated_ms = now_ms
            target.version += 1
        return _membership_body(added=added, removed=[], missing=missing)

    def remove(self, *, list_id: str | int, record_ids: Sequence[object], now_ms: int) -> JsonDict:
        """PUT .../memberships/remove: MembershipsUpdateResponse body."""
        target = self._get(list_id)
        removed: list[str] = []
        missing: list[str] = []
        for raw in _record_ids(record_ids):
            record_id = int(raw) if raw.isdigit() else None
            if record_id is not None and record_id in target.members:
                del target.members[record_id]
                removed.append(str(record_id))
            else:
                missing.append(raw)
        if removed:
            target.updated_ms = now_ms
            target.version += 1
        return _membership_body(added=[], removed=removed, missing=missing)

    def memberships(
        self, *, list_id: str | int, after: str | None = None, limit: int | str | None = None
    ) -> JsonDict:
        """GET .../memberships: members by record id, `after` is the last id returned."""
        target = self._get(list_id)
        size = 100 if limit in (None, "") else int(str(limit))
        if size < 1 or size > MAX_MEMBERSHIP_PAGE:
            raise validation_error(f"limit must be between 1 and {MAX_MEMBERSHIP_PAGE}")
        start = int(after) if after else None
        ids = target.members.irange(minimum=start, inclusive=(False, True))
        page: list[int] = []
        more = False
        for record_id in ids:
            if len(page) == size:
                more = True
                break
            page.append(record_id)
        body: JsonDict = {
            "results": [
                {"recordId": str(r), "membershipTimestamp": iso_ms(target.members[r])} for r in page
            ],
            "total": len(target.members),
        }
        if more:
            body["paging"] = {"next": {"after": str(page[-1])}}
        return body

    def drop_record(self, *, object_type: str, record_id: int, moved_to: int | None) -> None:
        """Drop an archived record from every list, or hand its memberships to the winner."""
        for item in self._lists.values():
            if OBJECT_TYPE_IDS[item.object_type_id] != object_type:
                continue
            joined = item.members.pop(record_id, None)
            if joined is not None and moved_to is not None and moved_to not in item.members:
                item.members[moved_to] = joined


def _membership_body(*, added: list[str], removed: list[str], missing: list[str]) -> JsonDict:
    # HubSpot documents `recordIdsAdded`; hubspot-api-client 12 reads `recordsIdsAdded` and
    # requires it, so both spellings are sent.
    return {
        "recordIdsAdded": added,
        "recordsIdsAdded": added,
        "recordIdsRemoved": removed,
        "recordIdsMissing": missing,
    }
