"""REST routes for API discovery, limits and SOQL (query, queryAll, query more, Tooling query)."""

from __future__ import annotations

import re

from starlette.responses import Response

from leadbridge.sandbox.salesforce.errors import bad_request
from leadbridge.sandbox.salesforce.org import Org
from leadbridge.sandbox.salesforce.query_service import QueryService
from leadbridge.sandbox.salesforce.routes_common import ApiCall, Route, json_response, route

_BATCH_SIZE = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)
_RELEASES = {
    "55.0": "Summer '22",
    "56.0": "Winter '23",
    "57.0": "Spring '23",
    "58.0": "Summer '23",
    "59.0": "Winter '24",
    "60.0": "Spring '24",
    "61.0": "Summer '24",
    "62.0": "Winter '25",
}
MIN_VERSION = 31.0


def versions(max_version: str) -> list[dict[str, str]]:
    """GET /services/data/: every version up to the emulator's, oldest first."""
    top = float(max_version)
    result = []
    version = MIN_VERSION
    while version <= top + 1e-9:
        text = f"{version:.1f}"
        result.append(
            {
                "label": _RELEASES.get(text, "Release"),
                "url": f"/services/data/v{text}",
                "version": text,
            }
        )
        version += 1.0
    return result


def batch_size(call: ApiCall) -> int | None:
    """The batchSize of `Sforce-Query-Options`, if the client sent one."""
    header = call.headers.get("sforce-query-options", "")
    match = _BATCH_SIZE.search(header)
    return int(match.group(1)) if match else None


class QueryRoutes:
    """Discovery, limits and query endpoints."""

    def __init__(self, *, org: Org, queries: QueryService) -> None:
        self.org = org
        self.queries = queries

    def routes(self) -> list[Route]:
        """The route table (paths after /services/data/vXX.X, without trailing slash)."""
        return [
            route("GET", r"", self.resources),
            route("GET", r"/limits", self.limits),
            route("GET", r"/(query|queryAll)", self.query),
            route("GET", r"/(query|queryAll)/(01g[A-Za-z0-9]+-\d+)", self.more),
            route("GET", r"/tooling/query", self.tooling_query),
            route("GET", r"/tooling/query/(01g[A-Za-z0-9]+-\d+)", self.tooling_more),
        ]

    def resources(self, call: ApiCall) -> Response:
        """GET /services/data/vXX.X/: the resource directory."""
        base = f"/services/data/v{call.extra['version']}"
        names = ["sobjects", "query", "queryAll", "limits", "composite", "tooling", "jobs/ingest"]
        body = {name: f"{base}/{name}" for name in names}
        body["jobs/query"] = f"{base}/jobs/query"
        return json_response(body)

    def limits(self, call: ApiCall) -> Response:
        """GET /limits/."""
        return json_response(self.org.limits.body())

    def _soql(self, call: ApiCall) -> str:
        soql = call.query.get("q")
        if not soql:
            raise bad_request("MALFORMED_QUERY", "A query string has to be specified")
        return soql

    def query(self, call: ApiCall) -> Response:
        """GET /query?q= and /queryAll?q=: the first page."""
        body = self.queries.query(
            self._soql(call),
            user_id=call.user_id,
            include_deleted=call.params[0] == "queryAll",
            batch_size=batch_size(call),
        )
        return json_response(body)

    def more(self, call: ApiCall) -> Response:
        """GET nextRecordsUrl (extra query parameters are ignored)."""
        return json_response(
            self.queries.more(call.params[1], batch_size=batch_size(call), endpoint=call.params[0])
        )

    def tooling_query(self, call: ApiCall) -> Response:
        """GET /tooling/query?q= over CustomField."""
        body = self.queries.query(
            self._soql(call),
            user_id=call.user_id,
            include_deleted=False,
            batch_size=batch_size(call),
            tooling=True,
        )
        return json_response(body)

    def tooling_more(self, call: ApiCall) -> Response:
        """GET a Tooling nextRecordsUrl."""
        return json_response(
            self.queries.more(call.params[0], batch_size=batch_size(call), endpoint="query")
        )
