"""Bulk API 2.0 ingest and query job models."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from leadbridge.sandbox.salesforce.bulk import BulkService
from leadbridge.sandbox.salesforce.errors import SalesforceError
from leadbridge.sandbox.salesforce.org import Org
from tests.sandbox.sf_helpers import lead, make_org

CSV_IN = (
    "FirstName,LastName,Company,Email\n"
    "Ken,Sato,Acme KK,ken@acme.co.jp\n"
    "Amy,,Beta Inc,amy@beta.com\n"
    "Bob,Lee,Gamma,not-an-email\n"
)


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _ingest(bulk: BulkService, user: str, operation: str, data: str, **extra: Any) -> str:
    job = bulk.create_ingest_job(
        {
            "object": "Lead",
            "operation": operation,
            "contentType": "CSV",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
            **extra,
        },
        user_id=user,
    )
    assert job["state"] == "Open"
    assert job["id"].startswith("750")
    bulk.upload(job["id"], data)
    assert bulk.set_ingest_state(job["id"], "UploadComplete")["state"] == "UploadComplete"
    return str(job["id"])


def test_ingest_state_machine_and_results() -> None:
    org, user = make_org()
    bulk = BulkService(org, polls_before_complete=2)
    job_id = _ingest(bulk, user, "insert", CSV_IN)
    states = [bulk.get_ingest_job(job_id)["state"] for _ in range(3)]
    assert states == ["InProgress", "InProgress", "JobComplete"]
    status = bulk.get_ingest_job(job_id)
    assert (status["numberRecordsProcessed"], status["numberRecordsFailed"]) == (3, 1 + 1)
    assert status["jobType"] == "V2Ingest"
    ok = _rows(bulk.ingest_results(job_id, "successfulResults"))
    assert ok[0] == ["sf__Id", "sf__Created", "FirstName", "LastName", "Company", "Email"]
    assert len(ok) == 2
    assert ok[1][1] == "true"
    assert org.get("Lead", ok[1][0]) is not None
    failed = _rows(bulk.ingest_results(job_id, "failedResults"))
    assert failed[0][:2] == ["sf__Id", "sf__Error"]
    errors = sorted(row[1] for row in failed[1:])
    assert errors == [
        "INVALID_EMAIL_ADDRESS:Email: invalid email address: not-an-email:Email --",
        "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --",
    ]


@pytest.mark.parametrize("operation", ["update", "delete"])
def test_update_and_delete_by_id(operation: str) -> None:
    org, user = make_org()
    rid = org.create("Lead", lead(), user_id=user)
    bulk = BulkService(org)
    data = f"Id,Title\n{rid},CTO\n" if operation == "update" else f"Id\n{rid}\n"
    job_id = _ingest(bulk, user, operation, data)
    assert bulk.get_ingest_job(job_id)["state"] == "JobComplete"
    rec = org.get("Lead", rid)
    assert rec is not None
    assert (rec["Title"] == "CTO") if operation == "update" else rec["IsDeleted"] is True


def test_upsert_reports_created_flag_and_null_marker() -> None:
    org, user = make_org()
    org.create_custom_field(
        {
            "FullName": "Lead.Ext__c",
            "Metadata": {
                "type": "Text",
                "label": "Ext",
                "length": 20,
                "externalId": True,
                "unique": True,
            },
        },
        user_id=user,
    )
    from tests.sandbox.sf_helpers import grant

    grant(org, user, "Lead.Ext__c")
    existing = org.create("Lead", lead(Ext__c="a", Title="old"), user_id=user)
    bulk = BulkService(org)
    job_id = _ingest(
        bulk,
        user,
        "upsert",
        "Ext__c,LastName,Company,Title\na,Sato,Acme,#N/A\nb,Lee,Beta,\n",
        externalIdFieldName="Ext__c",
    )
    bulk.get_ingest_job(job_id)
    ok = _rows(bulk.ingest_results(job_id, "successfulResults"))[1:]
    assert sorted((r[0] == existing, r[1]) for r in ok) == [(False, "true"), (True, "false")]
    rec = org.get("Lead", existing)
    assert rec is not None
    assert rec["Title"] is None


def test_unknown_column_fails_job_and_abort_leaves_unprocessed() -> None:
    org, user = make_org()
    bulk = BulkService(org)
    job_id = _ingest(bulk, user, "insert", "LastName,Bogus\nSato,1\n")
    status = bulk.get_ingest_job(job_id)
    assert status["state"] == "Failed"
    assert "Bogus" in status["errorMessage"]
    job = bulk.create_ingest_job({"object": "Lead", "operation": "insert"}, user_id=user)
    bulk.upload(job["id"], CSV_IN)
    assert bulk.set_ingest_state(job["id"], "Aborted")["state"] == "Aborted"
    assert len(_rows(bulk.ingest_results(job["id"], "unprocessedrecords"))) == 4
    with pytest.raises(SalesforceError) as err:
        bulk.upload(job["id"], CSV_IN)
    assert err.value.error_code == "INVALIDJOBSTATE"
    assert len(org.records("Lead")) == 0


def test_crlf_data_on_lf_job_fails() -> None:
    org, user = make_org()
    bulk = BulkService(org)
    job_id = _ingest(bulk, user, "insert", CSV_IN.replace("\n", "\r\n"))
    assert bulk.get_ingest_job(job_id)["state"] == "Failed"


def _runner(org: Org) -> Any:
    def run(
        soql: str, include_deleted: bool, user_id: str
    ) -> tuple[Sequence[str], Iterable[Sequence[Any]]]:
        rows = [
            (r["Id"], r["LastName"], r["CreatedDate"])
            for r in org.iter_records("Lead", include_deleted=include_deleted)
        ]
        return ["Id", "LastName", "CreatedDate"], rows

    return run


def test_query_job_pages_by_locator() -> None:
    org, user = make_org()
    for n in range(5):
        org.create("Lead", lead(LastName=f"L{n}"), user_id=user)
    bulk = BulkService(org, query_runner=_runner(org), polls_before_complete=1)
    job = bulk.create_query_job(
        {"operation": "query", "query": "SELECT Id, LastName, CreatedDate FROM Lead"}, user_id=user
    )
    assert job["state"] == "UploadComplete"
    assert job["object"] == "Lead"
    with pytest.raises(SalesforceError) as early:
        bulk.query_results(job["id"])
    assert early.value.error_code == "INVALIDJOBSTATE"
    assert bulk.get_query_job(job["id"])["state"] == "InProgress"
    assert bulk.get_query_job(job["id"])["state"] == "JobComplete"
    seen, locator, pages = [], None, 0
    while True:
        page = bulk.query_results(job["id"], locator=locator, max_records=2)
        rows = _rows(page.csv)
        assert rows[0] == ["Id", "LastName", "CreatedDate"]
        assert page.number_of_records == len(rows) - 1
        seen += [r[1] for r in rows[1:]]
        pages += 1
        if page.locator == "null":
            break
        locator = page.locator
    assert seen == [f"L{n}" for n in range(5)]
    assert pages == 3
    assert rows[1][2].endswith("Z")
    assert org.limits.bulk_v2_query_jobs.used == 1


def test_a_shuffling_service_returns_every_row_in_no_promised_order() -> None:
    org, user = make_org()
    for n in range(40):
        org.create("Lead", lead(LastName=f"L{n:02d}"), user_id=user)
    bulk = BulkService(org, query_runner=_runner(org), shuffle_seed=0)
    job = bulk.create_query_job(
        {"operation": "query", "query": "SELECT Id, LastName FROM Lead"}, user_id=user
    )
    assert bulk.get_query_job(job["id"])["state"] == "JobComplete"
    names = [row[1] for row in _rows(bulk.query_results(job["id"]).csv)[1:]]
    assert sorted(names) == [f"L{n:02d}" for n in range(40)]
    assert names != sorted(names)
