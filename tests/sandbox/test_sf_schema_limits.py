"""Describe output and the daily API allocation."""

from __future__ import annotations

import datetime as dt

import pytest

from leadbridge.sandbox.salesforce.errors import SalesforceError
from leadbridge.sandbox.salesforce.limits import ApiLimits, Counter
from tests.sandbox.sf_helpers import StepClock, make_org

FIELD_KEYS = {
    "name",
    "label",
    "type",
    "length",
    "precision",
    "scale",
    "digits",
    "picklistValues",
    "restrictedPicklist",
    "updateable",
    "createable",
    "nillable",
    "custom",
    "externalId",
    "calculated",
    "unique",
    "defaultedOnCreate",
    "referenceTo",
    "relationshipName",
    "soapType",
}
LEAD_FIELDS = {
    "Id",
    "FirstName",
    "LastName",
    "Company",
    "Email",
    "Title",
    "Industry",
    "NumberOfEmployees",
    "Status",
    "LeadSource",
    "OwnerId",
    "IsConverted",
    "ConvertedDate",
    "ConvertedAccountId",
    "ConvertedContactId",
    "ConvertedOpportunityId",
    "IsDeleted",
    "MasterRecordId",
    "CreatedDate",
    "LastModifiedDate",
    "SystemModstamp",
    "Phone",
    "Country",
}


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("Lead", "00Q"),
        ("Contact", "003"),
        ("Account", "001"),
        ("Opportunity", "006"),
        ("Task", "00T"),
        ("User", "005"),
        ("Group", "00G"),
        ("QueueSobject", "03g"),
        ("PermissionSet", "0PS"),
        ("PermissionSetAssignment", "0Pa"),
        ("FieldPermissions", "01k"),
    ],
)
def test_describe_shape(name: str, prefix: str) -> None:
    org, user = make_org()
    body = org.describe(name, user_id=user)
    assert body["name"] == name
    assert body["keyPrefix"] == prefix
    assert body["queryable"] is True
    assert body["urls"]["sobject"] == f"/services/data/v59.0/sobjects/{name}"
    for entry in body["fields"]:
        assert entry.keys() >= FIELD_KEYS


def test_lead_fields_and_properties() -> None:
    org, user = make_org()
    fields = {f["name"]: f for f in org.describe("lead", user_id=user)["fields"]}
    assert fields.keys() >= LEAD_FIELDS
    assert fields["Status"]["restrictedPicklist"] is True
    assert fields["Status"]["type"] == "picklist"
    assert {p["value"] for p in fields["Industry"]["picklistValues"]} >= {"Technology"}
    assert fields["Company"]["nillable"] is False
    assert fields["Company"]["length"] == 255
    assert fields["OwnerId"]["referenceTo"] == ["Group", "User"]
    assert fields["OwnerId"]["relationshipName"] == "Owner"
    assert fields["IsConverted"]["updateable"] is False
    assert fields["SystemModstamp"]["soapType"] == "xsd:dateTime"
    assert fields["Id"]["type"] == "id"
    assert org.field_types("Lead", user_id=user)["ConvertedDate"] == "date"


def test_unknown_object_is_404() -> None:
    org, user = make_org()
    with pytest.raises(SalesforceError) as err:
        org.describe("Nope", user_id=user)
    assert err.value.status == 404


def test_describe_global_lists_objects() -> None:
    org, _ = make_org()
    names = {o["name"] for o in org.describe_global()["sobjects"]}
    assert {"Lead", "FieldPermissions", "Group"} <= names


def test_api_counter_header_body_and_exhaustion() -> None:
    clock = StepClock()
    limits = ApiLimits(clock=clock, daily_api_requests=Counter(3))
    for _ in range(3):
        limits.consume_request()
    assert limits.header() == "api-usage=3/3"
    assert limits.body()["DailyApiRequests"] == {"Max": 3, "Remaining": 0}
    with pytest.raises(SalesforceError) as err:
        limits.consume_request()
    assert err.value.body() == [
        {
            "message": "TotalRequests Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
            "fields": [],
        }
    ]
    assert err.value.status == 403
    clock.now += dt.timedelta(days=1)
    limits.consume_request()
    assert limits.header() == "api-usage=1/3"


def test_org_limits_configurable() -> None:
    org, _ = make_org(daily_api_max=100000)
    org.limits.consume_request(5)
    body = org.limits.body()
    assert body["DailyApiRequests"] == {"Max": 100000, "Remaining": 99995}
    assert {"DailyBulkV2QueryJobs", "DailyBulkApiBatches"} <= body.keys()
