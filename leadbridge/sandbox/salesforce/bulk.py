"""Bulk API 2.0 job models: ingest (CSV in, per-row results out) and query (paged CSV)."""

from __future__ import annotations

import base64
import csv
import io
import math
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from leadbridge.sandbox.salesforce.errors import SalesforceError, bad_request, not_found
from leadbridge.sandbox.salesforce.ids import to_18
from leadbridge.sandbox.salesforce.org import Org
from leadbridge.sandbox.salesforce.values import format_datetime, to_csv

T = TypeVar("T")

# (soql, include_deleted, user_id) -> (column names, rows of canonical values).
QueryRunner = Callable[[str, bool, str], tuple[Sequence[str], Iterable[Sequence[Any]]]]

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
INGEST_OPERATIONS = frozenset({"insert", "update", "upsert", "delete", "hardDelete"})
_FROM_RE = re.compile(r"\bFROM\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
# Salesforce bills one batch per 10,000 ingested records.
RECORDS_PER_BATCH = 10_000


def _job_state_error(message: str) -> SalesforceError:
    return bad_request("INVALIDJOBSTATE", message)


@dataclass
class _Job:
    id: str
    operation: str
    object: str
    created_by: str
    created: str
    modstamp: str
    column_delimiter: str
    line_ending: str
    state: str
    polls_left: int
    error_message: str | None = None
    processed: int = 0
    failed: int = 0


@dataclass
class IngestJob(_Job):
    """A Bulk 2.0 ingest job and its per-row outcome."""

    external_id_field: str | None = None
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    successes: list[list[str]] = field(default_factory=list)
    failures: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    bad_line_ending: bool = False


@dataclass
class QueryJob(_Job):
    """A Bulk 2.0 query job with its result rows already rendered as CSV cells."""

    query: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass(frozen=True)
class QueryPage:
    """One page of query results plus the header values Salesforce sends with it."""

    csv: str
    number_of_records: int
    locator: str


class BulkService:
    """Bulk 2.0 jobs of one org; states advance one step per status poll."""

    def __init__(
        self,
        org: Org,
        *,
        query_runner: QueryRunner | None = None,
        polls_before_complete: int = 0,
        shuffle_seed: int | None = None,
    ) -> None:
        self.org = org
        self.query_runner = query_runner
        self.polls_before_complete = polls_before_complete
        # Bulk 2.0 promises no order of query rows or ingest results (API-FACTS A4): with a
        # seed, each job's rows come back in a shuffled (but reproducible) order.
        self.shuffle_seed = shuffle_seed
        self.ingest_jobs: dict[str, IngestJob] = {}
        self.query_jobs: dict[str, QueryJob] = {}

    # ---- common --------------------------------------------------------------------------

    def _stamp(self) -> str:
        return format_datetime(self.org.store.now())

    def _format(self, body: Mapping[str, Any]) -> tuple[str, str]:
        delimiter = str(body.get("columnDelimiter") or "COMMA")
        line_ending = str(body.get("lineEnding") or "LF")
        if delimiter not in DELIMITERS:
            raise bad_request("INVALIDJOB", f"Invalid columnDelimiter: {delimiter}")
        if line_ending not in LINE_ENDINGS:
            raise bad_request("INVALIDJOB", f"Invalid lineEnding: {line_ending}")
        return delimiter, line_ending

    def _info(self, job: _Job, kind: str) -> dict[str, Any]:
        info: dict[str, Any] = {
            "id": job.id,
            "operation": job.operation,
            "object": job.object,
            "createdById": job.created_by,
            "createdDate": job.created,
            "systemModstamp": job.modstamp,
            "state": job.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.org.api_version),
            "lineEnding": job.line_ending,
            "columnDelimiter": job.column_delimiter,
        }
        if kind == "ingest":
            assert isinstance(job, IngestJob)
            if job.external_id_field:
                info["externalIdFieldName"] = job.external_id_field
            info["contentUrl"] = (
                f"services/data/v{self.org.api_version}/jobs/ingest/{job.id}/batches"
            )
        return info

    def _status(self, job: _Job, kind: str) -> dict[str, Any]:
        info = self._info(job, kind)
        info.update(
            {
                "jobType": "V2Ingest" if kind == "ingest" else "V2Query",
                "numberRecordsProcessed": job.processed,
                "retries": 0,
                "totalProcessingTime": 0,
            }
        )
        if kind == "ingest":
            info.update(
                {
                    "numberRecordsFailed": job.failed,
                    "apiActiveProcessingTime": 0,
                    "apexProcessingTime": 0,
                }
            )
        else:
            info["isPkChunkingSupported"] = False
        if job.error_message:
            info["errorMessage"] = job.error_message
        return info

    def _set(self, job: _Job, state: str) -> None:
        job.state = state
        job.modstamp = self._stamp()

    # ---- ingest --------------------------------------------------------------------------

    def create_ingest_job(self, body: Mapping[str, Any], *, user_id: str) -> dict[str, Any]:
        """POST /jobs/ingest: an Open job."""
        operation = body.get("operation")
        if operation not in INGEST_OPERATIONS:
            raise bad_request("INVALIDJOB", f"Invalid operation: {operation}")
        obj = self.org.object_def(str(body.get("object") or ""))
        external_id = body.get("externalIdFieldName")
        if operation == "upsert" and not external_id:
            raise bad_request("INVALIDJOB", "External ID was blank for upsert")
        if str(body.get("contentType") or "CSV") != "CSV":
            raise bad_request("INVALIDJOB", "Only CSV content is supported")
        delimiter, line_ending = self._format(body)
        now = self._stamp()
        job = IngestJob(
            id=self.org.ids.allocate("750"),
            operation=str(operation),
            object=obj.name,
            created_by=user_id,
            created=now,
            modstamp=now,
            column_delimiter=delimiter,
            line_ending=line_ending,
            state="Open",
            polls_left=self.polls_before_complete,
            external_id_field=str(external_id) if external_id else None,
        )
        self.ingest_jobs[job.id] = job
        return self._info(job, "ingest")

    def _ingest(self, job_id: str) -> IngestJob:
        job = self.ingest_jobs.get(job_id)
        if job is None:
            raise not_found()
        return job

    def upload(self, job_id: str, data: str | bytes) -> None:
        """PUT /jobs/ingest/{id}/batches: add CSV rows (HTTP 201, no body)."""
        job = self._ingest(job_id)
        if job.state != "Open":
            raise _job_state_error(f"Job {job_id} is not in the Open state")
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        if job.line_ending == "LF" and "\r\n" in text:
            # Salesforce accepts the upload and fails the job when it reads the data.
            job.bad_line_ending = True
        reader = csv.reader(
            io.StringIO(text, newline=""), delimiter=DELIMITERS[job.column_delimiter]
        )
        rows = [row for row in reader if row]
        if not rows:
            return
        header, body = rows[0], rows[1:]
        if job.header and header != job.header:
            raise bad_request("INVALIDBATCH", "The column header does not match earlier data")
        job.header = header
        job.rows.extend(body)

    def _fail(self, job: IngestJob, message: str) -> None:
        job.error_message = message
        job.unprocessed = list(job.rows)
        self._set(job, "Failed")

    def set_ingest_state(self, job_id: str, state: str) -> dict[str, Any]:
        """PATCH /jobs/ingest/{id}: close (UploadComplete) or abort an ingest job."""
        job = self._ingest(job_id)
        if state == "UploadComplete":
            if job.state != "Open":
                raise _job_state_error(f"Job {job_id} is not in the Open state")
            self._set(job, "UploadComplete")
        elif state == "Aborted":
            if job.state not in {"Open", "UploadComplete", "InProgress"}:
                raise _job_state_error(f"Job {job_id} can no longer be aborted")
            job.unprocessed = list(job.rows)
            self._set(job, "Aborted")
        else:
            raise _job_state_error(f"Invalid state transition to {state}")
        return self._info(job, "ingest")

    def get_ingest_job(self, job_id: str) -> dict[str, Any]:
        """GET /jobs/ingest/{id}: job status; each poll moves a closed job one step on."""
        job = self._ingest(job_id)
        if job.state in {"UploadComplete", "InProgress"}:
            if job.polls_left > 0:
                job.polls_left -= 1
                self._set(job, "InProgress")
            else:
                self._process(job)
        return self._status(job, "ingest")

    def run_pending(self) -> None:
        """Finish every closed ingest job now (for callers that never poll)."""
        for job in self.ingest_jobs.values():
            if job.state in {"UploadComplete", "InProgress"}:
                self._process(job)

    def _process(self, job: IngestJob) -> None:
        org = self.org
        if job.bad_line_ending:
            self._fail(
                job,
                "ClientInputError : LineEnding is invalid on user data. Current "
                "LineEnding setting is LF",
            )
            return
        view = org.field_view(job.object, user_id=job.created_by)
        unknown = [c for c in job.header if view.lookup(c) is None]
        if unknown:
            self._fail(job, f"InvalidBatch : Field name not found : {unknown[0]}")
            return
        if job.operation in {"delete", "hardDelete"} and [c.lower() for c in job.header] != ["id"]:
            self._fail(job, "InvalidBatch : The 'delete' batch must contain only ids")
            return
        try:
            org.limits.consume_batches(max(1, math.ceil(len(job.rows) / RECORDS_PER_BATCH)))
        except SalesforceError as err:
            self._fail(job, err.message)
            return
        for row in job.rows:
            values = dict(zip(job.header, row, strict=False))
            try:
                record_id, created = self._apply(job, values)
            except SalesforceError as err:
                given = next((v for k, v in values.items() if k.lower() == "id"), "")
                fields = ":".join(err.fields)
                job.failures.append([given, f"{err.error_code}:{err.message}:{fields} --", *row])
                job.failed += 1
            else:
                job.successes.append([record_id, "true" if created else "false", *row])
            job.processed += 1
        self._set(job, "JobComplete")

    def _apply(self, job: IngestJob, values: dict[str, str]) -> tuple[str, bool]:
        org, user = self.org, job.created_by
        id_key = next((k for k in values if k.lower() == "id"), None)
        if job.operation == "insert":
            return org.create(job.object, values, user_id=user, csv=True), True
        if job.operation == "upsert":
            ext = str(job.external_id_field)
            key = next((k for k in values if k.lower() == ext.lower()), None)
            value = values.pop(key) if key is not None else None
            result = org.upsert(job.object, ext, value or None, values, user_id=user, csv=True)
            return result.id, result.created
        record_id = values.pop(id_key) if id_key is not None else ""
        if not record_id:
            raise bad_request("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        if job.operation == "update":
            org.update(job.object, record_id, values, user_id=user, csv=True)
        else:
            org.delete(job.object, record_id, user_id=user, hard=job.operation == "hardDelete")
        return to_18(record_id), False

    def ingest_results(self, job_id: str, kind: str) -> str:
        """GET successfulResults / failedResults / unprocessedrecords as CSV text."""
        job = self._ingest(job_id)
        if kind == "successfulResults":
            successes = self._unordered(job_id, job.successes)
            return _csv(["sf__Id", "sf__Created", *job.header], successes)
        if kind == "failedResults":
            failures = self._unordered(job_id, job.failures)
            return _csv(["sf__Id", "sf__Error", *job.header], failures)
        if kind.lower() == "unprocessedrecords":
            return _csv(job.header, job.unprocessed)
        raise not_found()

    def _unordered(self, key: str, rows: Iterable[T]) -> list[T]:
        listed = list(rows)
        if self.shuffle_seed is not None:
            random.Random(f"{self.shuffle_seed}:{key}").shuffle(listed)  # noqa: S311  (test data order)
        return listed

    def delete_job(self, job_id: str) -> None:
        """DELETE /jobs/ingest/{id} or /jobs/query/{id} of a finished job."""
        job: _Job | None = self.ingest_jobs.get(job_id) or self.query_jobs.get(job_id)
        if job is None:
            raise not_found()
        if job.state not in {"JobComplete", "Aborted", "Failed", "Open"}:
            raise _job_state_error(f"Job {job_id} is still running")
        self.ingest_jobs.pop(job_id, None)
        self.query_jobs.pop(job_id, None)

    # ---- query ---------------------------------------------------------------------------

    def create_query_job(self, body: Mapping[str, Any], *, user_id: str) -> dict[str, Any]:
        """POST /jobs/query: run the query through the query layer and keep its rows."""
        operation = body.get("operation") or "query"
        if operation not in {"query", "queryAll"}:
            raise bad_request("INVALIDJOB", f"Invalid operation: {operation}")
        query = str(body.get("query") or "")
        match = _FROM_RE.search(query)
        if not query or match is None:
            raise bad_request("MALFORMED_QUERY", "unexpected token: <EOF>")
        if self.query_runner is None:
            raise SalesforceError(
                status=501,
                error_code="NOT_IMPLEMENTED",
                message="No query layer is attached to this sandbox",
            )
        delimiter, line_ending = self._format(body)
        columns, rows = self.query_runner(query, operation == "queryAll", user_id)
        rows = self._unordered(query, rows)
        self.org.limits.consume_query_job()
        now = self._stamp()
        job = QueryJob(
            id=self.org.ids.allocate("750"),
            operation=str(operation),
            object=self.org.object_def(match.group(1)).name,
            created_by=user_id,
            created=now,
            modstamp=now,
            column_delimiter=delimiter,
            line_ending=line_ending,
            state="UploadComplete",
            polls_left=self.polls_before_complete,
            query=query,
            columns=list(columns),
            rows=[[to_csv(v) for v in row] for row in rows],
        )
        self.query_jobs[job.id] = job
        return self._info(job, "query")

    def _query(self, job_id: str) -> QueryJob:
        job = self.query_jobs.get(job_id)
        if job is None:
            raise not_found()
        return job

    def get_query_job(self, job_id: str) -> dict[str, Any]:
        """GET /jobs/query/{id}: each poll moves the job one step towards JobComplete."""
        job = self._query(job_id)
        if job.state in {"UploadComplete", "InProgress"}:
            if job.polls_left > 0:
                job.polls_left -= 1
                self._set(job, "InProgress")
            else:
                job.processed = len(job.rows)
                self._set(job, "JobComplete")
        return self._status(job, "query")

    def abort_query_job(self, job_id: str) -> dict[str, Any]:
        """PATCH /jobs/query/{id} {"state": "Aborted"}."""
        job = self._query(job_id)
        if job.state not in {"UploadComplete", "InProgress"}:
            raise _job_state_error(f"Job {job_id} can no longer be aborted")
        self._set(job, "Aborted")
        return self._info(job, "query")

    def query_results(
        self, job_id: str, *, locator: str | None = None, max_records: int | None = None
    ) -> QueryPage:
        """GET /jobs/query/{id}/results: one page, and the next locator or "null"."""
        job = self._query(job_id)
        if job.state != "JobComplete":
            raise _job_state_error(f"Job {job_id} is not complete")
        start = _decode_locator(locator) if locator and locator != "null" else 0
        if max_records is not None and max_records < 1:
            raise bad_request("INVALIDPARAMETER", "maxRecords must be a positive integer")
        stop = len(job.rows) if max_records is None else min(len(job.rows), start + max_records)
        page = job.rows[start:stop]
        next_locator = _encode_locator(stop) if stop < len(job.rows) else "null"
        return QueryPage(
            csv=_csv(
                job.columns,
                page,
                delimiter=DELIMITERS[job.column_delimiter],
                line_ending=LINE_ENDINGS[job.line_ending],
            ),
            number_of_records=len(page),
            locator=next_locator,
        )


def _encode_locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _decode_locator(locator: str) -> int:
    try:
        padded = locator + "=" * (-len(locator) % 4)
        offset = int(base64.b64decode(padded.encode()).decode())
    except ValueError:
        raise bad_request("INVALIDPARAMETER", f"Invalid locator: {locator}") from None
    if offset < 0:
        raise bad_request("INVALIDPARAMETER", f"Invalid locator: {locator}")
    return offset


def _csv(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    delimiter: str = ",",
    line_ending: str = "\n",
) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=line_ending, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
