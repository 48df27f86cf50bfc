"""The outcome of one sync run: per side counts, the outcome, the dry-run plan lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from leadbridge.connectors.base import Side
from leadbridge.sync.merge import SIDES
from leadbridge.sync.plan import Plan


@dataclass
class SideReport:
    """Per side: what was read and what happened to the records written there."""

    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: int = 0
    failed: int = 0
    skipped: int = 0
    duplicates: int = 0
    deleted: int = 0
    api_calls: int = 0


@dataclass
class SyncReport:
    """The outcome of one run."""

    pair: str
    run_id: int | None
    outcome: str
    dry_run: bool
    sides: dict[Side, SideReport] = field(
        default_factory=lambda: {side: SideReport() for side in SIDES}
    )
    plan_lines: list[str] = field(default_factory=list)
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for --json."""
        return {
            "pair": self.pair,
            "run_id": self.run_id,
            "outcome": self.outcome,
            "dry_run": self.dry_run,
            "message": self.message,
            "sides": {side: vars(report) for side, report in self.sides.items()},
        }


def count_plan(report: SyncReport, *, plan: Plan) -> None:
    """Add one chunk's planned outcomes to the run's per side counts."""
    for side, counts in plan.counts().items():
        target = report.sides[side]
        target.created += counts.created
        target.updated += counts.updated
        target.conflicts += counts.conflicts
        target.skipped += counts.skipped
        target.duplicates += counts.duplicates
        target.deleted += counts.deleted
        target.unchanged += counts.unchanged
