"""Sales-team actions: conversion, merge, first contact, closing opportunities."""

from __future__ import annotations

import datetime as dt

import pytest

from leadbridge.sandbox.salesforce import actions
from leadbridge.sandbox.salesforce.errors import SalesforceError
from tests.sandbox.sf_helpers import lead, make_org


def test_convert_lead_creates_records_and_locks_lead() -> None:
    org, user = make_org()
    rid = org.create(
        "Lead", lead(FirstName="Ken", Email="ken@acme.co.jp", Industry="Technology"), user_id=user
    )
    result = actions.convert_lead(org, rid, user_id=user, opportunity_name="Acme deal")
    rec = org.get("Lead", rid)
    assert rec is not None
    assert rec["IsConverted"] is True
    assert rec["Status"] == "Closed - Converted"
    assert isinstance(rec["ConvertedDate"], dt.date)
    assert (
        rec["ConvertedAccountId"],
        rec["ConvertedContactId"],
        rec["ConvertedOpportunityId"],
    ) == (result.account_id, result.contact_id, result.opportunity_id)
    contact = org.get("Contact", result.contact_id)
    assert contact is not None
    assert contact["AccountId"] == result.account_id
    assert contact["Email"] == "ken@acme.co.jp"
    with pytest.raises(SalesforceError) as err:
        org.update("Lead", rid, {"Title": "x"}, user_id=user)
    assert err.value.body() == [
        {
            "message": "cannot reference converted lead",
            "errorCode": "CANNOT_UPDATE_CONVERTED_LEAD",
            "fields": [],
        }
    ]


def test_convert_into_existing_account_without_opportunity() -> None:
    org, user = make_org()
    account = org.create("Account", {"Name": "Acme"}, user_id=user)
    rid = org.create("Lead", lead(), user_id=user)
    result = actions.convert_lead(
        org, rid, user_id=user, account_id=account, create_opportunity=False
    )
    assert result.account_id == account
    assert result.opportunity_id is None
    assert len(org.records("Account")) == 1


def test_merge_deletes_loser_with_master_record_id() -> None:
    org, user = make_org()
    master = org.create("Lead", lead(), user_id=user)
    loser = org.create("Lead", lead(Phone="03-1234-5678"), user_id=user)
    task = actions.log_first_contact(org, loser, user_id=user)
    actions.merge_leads(org, master, loser, user_id=user)
    gone = org.get("Lead", loser)
    kept = org.get("Lead", master)
    assert gone is not None
    assert gone["IsDeleted"] is True
    assert gone["MasterRecordId"] == master
    assert kept is not None
    assert kept["Phone"] == "03-1234-5678"
    moved = org.get("Task", task)
    assert moved is not None
    assert moved["WhoId"] == master


def test_first_contact_task_and_status() -> None:
    org, user = make_org()
    rid = org.create("Lead", lead(), user_id=user)
    task_id = actions.log_first_contact(
        org, rid, user_id=user, subject="初回架電", activity_date=dt.date(2024, 5, 21)
    )
    task = org.get("Task", task_id)
    assert task is not None
    assert (
        task["WhoId"],
        task["OwnerId"],
        task["Subject"],
        task["ActivityDate"],
        task["Status"],
        task["IsClosed"],
    ) == (rid, user, "初回架電", dt.date(2024, 5, 21), "Completed", True)
    rec = org.get("Lead", rid)
    assert rec is not None
    assert rec["Status"] == "Working - Contacted"


@pytest.mark.parametrize(("won", "stage"), [(True, "Closed Won"), (False, "Closed Lost")])
def test_close_opportunity(won: bool, stage: str) -> None:
    org, user = make_org()
    rid = org.create("Lead", lead(), user_id=user)
    opp = actions.convert_lead(org, rid, user_id=user).opportunity_id
    assert opp is not None
    actions.close_opportunity(org, opp, won=won, user_id=user)
    rec = org.get("Opportunity", opp)
    assert rec is not None
    assert (rec["StageName"], rec["IsClosed"], rec["IsWon"]) == (stage, True, won)


def test_edit_field_uses_api_rules() -> None:
    org, user = make_org()
    rid = org.create("Lead", lead(), user_id=user)
    actions.edit_field(org, "Lead", rid, field="Industry", value="Technology", user_id=user)
    with pytest.raises(SalesforceError) as refused:
        actions.edit_field(org, "Lead", rid, field="Status", value="Nope", user_id=user)
    assert refused.value.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
