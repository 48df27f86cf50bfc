"""Writing one chunk's plan in the largest batches, and committing its page.

Creates are written first, then the back-links that tell the source record its new partner's
id. The page commit holds links, snapshots, lineage, queue entries, the skip memo and the
chunk's cursors, so a crash after the writes but before the commit only leaves echoes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from leadbridge.connectors.base import Connector, Cursor, Side, WriteResult
from leadbridge.errors import Recovery
from leadbridge.sync.identity import Link
from leadbridge.sync.lookup import SkipMemo
from leadbridge.sync.mapping import PairMapping
from leadbridge.sync.merge import other_side
from leadbridge.sync.plan import Plan, PlannedWrite, RecordPlan
from leadbridge.sync.report import SyncReport
from leadbridge.sync.snapshot import Snapshot, encode_value
from leadbridge.sync.state import LinkRow, PageCommit, SyncState, lineage_row


class PlanWriter:
    """Executes plans of one run against the connectors and commits each as one page."""

    def __init__(
        self,
        *,
        mapping: PairMapping,
        state: SyncState,
        connectors: Mapping[Side, Connector],
        run_id: int,
    ) -> None:
        self.mapping = mapping
        self.state = state
        self.connectors = connectors
        self.run_id = run_id

    def execute(
        self,
        plan: Plan,
        *,
        report: SyncReport,
        cursors: dict[tuple[Side, str], Cursor],
        retried: Mapping[tuple[Side, str], int],
        skips: Sequence[SkipMemo] = (),
    ) -> None:
        """Write the plan, then commit its links, lineage, queue entries and cursors."""
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
                    run_id=self.run_id,
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
            "run_id": self.run_id,
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
            "run_id": self.run_id,
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
