"""Opportunity and Task: the deals a converted lead opens and the work logged against records."""

from __future__ import annotations

from leadbridge.sandbox.salesforce.objects_build import (
    define_object,
    flag,
    owner,
    pick,
    readonly,
    ref,
    text,
)
from leadbridge.sandbox.salesforce.picklists import LEAD_SOURCES, OPPORTUNITY_STAGES, TASK_STATUSES
from leadbridge.sandbox.salesforce.schema import FieldDef, ObjectDef


def opportunity() -> ObjectDef:
    """The Opportunity object."""
    return define_object(
        "Opportunity",
        "Opportunity",
        "Opportunities",
        [
            text("Name", "Name", 120, nillable=False, required=True, name_field=True),
            ref("AccountId", "Account ID", ("Account",), "Account"),
            FieldDef(
                name="StageName",
                type="picklist",
                label="Stage",
                length=255,
                nillable=False,
                required=True,
                picklist=pick(tuple(s[0] for s in OPPORTUNITY_STAGES)),
            ),
            FieldDef(
                name="CloseDate", type="date", label="Close Date", nillable=False, required=True
            ),
            FieldDef(name="Amount", type="currency", label="Amount", precision=18, scale=2),
            FieldDef(name="Probability", type="percent", label="Probability (%)", precision=3),
            readonly(flag("IsClosed", "Closed")),
            readonly(flag("IsWon", "Won")),
            FieldDef(
                name="LeadSource",
                type="picklist",
                label="Lead Source",
                length=255,
                picklist=pick(LEAD_SOURCES),
            ),
            FieldDef(
                name="Type",
                type="picklist",
                label="Opportunity Type",
                length=255,
                picklist=pick(
                    (
                        "Existing Customer - Upgrade",
                        "Existing Customer - Replacement",
                        "Existing Customer - Downgrade",
                        "New Customer",
                    )
                ),
            ),
            text("Description", "Description", 32000, type="textarea"),
            owner(("User",)),
        ],
    )


def task() -> ObjectDef:
    """The Task object."""
    return define_object(
        "Task",
        "Task",
        "Tasks",
        [
            ref("WhoId", "Name ID", ("Contact", "Lead"), "Who"),
            ref("WhatId", "Related To ID", ("Account", "Opportunity"), "What"),
            text(
                "Subject",
                "Subject",
                255,
                type="combobox",
                picklist=pick(("Call", "Send Letter", "Send Quote", "Other")),
            ),
            FieldDef(name="ActivityDate", type="date", label="Due Date Only"),
            FieldDef(
                name="Status",
                type="picklist",
                label="Status",
                length=255,
                nillable=False,
                defaulted_on_create=True,
                picklist=pick(TASK_STATUSES, default="Not Started"),
            ),
            FieldDef(
                name="Priority",
                type="picklist",
                label="Priority",
                length=255,
                nillable=False,
                defaulted_on_create=True,
                picklist=pick(("High", "Normal", "Low"), default="Normal"),
            ),
            FieldDef(
                name="TaskSubtype",
                type="picklist",
                label="Task Subtype",
                length=255,
                picklist=pick(("Task", "Email", "Call")),
            ),
            text("Description", "Comments", 32000, type="textarea"),
            readonly(flag("IsClosed", "Closed")),
            owner(),
        ],
    )
