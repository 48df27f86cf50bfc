"""The sync plan: per record what will be written where, and why (pure).

`plan_record` turns one identity decision (plus the current records of the pair) into a
RecordPlan; `plan_pair` collects them into a Plan for one object pair; `render_plan` prints it
for --dry-run. The runner executes `writes()` and, after they succeed, stores `link` with
`snapshot` and removes `dropped` links.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from leadbridge.connectors.base import CanonicalValue, Record, Side, WriteOp
from leadbridge.sync.identity import (
    Decision,
    Deleted,
    Duplicate,
    Link,
    Linked,
    Matched,
    New,
    Relinked,
    Skip,
)
from leadbridge.sync.mapping import PairMapping
from leadbridge.sync.merge import (
    SIDES,
    Conflict,
    FieldChange,
    FieldProblem,
    MergeResult,
    flow_to,
    merge_for_create,
    merge_record,
    other_side,
)
from leadbridge.sync.snapshot import Snapshot

Action = Literal[
    "create_in_salesforce",
    "create_in_hubspot",
    "update",
    "link",
    "relink",
    "unlink",
    "delete_other_side",
    "skip",
    "duplicate",
    "problem",
]


@dataclass(frozen=True)
class UpsertKey:
    """A create is an upsert on the target's external-id field, so a retry cannot duplicate."""

    field: str
    value: str


@dataclass(frozen=True)
class PlannedWrite:
    """One write for the runner: which side and object, and the connector WriteOp."""

    side: Side
    object_name: str
    op: WriteOp


