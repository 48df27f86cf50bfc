"""The three-way field merge of one linked record pair against its snapshot (pure).

Per field: a side "changed" when its current value differs from the value it held in the
snapshot. One side changed -> copy it over (if the direction allows). Both changed -> the
values agree (nothing to do) or the field's rule picks a winner and a Conflict is reported.
The new snapshot equals what each side will hold after the writes, so the next run sees no
change: that is what stops echoes and flip-flops.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from leadbridge.connectors.base import CanonicalValue, Record, Side
from leadbridge.sync.mapping import FieldMap, PairMapping, Rule
from leadbridge.sync.snapshot import Snapshot, is_blank
from leadbridge.sync.snapshot import same as _same_value
from leadbridge.sync.transforms import Flow, TransformFailed

SIDES: tuple[Side, Side] = ("hubspot", "salesforce")
Cause = Literal["changed", "conflict", "first_link", "create", "identity"]


def same(left: CanonicalValue, right: CanonicalValue, *, ignore_case: bool = False) -> bool:
    """snapshot.same, except that an unset checkbox (None) equals an unchecked one (False).

    A Salesforce checkbox is never null: a Lead created from a contact without the value comes
    back False. Told apart, that default read as a change on the next run and was copied back
    (an echo after every create) and every first link of such a pair was a conflict.
    """
    if (left is None and right is False) or (left is False and right is None):
        return True
    return _same_value(left, right, ignore_case=ignore_case)


def other_side(side: Side) -> Side:
    """The side opposite `side`."""
    return "salesforce" if side == "hubspot" else "hubspot"


def flow_to(side: Side) -> Flow:
    """The flow that writes to `side`."""
    return "to_salesforce" if side == "salesforce" else "to_hubspot"


@dataclass(frozen=True)
class FieldChange:
    """One value to write: `field` on `target_side` goes from old to new, and why."""

    target_side: Side
    field: str
    old: CanonicalValue
    new: CanonicalValue
    source_side: Side
    direction: Flow
    rule: str
    source_field: str = ""
    cause: Cause = "changed"


@dataclass(frozen=True)
class Conflict:
    """Both sides changed one field to values that disagree; `winner` says whose value won."""

    hubspot_field: str
    salesforce_field: str
    hubspot_value: CanonicalValue
    salesforce_value: CanonicalValue
    winner: Side
    rule: Rule
    written: bool


@dataclass(frozen=True)
class FieldProblem:
    """A value that cannot be converted for the other side; the field is left out of writes."""

    target_side: Side
    field: str
    value: CanonicalValue
    message: str
    hint: str


@dataclass(frozen=True)
class MergeResult:
    """What one merge decided: writes per side, conflicts, problems, the snapshot to commit."""

    changes: tuple[FieldChange, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    problems: tuple[FieldProblem, ...] = ()
    snapshot: Snapshot = field(default_factory=Snapshot)

    def changes_to(self, side: Side) -> tuple[FieldChange, ...]:
        """The writes aimed at one side."""
        return tuple(c for c in self.changes if c.target_side == side)

    def values_for(self, side: Side) -> dict[str, CanonicalValue]:
        """The field -> new value dict to send to one side."""
        return {c.field: c.new for c in self.changes_to(side)}


class _Collector:
    def __init__(self, previous: Snapshot | None) -> None:
        self.previous = previous
        self.changes: list[FieldChange] = []
        self.conflicts: list[Conflict] = []
        self.problems: list[FieldProblem] = []
        self.after: dict[Side, dict[str, CanonicalValue]] = {"hubspot": {}, "salesforce": {}}

    def hold(self, f: FieldMap, values: Mapping[Side, CanonicalValue]) -> None:
        for side in SIDES:
            self.after[side][f.name(side)] = values[side]

    def keep_previous(self, f: FieldMap) -> None:
        # Leaving the old snapshot in place makes the next run try again (and report again).
        previous = self.previous
        for side in SIDES:
            if previous is not None and f.name(side) in previous.side(side):
                self.after[side][f.name(side)] = previous.side(side)[f.name(side)]

    def result(self) -> MergeResult:
        return MergeResult(
            changes=tuple(self.changes),
            conflicts=tuple(self.conflicts),
            problems=tuple(self.problems),
            snapshot=Snapshot(hubspot=self.after["hubspot"], salesforce=self.after["salesforce"]),
        )


def merge_record(
    *, mapping: PairMapping, snapshot: Snapshot | None, hubspot: Record, salesforce: Record
) -> MergeResult:
    """Merge a linked pair field by field; snapshot None means a first link (both changed)."""
    out = _Collector(snapshot)
    for f in mapping.synced_fields():
        _merge_field(f, snapshot, hubspot, salesforce, out)
    return out.result()


def side_changed(
    *,
    mapping: PairMapping,
    snapshot: Snapshot | None,
    side: Side,
    values: Mapping[str, CanonicalValue],
) -> bool:
    """True when a record's mapped values differ from its snapshot (False lets a runner skip it)."""
    if snapshot is None:
        return True
    held = snapshot.side(side)
    for f in mapping.synced_fields():
        name = f.name(side)
        current = values.get(name)
        if name not in held or not same(current, held[name], ignore_case=f.ignore_case):
            return True
    return False


