"""Sales-team actions the sandbox can trigger: convert, merge, first contact, close, edit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from leadbridge.sandbox.salesforce.errors import bad_request, not_found
from leadbridge.sandbox.salesforce.objects import CONVERTED_STATUS
from leadbridge.sandbox.salesforce.org import Org


@dataclass(frozen=True)
class ConversionResult:
    """Ids produced or used by a lead conversion."""

    lead_id: str
    account_id: str
    contact_id: str
    opportunity_id: str | None


def _live_lead(org: Org, lead_id: str) -> dict[str, Any]:
    rec = org.get("Lead", lead_id)
    if rec is None or rec.get("IsDeleted"):
        raise not_found()
    return dict(rec)


def convert_lead(
    org: Org,
    lead_id: str,
    *,
    user_id: str,
    account_id: str | None = None,
    contact_id: str | None = None,
    create_opportunity: bool = True,
    opportunity_name: str | None = None,
    close_date: dt.date | None = None,
) -> ConversionResult:
    """Convert a lead as a salesperson would: Account, Contact, optional Opportunity."""
    lead = _live_lead(org, lead_id)
    if lead.get("IsConverted"):
        raise bad_request("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
    owner = lead["OwnerId"] if str(lead["OwnerId"]).startswith("005") else user_id
    today = org.store.now().date()
    with org.atomic():
        if account_id is None:
            account_id = org.create(
                "Account",
                {
                    "Name": lead["Company"],
                    "Industry": lead.get("Industry"),
                    "NumberOfEmployees": lead.get("NumberOfEmployees"),
                    "BillingCountry": lead.get("Country"),
                    "Phone": lead.get("Phone"),
                    "OwnerId": owner,
                },
                user_id=user_id,
            )
        if contact_id is None:
            contact_id = org.create(
                "Contact",
                {
                    "FirstName": lead.get("FirstName"),
                    "LastName": lead["LastName"],
                    "Email": lead.get("Email"),
                    "Title": lead.get("Title"),
                    "Phone": lead.get("Phone"),
                    "LeadSource": lead.get("LeadSource"),
                    "AccountId": account_id,
                    "MailingCountry": lead.get("Country"),
                    "OwnerId": owner,
                },
                user_id=user_id,
            )
        opportunity_id = None
        if create_opportunity:
            opportunity_id = org.create(
                "Opportunity",
                {
                    "Name": opportunity_name or f"{lead['Company']}-",
                    "AccountId": account_id,
                    "StageName": "Prospecting",
                    "CloseDate": (close_date or today + dt.timedelta(days=90)).isoformat(),
                    "LeadSource": lead.get("LeadSource"),
                    "OwnerId": owner,
                },
                user_id=user_id,
            )
        org.system_write(
            "Lead",
            lead["Id"],
            {
                "IsConverted": True,
                "ConvertedDate": today,
                "Status": CONVERTED_STATUS,
                "ConvertedAccountId": account_id,
                "ConvertedContactId": contact_id,
                "ConvertedOpportunityId": opportunity_id,
            },
            user_id=user_id,
        )
    return ConversionResult(lead["Id"], account_id, contact_id, opportunity_id)


def merge_leads(org: Org, master_id: str, loser_id: str, *, user_id: str) -> None:
    """Merge a loser lead into a master: the loser is deleted and keeps MasterRecordId."""
    master = _live_lead(org, master_id)
    loser = _live_lead(org, loser_id)
    if master["Id"] == loser["Id"]:
        raise bad_request("INVALID_OPERATION", "Cannot merge a record with itself")
    for rec in (master, loser):
        if rec.get("IsConverted"):
            raise bad_request("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
    with org.atomic():
        # Blank master fields take the loser's values, as the merge wizard's default does.
        fill = {
            k: v
            for k, v in loser.items()
            if master.get(k) is None and v is not None and _mergeable(org, k)
        }
        org.system_write("Lead", master["Id"], fill, user_id=user_id)
        for task in list(org.iter_records("Task")):
            if task.get("WhoId") == loser["Id"]:
                org.system_write("Task", task["Id"], {"WhoId": master["Id"]}, user_id=user_id)
        org.system_write(
            "Lead",
            loser["Id"],
            {"IsDeleted": True, "MasterRecordId": master["Id"]},
            user_id=user_id,
        )


def _mergeable(org: Org, name: str) -> bool:
    fdef = org.objects["Lead"].fields.get(name)
    return fdef is not None and fdef.updateable


def log_first_contact(
    org: Org,
    lead_id: str,
    *,
    user_id: str,
    subject: str = "Call",
    activity_date: dt.date | None = None,
    status: str = "Completed",
) -> str:
    """Record a salesperson's first contact with a lead as a Task; returns the task id."""
    lead = _live_lead(org, lead_id)
    with org.atomic():
        task_id = org.create(
            "Task",
            {
                "WhoId": lead["Id"],
                "OwnerId": user_id,
                "Subject": subject,
                "ActivityDate": (activity_date or org.store.now().date()).isoformat(),
                "Status": status,
                "TaskSubtype": "Call",
            },
            user_id=user_id,
        )
        if lead.get("Status") == "Open - Not Contacted":
            org.update("Lead", lead["Id"], {"Status": "Working - Contacted"}, user_id=user_id)
    return task_id


def close_opportunity(org: Org, opportunity_id: str, *, won: bool, user_id: str) -> None:
    """Close an opportunity won or lost (IsWon/IsClosed follow the stage)."""
    stage = "Closed Won" if won else "Closed Lost"
    org.update("Opportunity", opportunity_id, {"StageName": stage}, user_id=user_id)


def edit_field(
    org: Org, object_name: str, record_id: str, *, field: str, value: Any, user_id: str
) -> None:
    """Edit one field as a user would in the UI, with the same rules as the API."""
    org.update(object_name, record_id, {field: value}, user_id=user_id)
