"""REST and Tooling SOQL: FLS-aware binding, index-driven scans, server-side cursors."""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import secrets
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from leadbridge.sandbox.salesforce.errors import SalesforceError, bad_request
from leadbridge.sandbox.salesforce.org import Org
from leadbridge.sandbox.salesforce.soql import (
    BoundQuery,
    SoqlError,
    bind,
    compile_predicate,
    follows_index_order,
    parse_soql,
    range_bounds,
    sort_key,
)
from leadbridge.sandbox.salesforce.tooling import CUSTOM_FIELD_SCHEMA
from leadbridge.sandbox.salesforce.values import record_url, to_json

Record = Mapping[str, Any]
DEFAULT_BATCH = 2000
MIN_BATCH = 200
CURSOR_TTL = dt.timedelta(minutes=15)
MAX_CURSORS = 200
_INDEX_FIELD = "SystemModstamp"
# Sorts after every id character, so (stamp, _ID_MAX) bounds all keys sharing a stamp.
_ID_MAX = "\U0010ffff"
_FULLNAME_ONE_ROW = (
    "When retrieving results with Metadata or FullName fields, the query qualifications "
    "must specify no more than one row for retrieval. Result size: {size}"
)


def soql_failure(err: SoqlError) -> SalesforceError:
    """A SOQL error as the 400 REST error Salesforce answers."""
    return SalesforceError(status=400, error_code=err.error_code, message=err.message)


@dataclass
class _Cursor:
    object_name: str
    bound: BoundQuery
    records: list[Record]
    tooling: bool
    touched: dt.datetime


