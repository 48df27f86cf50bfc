"""REST routes for sObjects: describe, record CRUD and upsert, replication, Collections, Tooling."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from leadbridge.sandbox.salesforce import composite
from leadbridge.sandbox.salesforce.errors import MultipleMatchesError, bad_request, not_found
from leadbridge.sandbox.salesforce.ids import is_valid_id, to_18
from leadbridge.sandbox.salesforce.org import Org, save_result
from leadbridge.sandbox.salesforce.routes_common import (
    ApiCall,
    Route,
    flag,
    json_response,
    no_content,
    route,
)
from leadbridge.sandbox.salesforce.values import (
    format_datetime,
    from_json,
    parse_datetime,
    record_url,
)

_NAME = r"([A-Za-z][A-Za-z0-9_]*)"
_SEGMENT = r"([^/]+)"


def _floor_minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


def _replication_date(call: ApiCall, name: str) -> dt.datetime:
    raw = call.query.get(name)
    if not raw:
        raise bad_request("MISSING_ARGUMENT", f"{name} parameter is required")
    # An unescaped '+' in the offset arrives as a space.
    parsed = parse_datetime(raw.strip().replace(" ", "+"))
    if parsed is None:
        raise bad_request("INVALID_REPLICATION_DATE", f"Invalid {name} date: {raw}")
    return parsed


class SObjectRoutes:
    """sObject, Collections and Tooling sObject endpoints."""

    def __init__(self, *, org: Org) -> None:
        self.org = org

    def routes(self) -> list[Route]:
        """The route table (paths after /services/data/vXX.X, without trailing slash)."""
        return [
            route("GET", r"/sobjects", self.describe_global),
            route("GET,POST", rf"/sobjects/{_NAME}", self.collection),
            route("GET", rf"/sobjects/{_NAME}/describe", self.describe),
            route("GET", rf"/sobjects/{_NAME}/(deleted|updated)", self.replication),
            route("GET,PATCH,DELETE", rf"/sobjects/{_NAME}/{_SEGMENT}", self.record),
            route("GET,PATCH", rf"/sobjects/{_NAME}/{_NAME}/{_SEGMENT}", self.by_external_id),
            route("GET,POST,PATCH,DELETE", r"/composite/sobjects", self.collections),
            route("GET", rf"/composite/sobjects/{_NAME}", self.retrieve_many),
            route("PATCH", rf"/composite/sobjects/{_NAME}/{_NAME}", self.collections_upsert),
            route("POST", r"/tooling/sobjects/CustomField", self.create_custom_field),
        ]

    # ---- describe -----------------------------------------------------------------------------

    def describe_global(self, call: ApiCall) -> Response:
        """GET /sobjects/."""
        return json_response(self.org.describe_global())

    def describe(self, call: ApiCall) -> Response:
        """GET /sobjects/{type}/describe/ as the caller sees it (FLS)."""
        return json_response(self.org.describe(call.params[0], user_id=call.user_id))

    def collection(self, call: ApiCall) -> Response:
        """GET basic info, or POST to create a record (201)."""
        obj = self.org.object_def(call.params[0])
        if call.method == "GET":
            body = {"objectDescribe": obj.summary(self.org.api_version), "recentItems": []}
            return json_response(body)
        values = call.json_object()
        record_id = self.org.create(obj.name, values, user_id=call.user_id)
        return json_response(save_result(record_id), 201)

    # ---- one record ---------------------------------------------------------------------------

    def record(self, call: ApiCall) -> Response:
        """GET (with `fields=`), PATCH (204) or DELETE (204) one record by id."""
        name, record_id = call.params
        if call.method == "GET":
            fields = call.query.get("fields")
            wanted = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
            return json_response(
                self.org.retrieve(name, record_id, user_id=call.user_id, fields=wanted)
            )
        if call.method == "PATCH":
            self.org.update(name, record_id, call.json_object(), user_id=call.user_id)
            return no_content()
        self.org.delete(name, record_id, user_id=call.user_id)
        return no_content()

    def by_external_id(self, call: ApiCall) -> Response:
        """GET or upsert (PATCH) by external id: 201 created, 200 updated, 300 several."""
        name, field, value = call.params
        if call.method == "PATCH":
            result = self.org.upsert(name, field, value, call.json_object(), user_id=call.user_id)
            return json_response(result.body(), 201 if result.created else 200)
        obj = self.org.object_def(name)
        view = self.org.field_view(obj.name, user_id=call.user_id)
        visible = view.fields
        canonical = view.lookup(field)
        if canonical is None or not (visible[canonical].external_id or canonical == "Id"):
            raise not_found(
                f"Provided external ID field does not exist or is not accessible: {field}"
            )
        if canonical == "Id":
            return json_response(self.org.retrieve(obj.name, value, user_id=call.user_id))
        key = from_json(visible[canonical], value)
        matches = sorted(self.org.store.lookup(obj.name, canonical, key))
        if not matches:
            raise not_found()
        if len(matches) > 1:
            urls = [record_url(obj.name, rid, self.org.api_version) for rid in matches]
            raise MultipleMatchesError(field=canonical, value=value, urls=urls, ids=matches)
        return json_response(self.org.retrieve(obj.name, matches[0], user_id=call.user_id))

    # ---- replication --------------------------------------------------------------------------

    def replication(self, call: ApiCall) -> Response:
        """GET /sobjects/{type}/deleted|updated/?start=&end= over the SystemModstamp index."""
        obj = self.org.object_def(call.params[0])
        start = _floor_minute(_replication_date(call, "start"))
        end = _floor_minute(_replication_date(call, "end"))
        if end < start:
            raise bad_request(
                "INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate"
            )
        index = self.org.modstamp_index(obj.name)
        table = self.org.records(obj.name)
        lo, hi = index.bisect_left((start, "")), index.bisect_left((end, ""))
        deleted = call.params[1] == "deleted"
        hits = []
        for position in range(lo, hi):
            stamp, record_id = index[position]
            rec = table.get(record_id)
            if rec is not None and bool(rec.get("IsDeleted")) == deleted:
                hits.append((stamp, record_id))
        latest = format_datetime(end)
        if not deleted:
            return json_response({"ids": [rid for _, rid in hits], "latestDateCovered": latest})
        earliest = index[0][0] if len(index) else start
        body = {
            "deletedRecords": [
                {"id": rid, "deletedDate": format_datetime(stamp)} for stamp, rid in hits
            ],
            "earliestDateAvailable": format_datetime(_floor_minute(earliest)),
            "latestDateCovered": latest,
        }
        return json_response(body)

    # ---- Collections --------------------------------------------------------------------------

    def _records(self, call: ApiCall) -> tuple[list[Mapping[str, Any]], bool]:
        body = call.json_object()
        records = body.get("records")
        if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
            raise bad_request("INVALID_FIELD", "The request body needs a records array of objects")
        return records, bool(body.get("allOrNone", False))

    def collections(self, call: ApiCall) -> Response:
        """POST create, PATCH update, DELETE ?ids= (and GET is not on this path)."""
        if call.method == "DELETE":
            ids = [i for i in (call.query.get("ids") or "").split(",") if i]
            results = composite.delete_records(
                self.org, ids, all_or_none=flag(call.query.get("allOrNone")), user_id=call.user_id
            )
            return json_response(results)
        if call.method == "GET":
            raise not_found()
        records, all_or_none = self._records(call)
        run = composite.create_records if call.method == "POST" else composite.update_records
        return json_response(run(self.org, records, all_or_none=all_or_none, user_id=call.user_id))

    def collections_upsert(self, call: ApiCall) -> Response:
        """PATCH /composite/sobjects/{type}/{ExtIdField}: upsert up to 200 records."""
        records, all_or_none = self._records(call)
        results = composite.upsert_records(
            self.org,
            call.params[0],
            call.params[1],
            records,
            all_or_none=all_or_none,
            user_id=call.user_id,
        )
        return json_response(results)

    def retrieve_many(self, call: ApiCall) -> Response:
        """GET /composite/sobjects/{type}?ids=&fields=: records in order, null when missing."""
        ids = [i for i in (call.query.get("ids") or "").split(",") if i]
        fields = [f for f in (call.query.get("fields") or "").split(",") if f]
        if not ids or not fields:
            raise bad_request("MISSING_ARGUMENT", "ids and fields are required")
        if len(ids) > composite.MAX_RECORDS * 10:
            raise bad_request("EXCEEDED_ID_LIMIT", "too many ids")
        obj = self.org.object_def(call.params[0])
        out: list[Any] = []
        for record_id in ids:
            rec = self.org.get(obj.name, record_id) if is_valid_id(record_id) else None
            if rec is None or rec.get("IsDeleted"):
                out.append(None)
                continue
            out.append(
                self.org.retrieve(obj.name, to_18(record_id), user_id=call.user_id, fields=fields)
            )
        return json_response(out)

    # ---- Tooling ------------------------------------------------------------------------------

    def create_custom_field(self, call: ApiCall) -> Response:
        """POST /tooling/sobjects/CustomField/: 201, invisible until FLS grants Read."""
        body = self.org.create_custom_field(call.json_object(), user_id=call.user_id)
        return json_response(body, 201)
