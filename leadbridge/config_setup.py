"""Settings sections for setup and the checklist: field names, scoring, SLA, KPIs, workflows.

They are the checklist's evidence (items 1, 2, 4-8, 10-12): `leadbridge setup checklist` reads
them, and whether a key was written down (not just defaulted) is part of that evidence.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

if TYPE_CHECKING:
    from leadbridge.config import SecretRef


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_SALESFORCE_CUSTOM = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*[A-Za-z0-9]__c$")
_HUBSPOT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class FieldSettings(_Section):
    """The field names leadbridge provisions (and its shipped mappings use) in both systems."""

    salesforce_mql_score: str = "MQL_Score__c"
    salesforce_sql_flag: str = "SQL_Flag__c"
    salesforce_bant_status: str = "BANT_Status__c"
    salesforce_mql_date: str = "MQL_Date__c"
    salesforce_score_breakdown: str = "Score_Breakdown__c"
    salesforce_lead_stage: str = "Lead_Stage__c"
    salesforce_hubspot_id: str = "HubSpot_Contact_Id__c"
    hubspot_mql_score: str = "leadbridge_mql_score"
    hubspot_sql_flag: str = "leadbridge_sql_flag"
    hubspot_bant_status: str = "leadbridge_bant_status"
    hubspot_mql_date: str = "leadbridge_mql_date"
    hubspot_score_breakdown: str = "leadbridge_score_breakdown"
    hubspot_salesforce_id: str = "leadbridge_salesforce_id"

    @field_validator("*")
    @classmethod
    def _api_name(cls, value: str, info: ValidationInfo) -> str:
        name = info.field_name or ""
        if name.startswith("salesforce_") and not (
            _SALESFORCE_CUSTOM.match(value) and len(value) <= 43
        ):
            raise PydanticCustomError(
                "salesforce_field_name",
                "{value!r} is not a Salesforce custom field API name: use letters, digits and "
                "single underscores, at most 40 characters, ending in __c (e.g. MQL_Score__c)",
                {"value": value},
            )
        if name.startswith("hubspot_") and not (_HUBSPOT_NAME.match(value) and len(value) <= 100):
            raise PydanticCustomError(
                "hubspot_property_name",
                "{value!r} is not a HubSpot internal property name: use lower-case letters, "
                "digits and underscores, starting with a letter (e.g. leadbridge_mql_score)",
                {"value": value},
            )
        return value

    @model_validator(mode="after")
    def _distinct(self) -> FieldSettings:
        for prefix in ("salesforce_", "hubspot_"):
            names = [v.lower() for k, v in self if k.startswith(prefix)]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise PydanticCustomError(
                    "distinct_fields",
                    "each field needs its own name; used twice: {dupes}",
                    {"dupes": ", ".join(dupes)},
                )
        return self


class ScoringSettings(_Section):
    """Where the lead-scoring rules live and the MQL threshold (checklist items 1 and 2)."""

    threshold: int = Field(default=50, ge=1)
    rules_file: Path | None = None
    # Leads read, scored, written back and committed together: bounds a run's memory.
    batch_leads: int = Field(default=20_000, ge=100, le=1_000_000)
    # Events are read again from this long before the cursor: an event HubSpot stores later
    # than this after its timestamp is missed until the lead's history is read again.
    events_overlap_minutes: float = Field(default=5.0, gt=0, le=1440)


class SlaSettings(_Section):
    """The marketing-sales service level (checklist item 8)."""

    first_contact_hours: float = Field(default=24.0, gt=0)


def _rate(value: float | None) -> float | None:
    if value is not None and not 0 < value <= 1:
        raise PydanticCustomError(
            "rate",
            "a rate is a fraction between 0 and 1 (write 0.3 for 30%), got {value}",
            {"value": value},
        )
    return value


Rate = Annotated[float | None, AfterValidator(_rate)]


class KpiSettings(_Section):
    """The KPI targets both teams agreed on (checklist items 7, 11 and 12)."""

    target_mql_to_sql_rate: Rate = None
    target_sql_win_rate: Rate = None


def _secret_ref(value: Any) -> Any:
    # SecretRef lives in leadbridge.config, which imports this module: resolve it at use.
    from leadbridge.config import SecretRef

    if value is None or isinstance(value, SecretRef):
        return value
    if isinstance(value, str):
        raise PydanticCustomError("inline_secret", "an inline secret is not allowed here")
    return SecretRef.model_validate(value)


class SmtpSettings(_Section):
    """The mail server workflow notifications go through (password: a secret reference)."""

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    starttls: bool = True
    # A CA bundle to trust for STARTTLS instead of the system's (a private CA, a test server).
    ca_file: Path | None = None
    username: str | None = Field(default=None, min_length=1)
    password: Annotated[Any, BeforeValidator(_secret_ref)] = None
    timeout_seconds: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _no_login_in_clear(self) -> SmtpSettings:
        if (self.username is not None or self.password is not None) and not self.starttls:
            raise PydanticCustomError(
                "login_in_clear",
                "a login (username/password) needs starttls = true: without it the password "
                "would cross the network in clear",
                {},
            )
        return self

    def password_ref(self) -> SecretRef | None:
        """The password's secret reference (None for a server without login)."""
        return cast("SecretRef | None", self.password)


class WorkflowSettings(_Section):
    """Which hand-over workflows run (checklist items 4, 5 and 6) and what they need."""

    notify_inside_sales: bool = False
    inside_sales_recipients: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(
        default_factory=list
    )
    handover_to_field_sales: bool = False
    nurture_list: str | None = Field(default=None, min_length=1)
    # The rest is read by `leadbridge workflows` (docs/workflows.md), not by the checklist.
    rules_file: Path | None = None
    field_sales_users: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    field_sales_queue: str | None = Field(default=None, min_length=1)
    locale: Literal["en", "ja"] = "en"
    locale_field: str | None = Field(default=None, min_length=1)
    smtp: SmtpSettings | None = None

    @model_validator(mode="after")
    def _recipients(self) -> WorkflowSettings:
        if self.notify_inside_sales and not self.inside_sales_recipients:
            raise PydanticCustomError(
                "recipients",
                'notify_inside_sales = true needs inside_sales_recipients = ["name@company"]',
            )
        return self


class DashboardSettings(_Section):
    """The dashboard both teams share (checklist item 10)."""

    url: str | None = Field(default=None, pattern=r"^https?://\S+$")
