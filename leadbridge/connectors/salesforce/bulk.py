"""Bulk API 2.0 for the Salesforce connector: big reads as queryAll jobs, big writes as ingest jobs.

When a read switches. Every read starts on REST. The first page's `totalSize` tells how large the
window is at no extra cost; only when it exceeds `bulk_read_threshold` does the rest of the window
move to one Bulk queryAll job (the first page is still yielded as read). A `SELECT COUNT()` up
front would decide before the first page, but it costs a call on every run, and most runs are
small incremental ones where it buys nothing: the first page already carries the same number.

Cursor safety on Bulk reads. Bulk queries take no ORDER BY and return rows in no promised order,
so no page of a job can carry a checkpoint by itself: a row of a later page may sort before it.
While the job's rows fit `BulkOptions.sort_limit`, they are collected and sorted client-side by
(SystemModstamp, Id), then yielded exactly as on REST: oldest first, each page with the cursor of
its last record. A larger job passes through page by page, unsorted, every page carrying the
cursor the job started from and only the last page the job's maximum: a run stopped inside such
a job resumes from its start and repeats it, but never skips a record.

Writes. A call's update, upsert or delete ops of one kind beyond `bulk_write_threshold` go to an
ingest job. Result rows come back in no promised order and are matched to ops by a column the
connector controls and Salesforce echoes: the Id for update and delete, the external id for
upsert. An insert has no such column (a created row echoes only the values sent, which need not
be unique), so creates always go through sObject Collections. An op whose key repeats within the
call is left to Collections too, after the job, so the later op still wins. A job that ends
Failed or Aborted, or whose outcome cannot be read, gives every op a classified error (the ops
are idempotent, so the engine retries them) instead of an exception that would lose the batch.

Every HTTP request of a job (create, upload, close, each poll, each result page) is one
SalesforceClient.call(), the one place that retries, counts and budgets. Polls start at a short
interval and back off.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.format import format_soql

from leadbridge.connectors.base import (
    CanonicalValue,
    Cursor,
    FieldSchema,
    FieldType,
    ObjectSchema,
    Page,
    Record,
    WriteOp,
    WriteResult,
)
from leadbridge.connectors.salesforce.client import SalesforceClient
from leadbridge.connectors.salesforce.errors import classify_code
from leadbridge.connectors.salesforce.values import format_datetime, to_canonical
from leadbridge.errors import LeadbridgeError, Recovery, SetupError, TransientError

# Bulk CSV: an empty cell leaves a field unchanged; this sets it to null.
CSV_NULL = "#N/A"
_DONE = ("JobComplete", "Failed", "Aborted")
_CODE = re.compile(r"^([A-Z][A-Z0-9_]+)\s*:")

Collections = Callable[[list[WriteOp]], list[WriteResult]]


@dataclass(frozen=True)
class BulkOptions:
    """How Bulk 2.0 jobs are polled, paged and bounded."""

    poll_interval: float = 1.0
    poll_backoff: float = 1.5
    poll_max_interval: float = 15.0
    job_timeout: float = 3600.0
    result_page_records: int = 50_000
    page_records: int = 2000
    sort_limit: int = 200_000
    upload_bytes: int = 90 * 1024 * 1024


def csv_to_canonical(text: str, field: FieldSchema | None) -> CanonicalValue:
    """Convert one Bulk CSV cell into its canonical value (an empty cell is null)."""
    if text == "":
        return None
    if field is None:
        return text
    if field.type is FieldType.BOOLEAN:
        return text.strip().lower() == "true"
    if field.type is FieldType.INTEGER:
        return int(Decimal(text))
    return to_canonical(text, field)


def canonical_to_csv(value: CanonicalValue) -> str:
    """Render a canonical value as a Bulk CSV cell (null and "" become #N/A)."""
    if value is None or value == "":
        return CSV_NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return ";".join(sorted(value))
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def record_from_csv(object_name: str, schema: ObjectSchema, row: Mapping[str, str]) -> Record:
    """Build a Record from one query-result row, like the REST path does from JSON."""
    values: dict[str, CanonicalValue] = {}
    for name, text in row.items():
        # REST nests relationship fields (Owner.Name) as objects, which the REST path skips.
        if "." not in name:
            values[name] = csv_to_canonical(text, schema.field(name))
    modified = values.get("SystemModstamp")
    if not isinstance(modified, datetime):
        raise TransientError(
            f"a Bulk result row of {object_name} has no SystemModstamp",
            hint="Salesforce returned an unexpected result; retried later",
        )
    master = values.get("MasterRecordId")
    return Record(
        id=str(values["Id"]),
        object_name=object_name,
        values=values,
        modified_at=modified,
        deleted=values.get("IsDeleted") is True,
        merged_into=str(master) if master else None,
    )


def row_error(text: str) -> LeadbridgeError:
    """Classify an `sf__Error` cell: `CODE:message:fields --`."""
    body = text.strip().removesuffix("--").strip()
    match = _CODE.match(body)
    if match is None:
        return classify_code("", body or "rejected by the Bulk job")
    message, _, fields = body[match.end() :].rpartition(":")
    if not message:
        message, fields = fields, ""
    message = message.strip()
    if fields.strip():
        message = f"{message} (fields: {fields.strip()})"
    return classify_code(match.group(1), message)


def job_error(status: Mapping[str, Any]) -> LeadbridgeError:
    """The error every record of a Failed or Aborted job gets."""
    state = str(status.get("state", "Failed"))
    message = str(status.get("errorMessage") or f"the Bulk job ended {state}")
    if "Field name not found" in message:
        return SetupError(
            message,
            hint="the field does not exist or is invisible: run `leadbridge setup apply` or "
            "grant field-level security to the integration user",
            code="INVALID_FIELD",
        )
    match = _CODE.match(message)
    if match is not None:
        return classify_code(match.group(1), message, status=500)
    return TransientError(
        message,
        hint="the Bulk job did not finish; its records are retried on the next run",
        code=f"BULK_JOB_{state.upper()}",
    )


def _send(sf: Salesforce, method: str, path: str, **kwargs: Any) -> requests.Response:
    # simple-salesforce's bulk2 helpers bundle create, upload, close and a sleeping poll loop
    # into one method and drop Sforce-Limit-Info. Its request function, which every REST helper
    # uses, sends exactly one request, re-signs in on 401 (when it signed in itself) and records
    # the usage header; URL and headers are read from `sf` per request, never a stale session.
    response: requests.Response = sf._call_salesforce(
        method, sf.bulk2_url + path, name=path, **kwargs
    )
    return response


def _parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


class BulkPath:
    """Bulk 2.0 reads and writes of one connector, all through its SalesforceClient."""

    def __init__(
        self,
        *,
        client: SalesforceClient,
        read_threshold: int,
        write_threshold: int,
        options: BulkOptions,
    ) -> None:
        self.client = client
        self.read_threshold = read_threshold
        self.write_threshold = write_threshold
        self.options = options

    # -- requests ---------------------------------------------------------------------------

    def _request(
        self, what: str, method: str, path: str, *, idempotent: bool, **kwargs: Any
    ) -> requests.Response:
        return self.client.call(
            what,
            lambda sf: _send(sf, method, path, **kwargs),
            idempotent=idempotent,
        )

    def _json(self, what: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        # Every job request is safe to repeat: a duplicate create leaves an empty job that
        # expires, a repeated poll or download reads again, and close is checked by the poll.
        response = self._request(what, method, path, idempotent=True, **kwargs)
        body = response.json() if response.content else {}
        return body if isinstance(body, dict) else {}

    def _wait(self, what: str, kind: str, job_id: str) -> dict[str, Any]:
        options = self.options
        delay = options.poll_interval
        deadline = time.monotonic() + options.job_timeout
        while True:
            time.sleep(delay)
            status = self._json(f"{what} status", "GET", f"{kind}/{job_id}")
            if status.get("state") in _DONE:
                return status
            if time.monotonic() >= deadline:
                self._abort_quietly(what, kind, job_id)
                raise TransientError(
                    f"the Bulk job {job_id} did not finish within {options.job_timeout:.0f} s",
                    hint="Salesforce is busy; the job was aborted and is retried on the next run",
                    code="BULK_JOB_TIMEOUT",
                )
            delay = min(delay * options.poll_backoff, options.poll_max_interval)

    def _abort_quietly(self, what: str, kind: str, job_id: str) -> None:
        # The job may have finished meanwhile; either way it applied only idempotent ops.
        with contextlib.suppress(LeadbridgeError):
            self._json(f"{what} abort", "PATCH", f"{kind}/{job_id}", json={"state": "Aborted"})

    # -- reads ------------------------------------------------------------------------------

    def wants_read(self, first: Mapping[str, Any]) -> bool:
        """Whether the rest of a REST query should move to Bulk, from its first page."""
        size = int(first.get("totalSize") or 0)
        return not first.get("done", True) and size > self.read_threshold

    def read_changes(
        self,
        object_name: str,
        *,
        schema: ObjectSchema,
        selected: Sequence[str],
        after: Cursor | None,
        skip: set[str] | None = None,
    ) -> Iterator[Page]:
        """Changed and deleted records after the cursor, through one queryAll job.

        `skip` holds the ids the REST page before the hand-over already returned at the
        cursor's stamp: Id order is the server's, so they are matched by id, not compared.
        Page cursors never name an id (this job's order is not the server's): mid-job they
        claim only earlier stamps, and the last page claims its whole stamp ("~").
        """
        # Names were checked by the connector; values only ever go through format_soql.
        soql = f"SELECT {', '.join(selected)} FROM {object_name}"  # noqa: S608
        if after is not None:
            soql += format_soql(
                " WHERE SystemModstamp >= {}", after.modified_at.replace(microsecond=0)
            )
        held = after or Cursor()
        size = self.options.page_records
        buffered: list[Record] = []
        pending: list[Record] | None = None
        top = held
        for rows in self._query_pages(object_name, soql):
            records = [record_from_csv(object_name, schema, row) for row in rows]
            if after is not None:
                records = [
                    r
                    for r in records
                    if r.modified_at > after.modified_at
                    or (
                        r.modified_at == after.modified_at
                        and after.tie_break != "~"
                        and r.id not in (skip or set())
                    )
                ]
            top = max([top, *(r.cursor for r in records)])
            if pending is None and len(buffered) + len(records) <= self.options.sort_limit:
                buffered.extend(records)
                continue
            if pending is None:
                # Too big to sort: from here on only the job's last page moves the cursor.
                chunks = [buffered[i : i + size] for i in range(0, len(buffered), size)]
                yield from (Page(records=tuple(chunk), cursor=held) for chunk in chunks)
                buffered, pending = [], []
            if pending:
                yield Page(records=tuple(pending), cursor=held)
            pending = records
        final = Cursor(modified_at=top.modified_at, tie_break="~")
        if pending is not None:
            yield Page(records=tuple(pending), cursor=final)
            return
        if not buffered:
            yield Page(records=(), cursor=max(final, held))
            return
        # Oldest last, so each page is popped off the end: a page handed out is no longer held
        # here, and the caller can let it go while the rest is still being paged.
        buffered.sort(key=lambda record: record.cursor, reverse=True)
        while buffered:
            chunk = [buffered.pop() for _ in range(min(size, len(buffered)))]
            stamp = Cursor(modified_at=chunk[-1].modified_at)
            yield Page(records=tuple(chunk), cursor=max(stamp, held) if buffered else final)

    def _query_pages(self, object_name: str, soql: str) -> Iterator[list[dict[str, str]]]:
        what = f"bulk query {object_name}"
        job = self._json(
            what,
            "POST",
            "query",
            json={
                "operation": "queryAll",
                "query": soql,
                "contentType": "CSV",
                "columnDelimiter": "COMMA",
                "lineEnding": "LF",
            },
        )
        job_id = _job_id(job)
        status = self._wait(what, "query", job_id)
        if status.get("state") != "JobComplete":
            raise job_error(status)
        locator = ""
        while True:
            params: dict[str, Any] = {"maxRecords": self.options.result_page_records}
            if locator:
                params["locator"] = locator
            response = self._request(
                f"{what} results",
                "GET",
                f"query/{job_id}/results",
                idempotent=True,
                params=params,
                headers={"Accept": "text/csv"},
            )
            yield _parse_csv(response.content.decode("utf-8"))
            locator = response.headers.get("Sforce-Locator", "")
            if not locator or locator == "null":
                return

    # -- writes -----------------------------------------------------------------------------

    def wants_write(self, kind: str, count: int) -> bool:
        """Whether one call's ops of one kind go to an ingest job (never creates, see above)."""
        return kind != "create" and count > self.write_threshold

    def write(
        self,
        object_name: str,
        *,
        kind: str,
        key_field: str | None,
        ops: Sequence[WriteOp],
        collections: Collections,
    ) -> list[WriteResult]:
        """Write ops of one kind through ingest jobs; one result per op, in op order."""
        key_column = key_field if kind == "upsert" and key_field else "Id"
        seen: set[str] = set()
        unique: list[int] = []
        repeats: list[int] = []
        for index, op in enumerate(ops):
            key = _key(op, kind)
            (repeats if key in seen else unique).append(index)
            seen.add(key)
        results: list[WriteResult | None] = [None] * len(ops)
        for chunk in self._jobs(ops, unique):
            outcomes = self._ingest(object_name, kind, key_column, [ops[i] for i in chunk])
            for index in chunk:
                results[index] = outcomes[_key(ops[index], kind)]
        if repeats:
            later = collections([ops[i] for i in repeats])
            for index, outcome in zip(repeats, later, strict=True):
                results[index] = outcome
        return [r for r in results if r is not None]

    def _jobs(self, ops: Sequence[WriteOp], indexes: list[int]) -> Iterator[list[int]]:
        # One upload holds at most ~100 MB of CSV; bigger calls take several jobs.
        chunk: list[int] = []
        size = 0
        for index in indexes:
            values = ops[index].values.values()
            row_size = sum(len(canonical_to_csv(v)) + 3 for v in values) + 64
            if chunk and size + row_size > self.options.upload_bytes:
                yield chunk
                chunk, size = [], 0
            chunk.append(index)
            size += row_size
        if chunk:
            yield chunk

    def _ingest(
        self, object_name: str, kind: str, key_column: str, ops: list[WriteOp]
    ) -> dict[str, WriteResult]:
        what = f"bulk {kind} {object_name}"
        data = _ingest_csv(kind, key_column, ops)
        job: dict[str, Any] = {
            "object": object_name,
            "operation": kind,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        }
        if kind == "upsert":
            job["externalIdFieldName"] = key_column
        job_id = ""
        try:
            job_id = _job_id(self._json(what, "POST", "ingest", json=job))
            self._request(
                f"{what} upload",
                "PUT",
                f"ingest/{job_id}/batches",
                # Update, upsert and delete are idempotent, so a repeated upload is harmless.
                idempotent=True,
                data=data.encode("utf-8"),
                headers={"Content-Type": "text/csv"},
            )
            self._close(what, job_id)
            status = self._wait(what, "ingest", job_id)
            if status.get("state") != "JobComplete":
                error = job_error(status)
                return {_key(op, kind): _failed(op, error) for op in ops}
            return self._outcomes(what, kind, key_column, job_id, status, ops)
        except LeadbridgeError as error:
            if error.recovery in (Recovery.STOP, Recovery.REAUTHENTICATE):
                raise
            if job_id:
                self._abort_quietly(what, "ingest", job_id)
            return {_key(op, kind): _failed(op, error) for op in ops}

    def _close(self, what: str, job_id: str) -> None:
        try:
            self._json(
                f"{what} close", "PATCH", f"ingest/{job_id}", json={"state": "UploadComplete"}
            )
        except LeadbridgeError as error:
            # A close repeated after a lost answer finds the job closed; the poll tells the rest.
            if error.code != "INVALIDJOBSTATE":
                raise

    def _outcomes(
        self,
        what: str,
        kind: str,
        key_column: str,
        job_id: str,
        status: Mapping[str, Any],
        ops: list[WriteOp],
    ) -> dict[str, WriteResult]:
        by_key = {_key(op, kind): op for op in ops}
        # Unknown counts read as "maybe": only result sets that may hold rows are fetched (a
        # call each); successes come last, so a row that also failed in a repeated upload counts.
        processed = int(status.get("numberRecordsProcessed") or 0) or len(ops)
        failed = int(status.get("numberRecordsFailed", 1) or 0)
        wanted = (
            ("unprocessedrecords", processed < len(ops)),
            ("failedResults", failed > 0),
            ("successfulResults", processed > failed),
        )
        outcomes: dict[str, WriteResult] = {}
        for results, needed in wanted:
            if not needed:
                continue
            response = self._request(
                f"{what} {results}",
                "GET",
                f"ingest/{job_id}/{results}",
                idempotent=True,
                headers={"Accept": "text/csv"},
            )
            for row in _parse_csv(response.content.decode("utf-8")):
                op = by_key.get(row.get(key_column, ""))
                if op is not None:
                    outcomes[_key(op, kind)] = _row_outcome(op, kind, results, row)
        return {
            key: outcomes.get(key)
            or _failed(
                op,
                TransientError(
                    "Salesforce reported no outcome for this record in the Bulk job",
                    hint="retried on the next run",
                    code="BULK_NO_OUTCOME",
                ),
            )
            for key, op in by_key.items()
        }


def _row_outcome(op: WriteOp, kind: str, results: str, row: Mapping[str, str]) -> WriteResult:
    if results == "successfulResults":
        created = row.get("sf__Created", "").lower() == "true"
        return WriteResult(
            ref=op.ref, ok=True, record_id=row.get("sf__Id") or op.record_id, created=created
        )
    if results == "failedResults":
        error = row_error(row.get("sf__Error", ""))
        if kind == "delete" and error.code == "ENTITY_IS_DELETED":
            return WriteResult(ref=op.ref, ok=True, record_id=op.record_id)
        return _failed(op, error)
    unprocessed = TransientError(
        "the Bulk job did not process this record",
        hint="retried on the next run",
        code="BULK_UNPROCESSED",
    )
    return _failed(op, unprocessed)


def _job_id(job: Mapping[str, Any]) -> str:
    job_id = job.get("id")
    if not job_id:
        raise TransientError(
            "Salesforce created a Bulk job without an id", hint="retried on the next run"
        )
    return str(job_id)


def _key(op: WriteOp, kind: str) -> str:
    return str(op.key_value if kind == "upsert" else op.record_id)


def _failed(op: WriteOp, error: LeadbridgeError) -> WriteResult:
    return WriteResult(ref=op.ref, ok=False, record_id=op.record_id, error=error)


def _ingest_csv(kind: str, key_column: str, ops: list[WriteOp]) -> str:
    if kind == "delete":
        header = ["Id"]
    else:
        names = sorted({n for op in ops for n in op.values if n.lower() != key_column.lower()})
        header = [key_column, *names]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for op in ops:
        row = [_key(op, kind)]
        for name in header[1:]:
            row.append(canonical_to_csv(op.values[name]) if name in op.values else "")
        writer.writerow(row)
    return out.getvalue()
