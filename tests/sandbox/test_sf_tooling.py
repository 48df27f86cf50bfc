"""Custom fields through Tooling, and their visibility under field-level security."""

from __future__ import annotations

from typing import Any

import pytest

from leadbridge.sandbox.salesforce.errors import SalesforceError
from tests.sandbox.sf_helpers import add_field, grant, lead, make_org

BANT = {
    "type": "MultiselectPicklist",
    "label": "BANT",
    "visibleLines": 4,
    "valueSet": {
        "restricted": True,
        "valueSetDefinition": {
            "sorted": False,
            "value": [
                {"fullName": v, "default": False, "label": v}
                for v in ("Budget", "Authority", "Need", "Timeline")
            ],
        },
    },
}


@pytest.mark.parametrize(
    ("metadata", "describe_type", "extra"),
    [
        (
            {"type": "Number", "label": "MQL Score", "precision": 18, "scale": 0},
            "double",
            {"precision": 18, "scale": 0, "soapType": "xsd:double"},
        ),
        (
            {"type": "Checkbox", "label": "SQL", "defaultValue": "false"},
            "boolean",
            {"nillable": False, "defaultValue": False},
        ),
        (
            {"type": "Text", "label": "Ext", "length": 64, "externalId": True, "unique": True},
            "string",
            {"externalId": True, "unique": True, "length": 64},
        ),
        (BANT, "multipicklist", {"restrictedPicklist": True}),
        (
            {"type": "LongTextArea", "label": "Notes", "length": 32768, "visibleLines": 3},
            "textarea",
            {"length": 32768},
        ),
        ({"type": "DateTime", "label": "MQL At"}, "datetime", {}),
        ({"type": "Date", "label": "MQL Day"}, "date", {}),
        (
            {
                "type": "Picklist",
                "label": "Grade",
                "valueSet": {
                    "valueSetDefinition": {
                        "value": [{"fullName": "A", "default": True, "label": "A"}]
                    }
                },
            },
            "picklist",
            {"restrictedPicklist": False},
        ),
    ],
)
def test_field_types_after_grant(
    metadata: dict[str, Any], describe_type: str, extra: dict[str, Any]
) -> None:
    org, user = make_org()
    result = org.create_custom_field(
        {"FullName": "Lead.New_Field__c", "Metadata": metadata}, user_id=user
    )
    assert result["success"] is True
    assert result["errors"] == []
    assert result["id"][:3] == "00N"
    grant(org, user, "Lead.New_Field__c")
    entry = next(
        f for f in org.describe("Lead", user_id=user)["fields"] if f["name"] == "New_Field__c"
    )
    assert entry["type"] == describe_type
    assert entry["custom"] is True
    for key, value in extra.items():
        assert entry[key] == value


def test_new_field_invisible_until_permission_and_assignment() -> None:
    org, user = make_org()
    rid = org.create("Lead", lead(), user_id=user)
    add_field(
        org,
        "Lead.MQL_Score__c",
        {"type": "Number", "label": "MQL Score", "precision": 18, "scale": 0},
    )

    def visible() -> bool:
        names = [f["name"] for f in org.describe("Lead", user_id=user)["fields"]]
        return "MQL_Score__c" in names and "MQL_Score__c" in org.field_types("Lead", user_id=user)

    assert not visible()
    with pytest.raises(SalesforceError) as err:
        org.update("Lead", rid, {"MQL_Score__c": 50}, user_id=user)
    assert err.value.message == "No such column 'MQL_Score__c' on sobject of type Lead"
    ps = org.create(
        "PermissionSet", {"Name": "LeadBridge_Sync", "Label": "LeadBridge Sync"}, user_id=user
    )
    org.create(
        "FieldPermissions",
        {
            "ParentId": ps,
            "SobjectType": "Lead",
            "Field": "Lead.MQL_Score__c",
            "PermissionsRead": True,
            "PermissionsEdit": False,
        },
        user_id=user,
    )
    assert not visible()  # granted to a set the user does not hold yet
    org.create("PermissionSetAssignment", {"AssigneeId": user, "PermissionSetId": ps}, user_id=user)
    assert visible()
    with pytest.raises(SalesforceError) as err:
        org.update("Lead", rid, {"MQL_Score__c": 50}, user_id=user)
    assert err.value.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    perm = next(iter(org.records("FieldPermissions")))
    org.update("FieldPermissions", perm, {"PermissionsEdit": True}, user_id=user)
    org.update("Lead", rid, {"MQL_Score__c": 50}, user_id=user)
    assert org.retrieve("Lead", rid, user_id=user)["MQL_Score__c"] == 50.0


