"""What every workflow action shares: the lead it acts on, the step it runs as, its outcome,
and the texts (placeholder values, language) its messages and Tasks are rendered from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from leadbridge.config_setup import WorkflowSettings
from leadbridge.nurture.workflows import Locale, choose_locale, sla_deadline

Status = Literal["done", "retry", "failed", "unknown", "skipped"]


@dataclass(frozen=True)
class Outcome:
    """What one action did: done, retry (provably not done), failed, or unknown."""

    status: Status
    detail: str


@dataclass
class Lead:
    """The lead an execution acts on, with the values its texts and conditions read."""

    hubspot_id: str
    salesforce_id: str
    salesforce_type: str = "Lead"
    values: dict[str, Any] = field(default_factory=dict)
    score: int | None = None
    threshold: int = 50
    linked: bool = False


@dataclass(frozen=True)
class Step:
    """Which step of which execution an action runs as."""

    key: str
    index: int
    workflow: str
    reason: str
    run_id: int
    resumed: bool  # the row was claimed before: look before creating anything


class Texts:
    """Placeholder values and the language for one lead's e-mails, webhooks and Tasks."""

    def __init__(self, *, settings: WorkflowSettings, sla_hours: float) -> None:
        self.settings = settings
        self.sla_hours = sla_hours

    def context(self, lead: Lead, *, step: Step, now: datetime) -> dict[str, Any]:
        """Placeholder values for templates."""
        v = lead.values

        def first(*names: str) -> Any:
            return next((v[n] for n in names if v.get(n) not in (None, "")), "")

        return {
            "workflow": step.workflow,
            "reason": step.reason,
            "first_name": first("firstname", "FirstName"),
            "last_name": first("lastname", "LastName"),
            "email": first("email", "Email"),
            "company": first("company", "Company"),
            "score": "" if lead.score is None else lead.score,
            "threshold": lead.threshold,
            "hubspot_id": lead.hubspot_id,
            "salesforce_id": lead.salesforce_id,
            "owner": first("OwnerId"),
            "due": self.due(now).strftime("%Y-%m-%d %H:%M UTC"),
        }

    def due(self, now: datetime) -> datetime:
        """When first contact is due for a hand-over made `now` (the SLA deadline)."""
        return sla_deadline(now, hours=self.sla_hours)

    def locale(self, lead: Lead) -> Locale:
        """The language of the lead's texts."""
        s = self.settings
        return choose_locale(lead.values, field=s.locale_field, default=s.locale)
