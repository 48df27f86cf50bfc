"""Salesforce emulator over HTTPS: describe, CRUD, upsert, replication, Collections, Tooling."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

from tests.sandbox.sf_http_fixtures import API_VERSION, SfHttp, lead, running


@pytest.fixture(scope="module")
def sfh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SfHttp]:
    with running(tmp_path_factory.mktemp("sf_sobjects")) as handle:
        sf = handle.sf()
        sf.toolingexecute(
            "sobjects/CustomField/",
            method="POST",
            data={
                "FullName": "Lead.Ext_Id__c",
                "Metadata": {"type": "Text", "label": "Ext", "length": 80, "externalId": True},
            },
        )
        ps = sf.PermissionSet.create({"Name": "Ext_Sync", "Label": "Sync"})["id"]
        sf.FieldPermissions.create(
            {
                "ParentId": ps,
                "SobjectType": "Lead",
                "Field": "Lead.Ext_Id__c",
                "PermissionsRead": True,
                "PermissionsEdit": True,
            }
        )
        sf.PermissionSetAssignment.create(
            {"AssigneeId": handle.emulator.org.integration_user_id, "PermissionSetId": ps}
        )
        yield handle


def test_describe_global_and_basic_info(sfh: SfHttp) -> None:
    sf = sfh.sf()
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Lead", "Contact", "Account", "Opportunity", "Task", "User"} <= names
    info = sf.Lead.metadata()
    assert info["objectDescribe"]["name"] == "Lead"
    assert info["objectDescribe"]["keyPrefix"] == "00Q"
    fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    assert fields["Email"]["type"] == "email"
    assert fields["Ext_Id__c"]["externalId"] is True


def test_crud(sfh: SfHttp) -> None:
    sf = sfh.sf()
    created = sf.Lead.create(lead(Email="crud@example.com"))
    assert set(created) == {"id", "success", "errors"}
    assert len(created["id"]) == 18
    assert sf.Lead.update(created["id"], {"Title": "CTO"}) == 204
    got = sf.Lead.get(created["id"])
    assert got["Title"] == "CTO"
    assert got["attributes"]["type"] == "Lead"
    assert sf.Lead.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.Lead.get(created["id"])
    assert info.value.content == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND", "fields": []}
    ]


def test_get_with_fields_param(sfh: SfHttp) -> None:
    sf = sfh.sf()
    record_id = sf.Lead.create(lead(Email="fields@example.com"))["id"]
    body = sf.restful(f"sobjects/Lead/{record_id}", params={"fields": "Email,Company"})
    assert set(body) == {"attributes", "Email", "Company"}


def test_record_errors(sfh: SfHttp) -> None:
    sf = sfh.sf()
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Lead.create({"Company": "No Name"})
    assert info.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Lead.create(lead(Nope__c=1))
    assert info.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Nope.describe()


def test_upsert_created_updated_and_url_decoded(sfh: SfHttp) -> None:
    sf = sfh.sf()
    response = sf.Lead.upsert("Ext_Id__c/hs%2F1001", lead(Email="u@example.com"), raw_response=True)
    assert response.status_code == 201
    assert response.json()["created"] is True
    record_id = response.json()["id"]
    assert sf.Lead.get(record_id)["Ext_Id__c"] == "hs/1001"
    again = sf.Lead.upsert("Ext_Id__c/hs%2F1001", {"Title": "VP"}, raw_response=True)
    assert again.status_code == 200
    assert again.json() == {"id": record_id, "success": True, "errors": [], "created": False}
    assert sf.Lead.get_by_custom_id("Ext_Id__c", "hs/1001")["Title"] == "VP"
    # The key belongs in the URL only, even with the same value in the body.
    with pytest.raises(SalesforceMalformedRequest) as keyed:
        sf.Lead.upsert("Ext_Id__c/hs%2F1001", {"Ext_Id__c": "hs/1001", "Title": "CTO"})
    assert keyed.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert sf.Lead.get(record_id)["Title"] == "VP"


def test_upsert_several_matches_is_300(sfh: SfHttp) -> None:
    org = sfh.emulator.org
    with sfh.emulator.lock:
        org.bulk_load("Lead", [lead(Ext_Id__c="dup-1"), lead(Ext_Id__c="dup-1")])
    with pytest.raises(SalesforceMoreThanOneRecord) as info:
        sfh.sf().Lead.upsert("Ext_Id__c/dup-1", {"Title": "x"})
    assert info.value.status == 300
    assert len(info.value.content) == 2
    assert all(
        u.startswith(f"/services/data/v{API_VERSION}/sobjects/Lead/") for u in info.value.content
    )


def test_deleted_and_updated(sfh: SfHttp) -> None:
    sf = sfh.sf()
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    end = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    kept = sf.Lead.create(lead(Email="kept@example.com"))["id"]
    gone = sf.Lead.create(lead(Email="gone@example.com"))["id"]
    sf.Lead.delete(gone)
    updated = sf.Lead.updated(start, end)
    assert kept in updated["ids"]
    assert gone not in updated["ids"]
    assert "latestDateCovered" in updated
    deleted = sf.Lead.deleted(start, end)
    assert gone in [d["id"] for d in deleted["deletedRecords"]]
    assert {"earliestDateAvailable", "latestDateCovered"} <= set(deleted)


def _composite(sfh: SfHttp, method: str, path: str = "composite/sobjects", **kw: Any) -> Any:
    return sfh.sf().restful(path, method=method, **kw)


def test_collections_create_update_delete(sfh: SfHttp) -> None:
    records = [
        {"attributes": {"type": "Lead"}, **lead(Email="c1@example.com")},
        {"attributes": {"type": "Lead"}, "Company": "Missing Last Name"},
        {"attributes": {"type": "Lead"}, **lead(Email="c3@example.com")},
    ]
    results = _composite(sfh, "POST", json={"allOrNone": False, "records": records})
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["id"] is None
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    ids = [results[0]["id"], results[2]["id"]]
    updates = [{"attributes": {"type": "Lead"}, "Id": i, "Title": "Updated"} for i in ids]
    assert all(r["success"] for r in _composite(sfh, "PATCH", json={"records": updates}))
    deleted = _composite(sfh, "DELETE", params={"ids": ",".join(ids), "allOrNone": "false"})
    assert [r["id"] for r in deleted] == ids
    assert all(r["success"] for r in deleted)


def test_collections_all_or_none_rolls_back(sfh: SfHttp) -> None:
    records = [
        {"attributes": {"type": "Lead"}, **lead(Email="aon1@example.com")},
        {"attributes": {"type": "Lead"}, "Company": "Missing Last Name"},
    ]
    results = _composite(sfh, "POST", json={"allOrNone": True, "records": records})
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert sfh.sf().query("SELECT Id FROM Lead WHERE Email = 'aon1@example.com'")["totalSize"] == 0


def test_collections_upsert_and_limit(sfh: SfHttp) -> None:
    records = [
        {"attributes": {"type": "Lead"}, "Ext_Id__c": "col-1", **lead()},
        {"attributes": {"type": "Lead"}, "Ext_Id__c": "col-2", **lead()},
    ]
    first = _composite(sfh, "PATCH", "composite/sobjects/Lead/Ext_Id__c", json={"records": records})
    assert [r["created"] for r in first] == [True, True]
    second = _composite(
        sfh, "PATCH", "composite/sobjects/Lead/Ext_Id__c", json={"records": records}
    )
    assert [r["created"] for r in second] == [False, False]
    assert [r["id"] for r in second] == [r["id"] for r in first]
    too_many = [{"attributes": {"type": "Lead"}, **lead()} for _ in range(201)]
    with pytest.raises(SalesforceMalformedRequest) as info:
        _composite(sfh, "POST", json={"records": too_many})
    assert info.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_custom_field_duplicate_is_400(sfh: SfHttp) -> None:
    sf = sfh.sf()
    body = {"FullName": "Lead.Dup_Field__c", "Metadata": {"type": "Checkbox", "label": "Dup"}}
    created = sf.toolingexecute("sobjects/CustomField/", method="POST", data=body)
    assert created["success"] is True
    assert created["id"].startswith("00N")
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.toolingexecute("sobjects/CustomField/", method="POST", data=body)
    assert "There is already a field named Dup_Field" in info.value.content[0]["message"]


def test_versions_resources_and_unknown_paths(sfh: SfHttp) -> None:
    session = sfh.session()
    versions = session.get(sfh.url("/services/data/")).json()
    assert versions[-1]["version"] == API_VERSION
    sf = sfh.sf()
    resources = sf.restful("")
    assert resources["sobjects"] == f"/services/data/v{API_VERSION}/sobjects"
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("nothing/here")


def test_values_with_plus_and_unicode_round_trip(tmp_path: Any) -> None:
    with running(tmp_path) as handle:
        sf = handle.sf()
        record_id = sf.Lead.create(lead(Email="a+b@example.com", LastName="佐藤"))["id"]
        got = sf.Lead.get(record_id)
        assert got["Email"] == "a+b@example.com"
        assert got["LastName"] == "佐藤"
