"""REST routes for Bulk API 2.0 ingest and query jobs (CSV in and out)."""

from __future__ import annotations

from starlette.responses import Response

from leadbridge.sandbox.salesforce.bulk import BulkService
from leadbridge.sandbox.salesforce.errors import bad_request
from leadbridge.sandbox.salesforce.routes_common import (
    ApiCall,
    Route,
    json_response,
    no_content,
    route,
)

_JOB = r"([A-Za-z0-9]{15,18})"
CSV_TYPE = "text/csv"


class BulkRoutes:
    """/jobs/ingest and /jobs/query on top of the org's BulkService."""

    def __init__(self, *, bulk: BulkService) -> None:
        self.bulk = bulk

    def routes(self) -> list[Route]:
        """The route table (paths after /services/data/vXX.X, without trailing slash)."""
        return [
            route("POST,GET", r"/jobs/ingest", self.ingest_jobs),
            route("GET,PATCH,DELETE", rf"/jobs/ingest/{_JOB}", self.ingest_job),
            route("PUT", rf"/jobs/ingest/{_JOB}/batches", self.upload),
            route(
                "GET",
                rf"/jobs/ingest/{_JOB}/(successfulResults|failedResults|(?i:unprocessedrecords))",
                self.ingest_results,
            ),
            route("POST,GET", r"/jobs/query", self.query_jobs),
            route("GET,PATCH,DELETE", rf"/jobs/query/{_JOB}", self.query_job),
            route("GET", rf"/jobs/query/{_JOB}/results", self.query_results),
        ]

    def ingest_jobs(self, call: ApiCall) -> Response:
        """POST creates an Open job (200); GET lists jobs."""
        if call.method == "GET":
            records = [self.bulk.get_ingest_job(j) for j in list(self.bulk.ingest_jobs)]
            return json_response({"done": True, "records": records, "nextRecordsUrl": None})
        return json_response(self.bulk.create_ingest_job(call.json_object(), user_id=call.user_id))

    def ingest_job(self, call: ApiCall) -> Response:
        """GET status (advances processing), PATCH state, DELETE (204)."""
        job_id = call.params[0]
        if call.method == "GET":
            return json_response(self.bulk.get_ingest_job(job_id))
        if call.method == "DELETE":
            self.bulk.delete_job(job_id)
            return no_content()
        state = call.json_object().get("state")
        if not isinstance(state, str):
            raise bad_request("INVALIDJOBSTATE", "state is required")
        return json_response(self.bulk.set_ingest_state(job_id, state))

    def upload(self, call: ApiCall) -> Response:
        """PUT CSV data: 201 with no body."""
        self.bulk.upload(call.params[0], call.body)
        return Response(status_code=201)

    def ingest_results(self, call: ApiCall) -> Response:
        """GET successful, failed or unprocessed rows as CSV."""
        text = self.bulk.ingest_results(call.params[0], call.params[1])
        return Response(text, media_type=CSV_TYPE)

    def query_jobs(self, call: ApiCall) -> Response:
        """POST creates a query job; GET lists them."""
        if call.method == "GET":
            records = [self.bulk.get_query_job(j) for j in list(self.bulk.query_jobs)]
            return json_response({"done": True, "records": records, "nextRecordsUrl": None})
        return json_response(self.bulk.create_query_job(call.json_object(), user_id=call.user_id))

    def query_job(self, call: ApiCall) -> Response:
        """GET status, PATCH abort, DELETE (204)."""
        job_id = call.params[0]
        if call.method == "GET":
            return json_response(self.bulk.get_query_job(job_id))
        if call.method == "DELETE":
            self.bulk.delete_job(job_id)
            return no_content()
        state = call.json_object().get("state")
        if state != "Aborted":
            raise bad_request("INVALIDJOBSTATE", f"Invalid state transition to {state}")
        return json_response(self.bulk.abort_query_job(job_id))

    def query_results(self, call: ApiCall) -> Response:
        """GET one CSV page with Sforce-NumberOfRecords and Sforce-Locator."""
        raw_max = call.query.get("maxRecords")
        if raw_max is not None and not raw_max.strip().lstrip("-").isdigit():
            raise bad_request("INVALIDPARAMETER", "maxRecords must be a positive integer")
        page = self.bulk.query_results(
            call.params[0],
            locator=call.query.get("locator") or None,
            max_records=int(raw_max) if raw_max is not None else None,
        )
        headers = {
            "Sforce-NumberOfRecords": str(page.number_of_records),
            "Sforce-Locator": page.locator,
        }
        return Response(page.csv, media_type=CSV_TYPE, headers=headers)
