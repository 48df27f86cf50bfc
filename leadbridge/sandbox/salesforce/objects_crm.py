"""Lead, Contact and Account: the people and companies a sync moves between systems."""

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
from leadbridge.sandbox.salesforce.picklists import INDUSTRIES, LEAD_SOURCES, LEAD_STATUSES
from leadbridge.sandbox.salesforce.schema import FieldDef, ObjectDef


def _person_fields() -> list[FieldDef]:
    return [
        FieldDef(
            name="Salutation",
            type="picklist",
            label="Salutation",
            length=40,
            picklist=pick(("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")),
        ),
        text("FirstName", "First Name", 40),
        text("LastName", "Last Name", 80, nillable=False, required=True),
        readonly(text("Name", "Full Name", 121, nillable=False, name_field=True)),
        text("Title", "Title", 128),
        text("Email", "Email", 80, type="email", id_lookup=True),
        text("Phone", "Phone", 40, type="phone"),
        text("MobilePhone", "Mobile Phone", 40, type="phone"),
        FieldDef(
            name="LeadSource",
            type="picklist",
            label="Lead Source",
            length=255,
            picklist=pick(LEAD_SOURCES),
        ),
        flag("HasOptedOutOfEmail", "Email Opt Out"),
        flag("DoNotCall", "Do Not Call"),
        text("Description", "Description", 32000, type="textarea"),
    ]


def lead() -> ObjectDef:
    """The Lead object."""
    return define_object(
        "Lead",
        "Lead",
        "Leads",
        [
            *_person_fields(),
            text("Company", "Company", 255, nillable=False, required=True),
            text("Street", "Street", 255, type="textarea"),
            text("City", "City", 40),
            text("State", "State/Province", 80),
            text("PostalCode", "Zip/Postal Code", 20),
            text("Country", "Country", 80),
            text("Website", "Website", 255, type="url"),
            FieldDef(
                name="Industry",
                type="picklist",
                label="Industry",
                length=255,
                picklist=pick(INDUSTRIES),
            ),
            FieldDef(name="NumberOfEmployees", type="int", label="Employees", digits=8),
            FieldDef(name="AnnualRevenue", type="currency", label="Annual Revenue", precision=18),
            FieldDef(
                name="Rating",
                type="picklist",
                label="Rating",
                length=255,
                picklist=pick(("Hot", "Warm", "Cold")),
            ),
            FieldDef(
                name="Status",
                type="picklist",
                label="Status",
                length=255,
                nillable=False,
                defaulted_on_create=True,
                restricted_picklist=True,
                picklist=pick(LEAD_STATUSES, default="Open - Not Contacted"),
            ),
            owner(),
            readonly(flag("IsConverted", "Converted")),
            readonly(FieldDef(name="ConvertedDate", type="date", label="Converted Date")),
            readonly(
                ref("ConvertedAccountId", "Converted Account ID", ("Account",), "ConvertedAccount")
            ),
            readonly(
                ref("ConvertedContactId", "Converted Contact ID", ("Contact",), "ConvertedContact")
            ),
            readonly(
                ref(
                    "ConvertedOpportunityId",
                    "Converted Opportunity ID",
                    ("Opportunity",),
                    "ConvertedOpportunity",
                )
            ),
            flag("IsUnreadByOwner", "Unread By Owner"),
            readonly(ref("MasterRecordId", "Master Record ID", ("Lead",), "MasterRecord")),
        ],
        mergeable=True,
    )


def contact() -> ObjectDef:
    """The Contact object."""
    return define_object(
        "Contact",
        "Contact",
        "Contacts",
        [
            *_person_fields(),
            ref("AccountId", "Account ID", ("Account",), "Account"),
            text("Department", "Department", 80),
            text("MailingCountry", "Mailing Country", 80),
            owner(("User",)),
            readonly(ref("MasterRecordId", "Master Record ID", ("Contact",), "MasterRecord")),
        ],
        mergeable=True,
    )


def account() -> ObjectDef:
    """The Account object."""
    return define_object(
        "Account",
        "Account",
        "Accounts",
        [
            text("Name", "Account Name", 255, nillable=False, required=True, name_field=True),
            FieldDef(
                name="Type",
                type="picklist",
                label="Account Type",
                length=255,
                picklist=pick(
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
                picklist=pick(INDUSTRIES),
            ),
            FieldDef(name="NumberOfEmployees", type="int", label="Employees", digits=8),
            FieldDef(name="AnnualRevenue", type="currency", label="Annual Revenue", precision=18),
            text("Website", "Website", 255, type="url"),
            text("Phone", "Account Phone", 40, type="phone"),
            text("BillingCountry", "Billing Country", 80),
            text("Description", "Account Description", 32000, type="textarea"),
            owner(("User",)),
            readonly(ref("MasterRecordId", "Master Record ID", ("Account",), "MasterRecord")),
        ],
        mergeable=True,
    )
