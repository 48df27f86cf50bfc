"""Salesforce emulator over HTTPS: queues own only the objects their QueueSobject rows list.

Every write path (REST create, update, upsert, sObject Collections, Bulk API 2.0) refuses an
OwnerId that is a Group but not a queue supporting the record's object, with the record error
INVALID_CROSS_REFERENCE_KEY, and leaves the record as it was.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce import SalesforceMalformedRequest
from simple_salesforce.format import format_soql

from tests.sandbox.sf_http_fixtures import SfHttp, lead, running

REFUSED = [
    {
        "message": "invalid cross reference id",
        "errorCode": "INVALID_CROSS_REFERENCE_KEY",
        "fields": [],
    }
]


@pytest.fixture(scope="module")
def sfh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SfHttp]:
    with running(tmp_path_factory.mktemp("sf_queues")) as handle:
        yield handle


@pytest.fixture(scope="module")
def groups(sfh: SfHttp) -> dict[str, str]:
    """The seeded field-sales queue, a queue for Tasks only, and a public (Regular) group."""
    seeded = sfh.control("POST", "seed", {"leads": 5, "seed": 3})
    sf = sfh.sf()
    tasks_only = sf.Group.create({"Name": "Callbacks", "Type": "Queue"})["id"]
    sf.QueueSobject.create({"QueueId": tasks_only, "SobjectType": "Task"})
    public = sf.Group.create({"Name": "All Sales", "Type": "Regular"})["id"]
    return {
        "field_sales": seeded["queue_ids"]["field_sales_queue"],
        "tasks_only": tasks_only,
        "public": public,
    }


def _owner(sfh: SfHttp, lead_id: str) -> str:
    return str(sfh.sf().Lead.get(lead_id)["OwnerId"])


def test_queue_sobject_is_queryable_and_described(sfh: SfHttp, groups: dict[str, str]) -> None:
    sf = sfh.sf()
    found = sf.query("SELECT QueueId FROM QueueSobject WHERE SobjectType = 'Lead'")
    queues = {r["QueueId"] for r in found["records"]}
    assert groups["field_sales"] in queues
    assert groups["tasks_only"] not in queues
    assert found["records"][0]["attributes"]["type"] == "QueueSobject"
    joined = sf.query(
        format_soql(
            "SELECT SobjectType, Queue.Name FROM QueueSobject WHERE QueueId = {}",
            groups["tasks_only"],
        )
    )["records"]
    assert [(r["SobjectType"], r["Queue"]["Name"]) for r in joined] == [("Task", "Callbacks")]
    described = sf.QueueSobject.describe()
    assert described["keyPrefix"] == "03g"
    assert described["updateable"] is False
    fields = {f["name"]: f for f in described["fields"]}
    assert set(fields) == {"Id", "QueueId", "SobjectType", "CreatedById", "SystemModstamp"}
    assert fields["QueueId"]["referenceTo"] == ["Group"]
    assert fields["QueueId"]["relationshipName"] == "Queue"
    assert fields["SobjectType"]["restrictedPicklist"] is True
    assert "Contact" not in {p["value"] for p in fields["SobjectType"]["picklistValues"]}


def test_rest_update_and_create(sfh: SfHttp, groups: dict[str, str]) -> None:
    sf = sfh.sf()
    lead_id = sf.Lead.create(lead(Email="queue.rest@example.com"))["id"]
    assert sf.Lead.update(lead_id, {"OwnerId": groups["field_sales"]}) == 204
    assert _owner(sfh, lead_id) == groups["field_sales"]
    for group in ("tasks_only", "public"):
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.Lead.update(lead_id, {"OwnerId": groups[group], "Title": "Changed"})
        assert info.value.content == REFUSED
    record = sf.Lead.get(lead_id)
    assert (record["OwnerId"], record["Title"]) == (groups["field_sales"], None)
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Lead.create(lead(Email="queue.create@example.com", OwnerId=groups["public"]))
    assert info.value.content == REFUSED
    counted = sf.query("SELECT COUNT() FROM Lead WHERE Email = 'queue.create@example.com'")
    assert counted["totalSize"] == 0
    created = sf.Lead.create(lead(Email="queue.ok@example.com", OwnerId=groups["field_sales"]))
    assert _owner(sfh, created["id"]) == groups["field_sales"]


def test_rest_upsert(sfh: SfHttp, groups: dict[str, str]) -> None:
    sf = sfh.sf()
    lead_id = sf.Lead.create(lead(Email="queue.upsert@example.com"))["id"]
    before = _owner(sfh, lead_id)
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Lead.upsert(f"Id/{lead_id}", {"OwnerId": groups["tasks_only"]})
    assert info.value.content == REFUSED
    assert _owner(sfh, lead_id) == before
    sf.Lead.upsert(f"Id/{lead_id}", {"OwnerId": groups["field_sales"]})
    assert _owner(sfh, lead_id) == groups["field_sales"]


def test_collections_refuse_only_the_bad_record(sfh: SfHttp, groups: dict[str, str]) -> None:
    sf = sfh.sf()
    ids = [sf.Lead.create(lead(Email=f"queue.coll{i}@example.com"))["id"] for i in range(3)]
    before = _owner(sfh, ids[1])
    owners = [groups["field_sales"], groups["public"], groups["tasks_only"]]
    records: list[dict[str, Any]] = [
        {"attributes": {"type": "Lead"}, "id": record_id, "OwnerId": owner}
        for record_id, owner in zip(ids, owners, strict=True)
    ]
    results = sf.restful(
        "composite/sobjects", method="PATCH", json={"allOrNone": False, "records": records}
    )
    assert [r["success"] for r in results] == [True, False, False]
    assert results[1]["errors"] == [
        {
            "statusCode": "INVALID_CROSS_REFERENCE_KEY",
            "message": "invalid cross reference id",
            "fields": [],
        }
    ]
    assert _owner(sfh, ids[0]) == groups["field_sales"]
    assert _owner(sfh, ids[1]) == before
    assert _owner(sfh, ids[2]) == before


def test_bulk_update_fails_the_rows_with_a_bad_owner(sfh: SfHttp, groups: dict[str, str]) -> None:
    sf = sfh.sf()
    ids = [sf.Lead.create(lead(Email=f"queue.bulk{i}@example.com"))["id"] for i in range(2)]
    before = _owner(sfh, ids[1])
    rows = [
        {"Id": ids[0], "OwnerId": groups["field_sales"]},
        {"Id": ids[1], "OwnerId": groups["public"]},
    ]
    job = sf.bulk2.Lead.update(records=rows, wait=0)[0]
    assert (job["numberRecordsProcessed"], job["numberRecordsFailed"]) == (2, 1)
    failed = list(csv.DictReader(io.StringIO(sf.bulk2.Lead.get_failed_records(job["job_id"]))))
    assert [(r["Id"], r["sf__Error"].split(":")[0]) for r in failed] == [
        (ids[1], "INVALID_CROSS_REFERENCE_KEY")
    ]
    assert _owner(sfh, ids[0]) == groups["field_sales"]
    assert _owner(sfh, ids[1]) == before


def test_queue_sobject_rows_name_a_queue_and_a_queueable_object(
    sfh: SfHttp, groups: dict[str, str]
) -> None:
    sf = sfh.sf()
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.QueueSobject.create({"QueueId": groups["public"], "SobjectType": "Lead"})
    assert info.value.content[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.QueueSobject.create({"QueueId": groups["tasks_only"], "SobjectType": "Contact"})
    assert info.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.QueueSobject.create({"QueueId": groups["tasks_only"], "SobjectType": "Task"})
    assert info.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
