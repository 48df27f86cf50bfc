"""Salesforce emulator over HTTPS: cached field-level security follows every change at once.

Each check first reads through the cached view (describe, query, a write), then changes FLS or
the schema, then expects the very next call to see the change.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce import Salesforce, SalesforceMalformedRequest
from simple_salesforce.exceptions import SalesforceOperationError

from tests.sandbox.sf_http_fixtures import SfHttp, caught, lead, running


@pytest.fixture(scope="module")
def sfh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SfHttp]:
    with running(tmp_path_factory.mktemp("sf_fls_cache")) as handle:
        yield handle


def _add_field(sf: Salesforce, name: str) -> None:
    sf.toolingexecute(
        "sobjects/CustomField/",
        method="POST",
        data={
            "FullName": f"Lead.{name}",
            "Metadata": {"type": "Text", "label": name, "length": 40},
        },
    )


def _field_permission(sf: Salesforce, ps: str, name: str, *, edit: bool) -> str:
    body = {
        "ParentId": ps,
        "SobjectType": "Lead",
        "Field": f"Lead.{name}",
        "PermissionsRead": True,
        "PermissionsEdit": edit,
    }
    return str(sf.FieldPermissions.create(body)["id"])


def _assign(sf: Salesforce, user_id: str, ps: str) -> str:
    return str(
        sf.PermissionSetAssignment.create({"AssigneeId": user_id, "PermissionSetId": ps})["id"]
    )


def _permission_set(sf: Salesforce, name: str) -> str:
    return str(sf.PermissionSet.create({"Name": name, "Label": name})["id"])


def _visible(sf: Salesforce, name: str, record_id: str) -> bool:
    """Whether describe, SOQL and retrieve all show the field (and agree with each other)."""
    described = name in {f["name"] for f in sf.Lead.describe()["fields"]}
    retrieved = name in sf.Lead.get(record_id)
    try:
        sf.query(f"SELECT Id, {name} FROM Lead WHERE Id = '{record_id}'")
    except SalesforceMalformedRequest as err:
        error: str | None = err.content[0]["errorCode"]
    else:
        error = None
    assert error in (None, "INVALID_FIELD")
    queryable = error is None
    assert described == retrieved == queryable, (described, retrieved, queryable)
    return described


def _write_error(sf: Salesforce, record_id: str, values: dict[str, Any]) -> str | None:
    """The error code of an update, or None when it succeeds."""
    try:
        sf.Lead.update(record_id, values)
    except SalesforceMalformedRequest as err:
        return str(err.content[0]["errorCode"])
    return None


def test_grant_edit_revoke_and_unassign_show_on_the_next_call(sfh: SfHttp) -> None:
    sf = sfh.sf()
    user = sfh.emulator.org.integration_user_id
    record_id = str(sf.Lead.create(lead(Title="FLS"))["id"])
    assert not _visible(sf, "Score_Band__c", record_id)  # warms the cached view
    _add_field(sf, "Score_Band__c")
    assert not _visible(sf, "Score_Band__c", record_id)
    assert _write_error(sf, record_id, {"Score_Band__c": "A"}) == "INVALID_FIELD"

    ps = _permission_set(sf, "Band_Read")
    permission = _field_permission(sf, ps, "Score_Band__c", edit=False)
    assert not _visible(sf, "Score_Band__c", record_id)  # the user does not hold the set yet
    assignment = _assign(sf, user, ps)
    assert _visible(sf, "Score_Band__c", record_id)
    assert _write_error(sf, record_id, {"Score_Band__c": "A"}) == "INVALID_FIELD_FOR_INSERT_UPDATE"

    sf.FieldPermissions.update(permission, {"PermissionsEdit": True})
    assert _write_error(sf, record_id, {"Score_Band__c": "A"}) is None
    assert sf.Lead.get(record_id)["Score_Band__c"] == "A"
    sf.FieldPermissions.update(permission, {"PermissionsEdit": False})
    assert _write_error(sf, record_id, {"Score_Band__c": "B"}) == "INVALID_FIELD_FOR_INSERT_UPDATE"

    sf.PermissionSetAssignment.delete(assignment)
    assert not _visible(sf, "Score_Band__c", record_id)
    assert _write_error(sf, record_id, {"Score_Band__c": "B"}) == "INVALID_FIELD"

    _assign(sf, user, ps)
    assert _visible(sf, "Score_Band__c", record_id)
    sf.FieldPermissions.delete(permission)
    assert not _visible(sf, "Score_Band__c", record_id)


def test_new_field_granted_through_a_held_set_shows_at_once(sfh: SfHttp) -> None:
    sf = sfh.sf()
    user = sfh.emulator.org.integration_user_id
    ps = _permission_set(sf, "Held_Set")
    _add_field(sf, "First_Touch__c")
    _field_permission(sf, ps, "First_Touch__c", edit=True)
    _assign(sf, user, ps)
    record_id = str(sf.Lead.create(lead(First_Touch__c="web"))["id"])
    assert _visible(sf, "First_Touch__c", record_id)
    assert not _visible(sf, "Last_Touch__c", record_id)
    _add_field(sf, "Last_Touch__c")
    assert not _visible(sf, "Last_Touch__c", record_id)  # a new field needs its own grant
    _field_permission(sf, ps, "Last_Touch__c", edit=True)
    assert _visible(sf, "Last_Touch__c", record_id)
    assert _write_error(sf, record_id, {"Last_Touch__c": "mail"}) is None
    updated = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "records": [
                {"attributes": {"type": "Lead"}, "Id": record_id, "Last_Touch__c": "call"},
            ]
        },
    )
    assert updated[0]["success"] is True
    assert sf.Lead.get(record_id)["Last_Touch__c"] == "call"


def test_rolled_back_assignment_leaves_the_field_hidden(sfh: SfHttp) -> None:
    sf = sfh.sf()
    user = sfh.emulator.org.integration_user_id
    ps = _permission_set(sf, "Rolled_Back")
    _add_field(sf, "Rollback_Flag__c")
    _field_permission(sf, ps, "Rollback_Flag__c", edit=True)
    record_id = str(sf.Lead.create(lead())["id"])
    assert not _visible(sf, "Rollback_Flag__c", record_id)
    results = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": True,
            "records": [
                {
                    "attributes": {"type": "PermissionSetAssignment"},
                    "AssigneeId": user,
                    "PermissionSetId": ps,
                },
                # Written while the assignment exists: the user's view includes the field here.
                {"attributes": {"type": "Lead"}, **lead(Rollback_Flag__c="yes")},
                {"attributes": {"type": "Lead"}, "Company": "No last name"},
            ],
        },
    )
    assert [r["success"] for r in results] == [False, False, False]
    assert results[1]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert not _visible(sf, "Rollback_Flag__c", record_id)


def test_views_are_per_user(sfh: SfHttp) -> None:
    admin = sfh.sf()
    other_id = str(
        admin.User.create(
            {
                "Username": "fls2@example.com",
                "LastName": "Two",
                "Email": "fls2@example.com",
                "Alias": "two",
            }
        )["id"]
    )
    other = sfh.sf(sfh.emulator.auth.issue_access_token(other_id))
    record_id = str(admin.Lead.create(lead())["id"])
    ps = _permission_set(admin, "Per_User")
    _add_field(admin, "Owner_Note__c")
    _field_permission(admin, ps, "Owner_Note__c", edit=True)
    assert not _visible(admin, "Owner_Note__c", record_id)
    assert not _visible(other, "Owner_Note__c", record_id)
    _assign(admin, other_id, ps)
    assert _visible(other, "Owner_Note__c", record_id)
    assert not _visible(admin, "Owner_Note__c", record_id)


def test_bulk_ingest_sees_a_fresh_grant(sfh: SfHttp) -> None:
    sf = sfh.sf()
    user = sfh.emulator.org.integration_user_id
    ps = _permission_set(sf, "Bulk_Grant")
    _add_field(sf, "Bulk_Tag__c")
    records = [lead(Bulk_Tag__c=f"t{i}") for i in range(3)]
    failure = caught(lambda: sf.bulk2.Lead.insert(records=records, wait=0))
    assert isinstance(failure, SalesforceOperationError)
    assert "Field name not found : Bulk_Tag__c" in str(failure)
    _field_permission(sf, ps, "Bulk_Tag__c", edit=True)
    _assign(sf, user, ps)
    after = sf.bulk2.Lead.insert(records=records, wait=0)
    assert after[0]["numberRecordsProcessed"] == 3
    assert after[0]["numberRecordsFailed"] == 0
    rows = list(
        csv.DictReader(io.StringIO(sf.bulk2.Lead.get_successful_records(after[0]["job_id"])))
    )
    assert sorted(r["Bulk_Tag__c"] for r in rows) == ["t0", "t1", "t2"]


def test_a_deleted_custom_field_is_gone_on_the_next_call(sfh: SfHttp) -> None:
    sf = sfh.sf()
    user = sfh.emulator.org.integration_user_id
    record_id = str(sf.Lead.create(lead(Title="Drop"))["id"])
    _add_field(sf, "Dropped__c")
    ps = _permission_set(sf, "Dropped_Edit")
    _field_permission(sf, ps, "Dropped__c", edit=True)
    _assign(sf, user, ps)
    sf.Lead.update(record_id, {"Dropped__c": "kept"})
    assert _visible(sf, "Dropped__c", record_id)  # warms the cached view
    with sfh.emulator.lock:
        assert sfh.emulator.org.delete_custom_field("Lead", "Dropped")
    assert not _visible(sf, "Dropped__c", record_id)
    assert _write_error(sf, record_id, {"Dropped__c": "again"}) == "INVALID_FIELD"
