"""Planning one chunk of one side's changes: which records need work, identity, the plan.

A linked record that changed on one side only is merged against the other side's snapshot
(that side holds it: any change there would be in its change set), so nothing is read again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from leadbridge.connectors.base import EPOCH, Record, Side
from leadbridge.sync.changeset import ChangeSet
from leadbridge.sync.identity import (
    Decision,
    Duplicate,
    Link,
    Linked,
    LinkIndex,
    Matched,
    New,
    Skip,
    identify,
)
from leadbridge.sync.lookup import (
    Candidates,
    IdentityLookups,
    SkipMemo,
    link_from_row,
    link_rows,
)
from leadbridge.sync.mapping import PairMapping
from leadbridge.sync.merge import SIDES, other_side, side_changed
from leadbridge.sync.plan import Plan, PlanInput, RecordPlan, plan_record
from leadbridge.sync.reading import SideReader
from leadbridge.sync.report import SyncReport
from leadbridge.sync.state import PageCommit, SyncState


@dataclass(frozen=True)
class ChunkPlan:
    """One chunk's plan and the skip-memo entries to commit with it."""

    plan: Plan
    skips: list[SkipMemo]


class ChunkPlanner:
    """Plans chunks of one run; remembers the records already merged as the other half."""

    def __init__(
        self,
        *,
        mapping: PairMapping,
        state: SyncState,
        reader: SideReader,
        lookups: IdentityLookups,
        dry_run: bool,
    ) -> None:
        self.mapping = mapping
        self.state = state
        self.reader = reader
        self.lookups = lookups
        self.dry_run = dry_run
        # Records already merged in this run as the other half of a pair: their copy in the
        # change set was read before this run wrote to them, so it must not be merged again.
        self._merged: dict[Side, set[str]] = {side: set() for side in SIDES}

    def plan(
        self,
        *,
        side: Side,
        chunk: Sequence[Record],
        changes: Mapping[Side, ChangeSet],
        report: SyncReport,
        retried: Mapping[tuple[Side, str], int],
    ) -> ChunkPlan:
        """Plan one chunk; counts what needs no work in `report` and settles queued no-ops."""
        links = LinkIndex()
        for row in link_rows(self.state, side=side, ids=[r.id for r in chunk]).values():
            links.add(link_from_row(row))
        converted = self.mapping.converted_object
        followed = [
            r for r in chunk if not (r.object_name == converted and links.by_id(side, r.id) is None)
        ]
        # An unlinked Contact is not this pair's: contacts are followed only after conversion.
        report.sides[side].skipped += len(chunk) - len(followed)
        fresh = [r for r in followed if r.id not in self._merged[side]]
        report.sides[side].unchanged += len(followed) - len(fresh)
        followed = fresh
        live = [r for r in followed if self._changed(side, r, links)]
        report.sides[side].unchanged += len(followed) - len(live)
        live_ids = {r.id for r in live}
        settled = [
            retried[(side, r.id)]
            for r in followed
            if (side, r.id) in retried and r.id not in live_ids
        ]
        if settled and not self.dry_run:
            # A queued record that now equals its snapshot needs nothing more: without this it
            # would be re-read on every run.
            self.state.commit_page(PageCommit(resolved_errors=settled))
        inputs, skips = self._decide(side, live, links, changes)
        plans = [
            plan_record(
                mapping=self.mapping,
                decision=item.decision,
                hubspot=item.hubspot,
                salesforce=item.salesforce,
            )
            for item in inputs
        ]
        plans = [self._fit_converted(p) for p in plans]
        for rec in plans:
            if rec.hubspot_id and rec.salesforce_id:
                self._merged["hubspot"].add(rec.hubspot_id)
                self._merged["salesforce"].add(rec.salesforce_id)
        return ChunkPlan(plan=Plan(pair=self.mapping.name, records=tuple(plans)), skips=skips)

    def _decide(
        self,
        side: Side,
        live: Sequence[Record],
        links: LinkIndex,
        changes: Mapping[Side, ChangeSet],
    ) -> tuple[list[PlanInput], list[SkipMemo]]:
        """Identity decisions for the chunk's changed records, with the records to merge."""
        other = other_side(side)
        remembered = self.lookups.remembered(side=side, records=live, links=links)
        fresh_live = [r for r in live if r.id not in remembered]
        candidates = self.lookups.candidates(
            side=side, records=fresh_live, links=links, changes=changes
        )
        siblings = self.lookups.siblings(
            side=side, records=fresh_live, candidates=candidates, changes=changes
        )
        inputs: list[PlanInput] = []
        skips: list[SkipMemo] = []
        for record in live:
            if record.id in remembered:
                # Read again unchanged (the overlap window): judged last run, nothing to ask.
                skip = Skip(side, record.id, f"{remembered[record.id]} (unchanged since)")
                inputs.append(self._plan_input(side, record, skip, changes))
                continue
            found_ext, found_email = candidates.get(record.id, ((), ()))
            decision = self._identify(side, record, links, candidates, siblings)
            no_partner = not found_ext and not found_email and record.modified_at != EPOCH
            if (
                no_partner
                and isinstance(decision, Skip | New)
                and not getattr(decision, "create", False)
            ):
                skips.append((side, record.id, record.modified_at, decision.reason))
            inputs.append(self._plan_input(side, record, decision, changes))
            link = getattr(decision, "link", None)
            other_record = getattr(decision, "other", None)
            if other_record is not None:
                pair = {side: record.id, other: other_record.id}
                links.add(Link(pair["hubspot"], pair["salesforce"], self.mapping.salesforce_object))
            elif isinstance(link, Link) and not isinstance(decision, Linked):
                links.add(link)
        return inputs, skips

    def _identify(
        self,
        side: Side,
        record: Record,
        links: LinkIndex,
        candidates: Candidates,
        siblings: Mapping[str, list[str]],
    ) -> Decision:
        """identify(), then the runner's two refusals: twin e-mails and deleted partners."""
        other = other_side(side)
        found_ext, found_email = candidates.get(record.id, ((), ()))
        decision = identify(
            mapping=self.mapping,
            side=side,
            record=record,
            links=links,
            by_external_id=found_ext,
            by_email=found_email,
        )
        if isinstance(decision, Matched) and decision.by == "email":
            twins = siblings.get(record.id, [])
            if twins:
                # The e-mail is not unique on this side either: linking one of them would
                # be a guess.
                decision = Duplicate(
                    side,
                    record.id,
                    (decision.other.id, *twins),
                    "email",
                    f"{len(twins) + 1} {side} records share this e-mail",
                )
        pointer = record.values.get(self.mapping.external_id(side))
        if isinstance(decision, New) and decision.create and pointer:
            # It points at a record of the other side that is gone: it was linked, and
            # that record was deleted. Re-creating it would undo the deletion.
            decision = Skip(
                side,
                record.id,
                f"its {other} record {pointer} was deleted; clear "
                f"{self.mapping.external_id(side)} to have it created again",
            )
        return decision

    def _changed(self, side: Side, record: Record, links: LinkIndex) -> bool:
        if record.deleted or record.merged_into:
            return True
        link = links.by_id(side, record.id)
        if link is None or link.snapshot is None:
            return True
        if side == "salesforce" and record.object_name == self.mapping.salesforce_object:
            if record.values.get("IsConverted") and link.salesforce_object != record.object_name:
                return False  # the link already follows the Contact
            if record.values.get("IsConverted"):
                return True
        return side_changed(
            mapping=self.mapping, snapshot=link.snapshot, side=side, values=record.values
        )

    def _plan_input(
        self,
        side: Side,
        record: Record,
        decision: Decision,
        changes: Mapping[Side, ChangeSet],
    ) -> PlanInput:
        other = other_side(side)
        records: dict[Side, Record | None] = {side: record, other: None}
        link = getattr(decision, "link", None)
        matched = getattr(decision, "other", None)
        if isinstance(matched, Record):
            records[other] = matched
        elif isinstance(link, Link):
            other_id = link.id(other)
            current = changes[other].get(other_id)
            if current is None and link.snapshot is not None:
                # Not in the other side's change set: it still holds the snapshot's values.
                object_name = (
                    self.mapping.hubspot_object if other == "hubspot" else link.salesforce_object
                )
                current = Record(
                    id=other_id,
                    object_name=object_name,
                    values=dict(link.snapshot.side(other)),
                    modified_at=EPOCH,
                )
            records[other] = current
        return PlanInput(
            decision=decision, hubspot=records["hubspot"], salesforce=records["salesforce"]
        )

    def _fit_converted(self, plan: RecordPlan) -> RecordPlan:
        """Drop changes to Lead-only fields once the pair follows the converted Contact."""
        if plan.salesforce_object != self.mapping.converted_object:
            return plan
        available = self.reader.converted_fields()
        kept = tuple(
            c for c in plan.changes if c.target_side != "salesforce" or c.field in available
        )
        return replace(plan, changes=kept)