class QueryService:
    """Runs SOQL for a user and keeps the remaining pages of large results server-side."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()

    # ---- binding ------------------------------------------------------------------------------

    def _relationship_field(self, object_name: str, relationship: str) -> str | None:
        return self.org.objects[object_name].relationship_field(relationship)

    def _relationships(
        self, user_id: str
    ) -> Callable[[str, tuple[str, ...]], tuple[tuple[str, ...], str] | None]:
        def lookup(object_name: str, path: tuple[str, ...]) -> tuple[tuple[str, ...], str] | None:
            canonical: list[str] = []
            current = [object_name]
            for part in path[:-1]:
                rel_name: str | None = None
                targets: list[str] = []
                for obj in current:
                    visible = self.org.visible_fields(obj, user_id=user_id)
                    name = self._relationship_field(obj, part)
                    if name is None or name not in visible:
                        continue
                    rel_name = rel_name or visible[name].relationship_name
                    targets += [t for t in visible[name].reference_to if t in self.org.objects]
                if rel_name is None or not targets:
                    return None
                canonical.append(rel_name)
                current = list(dict.fromkeys(targets))
            # A polymorphic relationship (Owner -> User|Group) offers the fields of any target.
            for obj in current:
                view = self.org.field_view(obj, user_id=user_id)
                found = view.lookup(path[-1])
                if found is not None:
                    return (*canonical, found), view.types[found]
            return None

        return lookup

    def _resolver(self, object_name: str) -> Callable[[Record, tuple[str, ...]], Any]:
        def resolve(record: Record, path: tuple[str, ...]) -> Any:
            parent = self._walk(object_name, record, path[:-1])
            return None if parent is None else parent[1].get(path[-1])

        return resolve

    def _walk(
        self, object_name: str, record: Record, relationships: Sequence[str]
    ) -> tuple[str, Record] | None:
        current: tuple[str, Record] = (object_name, record)
        for rel in relationships:
            field = self._relationship_field(current[0], rel)
            target = current[1].get(field) if field else None
            found = self.org.find(target) if isinstance(target, str) else None
            if found is None:
                return None
            current = found
        return current

    def bind(self, soql: str, *, user_id: str, tooling: bool = False) -> BoundQuery:
        """Parse and bind a query against what the user can see (INVALID_FIELD otherwise)."""
        try:
            query = parse_soql(soql)
            if tooling:
                schema: dict[str, Mapping[str, str]] = {"CustomField": CUSTOM_FIELD_SCHEMA}
                return bind(query, schema=schema)
            try:
                name = self.org.object_def(query.sobject).name
            except SalesforceError:
                # An empty schema makes bind() answer INVALID_TYPE with Salesforce's message.
                return bind(query, schema={})
            schema = {name: self.org.field_types(name, user_id=user_id)}
            return bind(query, schema=schema, relationships=self._relationships(user_id))
        except SoqlError as err:
            raise soql_failure(err) from None

    # ---- evaluation ---------------------------------------------------------------------------

    def _candidates(
        self, bound: BoundQuery, *, include_deleted: bool
    ) -> tuple[Iterable[Record], bool]:
        """Records to test, and whether they already come in ORDER BY order."""
        org, name = self.org, bound.sobject
        table = org.records(name)
        if not follows_index_order(bound, field=_INDEX_FIELD):
            return org.iter_records(name, include_deleted=include_deleted), False
        index = org.modstamp_index(name)
        lower, upper = range_bounds(bound, field=_INDEX_FIELD, now=org.clock())
        start, stop = 0, len(index)
        if lower is not None and isinstance(lower[0], dt.datetime):
            value, inclusive = lower
            start = (
                index.bisect_left((value, ""))
                if inclusive
                else index.bisect_right((value, _ID_MAX))
            )
        if upper is not None and isinstance(upper[0], dt.datetime):
            value, inclusive = upper
            stop = (
                index.bisect_right((value, _ID_MAX))
                if inclusive
                else index.bisect_left((value, ""))
            )

        def scan() -> Iterator[Record]:
            for _, record_id in index.islice(start, max(start, stop)):
                rec = table.get(record_id)
                if rec is not None and (include_deleted or not rec.get("IsDeleted")):
                    yield rec

        return scan(), True

    def _evaluate(
        self, bound: BoundQuery, *, include_deleted: bool, tooling: bool
    ) -> list[Record] | int:
        q = bound.query
        resolver = self._resolver(bound.sobject) if not tooling else None
        predicate = compile_predicate(bound, resolver=resolver, now=self.org.clock())
        presorted = False
        source: Iterable[Record]
        if tooling:
            source = self.org.custom_field_rows()
        else:
            source, presorted = self._candidates(bound, include_deleted=include_deleted)
        matched: Iterable[Record] = (r for r in source if predicate(r))
        offset = q.offset or 0
        stop = None if q.limit is None else offset + q.limit
        if q.is_count:
            return max(0, sum(1 for _ in itertools.islice(matched, stop)) - offset)
        if q.order_by and not presorted:
            key = sort_key(bound, resolver=resolver)
            matched = (
                heapq.nsmallest(stop, matched, key=key)
                if stop is not None
                else sorted(matched, key=key)
            )
        return list(itertools.islice(matched, offset, stop))

    def rows(
        self, soql: str, *, user_id: str, include_deleted: bool
    ) -> tuple[list[str], Iterator[list[Any]]]:
        """Column names and canonical values (Bulk 2.0 query jobs)."""
        bound = self.bind(soql, user_id=user_id)
        if bound.query.is_count:
            raise bad_request("INVALIDJOB", "Aggregate queries are not supported by Bulk API 2.0")
        found = self._evaluate(bound, include_deleted=include_deleted, tooling=False)
        assert isinstance(found, list)
        resolve = self._resolver(bound.sobject)
        refs = bound.query.fields

        def values() -> Iterator[list[Any]]:
            for rec in found:
                yield [
                    rec.get(ref.path[0]) if len(ref.path) == 1 else resolve(rec, ref.path)
                    for ref in refs
                ]

        return [ref.name for ref in refs], values()

    # ---- REST pages ---------------------------------------------------------------------------

    def query(
        self,
        soql: str,
        *,
        user_id: str,
        include_deleted: bool,
        batch_size: int | None,
        tooling: bool = False,
    ) -> dict[str, Any]:
        """The first page of /query, /queryAll or /tooling/query."""
        bound = self.bind(soql, user_id=user_id, tooling=tooling)
        found = self._evaluate(bound, include_deleted=include_deleted, tooling=tooling)
        if isinstance(found, int):
            return {"totalSize": found, "done": True, "records": []}
        if tooling and len(found) > 1 and any(r.path == ("FullName",) for r in bound.query.fields):
            raise bad_request("MALFORMED_QUERY", _FULLNAME_ONE_ROW.format(size=len(found)))
        cursor = _Cursor(bound.sobject, bound, found, tooling, self.org.clock())
        return self._page(cursor, None, 0, batch_size, "queryAll" if include_deleted else "query")

    def more(self, locator: str, *, batch_size: int | None, endpoint: str) -> dict[str, Any]:
        """A later page from nextRecordsUrl (`01g...-2000`)."""
        cursor_id, _, position = locator.rpartition("-")
        self._expire()
        cursor = self._cursors.get(cursor_id)
        if cursor is None or not position.isdigit():
            raise bad_request("INVALID_QUERY_LOCATOR", "invalid query locator")
        cursor.touched = self.org.clock()
        self._cursors.move_to_end(cursor_id)
        return self._page(cursor, cursor_id, int(position), batch_size, endpoint)

    def _expire(self) -> None:
        now = self.org.clock()
        for key in [k for k, c in self._cursors.items() if now - c.touched > CURSOR_TTL]:
            del self._cursors[key]

    def _page(
        self,
        cursor: _Cursor,
        cursor_id: str | None,
        start: int,
        batch_size: int | None,
        endpoint: str,
    ) -> dict[str, Any]:
        size = (
            DEFAULT_BATCH if batch_size is None else min(DEFAULT_BATCH, max(MIN_BATCH, batch_size))
        )
        stop = min(len(cursor.records), start + size)
        body: dict[str, Any] = {
            "totalSize": len(cursor.records),
            "done": stop >= len(cursor.records),
        }
        if stop < len(cursor.records):
            if cursor_id is None:
                cursor_id = "01g" + secrets.token_hex(8)[:15].upper()
                self._cursors[cursor_id] = cursor
                self._expire()
                while len(self._cursors) > MAX_CURSORS:
                    self._cursors.popitem(last=False)
            prefix = "tooling/" if cursor.tooling else ""
            body["nextRecordsUrl"] = (
                f"/services/data/v{self.org.api_version}/{prefix}{endpoint}/{cursor_id}-{stop}"
            )
        elif cursor_id is not None:
            self._cursors.pop(cursor_id, None)
        body["records"] = [self.serialize(cursor, rec) for rec in cursor.records[start:stop]]
        return body

    def serialize(self, cursor: _Cursor, record: Record) -> dict[str, Any]:
        """One record in query-response shape, with parent relationships nested."""
        version = self.org.api_version
        if cursor.tooling:
            url = f"/services/data/v{version}/tooling/sobjects/{cursor.object_name}/{record['Id']}"
        else:
            url = record_url(cursor.object_name, record["Id"], version)
        body: dict[str, Any] = {"attributes": {"type": cursor.object_name, "url": url}}
        for ref in cursor.bound.query.fields:
            if len(ref.path) == 1:
                body[ref.path[0]] = to_json(record.get(ref.path[0]))
                continue
            self._nest(body, cursor.object_name, record, ref.path)
        return body

    def _nest(
        self, body: dict[str, Any], object_name: str, record: Record, path: tuple[str, ...]
    ) -> None:
        target: dict[str, Any] = body
        current: tuple[str, Record] | None = (object_name, record)
        for rel in path[:-1]:
            if rel in target and target[rel] is None:
                return
            if current is not None:
                current = self._walk(current[0], current[1], [rel])
            if current is None:
                target[rel] = None
                return
            if rel not in target:
                parent_type, parent = current
                target[rel] = {
                    "attributes": {
                        "type": parent_type,
                        "url": record_url(parent_type, parent["Id"], self.org.api_version),
                    }
                }
            target = target[rel]
        if current is not None:
            target[path[-1]] = to_json(current[1].get(path[-1]))
