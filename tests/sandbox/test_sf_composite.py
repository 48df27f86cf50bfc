"""sObject Collections semantics: order, allOrNone rollback, size limit."""

from __future__ import annotations

import pytest

from leadbridge.sandbox.salesforce import composite
from leadbridge.sandbox.salesforce.errors import SalesforceError
from tests.sandbox.sf_helpers import add_field, grant, lead, make_org

LEAD = {"type": "Lead"}


def _batch() -> list[dict[str, object]]:
    return [
        {"attributes": LEAD, **lead(FirstName="A")},
        {"attributes": LEAD, "FirstName": "B"},  # missing LastName and Company
        {"attributes": LEAD, **lead(FirstName="C")},
    ]


@pytest.mark.parametrize(("all_or_none", "stored"), [(False, 2), (True, 0)])
def test_create_all_or_none(all_or_none: bool, stored: int) -> None:
    org, user = make_org()
    results = composite.create_records(org, _batch(), all_or_none=all_or_none, user_id=user)
    assert [r["success"] for r in results] == [not all_or_none, False, not all_or_none]
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert results[1]["id"] is None
    assert len(org.records("Lead")) == stored
    if all_or_none:
        assert results[0] == {
            "id": None,
            "success": False,
            "errors": [
                {
                    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "message": (
                        "Record rolled back because not all records were valid and the "
                        "request was using AllOrNone header"
                    ),
                    "fields": [],
                }
            ],
        }
        assert len(org.modstamp_index("Lead")) == 0


def test_update_all_or_none_restores_previous_values() -> None:
    org, user = make_org()
    a = org.create("Lead", lead(Title="before"), user_id=user)
    b = org.create("Lead", lead(), user_id=user)
    before = dict(org.get("Lead", a) or {})
    results = composite.update_records(
        org,
        [
            {"attributes": LEAD, "Id": a, "Title": "after"},
            {"attributes": LEAD, "Id": b, "Status": "Bogus"},
        ],
        all_or_none=True,
        user_id=user,
    )
    assert results[0]["id"] == a
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert org.get("Lead", a) == before
    assert list(org.modstamp_index("Lead")) == sorted(
        (r["SystemModstamp"], r["Id"]) for r in org.records("Lead").values()
    )


def test_results_follow_request_order_without_all_or_none() -> None:
    org, user = make_org()
    ids = [org.create("Lead", lead(), user_id=user) for _ in range(3)]
    results = composite.delete_records(
        org, [ids[2], "00Q000000000zzz", ids[0]], all_or_none=False, user_id=user
    )
    assert [r["success"] for r in results] == [True, False, True]
    assert results[0]["id"] == ids[2]
    assert results[2]["id"] == ids[0]


def test_more_than_200_is_a_400() -> None:
    org, user = make_org()
    with pytest.raises(SalesforceError) as err:
        composite.create_records(
            org, [{"attributes": LEAD, **lead()}] * 201, all_or_none=False, user_id=user
        )
    assert err.value.status == 400


def test_missing_type_is_a_record_error() -> None:
    org, user = make_org()
    results = composite.create_records(org, [lead()], all_or_none=False, user_id=user)
    assert results[0]["errors"][0]["statusCode"] == "INVALID_TYPE"


def test_upsert_collection_reports_created_and_duplicates() -> None:
    org, user = make_org()
    add_field(
        org, "Lead.Ext__c", {"type": "Text", "label": "Ext", "length": 20, "externalId": True}
    )
    grant(org, user, "Lead.Ext__c")
    org.create("Lead", lead(Ext__c="dup"), user_id=user)
    org.create("Lead", lead(Ext__c="dup"), user_id=user)
    existing = org.upsert("Lead", "Ext__c", "e1", lead(), user_id=user)
    results = composite.upsert_records(
        org,
        "Lead",
        "Ext__c",
        [
            {"attributes": LEAD, "Ext__c": "new", **lead()},
            {"attributes": LEAD, "Ext__c": "e1", "Title": "x"},
            {"attributes": LEAD, "Ext__c": "dup", "Title": "y"},
        ],
        all_or_none=False,
        user_id=user,
    )
    assert [(r["success"], r["created"]) for r in results] == [
        (True, True),
        (True, False),
        (False, False),
    ]
    assert results[1]["id"] == existing.id
    assert results[2]["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"