def test_visibility_is_per_user() -> None:
    org, admin = make_org()
    other = org.create(
        "User",
        {
            "Username": "u2@example.com",
            "LastName": "Two",
            "Email": "u2@example.com",
            "Alias": "two",
        },
        user_id=admin,
    )
    add_field(org, "Lead.SQL__c", {"type": "Checkbox", "label": "SQL", "defaultValue": "false"})
    grant(org, admin, "Lead.SQL__c")
    assert "SQL__c" in org.field_types("Lead", user_id=admin)
    assert "SQL__c" not in org.field_types("Lead", user_id=other)


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            {"FullName": "Lead.Ext__c", "Metadata": {"type": "Text", "label": "X", "length": 9}},
            "DUPLICATE_DEVELOPER_NAME",
            "There is already a field named Ext on Lead.",
        ),
        (
            {"FullName": "Lead.Bad", "Metadata": {"type": "Text", "label": "X", "length": 9}},
            "INVALID_FIELD",
            None,
        ),
        (
            {"FullName": "Nope.Bad__c", "Metadata": {"type": "Text", "label": "X"}},
            "INVALID_TYPE",
            None,
        ),
        (
            {"FullName": "Lead.Other__c", "Metadata": {"type": "Blob", "label": "X"}},
            "FIELD_INTEGRITY_EXCEPTION",
            None,
        ),
        (
            {
                "FullName": "Lead.Other__c",
                "Metadata": {"type": "Checkbox", "label": "X", "externalId": True},
            },
            "FIELD_INTEGRITY_EXCEPTION",
            None,
        ),
    ],
)
def test_custom_field_errors(body: dict[str, Any], code: str, message: str | None) -> None:
    org, user = make_org()
    add_field(org, "Lead.Ext__c", {"type": "Text", "label": "Ext", "length": 20})
    with pytest.raises(SalesforceError) as err:
        org.create_custom_field(body, user_id=user)
    assert (err.value.status, err.value.error_code) == (400, code)
    if message:
        assert err.value.message == message


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"Field": "Lead.Missing__c"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"PermissionsRead": False, "PermissionsEdit": True}, "FIELD_INTEGRITY_EXCEPTION"),
        ({}, "DUPLICATE_VALUE"),
    ],
)
def test_field_permission_rules(values: dict[str, Any], code: str) -> None:
    org, user = make_org()
    add_field(org, "Lead.Ext__c", {"type": "Text", "label": "Ext", "length": 20})
    ps = grant(org, user, "Lead.Ext__c")
    with pytest.raises(SalesforceError) as err:
        org.create(
            "FieldPermissions",
            {
                "ParentId": ps,
                "SobjectType": "Lead",
                "Field": "Lead.Ext__c",
                "PermissionsRead": True,
                **values,
            },
            user_id=user,
        )
    assert err.value.error_code == code


def test_checkbox_backfills_existing_records_and_tooling_rows() -> None:
    org, user = make_org()
    rid = org.create("Lead", lead(), user_id=user)
    field_id = add_field(
        org, "Lead.SQL__c", {"type": "Checkbox", "label": "SQL", "defaultValue": "false"}
    )
    stored = org.get("Lead", rid)
    assert stored is not None
    assert stored["SQL__c"] is False
    rows = org.custom_field_rows()
    assert [(r["Id"], r["DeveloperName"], r["TableEnumOrId"]) for r in rows] == [
        (field_id, "SQL", "Lead")
    ]


def test_restricted_multipicklist_values() -> None:
    org, user = make_org()
    add_field(org, "Lead.BANT__c", BANT)
    grant(org, user, "Lead.BANT__c")
    rid = org.create("Lead", lead(BANT__c="Budget;Need"), user_id=user)
    assert org.retrieve("Lead", rid, user_id=user)["BANT__c"] == "Budget;Need"
    with pytest.raises(SalesforceError) as err:
        org.update("Lead", rid, {"BANT__c": "Budget;Money"}, user_id=user)
    assert err.value.message == "BANT: bad value for restricted picklist field: Money"
