"""HubSpotPortal: the in-memory state of one HubSpot account behind the sandbox emulator."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from . import batch
from .batch import BatchResult
from .errors import JsonDict, not_found, validation_error
from .events import OBJECT_TYPES as EVENT_OBJECT_TYPES
from .events import EventLog
from .lists import ListStore
from .properties import DEFAULT_RETURNED, PropertyRegistry, names_in
from .records import Records, WriteStamp, render
from .search import SearchEngine, parse_request
from .search import render as render_search
from .store import RecordVersion
from .values import Clock, parse_time_ms, to_ms, utc_now

MAX_LIST_LIMIT = 100


class HubSpotPortal:
    """One HubSpot portal: properties, contacts and companies, search, events and lists."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        search_lag_seconds: float = 0.0,
        portal_id: int = 12_345_678,
        strict_timestamps: bool = True,
        first_id: int = 1,
        base_url: str = "https://api.hubapi.com",
    ) -> None:
        self.clock: Clock = clock or utc_now
        self.portal_id = portal_id
        self.base_url = base_url.rstrip("/")
        self.properties = PropertyRegistry(portal_id=portal_id, created_ms=to_ms(self.clock()))
        self.records = Records(
            registry=self.properties,
            clock=self._now,
            lag_ms=round(search_lag_seconds * 1000),
            strict_timestamps=strict_timestamps,
            first_id=first_id,
        )
        self.events = EventLog()
        self.lists = ListStore()

    def _now(self) -> datetime:
        # Indirection so that tests may swap `portal.clock` after construction.
        return self.clock()

    def now_ms(self) -> int:
        """The portal clock in epoch ms."""
        return self.records.now_ms()

    def set_search_lag(self, seconds: float) -> None:
        """Change the indexing lag of search for writes made from now on."""
        for store in self.records.stores.values():
            store.search.lag_ms = round(seconds * 1000)

    # --- properties ----------------------------------------------------------------------

    def read_properties(self, object_type: str) -> JsonDict:
        """GET /crm/v3/properties/{objectType}."""
        return self.properties.read_all(object_type)

    def read_property(self, *, object_type: str, name: str) -> JsonDict:
        """GET /crm/v3/properties/{objectType}/{name}."""
        return self.properties.get(object_type, name).to_dict()

    def create_property(self, *, object_type: str, body: Mapping[str, Any]) -> JsonDict:
        """POST /crm/v3/properties/{objectType} (HTTP 201)."""
        created = self.properties.create(object_type=object_type, body=body, now_ms=self.now_ms())
        if created["hasUniqueValue"]:
            self.records.store(object_type).add_unique(str(created["name"]))
        return created

    def update_property(self, *, object_type: str, name: str, body: Mapping[str, Any]) -> JsonDict:
        """PATCH /crm/v3/properties/{objectType}/{name} (HTTP 200)."""
        return self.properties.update(
            object_type=object_type, name=name, body=body, now_ms=self.now_ms()
        )

    def read_groups(self, object_type: str) -> JsonDict:
        """GET /crm/v3/properties/{objectType}/groups."""
        return self.properties.read_groups(object_type)

    def create_group(self, *, object_type: str, body: Mapping[str, Any]) -> JsonDict:
        """POST /crm/v3/properties/{objectType}/groups (HTTP 201)."""
        return self.properties.create_group(object_type=object_type, body=body)

    # --- single records ------------------------------------------------------------------

    def list_objects(
        self,
        *,
        object_type: str,
        limit: int | str | None = None,
        after: str | None = None,
        properties: Sequence[str] | str | None = None,
        archived: bool | str = False,
    ) -> JsonDict:
        """GET /crm/v3/objects/{type}: id order; `after` is the first id of the next page."""
        store = self.records.store(object_type)
        size = 10 if limit in (None, "") else int(str(limit))
        if size < 1 or size > MAX_LIST_LIMIT:
            raise validation_error(f"limit must be between 1 and {MAX_LIST_LIMIT}, got {size}")
        if after not in (None, "") and not str(after).isdigit():
            raise validation_error(f"Invalid after cursor: {after!r}")
        table = store.archived if _truthy(archived) else store.active
        names = self.records.returned_names(object_type, names_in(properties))
        start = int(str(after)) if after not in (None, "") else None
        page: list[RecordVersion] = []
        next_id: int | None = None
        for record_id in table.irange(minimum=start):
            if len(page) == size:
                next_id = record_id
                break
            page.append(table[record_id])
        body: JsonDict = {"results": [render(v, names) for v in page]}
        if next_id is not None:
            body["paging"] = {
                "next": {
                    "after": str(next_id),
                    "link": f"{self.base_url}/crm/v3/objects/{object_type}?after={next_id}",
                }
            }
        return body

    def get_object(
        self,
        *,
        object_type: str,
        object_id: str | int,
        id_property: str | None = None,
        properties: Sequence[str] | str | None = None,
        archived: bool | str = False,
    ) -> JsonDict:
        """GET /crm/v3/objects/{type}/{id}: a merged-away id answers with the winner."""
        names = self.records.returned_names(object_type, names_in(properties))
        if _truthy(archived):
            text = str(object_id)
            found = (
                self.records.store(object_type).get_archived(int(text))
                if (text.isdigit())
                else None
            )
            if found is None:
                raise not_found()
            return render(found, names)
        version = self.records.require(
            object_type=object_type, object_id=object_id, id_property=id_property
        )
        return render(version, names)

    def create_object(self, *, object_type: str, body: Mapping[str, Any]) -> JsonDict:
        """POST /crm/v3/objects/{type} (HTTP 201); 409 on a duplicate unique value."""
        values = self.records.coerce(object_type=object_type, values=body.get("properties", {}))
        clash = self.records.unique_clash(object_type=object_type, values=values, self_id=None)
        if clash is not None:
            raise clash
        version = self.records.insert(
            object_type=object_type, values=values, stamp=self.records.stamp()
        )
        return render(version, self.records.returned_names(object_type, None, values.keys()))

    def update_object(
        self,
        *,
        object_type: str,
        object_id: str | int,
        body: Mapping[str, Any],
        id_property: str | None = None,
    ) -> JsonDict:
        """PATCH /crm/v3/objects/{type}/{id} (HTTP 200)."""
        current = self.records.require(
            object_type=object_type, object_id=object_id, id_property=id_property
        )
        values = self.records.coerce(object_type=object_type, values=body.get("properties", {}))
        clash = self.records.unique_clash(
            object_type=object_type, values=values, self_id=current.id
        )
        if clash is not None:
            raise clash
        version = self.records.update(
            object_type=object_type, current=current, values=values, stamp=self.records.stamp()
        )
        return render(version, self.records.returned_names(object_type, None, values.keys()))

    def archive_object(self, *, object_type: str, object_id: str | int) -> None:
        """DELETE /crm/v3/objects/{type}/{id} (HTTP 204, also for unknown ids)."""
        found = self.records.resolve(
            object_type=object_type, object_id=object_id, follow_merges=False
        )
        if found is not None:
            self.records.archive(
                object_type=object_type, record_id=found.id, stamp=self.records.stamp()
            )
            self.lists.drop_record(object_type=object_type, record_id=found.id, moved_to=None)

    def merge(self, *, object_type: str, body: Mapping[str, Any]) -> JsonDict:
        """POST /crm/v3/objects/{type}/merge {primaryObjectId, objectIdToMerge} (HTTP 200)."""
        primary_id, loser_id = body.get("primaryObjectId"), body.get("objectIdToMerge")
        if primary_id is None or loser_id is None:
            raise validation_error("primaryObjectId and objectIdToMerge are required")
        primary = self.records.require(
            object_type=object_type, object_id=primary_id, follow_merges=False
        )
        loser = self.records.require(
            object_type=object_type, object_id=loser_id, follow_merges=False
        )
        if primary.id == loser.id:
            raise validation_error("Cannot merge an object with itself")
        winner = self.records.merge(
            object_type=object_type, primary=primary, loser=loser, stamp=self.records.stamp()
        )
        self.lists.drop_record(object_type=object_type, record_id=loser.id, moved_to=winner.id)
        if object_type == "contacts":
            self.events.move(from_id=loser.id, to_id=winner.id)
        names = [*DEFAULT_RETURNED[object_type], "hs_merged_object_ids"]
        return render(winner, names)

    # --- batches -------------------------------------------------------------------------

    def batch_read(
        self, *, object_type: str, body: Mapping[str, Any], archived: bool | str = False
    ) -> BatchResult:
        """POST .../batch/read (200, or 207 when some ids are missing)."""
        return batch.batch_read(
            self.records, object_type=object_type, body=body, archived=_truthy(archived)
        )

    def batch_create(self, *, object_type: str, body: Mapping[str, Any]) -> BatchResult:
        """POST .../batch/create (201, 207 with traced inputs; raises 409/400 otherwise)."""
        return batch.batch_create(self.records, object_type=object_type, body=body)

    def batch_update(self, *, object_type: str, body: Mapping[str, Any]) -> BatchResult:
        """POST .../batch/update (200, 207 with traced inputs)."""
        return batch.batch_update(self.records, object_type=object_type, body=body)

    def batch_upsert(self, *, object_type: str, body: Mapping[str, Any]) -> BatchResult:
        """POST .../batch/upsert (200, 207 with traced inputs); results carry `new`."""
        return batch.batch_upsert(self.records, object_type=object_type, body=body)

    def batch_archive(self, *, object_type: str, body: Mapping[str, Any]) -> None:
        """POST .../batch/archive (HTTP 204)."""
        for record_id in batch.batch_archive(self.records, object_type=object_type, body=body):
            self.lists.drop_record(object_type=object_type, record_id=record_id, moved_to=None)

    # --- search --------------------------------------------------------------------------

    def search(self, *, object_type: str, body: Mapping[str, Any]) -> JsonDict:
        """POST /crm/v3/objects/{type}/search (HTTP 200)."""
        store = self.records.store(object_type)
        request = parse_request(body, registry=self.properties, object_type=object_type)
        store.search.flush(self.now_ms())
        engine = SearchEngine(
            view=store.search,
            registry=self.properties,
            object_type=object_type,
            lm_property=store.lm_property,
        )
        page, total = engine.run(request)
        names = self.records.returned_names(object_type, names_in(body.get("properties")))
        return render_search(page=page, total=total, request=request, names=names)

    # --- seeding -------------------------------------------------------------------------

    def bulk_insert(
        self,
        *,
        object_type: str,
        rows: Iterable[Mapping[str, object]],
        timestamp: datetime | int | None = None,
        validate: bool = True,
    ) -> list[str]:
        """Seed many records at once; rows may carry createdate/lastmodified themselves.

        Every row without its own last-modified value shares one millisecond (`timestamp`,
        else one fresh write stamp), which is how a HubSpot bulk import looks to search.
        """
        store = self.records.store(object_type)
        stamp = self.records.stamp()
        shared_ms = stamp.ms if timestamp is None else _ms(timestamp)
        ids: list[str] = []
        for row in rows:
            if validate:
                values = self.records.coerce(
                    object_type=object_type, values=row, allow_read_only=True
                )
                clash = self.records.unique_clash(
                    object_type=object_type, values=values, self_id=None
                )
                if clash is not None:
                    raise clash
            else:
                values = {k: None if v is None else str(v) for k, v in row.items()}
            own = values.pop(store.lm_property, None)
            row_ms = shared_ms if own is None else _ms(own)
            values.pop("hs_object_id", None)
            created = values.pop("createdate", None)
            self.records.seen_ms(row_ms)
            version = self.records.insert(
                object_type=object_type,
                values=values,
                stamp=WriteStamp(ms=row_ms, clock_ms=stamp.clock_ms),
                created_ms=row_ms if created is None else _ms(created),
            )
            ids.append(str(version.id))
        return ids

    # --- events --------------------------------------------------------------------------

    def record_event(
        self,
        *,
        object_id: str | int,
        event_type: str,
        occurred_at: datetime | str | int | None = None,
        properties: Mapping[str, object] | None = None,
    ) -> JsonDict:
        """Record a behaviour event on a contact (a marketer-side action)."""
        contact = self.records.require(object_type="contacts", object_id=object_id)
        occurred_ms = self.now_ms() if occurred_at is None else _ms(occurred_at)
        return self.events.record(
            object_id=contact.id,
            event_type=event_type,
            occurred_ms=occurred_ms,
            properties=properties,
        )

    def query_events(
        self,
        *,
        object_type: str = "contact",
        object_id: str | int | None = None,
        event_type: str | None = None,
        occurred_after: str | datetime | None = None,
        occurred_before: str | datetime | None = None,
        after: str | None = None,
        limit: int | str | None = None,
        sort: str | None = None,
    ) -> JsonDict:
        """GET /events/v3/events."""
        if object_type not in EVENT_OBJECT_TYPES:
            raise validation_error(f"Unsupported objectType: {object_type}")
        return self.events.query(
            object_type=object_type,
            object_id=object_id,
            event_type=event_type,
            occurred_after=occurred_after,
            occurred_before=occurred_before,
            after=after,
            limit=limit,
            sort=sort,
        )

    # --- lists ---------------------------------------------------------------------------

    def create_list(self, body: Mapping[str, Any]) -> JsonDict:
        """POST /crm/v3/lists/ (HTTP 200, like HubSpot)."""
        return self.lists.create(body=body, now_ms=self.now_ms())

    def get_list(self, list_id: str | int) -> JsonDict:
        """GET /crm/v3/lists/{listId}."""
        return self.lists.get(list_id)

    def add_list_members(self, *, list_id: str | int, record_ids: Sequence[object]) -> JsonDict:
        """PUT /crm/v3/lists/{listId}/memberships/add."""
        store = self.records.store(self.lists.object_type(list_id))
        return self.lists.add(
            list_id=list_id,
            record_ids=record_ids,
            exists=lambda rid: store.get_active(rid) is not None,
            now_ms=self.now_ms(),
        )

    def remove_list_members(self, *, list_id: str | int, record_ids: Sequence[object]) -> JsonDict:
        """PUT /crm/v3/lists/{listId}/memberships/remove."""
        return self.lists.remove(list_id=list_id, record_ids=record_ids, now_ms=self.now_ms())

    def list_memberships(
        self, *, list_id: str | int, after: str | None = None, limit: int | str | None = None
    ) -> JsonDict:
        """GET /crm/v3/lists/{listId}/memberships."""
        return self.lists.memberships(list_id=list_id, after=after, limit=limit)


def _truthy(flag: bool | str) -> bool:
    # The SDK sends booleans in query strings as "True"/"False".
    return flag if isinstance(flag, bool) else str(flag).strip().lower() == "true"


def _ms(value: object) -> int:
    ms = parse_time_ms(value)
    if ms is None:
        raise validation_error(f"Not a timestamp: {value!r}")
    return ms
