"""The Salesforce connector: the Connector protocol over simple-salesforce.

Reads are one SOQL query per incremental window, paged by nextRecordsUrl (2,000 a page), so a
read of n changed records costs ceil(n / 2000) calls. Writes go through sObject Collections,
200 records a call. Windows and writes past the bulk thresholds move to Bulk API 2.0 (see
leadbridge.connectors.salesforce.bulk for when and how).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote

from simple_salesforce.api import Salesforce
from simple_salesforce.format import format_soql

from leadbridge.connectors.base import (
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
from leadbridge.connectors.salesforce.bulk import BulkOptions, BulkPath
from leadbridge.connectors.salesforce.client import SalesforceClient
from leadbridge.connectors.salesforce.errors import classify_code
from leadbridge.connectors.salesforce.values import (
    parse_datetime,
    schema_from_describe,
    to_canonical,
    to_json,
)
from leadbridge.errors import LeadbridgeError, Recovery, SetupError

COLLECTION_LIMIT = 200
QUERY_PAGE = 2000
# About 200 e-mails keep the GET URL under Salesforce's 16,384-character limit.
KEYS_PER_QUERY = 200

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$")
_SYSTEM_FIELDS = ("Id", "SystemModstamp", "IsDeleted")


def _check_names(*names: str) -> None:
    for name in names:
        if not _NAME.match(name):
            raise SetupError(
                f"{name!r} is not a valid Salesforce field or object name",
                hint="use API names such as Email or MQL_Score__c in the mapping",
            )


class _ResumeGate:
    """Drops what a cursor already covers, whatever order the server gives equal stamps.

    A cursor (stamp, id) means "up to this id among the records at that stamp, in the order
    the server returned them". How Salesforce collates Ids in ORDER BY is not documented, so
    records at the cursor's stamp are skipped up to the cursor's own id as they arrive, not
    compared; if that id is no longer there (the record changed again), the whole group is
    kept: a repeat is harmless (snapshots drop it), a skip would lose a change.
    """

    def __init__(self, start: Cursor | None) -> None:
        self.start = start
        self._held: list[Record] = []
        self._passed = start is None or not start.tie_break or start.tie_break == "~"
        self._seen: dict[datetime, set[str]] = {}

    def admit(self, records: Iterable[Record]) -> list[Record]:
        """The records of one page that the cursor does not cover."""
        kept: list[Record] = []
        start = self.start
        for record in records:
            if start is not None and record.modified_at < start.modified_at:
                continue
            if start is not None and record.modified_at == start.modified_at:
                if start.tie_break == "~":
                    continue
                if not self._passed:
                    self._held.append(record)
                    if record.id == start.tie_break:
                        self._passed = True
                        self._held = []
                    continue
            if self._held and record.modified_at != (start.modified_at if start else None):
                kept.extend(self.flush())
            kept.append(record)
        for record in kept:
            self._seen.setdefault(record.modified_at, set()).add(record.id)
        return kept

    def flush(self) -> list[Record]:
        """Records held while looking for the cursor's id, which never came: keep them all."""
        held, self._held = self._held, []
        self._passed = True
        return held

    def seen_at(self, moment: datetime) -> set[str]:
        """Ids already returned at one stamp (for a hand-over to a Bulk job)."""
        return set(self._seen.get(moment, set()))


