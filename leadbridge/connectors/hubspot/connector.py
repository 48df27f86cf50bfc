"""The HubSpot connector: the Connector protocol over hubspot-api-client.

Incremental reads walk search windows sorted by the last-modified property. Search cannot page
past 10,000 results and sorts on one property only, so:
- a window is paged with `after` until 10,000, then a new window starts at the last timestamp
  read (GTE, re-reading only that timestamp's records, which the engine drops as unchanged);
- when one timestamp holds a whole page or more, that timestamp is walked separately with
  `EQ timestamp AND hs_object_id > last id` sorted by id, so thousands of records written in one
  millisecond neither loop nor get skipped.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Any

from leadbridge.connectors.base import (
    EPOCH,
    ApiBudget,
    CanonicalValue,
    Cursor,
    FieldSpec,
    ObjectSchema,
    Page,
    ProvisionPlan,
    Record,
    Side,
    WriteOp,
    WriteResult,
)
from leadbridge.connectors.hubspot.client import HubSpotClient
from leadbridge.connectors.hubspot.errors import classify
from leadbridge.connectors.hubspot.lists import HubSpotLists
from leadbridge.connectors.hubspot.values import (
    parse_datetime,
    schema_from_properties,
    to_canonical,
    to_property,
)
from leadbridge.errors import DataError, LeadbridgeError, Recovery, SetupError

if TYPE_CHECKING:
    from leadbridge.connectors.hubspot.events import EventPage

BATCH_LIMIT = 100
SEARCH_PAGE = 200
SEARCH_RESULT_LIMIT = 10_000
OBJECTS = ("contacts", "companies")
_ID_WIDTH = 20


def _sort_key(record_id: str) -> str:
    # Ids are numbers: pad them so that string order (the cursor's) is numeric order.
    return record_id.zfill(_ID_WIDTH)


def _ms(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


# WriteOp kind -> (batch API method, its body argument, safe to repeat).
_BATCH_CALLS: dict[str, tuple[str, str, bool]] = {
    "create": (
        "create_with_http_info",
        "batch_input_simple_public_object_batch_input_for_create",
        False,
    ),
    "update": ("update_with_http_info", "batch_input_simple_public_object_batch_input", True),
    "upsert": (
        "upsert_with_http_info",
        "batch_input_simple_public_object_batch_input_upsert",
        True,
    ),
    "delete": ("archive_with_http_info", "batch_input_simple_public_object_id", True),
}


def _batch_input(kind: str, trace: str, op: WriteOp) -> dict[str, Any]:
    """One input of a batch call, as HubSpot's JSON expects it."""
    if kind == "delete":
        return {"id": op.record_id}
    properties = {name: to_property(value) for name, value in op.values.items()}
    item: dict[str, Any] = {"properties": properties, "objectWriteTraceId": trace}
    if kind == "create":
        item["associations"] = []
    elif kind == "update":
        item["id"] = op.record_id
    else:
        item |= {"id": op.key_value, "idProperty": op.key_field}
    return item


