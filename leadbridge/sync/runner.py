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

This module holds the orchestration; the steps live apart: reading.py (change sets, re-reads,
chunk cursors), lookup.py (identity evidence), chunk.py (planning a chunk), writer.py (writes
and the page commit), report.py (the run's report).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from leadbridge.connectors.base import Connector, Cursor, Record, Side
from leadbridge.errors import LeadbridgeError, Recovery
from leadbridge.sync.changeset import ChangeSet
from leadbridge.sync.chunk import ChunkPlanner
from leadbridge.sync.lookup import IdentityLookups
from leadbridge.sync.mapping import PairMapping
from leadbridge.sync.merge import SIDES
from leadbridge.sync.plan import render_plan
from leadbridge.sync.reading import SideReader
from leadbridge.sync.report import SyncReport, count_plan
from leadbridge.sync.state import PageCommit, SyncState
from leadbridge.sync.writer import PlanWriter

__all__ = ["CHUNK", "PairSync", "SyncOptions", "SyncReport", "run_pair"]


CHUNK = 2000


@dataclass(frozen=True)
class SyncOptions:
    """How a run behaves."""

    dry_run: bool = False
    full: bool = False
    overlap: timedelta = timedelta(minutes=5)
    lease_ttl: timedelta = timedelta(minutes=30)
    chunk: int = CHUNK


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
        self.reader = SideReader(
            mapping=mapping,
            state=state,
            connectors=self.connectors,
            full=self.options.full,
            overlap=self.options.overlap,
            on_progress=on_progress,
        )
        self.lookups = IdentityLookups(
            mapping=mapping, state=state, connectors=self.connectors, reader=self.reader
        )
        self.planner = ChunkPlanner(
            mapping=mapping,
            state=state,
            reader=self.reader,
            lookups=self.lookups,
            dry_run=self.options.dry_run,
        )

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
        run_id = self.state.start_run(kind="sync", dry_run=self.options.dry_run)
        report.run_id = run_id
        try:
            self._sync(report, run_id=run_id)
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
                run_id,
                outcome=report.outcome,
                counts={side: vars(r) for side, r in report.sides.items()},
                calls_salesforce=report.sides["salesforce"].api_calls,
                calls_hubspot=report.sides["hubspot"].api_calls,
                message=report.message,
            )
            self.state.release_lease(name=lease, holder=self.holder)
        return report

    def _sync(self, report: SyncReport, *, run_id: int) -> None:
        writer = PlanWriter(
            mapping=self.mapping, state=self.state, connectors=self.connectors, run_id=run_id
        )
        changes: dict[Side, ChangeSet] = {side: ChangeSet() for side in SIDES}
        final: dict[tuple[Side, str], Cursor] = {}
        for side, object_name in self.reader.streams():
            read, cursor = self.reader.read(side=side, object_name=object_name, into=changes[side])
            report.sides[side].read += read
            if cursor is not None:
                final[(side, object_name)] = cursor
        report.sides["hubspot"].read += self.reader.read_archived(changes=changes)
        retried = self.reader.retry_due(changes=changes)
        for side in SIDES:
            ordered = changes[side].in_cursor_order()
            for start in range(0, len(ordered), self.options.chunk):
                chunk = [changes[side][i] for i in ordered[start : start + self.options.chunk]]
                cursors = self.reader.chunk_cursors(side=side, chunk=chunk)
                self._process(
                    side, chunk, changes, report, writer=writer, cursors=cursors, retried=retried
                )
            if not self.options.dry_run:
                done = {k: v for k, v in final.items() if k[0] == side}
                self.state.commit_page(PageCommit(cursors=done))

    def _process(
        self,
        side: Side,
        chunk: Sequence[Record],
        changes: Mapping[Side, ChangeSet],
        report: SyncReport,
        *,
        writer: PlanWriter,
        cursors: dict[tuple[Side, str], Cursor],
        retried: Mapping[tuple[Side, str], int],
    ) -> None:
        planned = self.planner.plan(
            side=side, chunk=chunk, changes=changes, report=report, retried=retried
        )
        count_plan(report, plan=planned.plan)
        if self.options.dry_run:
            report.plan_lines.extend(render_plan(planned.plan)[: -len(SIDES)])  # counts per run
            return
        writer.execute(
            planned.plan, report=report, cursors=cursors, retried=retried, skips=planned.skips
        )


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
