"""The fields leadbridge needs in both systems (DOMAIN.md): names from config, types, labels."""

from __future__ import annotations

from leadbridge.config_setup import FieldSettings
from leadbridge.connectors.base import FieldSpec, FieldType, PicklistOption

# BANT: each of the four checks is "confirmed" or not, so a multi-select holds the confirmed
# ones. Labels carry English and Japanese so both teams read them in their language.
BANT_OPTIONS = (
    PicklistOption("budget_confirmed", "Budget confirmed / 予算確認済み"),
    PicklistOption("authority_confirmed", "Authority confirmed / 決裁者確認済み"),
    PicklistOption("need_confirmed", "Need confirmed / ニーズ確認済み"),
    PicklistOption("timeline_confirmed", "Timeline confirmed / 導入時期確認済み"),
)

# Salesforce picklist values are conventionally words; the shipped mapping translates HubSpot's
# internal values into exactly these, so the two tables must stay in step.
SALESFORCE_BANT_OPTIONS = (
    PicklistOption("Budget Confirmed", "Budget confirmed / 予算確認済み"),
    PicklistOption("Authority Confirmed", "Authority confirmed / 決裁者確認済み"),
    PicklistOption("Need Confirmed", "Need confirmed / ニーズ確認済み"),
    PicklistOption("Timeline Confirmed", "Timeline confirmed / 導入時期確認済み"),
)

# The values the shipped mapping translates HubSpot's lifecycle stages into.
STAGE_OPTIONS = (
    PicklistOption("Subscriber", "Subscriber / 購読者"),
    PicklistOption("Lead", "Lead / リード"),
    PicklistOption("MQL", "MQL / マーケティング見込み客"),
    PicklistOption("SQL", "SQL / 営業見込み客"),
    PicklistOption("Opportunity", "Opportunity / 商談"),
    PicklistOption("Customer", "Customer / 顧客"),
    PicklistOption("Evangelist", "Evangelist / エバンジェリスト"),
    PicklistOption("Other", "Other / その他"),
)

# Salesforce objects that carry the custom fields: a Lead, and the Contact it converts into
# (the pair follows ConvertedContactId, so the values must have somewhere to go).
SALESFORCE_OBJECTS = ("Lead", "Contact")
HUBSPOT_OBJECT = "contacts"


def salesforce_specs(*, fields: FieldSettings | None = None) -> list[FieldSpec]:
    """Custom fields on Salesforce Lead and Contact (default names unless `fields` is given)."""
    names = fields or FieldSettings()
    return [
        FieldSpec(names.salesforce_mql_score, "MQL Score", FieldType.NUMBER, precision=6, scale=0),
        FieldSpec(names.salesforce_sql_flag, "SQL", FieldType.BOOLEAN),
        FieldSpec(
            names.salesforce_bant_status,
            "BANT Status",
            FieldType.MULTIPICKLIST,
            options=SALESFORCE_BANT_OPTIONS,
        ),
        FieldSpec(names.salesforce_mql_date, "MQL Date", FieldType.DATETIME),
        FieldSpec(
            names.salesforce_score_breakdown, "Score Breakdown", FieldType.TEXT, length=32768
        ),
        FieldSpec(
            names.salesforce_lead_stage, "Lead Stage", FieldType.PICKLIST, options=STAGE_OPTIONS
        ),
        FieldSpec(
            names.salesforce_hubspot_id,
            "HubSpot Contact Id",
            FieldType.STRING,
            length=32,
            external_id=True,
            unique=True,
        ),
    ]


def hubspot_specs(*, fields: FieldSettings | None = None) -> list[FieldSpec]:
    """Properties on HubSpot contacts, in the leadbridge property group."""
    names = fields or FieldSettings()
    return [
        FieldSpec(names.hubspot_mql_score, "MQL Score", FieldType.NUMBER),
        FieldSpec(names.hubspot_sql_flag, "SQL", FieldType.BOOLEAN),
        FieldSpec(
            names.hubspot_bant_status, "BANT Status", FieldType.MULTIPICKLIST, options=BANT_OPTIONS
        ),
        FieldSpec(names.hubspot_mql_date, "MQL Date", FieldType.DATETIME),
        FieldSpec(names.hubspot_score_breakdown, "Score Breakdown", FieldType.TEXT),
        FieldSpec(
            names.hubspot_salesforce_id,
            "Salesforce Id",
            FieldType.STRING,
            external_id=True,
            unique=True,
        ),
    ]
