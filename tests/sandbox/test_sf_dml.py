"""DML rules of the in-memory org: error codes, messages, fields, timestamps, upsert."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from leadbridge.sandbox.salesforce.errors import MultipleMatchesError, SalesforceError
from tests.sandbox.sf_helpers import StepClock, add_field, lead, make_org


@pytest.mark.parametrize(
    ("values", "code", "message", "fields"),
    [
        (
            lead(Company="x" * 256),
            "STRING_TOO_LONG",
            f"Company: data value too large: {'x' * 256} (max length=255)",
            ["Company"],
        ),
        (
            lead(FirstName="y" * 41),
            "STRING_TOO_LONG",
            f"First Name: data value too large: {'y' * 41} (max length=40)",
            ["FirstName"],
        ),
        (
            lead(Status="Hot"),
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "Status: bad value for restricted picklist field: Hot",
            ["Status"],
        ),
        (
            {"Company": "Acme"},
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [LastName]",
            ["LastName"],
        ),
        (
            {"FirstName": "Ken"},
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [LastName, Company]",
            ["LastName", "Company"],
        ),
        (
            lead(Email="not-an-email"),
            "INVALID_EMAIL_ADDRESS",
            "Email: invalid email address: not-an-email",
            ["Email"],
        ),
        (
            lead(IsConverted=True),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            "Unable to create/update fields: IsConverted. Please check the security settings of "
            "this field and verify that it is read/write for your profile or permission set.",
            ["IsConverted"],
        ),
        (
            lead(Foo__c=1),
            "INVALID_FIELD",
            "No such column 'Foo__c' on sobject of type Lead",
            ["Foo__c"],
        ),
        (
            lead(NumberOfEmployees=123456789),
            "NUMBER_OUTSIDE_VALID_RANGE",
            "Employees: value outside of valid range on numeric field: 123456789",
            ["NumberOfEmployees"],
        ),
        (
            lead(OwnerId="not-an-id"),
            "MALFORMED_ID",
            "Owner ID: id value of incorrect type: not-an-id",
            ["OwnerId"],
        ),
        (
            lead(OwnerId="001000000000001AAA"),
            "FIELD_INTEGRITY_EXCEPTION",
            "Owner ID: id value of incorrect type: 001000000000001AAA",
            ["OwnerId"],
        ),
        (
            lead(OwnerId="005000000000999"),
            "INVALID_CROSS_REFERENCE_KEY",
            "invalid cross reference id",
            ["OwnerId"],
        ),
    ],
)
def test_create_errors(values: dict[str, Any], code: str, message: str, fields: list[str]) -> None:
    org, user = make_org()
    with pytest.raises(SalesforceError) as err:
        org.create("Lead", values, user_id=user)
    assert err.value.status == 400
    assert err.value.body() == [{"message": message, "errorCode": code, "fields": fields}]
    assert len(org.records("Lead")) == 0


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("NumberOfEmployees", "250", 250),
        ("AnnualRevenue", 1e6, 1_000_000.0),
        ("HasOptedOutOfEmail", "true", True),
        ("LastName", 42, "42"),
        ("OwnerId", None, None),
    ],
)
def test_json_values_become_canonical(field: str, value: Any, expected: Any) -> None:
    org, user = make_org()
    if field == "OwnerId":
        rid = org.create("Lead", lead(), user_id=user)
        with pytest.raises(SalesforceError) as err:
            org.update("Lead", rid, {field: value}, user_id=user)
        assert err.value.error_code == "REQUIRED_FIELD_MISSING"
        return
    rid = org.create("Lead", {**lead(), field: value}, user_id=user)
    stored = org.get("Lead", rid)
    assert stored is not None
    assert stored[field] == expected


def test_type_mismatch_is_json_parser_error() -> None:
    org, user = make_org()
    with pytest.raises(SalesforceError) as err:
        org.create("Lead", lead(NumberOfEmployees="many"), user_id=user)
    assert err.value.error_code == "JSON_PARSER_ERROR"


def test_server_fields_defaults_and_serialisation() -> None:
    org, user = make_org()
    rid = org.create("Lead", lead(FirstName="Ken", Email="ken@acme.co.jp"), user_id=user)
    body = org.retrieve("Lead", rid, user_id=user)
    assert body["attributes"] == {
        "type": "Lead",
        "url": f"/services/data/v59.0/sobjects/Lead/{rid}",
    }
    assert body["Status"] == "Open - Not Contacted"
    assert body["OwnerId"] == user
    assert body["IsDeleted"] is False
    assert body["Name"] == "Ken Sato"
    assert body["CreatedDate"].endswith("+0000")
    assert len(body["CreatedDate"]) == 28
    assert body["CreatedDate"] == body["LastModifiedDate"] == body["SystemModstamp"]


def test_timestamps_have_ms_precision_and_never_go_back() -> None:
    clock = StepClock()
    from leadbridge.sandbox.salesforce.org import Org

    org = Org(clock=clock)
    user = org.integration_user_id
    clock.now = dt.datetime(2024, 6, 1, 0, 0, 0, 123456, tzinfo=dt.UTC)
    rid = org.create("Lead", lead(), user_id=user)
    first = org.get("Lead", rid)
    assert first is not None
    assert first["SystemModstamp"].microsecond == 123000
    clock.now = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)  # the wall clock jumps back
    org.update("Lead", rid, {"Title": "部長"}, user_id=user)
    second = org.get("Lead", rid)
    assert second is not None
    assert second["SystemModstamp"] >= first["SystemModstamp"]
    assert second["CreatedDate"] == first["CreatedDate"]


def test_delete_keeps_record_for_query_all() -> None:
    org, user = make_org()
    rid = org.create("Lead", lead(), user_id=user)
    before = org.get("Lead", rid)
    org.delete("Lead", rid, user_id=user)
    after = org.get("Lead", rid)
    assert after is not None
    assert after["IsDeleted"] is True
    assert before is not None
    assert after["SystemModstamp"] > before["SystemModstamp"]
    assert list(org.iter_records("Lead")) == []
    assert [r["Id"] for r in org.iter_records("Lead", include_deleted=True)] == [rid]
    with pytest.raises(SalesforceError) as err:
        org.update("Lead", rid, {"Title": "x"}, user_id=user)
    assert err.value.error_code == "ENTITY_IS_DELETED"
    with pytest.raises(SalesforceError) as err:
        org.delete("Lead", rid, user_id=user)
    assert err.value.error_code == "ENTITY_IS_DELETED"
    with pytest.raises(SalesforceError) as err:
        org.retrieve("Lead", rid, user_id=user)
    assert err.value.status == 404


def test_fifteen_char_ids_are_accepted() -> None:
    org, user = make_org()
    rid = org.create("Lead", lead(), user_id=user)
    org.update("Lead", rid[:15], {"Title": "課長"}, user_id=user)
    assert org.retrieve("Lead", rid[:15], user_id=user, fields=["title"])["Title"] == "課長"


def test_unknown_record_and_wrong_type() -> None:
    org, user = make_org()
    with pytest.raises(SalesforceError) as err:
        org.update("Lead", "00Q000000000009", {"Title": "x"}, user_id=user)
    assert (err.value.status, err.value.error_code) == (404, "NOT_FOUND")
    with pytest.raises(SalesforceError) as err:
        org.update("Lead", "003000000000009", {"Title": "x"}, user_id=user)
    assert err.value.error_code == "MALFORMED_ID"


def _org_with_external_id(*, unique: bool) -> tuple[Any, str]:
    org, user = make_org()
    add_field(
        org,
        "Lead.HubSpot_Id__c",
        {"type": "Text", "label": "HubSpot Id", "length": 40, "externalId": True, "unique": unique},
    )
    from tests.sandbox.sf_helpers import grant

    grant(org, user, "Lead.HubSpot_Id__c")
    return org, user


def test_upsert_created_then_updated() -> None:
    org, user = _org_with_external_id(unique=True)
    first = org.upsert("Lead", "HubSpot_Id__c", "hs-1", lead(), user_id=user)
    assert first.created is True
    assert first.body() == {"id": first.id, "success": True, "errors": [], "created": True}
    second = org.upsert("Lead", "HubSpot_Id__c", "HS-1", {"Title": "CTO"}, user_id=user)
    assert (second.id, second.created) == (first.id, False)
    stored = org.get("Lead", first.id)
    assert stored is not None
    assert stored["Title"] == "CTO"
    assert stored["HubSpot_Id__c"] == "hs-1"


def test_upsert_several_matches_is_300_with_urls() -> None:
    org, user = _org_with_external_id(unique=False)
    a = org.create("Lead", lead(HubSpot_Id__c="dup"), user_id=user)
    b = org.create("Lead", lead(HubSpot_Id__c="dup"), user_id=user)
    with pytest.raises(MultipleMatchesError) as err:
        org.upsert("Lead", "HubSpot_Id__c", "dup", {"Title": "x"}, user_id=user)
    assert err.value.status == 300
    assert err.value.urls == tuple(
        f"/services/data/v59.0/sobjects/Lead/{rid}" for rid in sorted([a, b])
    )
    assert list(err.value.body()) == list(err.value.urls)


def test_unique_external_id_duplicate_value() -> None:
    org, user = _org_with_external_id(unique=True)
    a = org.create("Lead", lead(HubSpot_Id__c="x1"), user_id=user)
    with pytest.raises(SalesforceError) as err:
        org.create("Lead", lead(HubSpot_Id__c="X1"), user_id=user)
    assert err.value.body() == [
        {
            "message": (
                f"duplicate value found: HubSpot_Id__c duplicates value on record with id: {a}"
            ),
            "errorCode": "DUPLICATE_VALUE",
            "fields": [],
        }
    ]


def test_upsert_on_non_external_field_is_404() -> None:
    org, user = make_org()
    with pytest.raises(SalesforceError) as err:
        org.upsert("Lead", "Email", "a@b.co", lead(), user_id=user)
    assert (err.value.status, err.value.error_code) == (404, "NOT_FOUND")


def test_deleted_record_does_not_match_upsert() -> None:
    org, user = _org_with_external_id(unique=True)
    old = org.upsert("Lead", "HubSpot_Id__c", "k", lead(), user_id=user)
    org.delete("Lead", old.id, user_id=user)
    new = org.upsert("Lead", "HubSpot_Id__c", "k", lead(), user_id=user)
    assert new.created
    assert new.id != old.id


def test_users_cannot_be_deleted() -> None:
    org, user = make_org()
    with pytest.raises(SalesforceError) as err:
        org.delete("User", user, user_id=user)
    assert err.value.error_code == "INVALID_TYPE_FOR_OPERATION"


def test_opportunity_stage_drives_closed_and_won() -> None:
    org, user = make_org()
    opp = org.create(
        "Opportunity",
        {"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2024-06-30"},
        user_id=user,
    )
    rec = org.get("Opportunity", opp)
    assert rec is not None
    assert rec["CloseDate"] == dt.date(2024, 6, 30)
    assert (rec["IsClosed"], rec["IsWon"], rec["Probability"]) == (False, False, 10.0)
