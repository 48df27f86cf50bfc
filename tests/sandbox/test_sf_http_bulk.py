"""Salesforce emulator over HTTPS: Bulk API 2.0 through simple-salesforce's sf.bulk2."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest

from tests.sandbox.sf_http_fixtures import API_VERSION, SfHttp, lead, running


@pytest.fixture(scope="module")
def sfh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SfHttp]:
    with running(tmp_path_factory.mktemp("sf_bulk")) as handle:
        sf = handle.sf()
        sf.toolingexecute(
            "sobjects/CustomField/",
            method="POST",
            data={
                "FullName": "Lead.Bulk_Key__c",
                "Metadata": {"type": "Text", "label": "Key", "length": 40, "externalId": True},
            },
        )
        ps = sf.PermissionSet.create({"Name": "Bulk_Sync", "Label": "Sync"})["id"]
        sf.FieldPermissions.create(
            {
                "ParentId": ps,
                "SobjectType": "Lead",
                "Field": "Lead.Bulk_Key__c",
                "PermissionsRead": True,
                "PermissionsEdit": True,
            }
        )
        sf.PermissionSetAssignment.create(
            {"AssigneeId": handle.emulator.org.integration_user_id, "PermissionSetId": ps}
        )
        yield handle


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_bulk2_insert_with_failures(sfh: SfHttp) -> None:
    sf = sfh.sf()
    records = [lead(Email=f"b{i}@bulk.example", Title="Bulk") for i in range(50)]
    records.append({"LastName": "", "Company": "No name", "Email": "bad@bulk.example", "Title": ""})
    results = sf.bulk2.Lead.insert(records=records, wait=0)
    assert len(results) == 1
    assert results[0]["numberRecordsProcessed"] == 51
    assert results[0]["numberRecordsFailed"] == 1
    job_id = results[0]["job_id"]
    ok = _rows(sf.bulk2.Lead.get_successful_records(job_id))
    assert len(ok) == 50
    assert all(r["sf__Created"] == "true" and len(r["sf__Id"]) == 18 for r in ok)
    failed = _rows(sf.bulk2.Lead.get_failed_records(job_id))
    assert failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING")
    assert _rows(sf.bulk2.Lead.get_unprocessed_records(job_id)) == []
    assert sf.query("SELECT COUNT() FROM Lead WHERE Title = 'Bulk'")["totalSize"] == 50


def test_bulk2_upsert(sfh: SfHttp) -> None:
    sf = sfh.sf()
    records = [lead(Bulk_Key__c=f"k{i}", Title="Upserted") for i in range(10)]
    first = sf.bulk2.Lead.upsert(records=records, external_id_field="Bulk_Key__c", wait=0)
    assert first[0]["numberRecordsFailed"] == 0
    second = sf.bulk2.Lead.upsert(records=records, external_id_field="Bulk_Key__c", wait=0)
    created = {
        r["sf__Created"] for r in _rows(sf.bulk2.Lead.get_successful_records(second[0]["job_id"]))
    }
    assert created == {"false"}
    assert sf.query("SELECT COUNT() FROM Lead WHERE Bulk_Key__c LIKE 'k%'")["totalSize"] == 10


def test_bulk2_query_pages(sfh: SfHttp) -> None:
    sf = sfh.sf()
    with sfh.emulator.lock:
        sfh.emulator.org.bulk_load("Lead", [lead(Title="BulkQuery") for _ in range(250)])
    pages = list(
        sf.bulk2.Lead.query(
            "SELECT Id, Title, Owner.Name FROM Lead WHERE Title = 'BulkQuery'",
            max_records=100,
            wait=0,
        )
    )
    assert len(pages) == 3
    rows = [r for page in pages for r in _rows(page)]
    assert len(rows) == 250
    assert len({r["Id"] for r in rows}) == 250
    assert rows[0]["Owner.Name"] == "LeadBridge Integration"


def test_bulk2_raw_endpoints(sfh: SfHttp) -> None:
    session = sfh.session()
    headers = {"Authorization": f"Bearer {sfh.emulator.issue_access_token()}"}
    base = sfh.url(f"/services/data/v{API_VERSION}/jobs/ingest")
    job = session.post(
        base, json={"object": "Lead", "operation": "insert", "contentType": "CSV"}, headers=headers
    )
    assert job.status_code == 200
    assert job.json()["state"] == "Open"
    job_id = job.json()["id"]
    upload = session.put(
        f"{base}/{job_id}/batches",
        data="LastName,Company\nRaw,Raw KK\n",
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert upload.status_code == 201
    assert upload.content == b""
    assert "Sforce-Limit-Info" in upload.headers
    aborted = session.patch(f"{base}/{job_id}", json={"state": "Aborted"}, headers=headers)
    assert aborted.json()["state"] == "Aborted"
    assert session.delete(f"{base}/{job_id}", headers=headers).status_code == 204
    assert session.get(f"{base}/{job_id}", headers=headers).status_code == 404


def test_bulk2_query_results_headers(sfh: SfHttp) -> None:
    with sfh.emulator.lock:
        sfh.emulator.org.bulk_load("Lead", [lead(Title="RawQuery") for _ in range(5)])
    session = sfh.session()
    headers = {"Authorization": f"Bearer {sfh.emulator.issue_access_token()}"}
    base = sfh.url(f"/services/data/v{API_VERSION}/jobs/query")
    soql = "SELECT Id FROM Lead WHERE Title = 'RawQuery'"
    job = session.post(base, json={"operation": "query", "query": soql}, headers=headers).json()
    assert session.get(f"{base}/{job['id']}", headers=headers).json()["state"] == "JobComplete"
    page = session.get(f"{base}/{job['id']}/results", params={"maxRecords": 3}, headers=headers)
    assert page.headers["Sforce-NumberOfRecords"] == "3"
    assert page.headers["content-type"].startswith("text/csv")
    rest = session.get(
        f"{base}/{job['id']}/results",
        params={"maxRecords": 3, "locator": page.headers["Sforce-Locator"]},
        headers=headers,
    )
    assert rest.headers["Sforce-NumberOfRecords"] == "2"
    assert rest.headers["Sforce-Locator"] == "null"
