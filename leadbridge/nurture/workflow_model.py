"""The checked workflow model: triggers, segments, actions, workflows (no parsing, no I/O).

leadbridge.nurture.workflow_rules turns a TOML file into these; docs/workflows.md describes
every key. The constants say which action kinds exist and how the exactly-once protocol treats
them (see leadbridge.nurture.actions).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from leadbridge.nurture.rules import Condition

TriggerKind = Literal["score_crossed", "field_changed", "event"]
ActionKind = Literal[
    "notify_email", "webhook", "assign_owner", "create_task", "add_to_list", "set_field"
]
TRIGGERS: tuple[TriggerKind, ...] = ("score_crossed", "field_changed", "event")
ACTIONS: tuple[ActionKind, ...] = (
    "notify_email",
    "webhook",
    "assign_owner",
    "create_task",
    "add_to_list",
    "set_field",
)
# Email and webhook calls cannot be taken back: they are the ones guarded by the started mark.
NOT_IDEMPOTENT = frozenset({"notify_email", "webhook"})
# These change a CRM record or list; they run under the pair's lease, as sync and scoring do.
CRM_ACTIONS = frozenset({"assign_owner", "create_task", "add_to_list", "set_field"})
PLACEHOLDERS = frozenset(
    {
        "workflow",
        "reason",
        "first_name",
        "last_name",
        "email",
        "company",
        "score",
        "threshold",
        "hubspot_id",
        "salesforce_id",
        "owner",
        "due",
    }
)


@dataclass(frozen=True)
class Trigger:
    """What starts a workflow: a score crossing, a field reaching a value, or an event."""

    kind: TriggerKind
    threshold: int | None = None
    field: str = ""
    equals: str | int | float | bool | None = None
    all_of: tuple[str, ...] = ()
    event: str = ""
    url_contains: tuple[str, ...] = ()
    properties: Mapping[str, str] = dataclasses.field(default_factory=dict)
    delay: timedelta = timedelta(0)


@dataclass(frozen=True)
class Segment:
    """A condition on the lead: an attribute test, or at least `min_count` matching events."""

    attribute: Condition | None = None
    event: str = ""
    url_contains: tuple[str, ...] = ()
    min_count: int = 1

    def describe(self) -> str:
        """A short human form for dry-run and list output."""
        if self.attribute is not None:
            c = self.attribute
            parts = [f"in {sorted(c.values)}" if c.values else ""]
            parts += [f">= {c.minimum:g}" if c.minimum is not None else ""]
            parts += [f"<= {c.maximum:g}" if c.maximum is not None else ""]
            parts += ["matches a pattern" if c.patterns else ""]
            return f"{c.field} " + " and ".join(p for p in parts if p)
        return f"{self.min_count}+ {self.event}" + (
            f" ({', '.join(self.url_contains)})" if self.url_contains else ""
        )


@dataclass(frozen=True)
class Action:
    """One step of a workflow; only the keys of its kind are set."""

    kind: ActionKind
    to: tuple[str, ...] = ()
    subject: Mapping[str, str] = dataclasses.field(default_factory=dict)  # locale -> template
    body: Mapping[str, str] = dataclasses.field(default_factory=dict)
    url: str = ""
    resend_unknown: bool = False
    queue: str | None = None
    list_name: str | None = None
    side: str = ""
    field_name: str = ""
    value: str | int | float | bool | None = None

    @property
    def idempotent(self) -> bool:
        """True when doing it twice leaves the same result as doing it once."""
        return self.kind not in NOT_IDEMPOTENT or self.resend_unknown

    @property
    def touches_crm(self) -> bool:
        """True when it changes a Salesforce or HubSpot record or list."""
        return self.kind in CRM_ACTIONS


@dataclass(frozen=True)
class Workflow:
    """A checked workflow."""

    key: str
    name: str
    trigger: Trigger
    actions: tuple[Action, ...]
    segments: tuple[Segment, ...] = ()
    enabled: bool = True


@dataclass(frozen=True)
class WorkflowRules:
    """A checked workflows file."""

    source: str
    workflows: tuple[Workflow, ...]

    def enabled(self) -> tuple[Workflow, ...]:
        """The workflows that run."""
        return tuple(w for w in self.workflows if w.enabled)

    def named(self, name: str) -> Workflow | None:
        """The enabled workflow of this name (None when it is gone or disabled)."""
        return next((w for w in self.enabled() if w.name == name), None)
