"""`leadbridge setup plan|apply`: the field catalogue in both systems, through the connectors.

Planning changes nothing. Applying makes only additive changes (create a field, add picklist
options, grant access) and records each one in the state store, so that the mapping audit can
later report drift: a field leadbridge made that has since been removed, retyped or hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from leadbridge.config import LoadedConfig
from leadbridge.config_setup import FieldSettings
from leadbridge.connectors.base import Connector, FieldSpec, ProvisionPlan, Side
from leadbridge.setup.fields import (
    HUBSPOT_OBJECT,
    SALESFORCE_OBJECTS,
    hubspot_specs,
    salesforce_specs,
)
from leadbridge.store.db import Store
from leadbridge.store.models import ProvisioningRecord

Connectors = Mapping[Side, Connector]


@dataclass(frozen=True)
class Target:
    """One object in one system and the fields leadbridge needs on it."""

    side: Side
    object_name: str
    specs: tuple[FieldSpec, ...]


def targets(*, fields: FieldSettings) -> list[Target]:
    """Every object leadbridge provisions, with its specs (names from config)."""
    found = [
        Target("salesforce", name, tuple(salesforce_specs(fields=fields)))
        for name in SALESFORCE_OBJECTS
    ]
    found.append(Target("hubspot", HUBSPOT_OBJECT, tuple(hubspot_specs(fields=fields))))
    return found


@dataclass(frozen=True)
class SetupReport:
    """The plans of every target; `applied` when the changes were made."""

    plans: tuple[ProvisionPlan, ...]
    applied: bool

    @property
    def change_count(self) -> int:
        """Changes made (apply) or to be made (plan)."""
        return sum(len(p.changes) for p in self.plans)

    @property
    def conflict_count(self) -> int:
        """Existing fields leadbridge will not change by itself."""
        return sum(len(p.conflicts) for p in self.plans)

    def as_dict(self) -> dict[str, Any]:
        """The report for --json."""
        return {
            "applied": self.applied,
            "changes": self.change_count,
            "conflicts": self.conflict_count,
            "actions": [
                {
                    "system": plan.side,
                    "object": action.object_name,
                    "field": action.field_name,
                    "action": action.kind,
                    "detail": action.detail,
                    "fix": action.fix,
                }
                for plan in self.plans
                for action in plan.actions
            ],
        }


def connectors_from_config(loaded: LoadedConfig) -> dict[Side, Connector]:
    """Both connectors, built from the configuration (ConfigError when a section is missing)."""
    from leadbridge.connectors.factory import hubspot_from_config, salesforce_from_config

    return {"salesforce": salesforce_from_config(loaded), "hubspot": hubspot_from_config(loaded)}


def plan_setup(*, connectors: Connectors, fields: FieldSettings) -> SetupReport:
    """What `apply` would do, per system and object; changes nothing."""
    plans = tuple(
        connectors[t.side].ensure_fields(t.object_name, t.specs, apply=False)
        for t in targets(fields=fields)
    )
    return SetupReport(plans=plans, applied=False)


def apply_setup(*, connectors: Connectors, fields: FieldSettings, store: Store) -> SetupReport:
    """Make the additive changes and record each one; a second call changes nothing."""
    plans: list[ProvisionPlan] = []
    for target in targets(fields=fields):
        plan = connectors[target.side].ensure_fields(target.object_name, target.specs, apply=True)
        plans.append(plan)
        _record(store, plan, {spec.name: spec for spec in target.specs})
    return SetupReport(plans=tuple(plans), applied=True)


def expected_of(spec: FieldSpec) -> dict[str, Any]:
    """What a field should look like, as stored with its provisioning record."""
    return {
        "type": spec.type.value,
        "label": spec.label,
        "options": [option.value for option in spec.options],
    }


def _record(store: Store, plan: ProvisionPlan, specs: Mapping[str, FieldSpec]) -> None:
    with store.session() as session:
        for action in plan.changes:
            spec = specs.get(action.field_name)
            session.add(
                ProvisioningRecord(
                    side=plan.side,
                    object_name=action.object_name,
                    field_name=action.field_name,
                    kind=action.kind,
                    detail=action.detail[:2000],
                    expected=expected_of(spec) if spec is not None else {},
                )
            )


def provisioned_fields(store: Store) -> list[ProvisioningRecord]:
    """The newest record of each field `setup apply` changed (what drift is measured against)."""
    with store.session() as session:
        rows = session.exec(
            select(ProvisioningRecord).order_by(col(ProvisioningRecord.applied_at).desc())
        ).all()
    latest: dict[tuple[str, str, str], ProvisioningRecord] = {}
    for row in rows:
        key = (row.side, row.object_name.lower(), row.field_name.lower())
        if row.expected and key not in latest:
            latest[key] = row
    return list(latest.values())


def object_counts(report: SetupReport) -> list[tuple[Side, str, int, int, int]]:
    """Per system and object: fields fine, changes, conflicts."""
    counts = []
    for plan in report.plans:
        for name in dict.fromkeys(a.object_name for a in plan.actions):
            kinds = [a.kind for a in plan.actions if a.object_name == name]
            changes = sum(1 for k in kinds if k in ("create", "add_options", "grant_access"))
            counts.append((plan.side, name, kinds.count("ok"), changes, kinds.count("conflict")))
    return counts


def summary_lines(report: SetupReport) -> list[str]:
    """One line per system and object: how many fields are fine, to change, in conflict."""
    return [
        f"{side} {name}: {ok} ok, {changes} change(s), {conflicts} conflict(s)"
        for side, name, ok, changes, conflicts in object_counts(report)
    ]