class SalesforceConnector:
    """Salesforce side of leadbridge; every request goes through one SalesforceClient."""

    side: Side = "salesforce"

    def __init__(
        self,
        *,
        client: SalesforceClient,
        bulk_read_threshold: int = 50_000,
        bulk_write_threshold: int = 10_000,
        bulk_options: BulkOptions | None = None,
    ) -> None:
        self.client = client
        self._schemas: dict[str, ObjectSchema] = {}
        self.bulk = BulkPath(
            client=client,
            read_threshold=bulk_read_threshold,
            write_threshold=bulk_write_threshold,
            options=bulk_options or BulkOptions(),
        )

    # -- schema -----------------------------------------------------------------------------

    def describe(self, object_name: str) -> ObjectSchema:
        """The object's fields as the integration user sees them (cached per connector)."""
        _check_names(object_name)
        cached = self._schemas.get(object_name)
        if cached is not None:
            return cached
        raw = self.client.call(
            f"describe {object_name}",
            lambda sf: sf.restful(f"sobjects/{object_name}/describe"),
            idempotent=True,
        )
        schema = schema_from_describe(raw or {})
        self._schemas[object_name] = schema
        return schema

    def forget_schema(self, object_name: str | None = None) -> None:
        """Drop cached describes (after provisioning changed the fields)."""
        if object_name is None:
            self._schemas.clear()
        else:
            self._schemas.pop(object_name, None)

    def ensure_fields(
        self, object_name: str, specs: Sequence[FieldSpec], *, apply: bool
    ) -> ProvisionPlan:
        """Plan (and with apply=True, create) custom fields and grant the integration user."""
        from leadbridge.connectors.salesforce.provision import ensure_fields

        plan = ensure_fields(self, object_name, specs, apply=apply)
        if apply and plan.changes:  # nothing applied: the cached schema still holds
            self.forget_schema(object_name)
        return plan

    # -- reads ------------------------------------------------------------------------------

    def _select(self, object_name: str, fields: Sequence[str]) -> tuple[ObjectSchema, list[str]]:
        _check_names(object_name, *fields)
        schema = self.describe(object_name)
        missing = [f for f in fields if schema.field(f) is None and "." not in f]
        if missing:
            raise SetupError(
                f"{object_name} has no visible field(s) {', '.join(missing)}",
                hint="run `leadbridge setup apply`, or grant the integration user field-level "
                "security on them",
                code="INVALID_FIELD",
            )
        wanted = list(dict.fromkeys([*_SYSTEM_FIELDS, *fields]))
        if schema.field("MasterRecordId") is not None:
            wanted.append("MasterRecordId")
        return schema, list(dict.fromkeys(wanted))

    def _to_record(self, object_name: str, schema: ObjectSchema, raw: Mapping[str, Any]) -> Record:
        values: dict[str, CanonicalValue] = {}
        for name, value in raw.items():
            if name == "attributes" or isinstance(value, dict):
                continue
            values[name] = to_canonical(value, schema.field(name))
        master = raw.get("MasterRecordId")
        return Record(
            id=str(raw["Id"]),
            object_name=object_name,
            values=values,
            modified_at=parse_datetime(str(raw["SystemModstamp"])),
            deleted=bool(raw.get("IsDeleted", False)),
            merged_into=str(master) if master else None,
        )

    def read_changes(
        self,
        object_name: str,
        *,
        cursor: Cursor | None,
        fields: Sequence[str],
        overlap: timedelta = timedelta(0),
    ) -> Iterator[Page]:
        """Changed and deleted records after the cursor, in (SystemModstamp, Id) order."""
        schema, selected = self._select(object_name, fields)
        start = cursor.rewound(overlap) if cursor is not None else None
        # Names were checked against _NAME; values only ever go through format_soql.
        soql = f"SELECT {', '.join(selected)} FROM {object_name}"  # noqa: S608
        if start is not None:
            # Whole seconds in the literal (the form every API version accepts); records at or
            # before the cursor within that second are dropped below.
            soql += format_soql(
                " WHERE SystemModstamp >= {}", start.modified_at.replace(microsecond=0)
            )
        soql += " ORDER BY SystemModstamp, Id"
        headers = {"Sforce-Query-Options": f"batchSize={QUERY_PAGE}"}
        result = self.client.call(
            f"query {object_name}",
            lambda sf: sf.query(soql, include_deleted=True, headers=headers),
            idempotent=True,
        )
        gate = _ResumeGate(start)
        last = start
        first = True
        while True:
            records = gate.admit(
                self._to_record(object_name, schema, raw) for raw in result.get("records", [])
            )
            if records:
                last = records[-1].cursor
            next_url = result.get("nextRecordsUrl")
            exhausted = result.get("done", True) or not next_url
            if exhausted:
                records += gate.flush()
                if records:
                    last = records[-1].cursor
                # The query ran to its end: everything at the newest timestamp was returned.
                done = Cursor(modified_at=last.modified_at, tie_break="~") if last else Cursor()
                yield Page(records=tuple(records), cursor=done)
                return
            yield Page(records=tuple(records), cursor=last or Cursor())
            if first and self.bulk.wants_read(result):
                seen = gate.seen_at(last.modified_at) if last else set()
                yield from self.bulk.read_changes(
                    object_name, schema=schema, selected=selected, after=last, skip=seen
                )
                return
            first = False
            result = self.client.call(
                f"query more {object_name}",
                self._more(next_url, include_deleted=True, headers=headers),
                idempotent=True,
            )

    def read_by_keys(
        self, object_name: str, *, key_field: str, keys: Sequence[str], fields: Sequence[str]
    ) -> list[Record]:
        """Records whose key field equals one of the keys; live records only."""
        schema, selected = self._select(object_name, [key_field, *fields])
        found: list[Record] = []
        unique_keys = list(dict.fromkeys(k for k in keys if k))
        for start in range(0, len(unique_keys), KEYS_PER_QUERY):
            chunk = unique_keys[start : start + KEYS_PER_QUERY]
            soql = format_soql(
                f"SELECT {', '.join(selected)} FROM {object_name} WHERE {key_field} IN {{}}",  # noqa: S608
                chunk,
            )
            found.extend(self._query_all(object_name, schema, soql))
        return found

    def query_records(self, object_name: str, soql: str) -> list[Record]:
        """Run a SOQL query built by the caller (with format_soql) and return its records."""
        return list(self._query_all(object_name, self.describe(object_name), soql))

    def _query_all(self, object_name: str, schema: ObjectSchema, soql: str) -> Iterator[Record]:
        result = self.client.call(
            f"query {object_name}",
            lambda sf: sf.query(soql),
            idempotent=True,
        )
        while True:
            for raw in result.get("records", []):
                yield self._to_record(object_name, schema, raw)
            next_url = result.get("nextRecordsUrl")
            if result.get("done", True) or not next_url:
                return
            result = self.client.call(
                f"query more {object_name}",
                self._more(next_url, include_deleted=False, headers={}),
                idempotent=True,
            )

    def _more(
        self, url: str, *, include_deleted: bool, headers: dict[str, str]
    ) -> Callable[[Salesforce], Any]:
        def request(sf: Salesforce) -> Any:
            return sf.query_more(
                url,
                identifier_is_url=True,
                include_deleted=include_deleted,
                headers=headers,
            )

        return request

    # -- writes -----------------------------------------------------------------------------

    def write(self, object_name: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Write through Collections (200 a call) or Bulk 2.0; one result per op, in op order."""
        _check_names(object_name)
        groups: dict[tuple[str, str | None], list[int]] = defaultdict(list)
        for index, op in enumerate(ops):
            if op.kind == "upsert":
                if not op.key_field or op.key_value is None:
                    raise ValueError(f"upsert op {op.ref!r} needs key_field and key_value")
                _check_names(op.key_field)
            elif op.kind in ("update", "delete") and not op.record_id:
                raise ValueError(f"{op.kind} op {op.ref!r} needs record_id")
            groups[(op.kind, op.key_field if op.kind == "upsert" else None)].append(index)
        results: list[WriteResult | None] = [None] * len(ops)
        for (kind, key_field), indexes in groups.items():
            collections = partial(self._write_collections, object_name, kind, key_field)
            group = [ops[i] for i in indexes]
            if self.bulk.wants_write(kind, len(group)):
                outcomes = self.bulk.write(
                    object_name, kind=kind, key_field=key_field, ops=group, collections=collections
                )
            else:
                outcomes = collections(group)
            for index, outcome in zip(indexes, outcomes, strict=True):
                results[index] = outcome
        return [r for r in results if r is not None]

    def _write_collections(
        self, object_name: str, kind: str, key_field: str | None, ops: list[WriteOp]
    ) -> list[WriteResult]:
        results: list[WriteResult] = []
        for start in range(0, len(ops), COLLECTION_LIMIT):
            chunk = ops[start : start + COLLECTION_LIMIT]
            results.extend(self._write_chunk(object_name, kind, key_field, chunk))
        return results

    def _write_chunk(
        self, object_name: str, kind: str, key_field: str | None, ops: list[WriteOp]
    ) -> list[WriteResult]:
        def body(op: WriteOp) -> dict[str, Any]:
            record: dict[str, Any] = {"attributes": {"type": object_name}}
            record.update({name: to_json(value) for name, value in op.values.items()})
            if kind == "update":
                record["Id"] = op.record_id
            if kind == "upsert":
                assert key_field is not None
                record[key_field] = op.key_value
            return record

        try:
            if kind == "delete":
                ids = ",".join(quote(str(op.record_id), safe="") for op in ops)
                raw = self.client.call(
                    f"delete {object_name}",
                    lambda sf: sf.restful(
                        f"composite/sobjects?ids={ids}&allOrNone=false",
                        method="DELETE",
                    ),
                    idempotent=True,
                )
            else:
                payload = {"allOrNone": False, "records": [body(op) for op in ops]}
                path = "composite/sobjects"
                if kind == "upsert":
                    path += f"/{object_name}/{key_field}"
                raw = self.client.call(
                    f"{kind} {object_name}",
                    lambda sf: _collections(sf, path, kind, payload),
                    # A create that timed out may have happened: never repeat it blindly.
                    idempotent=kind != "create",
                )
        except LeadbridgeError as error:
            if error.recovery in (Recovery.STOP, Recovery.REAUTHENTICATE):
                raise
            return [WriteResult(ref=op.ref, ok=False, error=error) for op in ops]
        items = raw if isinstance(raw, list) else []
        if len(items) != len(ops):
            mismatch = classify_code(
                "", f"Collections answered {len(items)} results for {len(ops)} records", status=500
            )
            return [WriteResult(ref=op.ref, ok=False, error=mismatch) for op in ops]
        return [_result(op, kind, item) for op, item in zip(ops, items, strict=True)]

    def budget(self) -> ApiBudget:
        """Calls made and the org's daily usage against leadbridge's share."""
        return self.client.budget()


def _collections(sf: Salesforce, path: str, kind: str, payload: dict[str, Any]) -> Any:
    method = "POST" if kind == "create" else "PATCH"
    return sf.restful(path, method=method, json=payload)


def _result(op: WriteOp, kind: str, item: Mapping[str, Any]) -> WriteResult:
    if item.get("success"):
        created = bool(item.get("created", kind == "create"))
        return WriteResult(
            ref=op.ref, ok=True, record_id=item.get("id") or op.record_id, created=created
        )
    errors = item.get("errors") or [{}]
    first = errors[0]
    code = str(first.get("statusCode", ""))
    if kind == "delete" and code == "ENTITY_IS_DELETED":
        return WriteResult(ref=op.ref, ok=True, record_id=op.record_id)
    message = str(first.get("message", "rejected"))
    fields = first.get("fields") or []
    if fields:
        message = f"{message} (fields: {', '.join(map(str, fields))})"
    return WriteResult(
        ref=op.ref, ok=False, record_id=op.record_id, error=classify_code(code, message)
    )
