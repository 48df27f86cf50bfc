"""The fields leadbridge needs in both systems (DOMAIN.md): names, types, picklist labels."""

from __future__ import annotations

from leadbridge.connectors.base import FieldSpec, FieldType, PicklistOption

# BANT: each of the four checks is "confirmed" or not, so a multi-select holds the confirmed
# ones. Labels carry English and Japanese so both teams read them in their language.
BANT_OPTIONS = (
    PicklistOption("budget_confirmed", "Budget confirmed / 予算確認済み"),
    PicklistOption("authority_confirmed", "Authority confirmed / 決裁者確認済み"),
    PicklistOption("need_confirmed", "Need confirmed / ニーズ確認済み"),
    PicklistOption("timeline_confirmed", "Timeline confirmed / 導入時期確認済み"),
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


def salesforce_specs() -> list[FieldSpec]:
    """Custom fields on Salesforce Lead (and Contact after conversion)."""
    return [
        FieldSpec("MQL_Score__c", "MQL Score", FieldType.NUMBER, precision=6, scale=0),
        FieldSpec("SQL_Flag__c", "SQL", FieldType.BOOLEAN),
        FieldSpec("BANT_Status__c", "BANT Status", FieldType.MULTIPICKLIST, options=BANT_OPTIONS),
        FieldSpec("MQL_Date__c", "MQL Date", FieldType.DATETIME),
        FieldSpec("Score_Breakdown__c", "Score Breakdown", FieldType.TEXT, length=32768),
        FieldSpec("Lead_Stage__c", "Lead Stage", FieldType.PICKLIST, options=STAGE_OPTIONS),
        FieldSpec(
            "HubSpot_Contact_Id__c",
            "HubSpot Contact Id",
            FieldType.STRING,
            length=32,
            external_id=True,
            unique=True,
        ),
    ]


def hubspot_specs() -> list[FieldSpec]:
    """Properties on HubSpot contacts, in the leadbridge property group."""
    return [
        FieldSpec("leadbridge_mql_score", "MQL Score", FieldType.NUMBER),
        FieldSpec("leadbridge_sql_flag", "SQL", FieldType.BOOLEAN),
        FieldSpec(
            "leadbridge_bant_status", "BANT Status", FieldType.MULTIPICKLIST, options=BANT_OPTIONS
        ),
        FieldSpec("leadbridge_mql_date", "MQL Date", FieldType.DATETIME),
        FieldSpec("leadbridge_score_breakdown", "Score Breakdown", FieldType.TEXT),
        FieldSpec(
            "leadbridge_salesforce_id",
            "Salesforce Id",
            FieldType.STRING,
            external_id=True,
            unique=True,
        ),
    ]
