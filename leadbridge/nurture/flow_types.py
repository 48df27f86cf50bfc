"""What a workflows run is told (FlowOptions) and what it reports (WorkflowReport, Planned)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class FlowOptions:
    """How a workflows run behaves."""

    claim_ttl: timedelta = timedelta(minutes=15)  # a running row older than this is re-claimed
    overlap: timedelta = timedelta(minutes=5)
    first_run_lookback: timedelta = timedelta(days=1)
    retry_after: timedelta = timedelta(minutes=10)
    max_attempts: int = 8
    lease_ttl: timedelta = timedelta(minutes=30)  # as scoring's; renewed before every CRM row


@dataclass
class WorkflowReport:
    """What one workflows run did."""

    run_id: int | None = None
    outcome: str = "running"
    detected: int = 0
    done: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    retrying: int = 0
    locked: int = 0  # due rows left for the next run: another run held the pair's lease
    reopened: int = 0  # failed rows made due again by `leadbridge errors retry`
    message: str = ""
    executions: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(vars(self))


@dataclass(frozen=True)
class Planned:
    """What dry-run says about one occurrence."""

    workflow: str
    hubspot_id: str
    salesforce_id: str
    occurrence: str
    due_at: datetime
    verdict: str  # "fires now", "scheduled", "not in segment", "already running"
    reason: str
    conditions: tuple[str, ...] = ()