class HubSpotConnector:
    """HubSpot side of leadbridge; every request goes through one HubSpotClient."""

    side: Side = "hubspot"

    def __init__(self, *, client: HubSpotClient) -> None:
        self.client = client
        self._schemas: dict[str, ObjectSchema] = {}
        self.lists = HubSpotLists(client=client)

    @staticmethod
    def _check_object(object_name: str) -> None:
        if object_name not in OBJECTS:
            raise SetupError(
                f"HubSpot object {object_name!r} is not supported",
                hint=f"use one of {', '.join(OBJECTS)}",
            )

    @staticmethod
    def _models(object_name: str) -> ModuleType:
        return importlib.import_module(f"hubspot.crm.{object_name}")

    @staticmethod
    def modified_property(object_name: str) -> str:
        """The last-modified property incremental reads use (contacts differ from others)."""
        return "lastmodifieddate" if object_name == "contacts" else "hs_lastmodifieddate"

    # -- schema -----------------------------------------------------------------------------

    def describe(self, object_name: str) -> ObjectSchema:
        """All properties of the object (cached per connector)."""
        self._check_object(object_name)
        cached = self._schemas.get(object_name)
        if cached is not None:
            return cached
        response = self.client.call(
            f"properties {object_name}",
            lambda: self.client.apis.properties.get_all_with_http_info(
                object_type=object_name,
                _request_timeout=self.client.timeout,
                _preload_content=False,
            ),
            idempotent=True,
        )
        schema = schema_from_properties(object_name, response.get("results", []))
        self._schemas[object_name] = schema
        return schema

    def forget_schema(self, object_name: str | None = None) -> None:
        """Drop cached properties (after provisioning changed them)."""
        if object_name is None:
            self._schemas.clear()
        else:
            self._schemas.pop(object_name, None)

    def ensure_fields(
        self, object_name: str, specs: Sequence[FieldSpec], *, apply: bool
    ) -> ProvisionPlan:
        """Plan (and with apply=True, create) properties in the leadbridge property group."""
        from leadbridge.connectors.hubspot.provision import ensure_properties

        plan: ProvisionPlan = ensure_properties(self, object_name, specs, apply=apply)
        if apply and plan.changes:  # nothing applied: the cached schema still holds
            self.forget_schema(object_name)
        return plan

    # -- reads ------------------------------------------------------------------------------

    def _properties(
        self, object_name: str, fields: Sequence[str]
    ) -> tuple[ObjectSchema, list[str]]:
        schema = self.describe(object_name)
        missing = [f for f in fields if schema.field(f) is None]
        if missing:
            raise SetupError(
                f"HubSpot {object_name} have no property {', '.join(missing)}",
                hint="run `leadbridge setup apply`, or correct the mapping",
                code="PROPERTY_DOESNT_EXIST",
            )
        wanted = [*fields, self.modified_property(object_name), "hs_object_id"]
        if object_name == "contacts":
            wanted.append("hs_merged_object_ids")
        return schema, list(dict.fromkeys(wanted))

    def _to_record(self, object_name: str, schema: ObjectSchema, raw: Mapping[str, Any]) -> Record:
        props: Mapping[str, Any] = raw.get("properties") or {}
        values: dict[str, CanonicalValue] = {
            name: to_canonical(value, schema.field(name)) for name, value in props.items()
        }
        stamp = props.get(self.modified_property(object_name)) or raw.get("updatedAt")
        modified = parse_datetime(str(stamp)) if stamp else EPOCH
        record_id = str(raw["id"])
        return Record(
            id=record_id,
            object_name=object_name,
            values=values,
            modified_at=modified,
            deleted=bool(raw.get("archived", False)),
            sort_key=_sort_key(record_id),
        )

    def _search(
        self,
        object_name: str,
        *,
        filters: list[dict[str, str]],
        sort: str,
        properties: list[str],
        after: int,
    ) -> tuple[list[dict[str, Any]], int]:
        models = self._models(object_name)
        request = models.PublicObjectSearchRequest(
            filter_groups=[
                models.FilterGroup(
                    filters=[
                        models.Filter(
                            property_name=f["propertyName"],
                            operator=f["operator"],
                            value=f["value"],
                        )
                        for f in filters
                    ]
                )
            ],
            sorts=[{"propertyName": sort, "direction": "ASCENDING"}],
            properties=properties,
            limit=SEARCH_PAGE,
            after=str(after),
        )
        api = self.client.apis.search(object_name)
        response = self.client.call(
            f"search {object_name}",
            lambda: api.do_search_with_http_info(
                public_object_search_request=request,
                _request_timeout=self.client.timeout,
                _preload_content=False,
            ),
            idempotent=True,
            search=True,
        )
        return list(response.get("results") or []), int(response.get("total") or 0)

    def read_changes(
        self,
        object_name: str,
        *,
        cursor: Cursor | None,
        fields: Sequence[str],
        overlap: timedelta = timedelta(0),
    ) -> Iterator[Page]:
        """Live records changed after the cursor, in last-modified order, each once.

        With no cursor the whole object is read through the list endpoint instead (100 a
        page, outside search's own per-second limit).
        """
        self._check_object(object_name)
        schema, properties = self._properties(object_name, fields)
        if cursor is None:
            yield from self._read_all(object_name, schema, properties)
            return
        modified = self.modified_property(object_name)
        start = cursor.rewound(overlap)
        position = start
        # Ids already yielded at the newest timestamp read: a new window starts at that
        # timestamp (GTE) and must not repeat them.
        seen_time: datetime | None = None
        seen_ids: set[str] = set()
        if start.tie_break:
            position = yield from self._walk_timestamp(
                object_name, schema, properties, start, skip=set()
            )
        inclusive = not start.tie_break
        while True:
            operator = "GTE" if inclusive else "GT"
            value = str(_ms(position.modified_at))
            after = 0
            restart_at: datetime | None = None
            while True:
                rows, total = self._search(
                    object_name,
                    filters=[{"propertyName": modified, "operator": operator, "value": value}],
                    sort=modified,
                    properties=properties,
                    after=after,
                )
                records = [self._to_record(object_name, schema, row) for row in rows]
                if len(rows) == SEARCH_PAGE and records[0].modified_at == records[-1].modified_at:
                    # A full page at one timestamp may be the head of thousands: walk it by id.
                    moment = records[0].modified_at
                    skip = seen_ids if seen_time == moment else set()
                    position = yield from self._walk_timestamp(
                        object_name, schema, properties, Cursor(modified_at=moment), skip=skip
                    )
                    seen_time, seen_ids = None, set()
                    restart_at = moment
                    break
                fresh = [
                    r
                    for r in records
                    if not (r.modified_at == seen_time and r.id in seen_ids)
                    and not (position.tie_break and r.cursor <= position)
                ]
                for record in fresh:
                    if record.modified_at != seen_time:
                        seen_time, seen_ids = record.modified_at, set()
                    seen_ids.add(record.id)
                after += len(rows)
                exhausted = len(rows) < SEARCH_PAGE or after >= total
                if fresh or exhausted:
                    # Mid-window the cursor claims only whole earlier timestamps; once the
                    # window is exhausted it claims everything read ("~" sorts after ids).
                    newest = seen_time or position.modified_at
                    page_cursor = Cursor(modified_at=newest, tie_break="~" if exhausted else "")
                    yield Page(records=tuple(fresh), cursor=max(page_cursor, position))
                if exhausted:
                    return
                if after + SEARCH_PAGE > SEARCH_RESULT_LIMIT:
                    assert seen_time is not None
                    position = Cursor(modified_at=seen_time)
                    break
            if restart_at is not None:
                position = Cursor(modified_at=restart_at, tie_break="~")
                inclusive = False
            else:
                inclusive = True

    def _read_all(
        self, object_name: str, schema: ObjectSchema, properties: list[str]
    ) -> Iterator[Page]:
        """Every live record by the list endpoint (id order).

        Pages carry the empty cursor until the last one: a list read is not in modification
        order, so only its end may claim anything. The final cursor claims the newest record
        read, or the moment the read started if that is earlier, so records changed during the
        read come again in the next incremental run (whose overlap window covers clock skew).
        """
        watermark = datetime.now(UTC)
        api = self.client.apis.basic(object_name)
        after: str | None = None
        newest = EPOCH
        while True:
            response = self.client.call(
                f"list {object_name}",
                self._list_page(api, after, properties, archived=False),
                idempotent=True,
            )
            records = tuple(
                self._to_record(object_name, schema, row)
                for row in (response or {}).get("results") or []
            )
            newest = max([newest, *(r.modified_at for r in records)])
            after = (((response or {}).get("paging") or {}).get("next") or {}).get("after")
            if not after:
                final = (
                    Cursor(modified_at=newest, tie_break="~")
                    if newest < watermark
                    else Cursor(modified_at=watermark)
                )
                yield Page(records=records, cursor=final)
                return
            yield Page(records=records, cursor=Cursor())

    def _list_page(
        self, api: Any, after: str | None, properties: list[str], *, archived: bool
    ) -> Callable[[], Any]:
        def run() -> Any:
            return api.get_page_with_http_info(
                limit=BATCH_LIMIT,
                after=after,
                properties=properties,
                archived=archived,
                _request_timeout=self.client.timeout,
                _preload_content=False,
            )

        return run

    def _walk_timestamp(
        self,
        object_name: str,
        schema: ObjectSchema,
        properties: list[str],
        start: Cursor,
        *,
        skip: set[str],
    ) -> Generator[Page, None, Cursor]:
        """Walk one timestamp's records by id after start.tie_break; return the cursor past it."""
        modified = self.modified_property(object_name)
        done = Cursor(modified_at=start.modified_at, tie_break="~")
        if start.tie_break == "~":
            return done
        moment = str(_ms(start.modified_at))
        last_id = start.tie_break.lstrip("0") or "0"
        while True:
            rows, _total = self._search(
                object_name,
                filters=[
                    {"propertyName": modified, "operator": "EQ", "value": moment},
                    {"propertyName": "hs_object_id", "operator": "GT", "value": last_id},
                ],
                sort="hs_object_id",
                properties=properties,
                after=0,
            )
            records = [self._to_record(object_name, schema, row) for row in rows]
            if records:
                last_id = records[-1].id
                fresh = tuple(r for r in records if r.id not in skip)
                yield Page(records=fresh, cursor=records[-1].cursor)
            if len(rows) < SEARCH_PAGE:
                yield Page(records=(), cursor=done)
                return done

    def read_by_keys(
        self, object_name: str, *, key_field: str, keys: Sequence[str], fields: Sequence[str]
    ) -> list[Record]:
        """Records whose property equals one of the keys, by batch read with idProperty."""
        self._check_object(object_name)
        schema, properties = self._properties(object_name, [key_field, *fields])
        models = self._models(object_name)
        api = self.client.apis.batch(object_name)
        unique = list(dict.fromkeys(k for k in keys if k))
        found: list[Record] = []
        for start in range(0, len(unique), BATCH_LIMIT):
            chunk = unique[start : start + BATCH_LIMIT]
            request = models.BatchReadInputSimplePublicObjectId(
                inputs=[models.SimplePublicObjectId(id=key) for key in chunk],
                properties=properties,
                properties_with_history=[],
                id_property=None if key_field == "hs_object_id" else key_field,
            )
            response = self.client.call(
                f"batch read {object_name}", self._batch_read(api, request), idempotent=True
            )
            for row in (response or {}).get("results") or []:
                found.append(self._to_record(object_name, schema, row))
        return found

    def _batch_read(self, api: Any, request: Any) -> Any:
        def run() -> Any:
            return api.read_with_http_info(
                batch_read_input_simple_public_object_id=request,
                archived=False,
                _request_timeout=self.client.timeout,
                _preload_content=False,
            )

        return run

    def read_deleted(self, object_name: str, *, since: datetime | None) -> list[Record]:
        """Archived records (archived after `since`): search never returns them.

        HubSpot's list endpoint is the only way to see archived records and it cannot filter
        by time, so this pages the whole archive (100 a call) and filters here; the cost grows
        with the archive, which is why the runner asks only once per run.
        """
        self._check_object(object_name)
        api = self.client.apis.basic(object_name)
        found: list[Record] = []
        after: str | None = None
        while True:
            response = self.client.call(
                f"archived {object_name}",
                self._list_page(api, after, ["hs_object_id"], archived=True),
                idempotent=True,
            )
            for row in (response or {}).get("results") or []:
                stamp = row.get("archivedAt") or row.get("updatedAt")
                moment = parse_datetime(str(stamp)) if stamp else EPOCH
                if since is not None and moment <= since:
                    continue
                record_id = str(row["id"])
                found.append(
                    Record(
                        id=record_id,
                        object_name=object_name,
                        values={},
                        modified_at=moment,
                        deleted=True,
                        sort_key=_sort_key(record_id),
                    )
                )
            after = (((response or {}).get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return found

    def read_events(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        contact_id: str | None = None,
        event_type: str | None = None,
    ) -> Iterator[EventPage]:
        """Contact behaviour events after `since`, oldest first (see hubspot/events.py)."""
        from leadbridge.connectors.hubspot.events import read_events

        return read_events(
            self.client,
            since=since,
            until=until,
            contact_id=contact_id,
            event_type=event_type,
        )

    # -- writes -----------------------------------------------------------------------------

    def write(self, object_name: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Batch writes of 100; per-input outcomes (objectWriteTraceId), one result per op."""
        self._check_object(object_name)
        groups: dict[tuple[str, str | None], list[int]] = defaultdict(list)
        for index, op in enumerate(ops):
            if op.kind == "upsert" and (not op.key_field or op.key_value is None):
                raise ValueError(f"upsert op {op.ref!r} needs key_field and key_value")
            if op.kind in ("update", "delete") and not op.record_id:
                raise ValueError(f"{op.kind} op {op.ref!r} needs record_id")
            groups[(op.kind, op.key_field if op.kind == "upsert" else None)].append(index)
        results: dict[int, WriteResult] = {}
        for (kind, _key), indexes in groups.items():
            for start in range(0, len(indexes), BATCH_LIMIT):
                chunk = indexes[start : start + BATCH_LIMIT]
                outcomes = self._write_batch(object_name, kind, [ops[i] for i in chunk])
                results.update(zip(chunk, outcomes, strict=True))
        return [results[i] for i in range(len(ops))]

    def _write_batch(self, object_name: str, kind: str, ops: list[WriteOp]) -> list[WriteResult]:
        method, argument, idempotent = _BATCH_CALLS[kind]
        call = getattr(self.client.apis.batch(object_name), method)
        # The trace id is what makes HubSpot answer per input (207) instead of failing the batch.
        trace = {f"lb-{i}": op for i, op in enumerate(ops)}
        # Plain JSON bodies: the SDK serialises dicts as they are, and building its model
        # objects (each with its own Configuration) cost more CPU than the HTTP call.
        body = {"inputs": [_batch_input(kind, t, op) for t, op in trace.items()]}
        timeout = self.client.timeout
        try:
            response = self.client.call(
                f"batch {kind} {object_name}",
                lambda: call(**{argument: body}, _request_timeout=timeout, _preload_content=False),
                # A create that timed out may have happened: never repeat it blindly.
                idempotent=idempotent,
            )
            if kind == "delete":
                return [WriteResult(ref=op.ref, ok=True, record_id=op.record_id) for op in ops]
        except LeadbridgeError as error:
            if error.recovery in (Recovery.STOP, Recovery.REAUTHENTICATE):
                raise
            if isinstance(error, DataError) and len(ops) > 1:
                # A whole-batch rejection (e.g. 409 for one duplicate): split to find the culprit
                # and keep the others.
                middle = len(ops) // 2
                return self._write_batch(object_name, kind, ops[:middle]) + self._write_batch(
                    object_name, kind, ops[middle:]
                )
            return [
                WriteResult(ref=op.ref, ok=False, record_id=op.record_id, error=error) for op in ops
            ]
        return self._outcomes(kind, trace, response or {})

    @staticmethod
    def _outcomes(
        kind: str, trace: Mapping[str, WriteOp], body: Mapping[str, Any]
    ) -> list[WriteResult]:
        by_trace: dict[str, WriteResult] = {}
        for row in body.get("results") or []:
            op = trace.get(str(row.get("objectWriteTraceId", "")))
            if op is not None:
                created = bool(row.get("new", kind == "create"))
                by_trace[op.ref] = WriteResult(
                    ref=op.ref, ok=True, record_id=str(row.get("id")), created=created
                )
        for problem in body.get("errors") or []:
            context = problem.get("context") or {}
            error = classify(status=400, body=problem)
            for t in context.get("objectWriteTraceId") or []:
                op = trace.get(str(t))
                if op is not None:
                    by_trace[op.ref] = WriteResult(
                        ref=op.ref, ok=False, record_id=op.record_id, error=error
                    )
        results = []
        for op in trace.values():
            outcome = by_trace.get(op.ref)
            if outcome is None:
                outcome = WriteResult(
                    ref=op.ref,
                    ok=False,
                    record_id=op.record_id,
                    error=DataError(
                        "HubSpot returned no outcome for this record",
                        hint="retried on the next run",
                        code="NO_OUTCOME",
                    ),
                )
            results.append(outcome)
        return results

    def budget(self) -> ApiBudget:
        """Calls made and the portal's daily usage against leadbridge's share."""
        return self.client.budget()


__all__ = ["HubSpotConnector"]