def _merge_field(
    f: FieldMap, snapshot: Snapshot | None, hs: Record, sf: Record, out: _Collector
) -> None:
    current: dict[Side, CanonicalValue] = {
        "hubspot": hs.values.get(f.hubspot),
        "salesforce": sf.values.get(f.salesforce),
    }
    first = snapshot is None or any(f.name(s) not in snapshot.side(s) for s in SIDES)
    changed = {side: True for side in SIDES}
    if snapshot is not None and not first:
        changed = {
            side: not same(
                current[side], snapshot.side(side)[f.name(side)], ignore_case=f.ignore_case
            )
            for side in SIDES
        }
    cause: Cause = "first_link" if first else "changed"
    if not changed["hubspot"] and not changed["salesforce"]:
        out.hold(f, current)
        return
    if changed["hubspot"] != changed["salesforce"]:
        source: Side = "hubspot" if changed["hubspot"] else "salesforce"
    else:
        if _agree(f, current):
            out.hold(f, current)
            return
        source = _winner(f, current, hs.modified_at, sf.modified_at)
        out.conflicts.append(
            Conflict(
                hubspot_field=f.hubspot,
                salesforce_field=f.salesforce,
                hubspot_value=current["hubspot"],
                salesforce_value=current["salesforce"],
                winner=source,
                rule=f.rule,
                written=f.flows_to(other_side(source)),
            )
        )
        cause = "first_link" if first else "conflict"
    _copy(f, source, current, cause, out)


def _copy(
    f: FieldMap, source: Side, current: dict[Side, CanonicalValue], cause: Cause, out: _Collector
) -> None:
    target = other_side(source)
    if not f.flows_to(target):
        out.hold(f, current)
        return
    try:
        new = convert_for(f, current[source], to=target)
    except TransformFailed as exc:
        out.problems.append(
            FieldProblem(target, f.name(target), current[source], exc.message, exc.hint)
        )
        out.keep_previous(f)
        return
    if same(new, current[target], ignore_case=f.ignore_case):
        out.hold(f, current)
        return
    out.changes.append(
        FieldChange(
            target_side=target,
            field=f.name(target),
            old=current[target],
            new=new,
            source_side=source,
            direction=flow_to(target),
            rule=f.rule,
            source_field=f.name(source),
            cause=cause,
        )
    )
    out.hold(f, {source: current[source], target: new})


def convert_for(f: FieldMap, value: CanonicalValue, *, to: Side) -> CanonicalValue:
    """The value as side `to` should hold it, the field's default standing in for a blank."""
    new = f.convert(value, to=to)
    default = f.default(to)
    return default if is_blank(new) and default is not None else new


def _agree(f: FieldMap, current: Mapping[Side, CanonicalValue]) -> bool:
    for target in SIDES:
        if not f.flows_to(target):
            continue
        try:
            converted = convert_for(f, current[other_side(target)], to=target)
        except TransformFailed:
            continue
        if same(converted, current[target], ignore_case=f.ignore_case):
            return True
    return False


def _winner(
    f: FieldMap, current: Mapping[Side, CanonicalValue], hs_at: datetime, sf_at: datetime
) -> Side:
    match f.rule:
        case "prefer_hubspot":
            return "hubspot"
        case "prefer_salesforce":
            return "salesforce"
        case "prefer_salesforce_unless_blank":
            return "hubspot" if is_blank(current["salesforce"]) else "salesforce"
        case _:
            # Record-level times; a tie goes to Salesforce, the system of record for sales.
            return "hubspot" if hs_at > sf_at else "salesforce"


def merge_for_create(*, mapping: PairMapping, source: Record, source_side: Side) -> MergeResult:
    """The values to create on the other side from an unlinked record, and the snapshot after."""
    target = other_side(source_side)
    out = _Collector(None)
    for f in mapping.synced_fields():
        value = source.values.get(f.name(source_side))
        new: CanonicalValue = None
        if f.flows_to(target):
            try:
                new = convert_for(f, value, to=target)
            except TransformFailed as exc:
                problem = FieldProblem(target, f.name(target), value, exc.message, exc.hint)
                out.problems.append(problem)
                continue
        if new is not None and not is_blank(new):
            out.changes.append(
                FieldChange(
                    target_side=target,
                    field=f.name(target),
                    old=None,
                    new=new,
                    source_side=source_side,
                    direction=flow_to(target),
                    rule=f.rule,
                    source_field=f.name(source_side),
                    cause="create",
                )
            )
        out.hold(f, {source_side: value, target: new})
    return out.result()
