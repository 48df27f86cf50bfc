"""One sync run of one object pair: read, identify, merge, plan, write, commit (DESIGN.md 1-9).

The run reads both sides' changes first, so a linked record that changed on one side only is
merged against the other side's snapshot without reading it again (the snapshot is what that
side holds: any change there would be in its change set). It then works in chunks, HubSpot's
changes first and Salesforce's after, each chunk in cursor order: identify, plan, write in the
largest batches, then commit links, snapshots, lineage, queue entries and that side's cursor in
one transaction. A crash at any point resumes from the last committed chunk: what was written
after it is an echo next time (snapshots match) and creates are upserts by external id, so
nothing is duplicated, and the cursor never moves past an uncommitted change.

Both change sets stay in memory for the whole run, so they are kept packed (changeset.py): a
record becomes a Record again only for its chunk, an identity lookup or a merge.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from leadbridge.connectors.base import EPOCH, Connector, Cursor, Record, Side, WriteResult
from leadbridge.errors import LeadbridgeError, Recovery
from leadbridge.sync.changeset import ChangeSet, PoolIndex
from leadbridge.sync.identity import (
    Decision,
    Duplicate,
    Link,
    Linked,
    Matched,
    New,
    Skip,
    identify,
    normalise_email,
)
from leadbridge.sync.mapping import PairMapping
from leadbridge.sync.merge import other_side, side_changed
from leadbridge.sync.plan import Plan, PlanInput, PlannedWrite, RecordPlan, plan_record
from leadbridge.sync.snapshot import Snapshot, encode_value
from leadbridge.sync.state import LinkRow, PageCommit, SyncState, lineage_row

log = logging.getLogger(__name__)

SIDES: tuple[Side, Side] = ("hubspot", "salesforce")
CHUNK = 2000
HUBSPOT_ID_FIELD = "hs_object_id"
SALESFORCE_ID_FIELD = "Id"


@dataclass(frozen=True)
class SyncOptions:
    """How a run behaves."""

    dry_run: bool = False
    full: bool = False
    overlap: timedelta = timedelta(minutes=5)
    lease_ttl: timedelta = timedelta(minutes=30)
    chunk: int = CHUNK


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


class _Links:
    """Links known to this run (from the store plus those made in this chunk)."""

    def __init__(self) -> None:
        self._by: dict[tuple[Side, str], Link] = {}

    def add(self, link: Link) -> None:
        self._by[("hubspot", link.hubspot_id)] = link
        self._by[("salesforce", link.salesforce_id)] = link

    def drop(self, link: Link) -> None:
        for key in (("hubspot", link.hubspot_id), ("salesforce", link.salesforce_id)):
            if self._by.get(key) == link:
                del self._by[key]

    def by_id(self, side: Side, record_id: str) -> Link | None:
        return self._by.get((side, record_id))


def _link_from_row(row: LinkRow) -> Link:
    return Link(
        hubspot_id=row.hubspot_id,
        salesforce_id=row.salesforce_id,
        salesforce_object=row.salesforce_type,
        snapshot=Snapshot.from_data(row.snapshot) if row.snapshot else None,
    )


class PairSync:
    """Runs one object pair between a HubSpot and a Salesforce connector."""

    def __init__(
        self,
        *,
        mapping: PairMapping,
        state: SyncState,
        hubspot: Connector,
        salesforce: Connector,
        options: SyncOptions | None = None,
        on_progress: Callable[[str, int], None] | None = None,
    ) -> None:
        self.mapping = mapping
        self.state = state
        self.connectors: dict[Side, Connector] = {"hubspot": hubspot, "salesforce": salesforce}
        self.options = options or SyncOptions()
        self.on_progress = on_progress
        self.holder = f"{uuid.uuid4().hex[:12]}"
        self._contact_fields: set[str] | None = None
        self._current_run = 0
        # Records already merged in this run as the other half of a pair: their copy in the
        # change set was read before this run wrote to them, so it must not be merged again.
        self._merged: dict[Side, set[str]] = {side: set() for side in SIDES}
        self._complete: dict[Side, bool] = {}
        self._pools: dict[Side, PoolIndex] = {}

    # -- the run ----------------------------------------------------------------------------

    def run(self) -> SyncReport:
        """One run: take the lease, sync, record the outcome, give the lease back."""
        report = SyncReport(
            pair=self.mapping.name, run_id=None, outcome="running", dry_run=self.options.dry_run
        )
        lease = f"pair:{self.mapping.name}"
        if not self.state.acquire_lease(name=lease, holder=self.holder, ttl=self.options.lease_ttl):
            report.outcome = "locked"
            report.message = "another process is syncing this pair; try again later"
            return report
        calls_before = {side: self.connectors[side].budget().calls_made for side in SIDES}
        report.run_id = self.state.start_run(kind="sync", dry_run=self.options.dry_run)
        self._current_run = report.run_id
        try:
            self._sync(report)
            report.outcome = "ok" if not any(s.failed for s in report.sides.values()) else "partial"
        except LeadbridgeError as error:
            # Stop cleanly (budget spent, credentials refused): committed chunks stay.
            report.outcome = "stopped"
            report.message = str(error)
            if error.recovery not in (Recovery.STOP, Recovery.REAUTHENTICATE, Recovery.FIX_SETUP):
                report.outcome = "failed"
        except BaseException as error:
            report.outcome = "crashed"
            report.message = f"{type(error).__name__}: {error}"
            raise
        finally:
            for side in SIDES:
                made = self.connectors[side].budget().calls_made - calls_before[side]
                report.sides[side].api_calls = made
            self.state.finish_run(
                report.run_id,
                outcome=report.outcome,
                counts={side: vars(r) for side, r in report.sides.items()},
                calls_salesforce=report.sides["salesforce"].api_calls,
                calls_hubspot=report.sides["hubspot"].api_calls,
                message=report.message,
            )
            self.state.release_lease(name=lease, holder=self.holder)
        return report

    def _sync(self, report: SyncReport) -> None:
        changes: dict[Side, ChangeSet] = {side: ChangeSet() for side in SIDES}
        final: dict[tuple[Side, str], Cursor] = {}
        for side, object_name in self._streams():
            read, cursor = self._read(side, object_name, changes[side])
            report.sides[side].read += read
            if cursor is not None:
                final[(side, object_name)] = cursor
        self._read_archived(changes, report)
        retried = self._retry_due(changes)
        for side in SIDES:
            ordered = changes[side].in_cursor_order()
            for start in range(0, len(ordered), self.options.chunk):
                chunk = [changes[side][i] for i in ordered[start : start + self.options.chunk]]
                cursors = self._chunk_cursors(side, chunk)
                self._process(side, chunk, changes, report, cursors=cursors, retried=retried)
            if not self.options.dry_run:
                done = {k: v for k, v in final.items() if k[0] == side}
                self.state.commit_page(PageCommit(cursors=done))

    def _read_archived(self, changes: Mapping[Side, ChangeSet], report: SyncReport) -> None:
        """HubSpot deletes: its search never returns archived records, so ask for them apart."""
        connector = self.connectors["hubspot"]
        read_deleted = getattr(connector, "read_deleted", None)
        if read_deleted is None:
            return
        object_name = self.mapping.hubspot_object
        cursor = self.state.cursor(side="hubspot", object_name=object_name)
        since = None
        if cursor is not None and not self.options.full:
            since = cursor.modified_at - self.options.overlap
        archived: list[Record] = read_deleted(object_name, since=since)
        linked = self.state.links_by_hubspot(r.id for r in archived)
        # Only linked records matter: an archived record that was never synced needs nothing.
        for record in archived:
            if record.id in linked:
                changes["hubspot"].add(replace(record, modified_at=EPOCH))
                report.sides["hubspot"].read += 1

    def _streams(self) -> list[tuple[Side, str]]:
        streams: list[tuple[Side, str]] = [
            ("hubspot", self.mapping.hubspot_object),
            ("salesforce", self.mapping.salesforce_object),
        ]
        if self.mapping.converted_object:
            streams.append(("salesforce", self.mapping.converted_object))
        return streams

    def _fields(self, side: Side, object_name: str) -> list[str]:
        converted = side == "salesforce" and object_name == self.mapping.converted_object
        names = list(self.mapping.read_fields(side, converted=converted))
        if converted:
            available = self._converted_fields()
            names = [n for n in names if n in available]
        return names

    def _converted_fields(self) -> set[str]:
        if self._contact_fields is None:
            assert self.mapping.converted_object is not None
            schema = self.connectors["salesforce"].describe(self.mapping.converted_object)
            self._contact_fields = set(schema.fields)
        return self._contact_fields

    def _read(self, side: Side, object_name: str, into: ChangeSet) -> tuple[int, Cursor | None]:
        """Read one stream into the side's change set, page by page; (records read, cursor)."""
        cursor = (
            None if self.options.full else self.state.cursor(side=side, object_name=object_name)
        )
        main = self.mapping.hubspot_object if side == "hubspot" else self.mapping.salesforce_object
        if object_name == main:
            # A read from the beginning holds every live record of that side: identity
            # lookups can then be answered from it without asking the API again.
            self._complete[side] = cursor is None
        read = 0
        last: Cursor | None = None
        pages = self.connectors[side].read_changes(
            object_name,
            cursor=cursor,
            fields=self._fields(side, object_name),
            overlap=self.options.overlap if cursor is not None else timedelta(0),
        )
        for page in pages:
            for record in page.records:
                into.add(record)
            read += len(page.records)
            last = page.cursor
            if self.on_progress is not None:
                self.on_progress(f"read {side} {object_name}", read)
        if last is not None and cursor is not None and last < cursor:
            last = cursor  # an overlap re-read must never move the cursor back
        return read, last

    def _chunk_cursors(self, side: Side, chunk: Sequence[Record]) -> dict[tuple[Side, str], Cursor]:
        newest: dict[str, Cursor] = {}
        for record in chunk:
            if record.modified_at == EPOCH:
                continue  # re-read for a queued retry: not part of the incremental stream
            # Only whole earlier stamps are claimed mid-run: the chunk order is ours, not the
            # server's, so a position inside a stamp could skip a record on resume.
            stamp = Cursor(modified_at=record.modified_at)
            if record.object_name not in newest or stamp > newest[record.object_name]:
                newest[record.object_name] = stamp
        saved = {obj: self.state.cursor(side=side, object_name=obj) for obj in newest}
        return {
            (side, obj): cur
            for obj, cur in newest.items()
            if saved[obj] is None or cur > saved[obj]  # type: ignore[operator]
        }

    # -- queued retries ---------------------------------------------------------------------

    def _retry_due(self, changes: Mapping[Side, ChangeSet]) -> dict[tuple[Side, str], int]:
        """Re-read records whose queued error is due, so they go through the normal path."""
        due = self.state.due_errors()
        by_side: dict[Side, list[str]] = defaultdict(list)
        queued: dict[tuple[Side, str], int] = {}
        for item in due:
            # The queue names the side that refused the write; the record to re-plan is the
            # source of that write, named in the payload.
            source: Side = (
                "salesforce" if item.payload.get("__source_side") == "salesforce" else "hubspot"
            )
            record_id = str(item.payload.get("__source_id") or item.record_id)
            by_side[source].append(record_id)
            assert item.id is not None
            queued[(source, record_id)] = item.id
        for side, ids in by_side.items():
            missing = [i for i in ids if i not in changes[side]]
            if not missing:
                continue
            object_name = (
                self.mapping.hubspot_object if side == "hubspot" else self.mapping.salesforce_object
            )
            found = self.connectors[side].read_by_keys(
                object_name,
                key_field=HUBSPOT_ID_FIELD if side == "hubspot" else SALESFORCE_ID_FIELD,
                keys=missing,
                fields=self._fields(side, object_name),
            )
            for record in found:
                changes[side].add(replace(record, modified_at=EPOCH))
        return queued

    # -- one chunk --------------------------------------------------------------------------

    def _process(
        self,
        side: Side,
        chunk: Sequence[Record],
        changes: Mapping[Side, ChangeSet],
        report: SyncReport,
        *,
        cursors: dict[tuple[Side, str], Cursor],
        retried: Mapping[tuple[Side, str], int],
    ) -> None:
        other = other_side(side)
        links = _Links()
        for row in self._link_rows(side, [r.id for r in chunk]).values():
            links.add(_link_from_row(row))
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
        if settled and not self.options.dry_run:
            # A queued record that now equals its snapshot needs nothing more: without this it
            # would be re-read on every run.
            self.state.commit_page(PageCommit(resolved_errors=settled))
        remembered = self._remembered(side, live, links)
        fresh_live = [r for r in live if r.id not in remembered]
        candidates = self._candidates(side, fresh_live, links, changes)
        siblings = self._siblings(side, fresh_live, candidates, changes)
        inputs: list[PlanInput] = []
        skips: list[tuple[str, str, datetime, str]] = []
        for record in live:
            if record.id in remembered:
                # Read again unchanged (the overlap window): judged last run, nothing to ask.
                skip = Skip(side, record.id, f"{remembered[record.id]} (unchanged since)")
                inputs.append(self._plan_input(side, record, skip, changes, links))
                continue
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
            no_partner = not found_ext and not found_email and record.modified_at != EPOCH
            if (
                no_partner
                and isinstance(decision, Skip | New)
                and not getattr(decision, "create", False)
            ):
                skips.append((side, record.id, record.modified_at, decision.reason))
            inputs.append(self._plan_input(side, record, decision, changes, links))
            link = getattr(decision, "link", None)
            other_record = getattr(decision, "other", None)
            if other_record is not None:
                pair = {side: record.id, other: other_record.id}
                links.add(Link(pair["hubspot"], pair["salesforce"], self.mapping.salesforce_object))
            elif isinstance(link, Link) and not isinstance(decision, Linked):
                links.add(link)
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
        plan = Plan(pair=self.mapping.name, records=tuple(plans))
        self._count(plan, report)
        if self.options.dry_run:
            from leadbridge.sync.plan import render_plan

            report.plan_lines.extend(render_plan(plan)[: -len(SIDES)])  # counts come per run
            return
        self._execute(plan, report, cursors=cursors, retried=retried, source_side=side, skips=skips)

    def _link_rows(self, side: Side, ids: Iterable[str]) -> dict[str, LinkRow]:
        if side == "hubspot":
            return self.state.links_by_hubspot(ids)
        return self.state.links_by_salesforce(ids)

    def _changed(self, side: Side, record: Record, links: _Links) -> bool:
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
        links: _Links,
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
        available = self._converted_fields()
        kept = tuple(
            c for c in plan.changes if c.target_side != "salesforce" or c.field in available
        )
        return replace(plan, changes=kept)

    # -- identity lookups -------------------------------------------------------------------

    def _candidates(
        self,
        side: Side,
        records: Sequence[Record],
        links: _Links,
        changes: Mapping[Side, ChangeSet],
    ) -> dict[str, tuple[list[Record], list[Record]]]:
        """Other-side records that may be the same person: by external id, then by e-mail."""
        other = other_side(side)
        unlinked = [
            r
            for r in records
            if links.by_id(side, r.id) is None and not (r.deleted or r.merged_into)
        ]
        if not unlinked:
            return {}
        other_object = (
            self.mapping.hubspot_object if other == "hubspot" else self.mapping.salesforce_object
        )
        fields = self._fields(other, other_object)
        connector = self.connectors[other]
        my_ext = self.mapping.external_id(side)  # my field holding the other side's id
        their_ext = self.mapping.external_id(other)  # their field holding my id
        by_pointer = {str(r.values.get(my_ext)): r.id for r in unlinked if r.values.get(my_ext)}
        found: list[Record] = []
        if self._complete.get(other, False):
            by_pointer = {}  # the other side was read in full: the pool has every candidate
        if by_pointer:
            found += connector.read_by_keys(
                other_object,
                key_field=HUBSPOT_ID_FIELD if other == "hubspot" else SALESFORCE_ID_FIELD,
                keys=list(by_pointer),
                fields=fields,
            )
        complete = self._complete.get(other, False)
        if not complete:
            found += connector.read_by_keys(
                other_object, key_field=their_ext, keys=[r.id for r in unlinked], fields=fields
            )
        my_email = self.mapping.email(side)
        their_email = self.mapping.email(other)
        emails = {
            e: r.id
            for r in unlinked
            if my_email and (e := normalise_email(r.values.get(my_email))) is not None
        }
        if emails and their_email and not complete:
            found += connector.read_by_keys(
                other_object, key_field=their_email, keys=list(emails), fields=fields
            )
        index = self._pool_index(other, changes)
        extra = PoolIndex(found, ext_field=their_ext, email_field=their_email)
        result: dict[str, tuple[list[Record], list[Record]]] = {}
        wanted: set[str] = set()
        for record in unlinked:
            pointer = str(record.values.get(my_ext) or "")
            ext = {
                c.id: c for c in index.by_ext(record.id, pointer) + extra.by_ext(record.id, pointer)
            }
            email = normalise_email(record.values.get(my_email or ""))
            same = {c.id: c for c in index.by_email(email) + extra.by_email(email)} if email else {}
            result[record.id] = (list(ext.values()), list(same.values()))
            wanted.update(ext, same)
        for row in self._link_rows(other, wanted).values():
            links.add(_link_from_row(row))
        return result

    def _remembered(self, side: Side, records: Sequence[Record], links: _Links) -> dict[str, str]:
        """Unlinked records skipped by an earlier run and unchanged since: id -> reason."""
        unlinked = {
            r.id: r
            for r in records
            if links.by_id(side, r.id) is None
            and not (r.deleted or r.merged_into)
            and r.modified_at != EPOCH
        }
        if not unlinked:
            return {}
        memo = self.state.skipped(side=side, ids=unlinked)
        return {
            record_id: reason
            for record_id, (when, reason) in memo.items()
            if unlinked[record_id].modified_at == when
        }

    def _siblings(
        self,
        side: Side,
        records: Sequence[Record],
        candidates: Mapping[str, tuple[list[Record], list[Record]]],
        changes: Mapping[Side, ChangeSet],
    ) -> dict[str, list[str]]:
        """Other records on the same side sharing the e-mail of a record with an e-mail match."""
        email_field = self.mapping.email(side)
        if not email_field:
            return {}
        wanted = {
            r.id: e
            for r in records
            if candidates.get(r.id, ((), ()))[1]
            and (e := normalise_email(r.values.get(email_field))) is not None
        }
        if not wanted:
            return {}
        index = self._pool_index(side, changes)
        same: dict[str, dict[str, Record]] = {
            e: {c.id: c for c in index.by_email(e) if not c.deleted} for e in set(wanted.values())
        }
        if not self._complete.get(side, False):
            object_name = (
                self.mapping.hubspot_object if side == "hubspot" else self.mapping.salesforce_object
            )
            for found in self.connectors[side].read_by_keys(
                object_name,
                key_field=email_field,
                keys=sorted(same),
                fields=[email_field],
            ):
                email = normalise_email(found.values.get(email_field))
                if email in same and not found.deleted:
                    same[email][found.id] = found
        return {
            record_id: sorted(i for i in same[email] if i != record_id)
            for record_id, email in wanted.items()
            if len([i for i in same[email] if i != record_id]) > 0
        }

    def _pool_index(self, side: Side, changes: Mapping[Side, ChangeSet]) -> PoolIndex:
        """An index of one side's change set, built once per run (it is not modified)."""
        cached = self._pools.get(side)
        if cached is None:
            cached = PoolIndex(
                changes[side],
                ext_field=self.mapping.external_id(side),
                email_field=self.mapping.email(side),
            )
            self._pools[side] = cached
        return cached

    # -- counting ---------------------------------------------------------------------------

    def _count(self, plan: Plan, report: SyncReport) -> None:
        for side, counts in plan.counts().items():
            target = report.sides[side]
            target.created += counts.created
            target.updated += counts.updated
            target.conflicts += counts.conflicts
            target.skipped += counts.skipped
            target.duplicates += counts.duplicates
            target.deleted += counts.deleted
            target.unchanged += counts.unchanged

    # -- writing and committing -------------------------------------------------------------

    def _execute(
        self,
        plan: Plan,
        report: SyncReport,
        *,
        cursors: dict[tuple[Side, str], Cursor],
        retried: Mapping[tuple[Side, str], int],
        source_side: Side,
        skips: Sequence[tuple[str, str, datetime, str]] = (),
    ) -> None:
        writes = [(rec, w) for rec in plan.records for w in rec.writes()]
        outcomes = self._write_all([w for _, w in writes])
        by_ref: dict[str, list[tuple[PlannedWrite, WriteResult]]] = defaultdict(list)
        for (rec, write), outcome in zip(writes, outcomes, strict=True):
            by_ref[rec.ref].append((write, outcome))
        backlinks: list[tuple[RecordPlan, PlannedWrite]] = []
        created: dict[str, str] = {}
        for rec in plan.records:
            for write, outcome in by_ref.get(rec.ref, []):
                if (
                    outcome.ok
                    and rec.action.startswith("create_in_")
                    and write.side != rec.source_side
                ):
                    assert outcome.record_id is not None
                    created[rec.ref] = outcome.record_id
                    back = rec.backlink(outcome.record_id)
                    if back is not None:
                        backlinks.append((rec, back))
        back_outcomes = self._write_all([w for _, w in backlinks])
        for (rec, write), outcome in zip(backlinks, back_outcomes, strict=True):
            by_ref[rec.ref].append((write, outcome))
        commit = PageCommit(cursors=cursors, skipped=list(skips))
        for rec in plan.records:
            if rec.action == "duplicate":
                commit.errors.append(self._duplicate_entry(rec))
                continue
            results = by_ref.get(rec.ref, [])
            failed = [(w, o) for w, o in results if not o.ok]
            source_id = rec.hubspot_id if rec.source_side == "hubspot" else rec.salesforce_id
            queued = retried.get((rec.source_side, source_id or ""))
            if failed:
                for write, outcome in failed:
                    report.sides[write.side].failed += 1
                    commit.errors.append(self._queue_entry(rec, write, outcome))
                continue
            if queued is not None:
                commit.resolved_errors.append(queued)
            commit.succeeded.extend(
                (w.side, w.op.record_id or w.op.key_value or "") for w, _ in results
            )
            self._commit_record(rec, created.get(rec.ref), commit)
        self.state.commit_page(commit)

    def _write_all(self, writes: Sequence[PlannedWrite]) -> list[WriteResult]:
        groups: dict[tuple[Side, str, str, str | None], list[int]] = defaultdict(list)
        for index, write in enumerate(writes):
            groups[(write.side, write.object_name, write.op.kind, write.op.key_field)].append(index)
        results: list[WriteResult | None] = [None] * len(writes)
        for (side, object_name, _kind, _key), indexes in groups.items():
            outcomes = self.connectors[side].write(object_name, [writes[i].op for i in indexes])
            for index, outcome in zip(indexes, outcomes, strict=True):
                results[index] = outcome
        return [r for r in results if r is not None]

    def _commit_record(self, rec: RecordPlan, created_id: str | None, commit: PageCommit) -> None:
        run_id = self._run_id()
        for dropped in rec.dropped:
            commit.unlinks.append(dropped.hubspot_id)
        link = rec.link
        if rec.action.startswith("create_in_") and created_id is not None:
            ids = {
                rec.source_side: rec.hubspot_id
                if rec.source_side == "hubspot"
                else rec.salesforce_id
            }
            ids[other_side(rec.source_side)] = created_id
            link = Link(
                str(ids["hubspot"]), str(ids["salesforce"]), rec.salesforce_object, rec.snapshot
            )
        if link is not None and rec.action not in ("unlink", "delete_other_side"):
            snapshot = rec.snapshot or link.snapshot or Snapshot()
            commit.links.append(
                LinkRow(
                    hubspot_id=link.hubspot_id,
                    salesforce_id=link.salesforce_id,
                    salesforce_type=link.salesforce_object,
                    snapshot=snapshot.to_data(),
                    snapshot_hash=snapshot.hash,
                )
            )
        for change in rec.changes:
            target_id = (
                (link.id(change.target_side) if link is not None else None) or created_id or ""
            )
            commit.lineage.append(
                lineage_row(
                    run_id=run_id,
                    pair=self.mapping.name,
                    record_id=target_id,
                    target_side=change.target_side,
                    field=change.field,
                    old=encode_value(change.old),
                    new=encode_value(change.new),
                    source_side=change.source_side,
                    rule=change.rule,
                )
            )

    def _duplicate_entry(self, rec: RecordPlan) -> dict[str, Any]:
        """A record with several possible partners waits in the queue for a person."""
        source_id = rec.hubspot_id if rec.source_side == "hubspot" else rec.salesforce_id
        other = other_side(rec.source_side)
        return {
            "run_id": self._run_id(),
            "side": rec.source_side,
            "record_id": str(source_id or ""),
            "operation": "link",
            "category": str(Recovery.FIX_DATA),
            "code": "DUPLICATE_CANDIDATES",
            "message": f"{rec.reason}; candidates in {other}: {', '.join(rec.candidates)}"[:2000],
            "hint": f"merge the duplicates in {other}, or set the external-id field of the "
            "right one to this record's id; leadbridge never guesses",
            "payload": {"__source_side": rec.source_side, "__source_id": source_id},
            "retryable": False,
        }

    def _queue_entry(
        self, rec: RecordPlan, write: PlannedWrite, outcome: WriteResult
    ) -> dict[str, Any]:
        error = outcome.error
        target_id = write.op.record_id or write.op.key_value or ""
        source_id = rec.hubspot_id if rec.source_side == "hubspot" else rec.salesforce_id
        return {
            "run_id": self._run_id(),
            "side": write.side,
            "record_id": str(target_id or source_id),
            "operation": write.op.kind,
            "category": str(error.recovery) if error else "retry_later",
            "code": error.code if error else "",
            "message": (error.message if error else "failed")[:2000],
            "hint": (error.hint if error else "")[:2000],
            "payload": {
                "__source_side": rec.source_side,
                "__source_id": source_id,
                "__target_id": target_id,
                **{k: encode_value(v) for k, v in write.op.values.items()},
            },
            "retryable": error is None or error.recovery is Recovery.RETRY_LATER,
        }

    def _run_id(self) -> int:
        return self._current_run


def run_pair(
    *,
    mapping: PairMapping,
    state: SyncState,
    hubspot: Connector,
    salesforce: Connector,
    options: SyncOptions | None = None,
    on_progress: Callable[[str, int], None] | None = None,
) -> SyncReport:
    """Run one sync of one pair (the job function both runners call)."""
    sync = PairSync(
        mapping=mapping,
        state=state,
        hubspot=hubspot,
        salesforce=salesforce,
        options=options,
        on_progress=on_progress,
    )
    return sync.run()