@dataclass(frozen=True)
class RecordPlan:
    """What happens to one record (or linked pair), with every field change and its reason."""

    action: Action
    source_side: Side
    hubspot_id: str | None
    salesforce_id: str | None
    salesforce_object: str
    hubspot_object: str
    reason: str = ""
    changes: tuple[FieldChange, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    problems: tuple[FieldProblem, ...] = ()
    snapshot: Snapshot | None = None
    link: Link | None = None
    dropped: tuple[Link, ...] = ()
    candidates: tuple[str, ...] = ()
    upsert: UpsertKey | None = None
    backlink_field: str | None = None

    @property
    def ref(self) -> str:
        """Correlation key for write results and logs: "hubspot_id|salesforce_id"."""
        return f"{self.hubspot_id or ''}|{self.salesforce_id or ''}"

    def changes_to(self, side: Side) -> tuple[FieldChange, ...]:
        """The field changes aimed at one side."""
        return tuple(c for c in self.changes if c.target_side == side)

    def writes(self) -> list[PlannedWrite]:
        """The connector writes this plan needs (creates are upserts by external id)."""
        result: list[PlannedWrite] = []
        for side in SIDES:
            values = {c.field: c.new for c in self.changes_to(side)}
            obj = self.hubspot_object if side == "hubspot" else self.salesforce_object
            record_id = self.hubspot_id if side == "hubspot" else self.salesforce_id
            if self.action == _CREATE[side] and self.upsert is not None:
                op = WriteOp(
                    kind="upsert",
                    ref=self.ref,
                    values=values,
                    key_field=self.upsert.field,
                    key_value=self.upsert.value,
                )
            elif self.action == "delete_other_side" and side != self.source_side and record_id:
                op = WriteOp(kind="delete", ref=self.ref, record_id=record_id)
            elif values and record_id:
                op = WriteOp(kind="update", ref=self.ref, record_id=record_id, values=values)
            else:
                continue
            result.append(PlannedWrite(side, obj, op))
        return result

    def backlink(self, created_id: str) -> PlannedWrite | None:
        """After a create: write the new id into the source record's external-id field."""
        source_id = self.hubspot_id if self.source_side == "hubspot" else self.salesforce_id
        if self.backlink_field is None or source_id is None:
            return None
        obj = self.hubspot_object if self.source_side == "hubspot" else self.salesforce_object
        values: dict[str, CanonicalValue] = {self.backlink_field: created_id}
        op = WriteOp(kind="update", ref=self.ref, record_id=source_id, values=values)
        return PlannedWrite(self.source_side, obj, op)


@dataclass(frozen=True)
class PlanInput:
    """One identity decision with the pair's current records (None when not read)."""

    decision: Decision
    hubspot: Record | None = None
    salesforce: Record | None = None


@dataclass
class SideCounts:
    """Per side: records created, updated, unchanged, conflicts lost, skipped and so on."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: int = 0
    skipped: int = 0
    duplicates: int = 0
    deleted: int = 0
    problems: int = 0


@dataclass(frozen=True)
class Plan:
    """Every RecordPlan of one run of one object pair."""

    pair: str
    records: tuple[RecordPlan, ...] = field(default_factory=tuple)

    def counts(self) -> dict[Side, SideCounts]:
        """Counts per side (writes count on the side written to, skips on the side read)."""
        counts = {side: SideCounts() for side in SIDES}
        for rec in self.records:
            src = counts[rec.source_side]
            src.skipped += rec.action == "skip"
            src.duplicates += rec.action == "duplicate"
            src.problems += rec.action == "problem"
            for side in SIDES:
                c = counts[side]
                c.created += rec.action == _CREATE[side]
                c.deleted += rec.action == "delete_other_side" and side != rec.source_side
                c.conflicts += sum(k.winner != side and k.written for k in rec.conflicts)
                c.problems += sum(p.target_side == side for p in rec.problems)
                if rec.action in ("update", "link", "relink"):
                    if rec.changes_to(side):
                        c.updated += 1
                    else:
                        c.unchanged += 1
        return counts


def plan_record(
    *,
    mapping: PairMapping,
    decision: Decision,
    hubspot: Record | None = None,
    salesforce: Record | None = None,
) -> RecordPlan:
    """Plan one decision; hubspot/salesforce are the pair's current records when it has both."""
    side = decision.side
    base = RecordPlan(
        action="skip",
        source_side=side,
        hubspot_id=decision.record_id if side == "hubspot" else None,
        salesforce_id=decision.record_id if side == "salesforce" else None,
        salesforce_object=salesforce.object_name if salesforce else mapping.salesforce_object,
        hubspot_object=mapping.hubspot_object,
    )
    match decision:
        case Linked(link=link):
            return _merged(mapping, base, "update", link, hubspot, salesforce, reason="")
        case Matched(other=other, by=by):
            pair = {side: decision.record_id, other_side(side): other.id}
            link = Link(pair["hubspot"], pair["salesforce"], _sf_object(mapping, side, other))
            mine = hubspot if side == "hubspot" else salesforce
            records: dict[Side, Record | None] = {side: mine, other_side(side): other}
            plan = _merged(
                mapping,
                base,
                "link",
                link,
                records["hubspot"],
                records["salesforce"],
                reason=f"matched by {by.replace('_', ' ')}",
                first=True,
            )
            return _with_id_fields(mapping, plan, link, records)
        case Duplicate(candidates=candidates, reason=reason):
            return replace(base, action="duplicate", reason=reason, candidates=candidates)
        case New(create=False, reason=reason) | Skip(reason=reason):
            return replace(base, reason=reason)
        case New():
            source = hubspot if side == "hubspot" else salesforce
            return _create(mapping, base, source, decision.reason)
        case Relinked(link=link, dropped=dropped, reason=reason):
            if link is None:
                return replace(base, action="unlink", reason=reason, dropped=dropped)
            plan = _merged(
                mapping, base, "relink", link, hubspot, salesforce, reason=reason, lenient=True
            )
            pair_records: dict[Side, Record | None] = {"hubspot": hubspot, "salesforce": salesforce}
            return _with_id_fields(mapping, replace(plan, dropped=dropped), link, pair_records)
        case Deleted(link=link, policy=policy):
            base = replace(
                base,
                salesforce_object=link.salesforce_object,
                hubspot_id=link.hubspot_id,
                salesforce_id=link.salesforce_id,
            )
            if policy == "ignore":
                return replace(base, reason="deleted; delete.policy = 'ignore' keeps the link")
            if policy == "unlink":
                return replace(
                    base, action="unlink", reason="deleted; the link is removed", dropped=(link,)
                )
            reason = f"deleted in {side}; delete.policy = 'propagate' deletes the other side"
            return replace(base, action="delete_other_side", reason=reason, dropped=(link,))
    raise AssertionError(f"unplanned decision {decision!r}")  # pragma: no cover


def _sf_object(mapping: PairMapping, side: Side, other: Record) -> str:
    return other.object_name if side == "hubspot" else mapping.salesforce_object


def _merged(
    mapping: PairMapping,
    base: RecordPlan,
    action: Action,
    link: Link,
    hubspot: Record | None,
    salesforce: Record | None,
    *,
    reason: str,
    first: bool = False,
    lenient: bool = False,
) -> RecordPlan:
    base = replace(
        base,
        hubspot_id=link.hubspot_id,
        salesforce_id=link.salesforce_id,
        salesforce_object=link.salesforce_object,
        link=link,
        reason=reason,
    )
    records: dict[Side, Record | None] = {"hubspot": hubspot, "salesforce": salesforce}
    missing = [s for s, r in records.items() if r is None or r.id != link.id(s)]
    if missing:
        if lenient:
            # A relink without both records only moves the link; the next run merges fields.
            return replace(base, action=action, snapshot=link.snapshot)
        return replace(
            base,
            action="problem",
            reason=f"the linked {missing[0]} record "
            f"{link.id(missing[0])} was not read (deleted or not visible)",
        )
    assert hubspot is not None
    assert salesforce is not None
    snapshot = None if first else link.snapshot
    result = merge_record(
        mapping=mapping, snapshot=snapshot, hubspot=hubspot, salesforce=salesforce
    )
    return _with_result(replace(base, action=action), result)


def _with_result(plan: RecordPlan, result: MergeResult) -> RecordPlan:
    link = plan.link
    snapshot = result.snapshot
    return replace(
        plan,
        changes=result.changes,
        conflicts=result.conflicts,
        problems=result.problems,
        snapshot=snapshot,
        link=Link(link.hubspot_id, link.salesforce_id, link.salesforce_object, snapshot)
        if link
        else None,
    )


def _with_id_fields(
    mapping: PairMapping, plan: RecordPlan, link: Link, records: dict[Side, Record | None]
) -> RecordPlan:
    # A new or moved link writes each side's id into the other's external-id field, so that
    # the next match is by external id even if an e-mail changes.
    extra: list[FieldChange] = []
    for side in SIDES:
        record = records[side]
        name = mapping.external_id(side)
        old = record.values.get(name) if record is not None and record.id == link.id(side) else None
        if old == link.id(other_side(side)):
            continue
        extra.append(
            FieldChange(
                target_side=side,
                field=name,
                old=old,
                new=link.id(other_side(side)),
                source_side=other_side(side),
                direction=flow_to(side),
                rule="identity",
                cause="identity",
            )
        )
    return replace(plan, changes=plan.changes + tuple(extra))


def _create(
    mapping: PairMapping, base: RecordPlan, source: Record | None, reason: str
) -> RecordPlan:
    side = base.source_side
    target = other_side(side)
    if source is None:
        return replace(base, action="problem", reason="the record to create from was not read")
    result = merge_for_create(mapping=mapping, source=source, source_side=side)
    key = UpsertKey(field=mapping.external_id(target), value=source.id)
    plan = replace(
        base,
        action=_CREATE[target],
        reason=reason,
        upsert=key,
        backlink_field=mapping.external_id(side),
    )
    return _with_result(plan, result)


_CREATE: dict[Side, Action] = {
    "hubspot": "create_in_hubspot",
    "salesforce": "create_in_salesforce",
}


def plan_pair(*, mapping: PairMapping, inputs: Iterable[PlanInput]) -> Plan:
    """Plan every input; a pair seen twice in one run (changed on both sides) is planned once."""
    seen: set[tuple[str | None, str | None]] = set()
    records: list[RecordPlan] = []
    for item in inputs:
        rec = plan_record(
            mapping=mapping,
            decision=item.decision,
            hubspot=item.hubspot,
            salesforce=item.salesforce,
        )
        key = (rec.hubspot_id, rec.salesforce_id)
        if rec.action in ("update", "link", "relink") and key in seen:
            continue
        seen.add(key)
        records.append(rec)
    return Plan(pair=mapping.name, records=tuple(records))


def show_value(value: CanonicalValue) -> str:
    """A value as --dry-run prints it."""
    if value is None:
        return "(blank)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return "{" + ", ".join(repr(v) for v in sorted(value)) + "}"
    return repr(value)


def render_plan(plan: Plan) -> list[str]:
    """Human-readable lines for --dry-run: one per write, skip, problem; counts at the end."""
    lines: list[str] = []
    for rec in plan.records:
        ids = {"hubspot": rec.hubspot_id or "(new)", "salesforce": rec.salesforce_id or "(new)"}
        src = f"{rec.source_side} {ids[rec.source_side]}"
        if rec.action in ("skip", "duplicate", "unlink", "delete_other_side", "problem", "relink"):
            extra = f" (candidates: {', '.join(rec.candidates)})" if rec.candidates else ""
            lines.append(f"{rec.action} {src}: {rec.reason}{extra}")
        elif rec.action.startswith("create_in_"):
            lines.append(f"{rec.action} {src}: {rec.reason}")
        for c in rec.changes:
            rule = f"rule {c.rule}" + (", conflict" if c.cause == "conflict" else "")
            lines.append(
                f"{c.source_side} {ids[c.source_side]} -> {c.target_side} {ids[c.target_side]}: "
                f"{c.field}: {show_value(c.old)} -> {show_value(c.new)} ({c.direction}, {rule})"
            )
        for k in rec.conflicts:
            lines.append(
                f"conflict hubspot {ids['hubspot']} / salesforce {ids['salesforce']}: "
                f"{k.hubspot_field} {show_value(k.hubspot_value)} vs {k.salesforce_field} "
                f"{show_value(k.salesforce_value)}: {k.winner} wins (rule {k.rule})"
            )
        for p in rec.problems:
            lines.append(f"problem {src}: {p.target_side}.{p.field}: {p.message} Fix: {p.hint}")
    for side, counts in plan.counts().items():
        counted = ", ".join(f"{f.name} {getattr(counts, f.name)}" for f in fields(counts))
        lines.append(f"{side}: {counted}")
    return lines
