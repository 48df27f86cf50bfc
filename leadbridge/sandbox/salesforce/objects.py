"""Standard objects of the emulated org with realistic fields and picklists."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from leadbridge.sandbox.salesforce.ids import KEY_PREFIXES
from leadbridge.sandbox.salesforce.queues import queue_sobject
from leadbridge.sandbox.salesforce.schema import FieldDef, ObjectDef, PicklistValue

INDUSTRIES = (
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
)
LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
CONVERTED_STATUS = "Closed - Converted"
LEAD_SOURCES = (
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Other",
    "Seminar",
    "Webinar",
    "Whitepaper Download",
    "Advertisement",
)
OPPORTUNITY_STAGES: tuple[tuple[str, int, bool, bool], ...] = (
    # (stage, probability, closed, won): IsClosed/IsWon derive from the stage.
    ("Prospecting", 10, False, False),
    ("Qualification", 10, False, False),
    ("Needs Analysis", 20, False, False),
    ("Value Proposition", 50, False, False),
    ("Id. Decision Makers", 60, False, False),
    ("Perception Analysis", 70, False, False),
    ("Proposal/Price Quote", 75, False, False),
    ("Negotiation/Review", 90, False, False),
    ("Closed Won", 100, True, True),
    ("Closed Lost", 0, True, False),
)
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")


def _pick(values: tuple[str, ...], default: str | None = None) -> tuple[PicklistValue, ...]:
    return tuple(PicklistValue(value=v, label=v, default=v == default) for v in values)


def _text(name: str, label: str, length: int, **kw: Any) -> FieldDef:
    return FieldDef(name=name, type=kw.pop("type", "string"), label=label, length=length, **kw)


def _ref(name: str, label: str, to: tuple[str, ...], rel: str, **kw: Any) -> FieldDef:
    return FieldDef(
        name=name,
        type="reference",
        label=label,
        length=18,
        reference_to=to,
        relationship_name=rel,
        **kw,
    )


def _flag(name: str, label: str, default: bool = False, **kw: Any) -> FieldDef:
    return FieldDef(
        name=name,
        type="boolean",
        label=label,
        nillable=False,
        defaulted_on_create=True,
        default_value=default,
        **kw,
    )


def _readonly(f: FieldDef) -> FieldDef:
    return replace(f, createable=False, updateable=False)


def _system_fields(soft_delete: bool) -> list[FieldDef]:
    fields = [
        FieldDef(
            name="Id",
            type="id",
            label="Record ID",
            length=18,
            createable=False,
            updateable=False,
            nillable=False,
            defaulted_on_create=True,
            id_lookup=True,
        ),
    ]
    if soft_delete:
        fields.append(_readonly(_flag("IsDeleted", "Deleted")))
    fields += [
        FieldDef(
            name="CreatedDate",
            type="datetime",
            label="Created Date",
            createable=False,
            updateable=False,
            nillable=False,
            defaulted_on_create=True,
        ),
        _readonly(
            _ref(
                "CreatedById",
                "Created By ID",
                ("User",),
                "CreatedBy",
                nillable=False,
                defaulted_on_create=True,
            )
        ),
        FieldDef(
            name="LastModifiedDate",
            type="datetime",
            label="Last Modified Date",
            createable=False,
            updateable=False,
            nillable=False,
            defaulted_on_create=True,
        ),
        _readonly(
            _ref(
                "LastModifiedById",
                "Last Modified By ID",
                ("User",),
                "LastModifiedBy",
                nillable=False,
                defaulted_on_create=True,
            )
        ),
        FieldDef(
            name="SystemModstamp",
            type="datetime",
            label="System Modstamp",
            createable=False,
            updateable=False,
            nillable=False,
            defaulted_on_create=True,
        ),
    ]
    return fields


def _object(name: str, label: str, plural: str, fields: list[FieldDef], **kw: Any) -> ObjectDef:
    obj = ObjectDef(
        name=name, label=label, label_plural=plural, key_prefix=KEY_PREFIXES[name], **kw
    )
    for f in _system_fields(obj.soft_delete) + fields:
        obj.add(f)
    return obj


def _owner(targets: tuple[str, ...] = ("Group", "User")) -> FieldDef:
    return _ref("OwnerId", "Owner ID", targets, "Owner", nillable=False, defaulted_on_create=True)


def _person_fields() -> list[FieldDef]:
    return [
        FieldDef(
            name="Salutation",
            type="picklist",
            label="Salutation",
            length=40,
            picklist=_pick(("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")),
        ),
        _text("FirstName", "First Name", 40),
        _text("LastName", "Last Name", 80, nillable=False, required=True),
        _readonly(_text("Name", "Full Name", 121, nillable=False, name_field=True)),
        _text("Title", "Title", 128),
        _text("Email", "Email", 80, type="email", id_lookup=True),
        _text("Phone", "Phone", 40, type="phone"),
        _text("MobilePhone", "Mobile Phone", 40, type="phone"),
        FieldDef(
            name="LeadSource",
            type="picklist",
            label="Lead Source",
            length=255,
            picklist=_pick(LEAD_SOURCES),
        ),
        _flag("HasOptedOutOfEmail", "Email Opt Out"),
        _flag("DoNotCall", "Do Not Call"),
        _text("Description", "Description", 32000, type="textarea"),
    ]


def lead() -> ObjectDef:
    """The Lead object."""
    return _object(
        "Lead",
        "Lead",
        "Leads",
        [
            *_person_fields(),
            _text("Company", "Company", 255, nillable=False, required=True),
            _text("Street", "Street", 255, type="textarea"),
            _text("City", "City", 40),
            _text("State", "State/Province", 80),
            _text("PostalCode", "Zip/Postal Code", 20),
            _text("Country", "Country", 80),
            _text("Website", "Website", 255, type="url"),
            FieldDef(
                name="Industry",
                type="picklist",
                label="Industry",
                length=255,
                picklist=_pick(INDUSTRIES),
            ),
            FieldDef(name="NumberOfEmployees", type="int", label="Employees", digits=8),
            FieldDef(name="AnnualRevenue", type="currency", label="Annual Revenue", precision=18),
            FieldDef(
                name="Rating",
                type="picklist",
                label="Rating",
                length=255,
                picklist=_pick(("Hot", "Warm", "Cold")),
            ),
            FieldDef(
                name="Status",
                type="picklist",
                label="Status",
                length=255,
                nillable=False,
                defaulted_on_create=True,
                restricted_picklist=True,
                picklist=_pick(LEAD_STATUSES, default="Open - Not Contacted"),
            ),
            _owner(),
            _readonly(_flag("IsConverted", "Converted")),
            _readonly(FieldDef(name="ConvertedDate", type="date", label="Converted Date")),
            _readonly(
                _ref("ConvertedAccountId", "Converted Account ID", ("Account",), "ConvertedAccount")
            ),
            _readonly(
                _ref("ConvertedContactId", "Converted Contact ID", ("Contact",), "ConvertedContact")
            ),
            _readonly(
                _ref(
                    "ConvertedOpportunityId",
                    "Converted Opportunity ID",
                    ("Opportunity",),
                    "ConvertedOpportunity",
                )
            ),
            _flag("IsUnreadByOwner", "Unread By Owner"),
            _readonly(_ref("MasterRecordId", "Master Record ID", ("Lead",), "MasterRecord")),
        ],
        mergeable=True,
    )


def contact() -> ObjectDef:
    """The Contact object."""
    return _object(
        "Contact",
        "Contact",
        "Contacts",
        [
            *_person_fields(),
            _ref("AccountId", "Account ID", ("Account",), "Account"),
            _text("Department", "Department", 80),
            _text("MailingCountry", "Mailing Country", 80),
            _owner(("User",)),
            _readonly(_ref("MasterRecordId", "Master Record ID", ("Contact",), "MasterRecord")),
        ],
        mergeable=True,
    )


def account() -> ObjectDef:
    """The Account object."""
    return _object(
        "Account",
        "Account",
        "Accounts",
        [
            _text("Name", "Account Name", 255, nillable=False, required=True, name_field=True),
            FieldDef(
                name="Type",
                type="picklist",
                label="Account Type",
                length=255,
                picklist=_pick(
                    (
                        "Prospect",
                        "Customer - Direct",
                        "Customer - Channel",
                        "Channel Partner / Reseller",
                        "Installation Partner",
                        "Technology Partner",
                        "Other",
                    )
                ),
            ),
            FieldDef(
                name="Industry",
                type="picklist",
                label="Industry",
                length=255,
                picklist=_pick(INDUSTRIES),
            ),
            FieldDef(name="NumberOfEmployees", type="int", label="Employees", digits=8),
            FieldDef(name="AnnualRevenue", type="currency", label="Annual Revenue", precision=18),
            _text("Website", "Website", 255, type="url"),
            _text("Phone", "Account Phone", 40, type="phone"),
            _text("BillingCountry", "Billing Country", 80),
            _text("Description", "Account Description", 32000, type="textarea"),
            _owner(("User",)),
            _readonly(_ref("MasterRecordId", "Master Record ID", ("Account",), "MasterRecord")),
        ],
        mergeable=True,
    )


def opportunity() -> ObjectDef:
    """The Opportunity object."""
    return _object(
        "Opportunity",
        "Opportunity",
        "Opportunities",
        [
            _text("Name", "Name", 120, nillable=False, required=True, name_field=True),
            _ref("AccountId", "Account ID", ("Account",), "Account"),
            FieldDef(
                name="StageName",
                type="picklist",
                label="Stage",
                length=255,
                nillable=False,
                required=True,
                picklist=_pick(tuple(s[0] for s in OPPORTUNITY_STAGES)),
            ),
            FieldDef(
                name="CloseDate", type="date", label="Close Date", nillable=False, required=True
            ),
            FieldDef(name="Amount", type="currency", label="Amount", precision=18, scale=2),
            FieldDef(name="Probability", type="percent", label="Probability (%)", precision=3),
            _readonly(_flag("IsClosed", "Closed")),
            _readonly(_flag("IsWon", "Won")),
            FieldDef(
                name="LeadSource",
                type="picklist",
                label="Lead Source",
                length=255,
                picklist=_pick(LEAD_SOURCES),
            ),
            FieldDef(
                name="Type",
                type="picklist",
                label="Opportunity Type",
                length=255,
                picklist=_pick(
                    (
                        "Existing Customer - Upgrade",
                        "Existing Customer - Replacement",
                        "Existing Customer - Downgrade",
                        "New Customer",
                    )
                ),
            ),
            _text("Description", "Description", 32000, type="textarea"),
            _owner(("User",)),
        ],
    )


def task() -> ObjectDef:
    """The Task object."""
    return _object(
        "Task",
        "Task",
        "Tasks",
        [
            _ref("WhoId", "Name ID", ("Contact", "Lead"), "Who"),
            _ref("WhatId", "Related To ID", ("Account", "Opportunity"), "What"),
            _text(
                "Subject",
                "Subject",
                255,
                type="combobox",
                picklist=_pick(("Call", "Send Letter", "Send Quote", "Other")),
            ),
            FieldDef(name="ActivityDate", type="date", label="Due Date Only"),
            FieldDef(
                name="Status",
                type="picklist",
                label="Status",
                length=255,
                nillable=False,
                defaulted_on_create=True,
                picklist=_pick(TASK_STATUSES, default="Not Started"),
            ),
            FieldDef(
                name="Priority",
                type="picklist",
                label="Priority",
                length=255,
                nillable=False,
                defaulted_on_create=True,
                picklist=_pick(("High", "Normal", "Low"), default="Normal"),
            ),
            FieldDef(
                name="TaskSubtype",
                type="picklist",
                label="Task Subtype",
                length=255,
                picklist=_pick(("Task", "Email", "Call")),
            ),
            _text("Description", "Comments", 32000, type="textarea"),
            _readonly(_flag("IsClosed", "Closed")),
            _owner(),
        ],
    )


def user() -> ObjectDef:
    """The User object (users cannot be deleted, only deactivated)."""
    return _object(
        "User",
        "User",
        "Users",
        [
            _text(
                "Username",
                "Username",
                80,
                nillable=False,
                required=True,
                unique=True,
                id_lookup=True,
            ),
            _text("FirstName", "First Name", 40),
            _text("LastName", "Last Name", 80, nillable=False, required=True),
            _readonly(_text("Name", "Full Name", 121, nillable=False, name_field=True)),
            _text("Email", "Email", 128, type="email", nillable=False, required=True),
            _text("Alias", "Alias", 8, nillable=False, required=True),
            _text("Title", "Title", 80),
            _text("Department", "Department", 80),
            _flag("IsActive", "Active", default=True),
            FieldDef(
                name="LanguageLocaleKey",
                type="picklist",
                label="Language",
                length=40,
                picklist=_pick(("en_US", "ja")),
            ),
            FieldDef(
                name="TimeZoneSidKey",
                type="picklist",
                label="Time Zone",
                length=40,
                picklist=_pick(("America/Los_Angeles", "Asia/Tokyo", "GMT")),
            ),
        ],
        deletable=False,
        soft_delete=False,
        accepts_custom_fields=False,
    )


def group() -> ObjectDef:
    """The Group object; queues are groups with Type 'Queue'."""
    return _object(
        "Group",
        "Group",
        "Groups",
        [
            _text("Name", "Name", 40, nillable=False, required=True, name_field=True),
            _text("DeveloperName", "Developer Name", 80),
            FieldDef(
                name="Type",
                type="picklist",
                label="Type",
                length=40,
                nillable=False,
                required=True,
                restricted_picklist=True,
                picklist=_pick(("Regular", "Queue", "Role", "Organization")),
            ),
            _text("Email", "Email", 255, type="email"),
            _flag("DoesSendEmailToMembers", "Send Email to Members"),
            _ref("OwnerId", "Owner ID", ("User",), "Owner", defaulted_on_create=True),
        ],
        soft_delete=False,
        accepts_custom_fields=False,
    )


def permission_set() -> ObjectDef:
    """The PermissionSet object."""
    return _object(
        "PermissionSet",
        "Permission Set",
        "Permission Sets",
        [
            _text("Name", "Name", 80, nillable=False, required=True, unique=True),
            _text("Label", "Label", 80, nillable=False, required=True),
            _text("Description", "Description", 255),
            _readonly(_flag("IsOwnedByProfile", "Is Owned By Profile")),
        ],
        soft_delete=False,
        accepts_custom_fields=False,
    )


def permission_set_assignment() -> ObjectDef:
    """The PermissionSetAssignment object (assignee and set are fixed once created)."""
    return _object(
        "PermissionSetAssignment",
        "Permission Set Assignment",
        "Permission Set Assignments",
        [
            _ref(
                "AssigneeId",
                "Assignee ID",
                ("User",),
                "Assignee",
                nillable=False,
                required=True,
                updateable=False,
            ),
            _ref(
                "PermissionSetId",
                "Permission Set ID",
                ("PermissionSet",),
                "PermissionSet",
                nillable=False,
                required=True,
                updateable=False,
            ),
        ],
        soft_delete=False,
        updateable=False,
        accepts_custom_fields=False,
    )


def field_permissions() -> ObjectDef:
    """The FieldPermissions object: field-level security rows of a permission set."""
    return _object(
        "FieldPermissions",
        "Field Permissions",
        "Field Permissions",
        [
            _ref(
                "ParentId",
                "Parent ID",
                ("PermissionSet",),
                "Parent",
                nillable=False,
                required=True,
                updateable=False,
            ),
            _text(
                "SobjectType",
                "Sobject Type Name",
                40,
                nillable=False,
                required=True,
                updateable=False,
            ),
            _text("Field", "Field Name", 100, nillable=False, required=True, updateable=False),
            _flag("PermissionsRead", "Read Access"),
            _flag("PermissionsEdit", "Edit Access"),
        ],
        soft_delete=False,
        accepts_custom_fields=False,
    )


def standard_objects() -> dict[str, ObjectDef]:
    """Fresh definitions of every standard object the emulator serves."""
    objects = [
        lead(),
        contact(),
        account(),
        opportunity(),
        task(),
        user(),
        group(),
        queue_sobject(),
        permission_set(),
        permission_set_assignment(),
        field_permissions(),
    ]
    return {o.name: o for o in objects}
