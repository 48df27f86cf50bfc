"""HubSpot-defined properties and groups every sandbox portal starts with."""

from __future__ import annotations

from .schema import Option, PropertyDefinition

OBJECT_TYPES = ("contacts", "companies")


def _options(*values: str) -> tuple[Option, ...]:
    return tuple(
        Option(label=v.replace("_", " ").title(), value=v, display_order=i)
        for i, v in enumerate(values)
    )


_LIFECYCLE = _options(
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
_LEAD_STATUS = _options(
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
    "BAD_TIMING",
)
_EMPLOYEE_BANDS = _options("1-5", "5-25", "25-50", "50-100", "100-500", "500-1000", "1000+")
_INDUSTRIES = _options(
    "COMPUTER_SOFTWARE",
    "INFORMATION_TECHNOLOGY_AND_SERVICES",
    "FINANCIAL_SERVICES",
    "HOSPITAL_HEALTH_CARE",
    "MARKETING_AND_ADVERTISING",
    "MANUFACTURING",
    "RETAIL",
    "EDUCATION_MANAGEMENT",
    "TELECOMMUNICATIONS",
    "CONSULTING",
)
_ANALYTICS_SOURCES = _options(
    "ORGANIC_SEARCH",
    "PAID_SEARCH",
    "EMAIL_MARKETING",
    "SOCIAL_MEDIA",
    "REFERRALS",
    "OTHER_CAMPAIGNS",
    "DIRECT_TRAFFIC",
    "OFFLINE",
    "PAID_SOCIAL",
)

# (name, label, type, fieldType, group, options, flags)
Spec = tuple[str, str, str, str, str, tuple[Option, ...], frozenset[str]]
_RO = frozenset({"read_only_value"})
_RO_DEF = frozenset({"read_only_value", "read_only_definition"})
_NONE: frozenset[str] = frozenset()

CONTACT_SPECS: tuple[Spec, ...] = (
    ("email", "Email", "string", "text", "contactinformation", (), frozenset({"unique"})),
    ("firstname", "First Name", "string", "text", "contactinformation", (), _NONE),
    ("lastname", "Last Name", "string", "text", "contactinformation", (), _NONE),
    ("company", "Company Name", "string", "text", "contactinformation", (), _NONE),
    ("jobtitle", "Job Title", "string", "text", "contactinformation", (), _NONE),
    ("phone", "Phone Number", "string", "phonenumber", "contactinformation", (), _NONE),
    (
        "mobilephone",
        "Mobile Phone Number",
        "string",
        "phonenumber",
        "contactinformation",
        (),
        _NONE,
    ),
    ("website", "Website URL", "string", "text", "contactinformation", (), _NONE),
    ("city", "City", "string", "text", "contactinformation", (), _NONE),
    ("state", "State/Region", "string", "text", "contactinformation", (), _NONE),
    ("country", "Country/Region", "string", "text", "contactinformation", (), _NONE),
    ("industry", "Industry", "string", "text", "contactinformation", (), _NONE),
    (
        "numemployees",
        "Number of Employees",
        "enumeration",
        "select",
        "contactinformation",
        _EMPLOYEE_BANDS,
        _NONE,
    ),
    ("annualrevenue", "Annual Revenue", "string", "text", "contactinformation", (), _NONE),
    (
        "lifecyclestage",
        "Lifecycle Stage",
        "enumeration",
        "radio",
        "contactinformation",
        _LIFECYCLE,
        _NONE,
    ),
    (
        "hs_lead_status",
        "Lead Status",
        "enumeration",
        "radio",
        "contactinformation",
        _LEAD_STATUS,
        _NONE,
    ),
    ("hubspot_owner_id", "Contact owner", "string", "text", "contactinformation", (), _NONE),
    (
        "hs_analytics_source",
        "Original Source",
        "enumeration",
        "select",
        "analyticsinformation",
        _ANALYTICS_SOURCES,
        _RO,
    ),
    (
        "hs_additional_emails",
        "Additional email addresses",
        "string",
        "textarea",
        "contactinformation",
        (),
        _RO,
    ),
    (
        "hs_merged_object_ids",
        "Merged Contact IDs",
        "string",
        "text",
        "contactinformation",
        (),
        _RO_DEF,
    ),
    ("createdate", "Create Date", "datetime", "date", "contactinformation", (), _NONE),
    (
        "lastmodifieddate",
        "Last Modified Date",
        "datetime",
        "date",
        "contactinformation",
        (),
        _RO_DEF,
    ),
    ("hs_object_id", "Record ID", "number", "number", "contactinformation", (), _RO_DEF),
)

COMPANY_SPECS: tuple[Spec, ...] = (
    ("name", "Company name", "string", "text", "companyinformation", (), _NONE),
    ("domain", "Company Domain Name", "string", "text", "companyinformation", (), _NONE),
    ("website", "Website URL", "string", "text", "companyinformation", (), _NONE),
    ("phone", "Phone Number", "string", "phonenumber", "companyinformation", (), _NONE),
    ("city", "City", "string", "text", "companyinformation", (), _NONE),
    ("state", "State/Region", "string", "text", "companyinformation", (), _NONE),
    ("country", "Country/Region", "string", "text", "companyinformation", (), _NONE),
    ("industry", "Industry", "enumeration", "select", "companyinformation", _INDUSTRIES, _NONE),
    (
        "numberofemployees",
        "Number of Employees",
        "number",
        "number",
        "companyinformation",
        (),
        _NONE,
    ),
    ("annualrevenue", "Annual Revenue", "number", "number", "companyinformation", (), _NONE),
    (
        "lifecyclestage",
        "Lifecycle Stage",
        "enumeration",
        "radio",
        "companyinformation",
        _LIFECYCLE,
        _NONE,
    ),
    ("hubspot_owner_id", "Company owner", "string", "text", "companyinformation", (), _NONE),
    (
        "hs_merged_object_ids",
        "Merged Company IDs",
        "string",
        "text",
        "companyinformation",
        (),
        _RO_DEF,
    ),
    ("createdate", "Create Date", "datetime", "date", "companyinformation", (), _NONE),
    (
        "hs_lastmodifieddate",
        "Last Modified Date",
        "datetime",
        "date",
        "companyinformation",
        (),
        _RO_DEF,
    ),
    ("hs_object_id", "Record ID", "number", "number", "companyinformation", (), _RO_DEF),
)

DEFAULT_GROUPS: dict[str, tuple[tuple[str, str], ...]] = {
    "contacts": (
        ("contactinformation", "Contact information"),
        ("analyticsinformation", "Web analytics history"),
        ("conversioninformation", "Conversion information"),
    ),
    "companies": (("companyinformation", "Company information"),),
}

# Properties returned when the caller names none (list, get, search).
DEFAULT_RETURNED: dict[str, tuple[str, ...]] = {
    "contacts": (
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
}
LAST_MODIFIED: dict[str, str] = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate"}


def build_default(spec: Spec, order: int, created_ms: int) -> PropertyDefinition:
    name, label, type_, field_type, group, options, flags = spec
    return PropertyDefinition(
        name=name,
        label=label,
        type=type_,
        field_type=field_type,
        group_name=group,
        options=options,
        display_order=order,
        hubspot_defined=True,
        has_unique_value="unique" in flags,
        read_only_value="read_only_value" in flags,
        read_only_definition="read_only_definition" in flags,
        calculated=name in ("lastmodifieddate", "hs_lastmodifieddate", "hs_object_id"),
        created_ms=created_ms,
        updated_ms=created_ms,
    )
