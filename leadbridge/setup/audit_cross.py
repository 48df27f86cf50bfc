"""Audit checks across pairs (two writers of one target) and against `setup apply` (drift)."""

from __future__ import annotations

from collections.abc import Sequence

from leadbridge.connectors.base import FieldSpec, FieldType, PicklistOption, Side
from leadbridge.setup.findings import Finding, Severity
from leadbridge.setup.provisioning import Connectors
from leadbridge.store.models import ProvisioningRecord
from leadbridge.sync.mapping import PairMapping


def two_writers(mappings: Sequence[PairMapping], *, only: str | None) -> list[Finding]:
    writers: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
    for m in mappings:
        objects = {
            "salesforce": [m.salesforce_object, *filter(None, [m.converted_object])],
            "hubspot": [m.hubspot_object],
        }
        targets = [
            (side, f.name(side), f.key)
            for f in m.synced_fields()
            for side in ("salesforce", "hubspot")
            if f.flows_to(side)
        ]
        targets += [
            ("salesforce", m.salesforce_external_id, "match.salesforce_external_id"),
            ("hubspot", m.hubspot_external_id, "match.hubspot_external_id"),
        ]
        for side, name, entry in targets:
            for obj in objects[side]:
                writers.setdefault((side, obj, name.lower()), []).append((m.name, entry))
    out: list[Finding] = []
    for (side, obj, name), who in writers.items():
        if len(who) < 2:
            continue
        listed = ", ".join(f"{pair} {entry}" for pair, entry in who)
        for pair, entry in who:
            if only is None or pair == only:
                out.append(
                    Finding(
                        pair, "two_writers", "error", entry, side, obj, name,
                        f"{side} {obj}.{name} is written by {len(who)} sources: {listed}",
                        "keep one writer: set direction so that only one entry writes it",
                    )
                )  # fmt: skip
    return out


_DRIFT = {
    "create": "is gone",
    "grant_access": "is no longer granted to the integration user",
    "add_options": "lost picklist options",
    "conflict": "was changed",
}


def drift(records: Sequence[ProvisioningRecord], connectors: Connectors) -> list[Finding]:
    by_object: dict[tuple[Side, str], list[ProvisioningRecord]] = {}
    for row in records:
        side: Side = "salesforce" if row.side == "salesforce" else "hubspot"
        by_object.setdefault((side, row.object_name), []).append(row)
    out: list[Finding] = []
    for (side, obj), rows in by_object.items():
        plan = connectors[side].ensure_fields(obj, [_spec(row) for row in rows], apply=False)
        applied = {row.field_name.lower(): row.applied_at for row in rows}
        reported: set[str] = set()
        for action in plan.actions:
            when = applied.get(action.field_name.lower())
            # A missing field plans both a create and a grant: one finding says it.
            if action.kind == "ok" or when is None or action.field_name in reported:
                continue
            reported.add(action.field_name)
            severity: Severity = "warning" if action.kind == "add_options" else "error"
            out.append(
                Finding(
                    "(setup)", "drift", severity, "", side, obj, action.field_name,
                    f"{obj}.{action.field_name} {_DRIFT[action.kind]} since `setup apply` "
                    f"on {when:%Y-%m-%d %H:%M} UTC: {action.detail}",
                    action.fix or "run `leadbridge setup apply` to restore it",
                )
            )  # fmt: skip
    return out


def _spec(row: ProvisioningRecord) -> FieldSpec:
    expected = row.expected
    options = tuple(PicklistOption(str(v), str(v)) for v in expected.get("options") or [])
    return FieldSpec(
        row.field_name,
        str(expected.get("label", row.field_name)),
        FieldType(str(expected.get("type", "other"))),
        options=options,
    )
