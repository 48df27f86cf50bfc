"""Revert a run: write back the values its lineage says it replaced, through the connectors.

The revert is itself a run (kind "revert") with lineage rows (rule "revert"), so it can be
audited and reverted in turn. It writes only the side each row names and leaves the links'
snapshots alone: the next sync then sees the restored value as a change on that side and
carries it to the other side where the field's direction allows, so both systems end up as
they were before the reverted run, not silently apart.

Left out on purpose (each listed with its reason): external-id pointers (rule "identity"),
whose revert would break the link, and records the run created, since a revert never deletes.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from leadbridge.connectors.base import Connector, Side, WriteOp, WriteResult
from leadbridge.errors import LeadbridgeError, TransientError
from leadbridge.store.bulk import id_batches
from leadbridge.store.columns import utcnow
from leadbridge.store.db import Store
from leadbridge.store.models import Lineage, Link, Run
from leadbridge.sync.lineage import get_run, run_writes, shown
from leadbridge.sync.snapshot import decode_value
from leadbridge.sync.state import PageCommit, SyncState, lineage_row

REVERT_RULE = "revert"
# Lineage names the side a value came from; a revert's value comes from leadbridge's own record.
REVERT_SOURCE = "leadbridge"
LEASE_TTL = timedelta(minutes=30)
SIDES: tuple[Side, Side] = ("hubspot", "salesforce")


@dataclass(frozen=True)
class RevertWrite:
    """One field to write back: on `side`, `field` of `record_id` goes back to `restore`."""

    side: Side
    object_name: str
    record_id: str
    field: str
    restore: Any  # the stored (encoded) value the reverted run replaced
    replaces: Any  # the stored (encoded) value the reverted run wrote
    lineage_id: int
    skipped: str = ""  # why it is left out; empty when it is written


@dataclass(frozen=True)
class RevertPlan:
    """What reverting one run (or one field of it) writes."""

    run_id: int
    pair: str
    field: str | None
    writes: tuple[RevertWrite, ...]

    @property
    def to_write(self) -> tuple[RevertWrite, ...]:
        """The writes that are not skipped."""
        return tuple(w for w in self.writes if not w.skipped)


@dataclass
class RevertReport:
    """The outcome of a revert (or of its dry run)."""

    plan: RevertPlan
    dry_run: bool
    revert_run_id: int | None = None
    outcome: str = "planned"
    failures: dict[tuple[str, str], str] = field(default_factory=dict)

    def status(self, write: RevertWrite) -> str:
        """planned, written, failed or skipped."""
        if write.skipped:
            return "skipped"
        if self.dry_run:
            return "planned"
        if (write.side, write.record_id) in self.failures:
            return "failed"
        return "written" if self.revert_run_id is not None else "planned"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for --json."""
        return {
            "run_id": self.plan.run_id,
            "pair": self.plan.pair,
            "field": self.plan.field,
            "dry_run": self.dry_run,
            "revert_run_id": self.revert_run_id,
            "outcome": self.outcome,
            "writes": [
                {
                    "side": w.side,
                    "object": w.object_name,
                    "record_id": w.record_id,
                    "field": w.field,
                    "from": w.replaces,
                    "to": w.restore,
                    "from_shown": shown(w.replaces),
                    "to_shown": shown(w.restore),
                    "status": self.status(w),
                    "reason": w.skipped or self.failures.get((w.side, w.record_id), ""),
                }
                for w in self.plan.writes
            ],
        }


def plan_revert(
    store: Store,
    run_id: int,
    *,
    field: str | None = None,
    hubspot_object: str,
    salesforce_object: str,
) -> RevertPlan:
    """The write-backs for a run: the latest lineage row per record and field, with skips.

    `salesforce_object` is used only for a record no link names any more; otherwise the
    link's own Salesforce type decides (a pair may follow a converted Lead's Contact).
    """
    run = get_run(store, run_id)
    written = run_writes(store, run_id)  # read once: lineage is the largest table
    latest: dict[tuple[str, str, str], Lineage] = {}
    for row in written:
        if not field or row.field == field:
            latest[(row.target_side, row.record_id, row.field)] = row
    rows = list(latest.values())
    ids = sorted({row.record_id for row in rows if row.record_id})
    links: list[Link] = []
    with store.session() as session:
        # In batches: a large run names more records than a statement may carry parameters.
        for chunk in id_batches(ids):
            links.extend(
                session.exec(
                    select(Link)
                    .where(col(Link.pair) == run.pair)
                    .where(col(Link.hubspot_id).in_(chunk) | col(Link.salesforce_id).in_(chunk))
                ).all()
            )
    sf_types = {link.salesforce_id: link.salesforce_type for link in links}
    created = _created_by(written, links, run)
    writes: list[RevertWrite] = []
    for row in sorted(rows, key=lambda r: r.id or 0):
        side: Side = "salesforce" if row.target_side == "salesforce" else "hubspot"
        object_name = (
            hubspot_object if side == "hubspot" else sf_types.get(row.record_id, salesforce_object)
        )
        skipped = ""
        if not row.record_id:
            skipped = "the run recorded no record id for this write"
        elif row.rule == "identity":
            skipped = "an external-id pointer: reverting it would break the link"
        elif (row.target_side, row.record_id) in created:
            skipped = "created by this run; a revert does not delete records"
        assert row.id is not None
        writes.append(
            RevertWrite(
                side=side,
                object_name=object_name,
                record_id=row.record_id,
                field=row.field,
                restore=row.old_value,
                replaces=row.new_value,
                lineage_id=row.id,
                skipped=skipped,
            )
        )
    return RevertPlan(run_id=run_id, pair=run.pair, field=field, writes=tuple(writes))


def _created_by(rows: Sequence[Lineage], links: Sequence[Link], run: Run) -> set[tuple[str, str]]:
    """(side, id) of the records a run created, told apart by what its lineage shows.

    A create writes only the new record, every value onto a blank; a first link (by e-mail)
    also writes the external-id pointer of both records. So: linked during the run, every
    old value blank, and nothing at all written to the partner in that run.
    """
    ended = run.finished_at or utcnow()
    written: dict[tuple[str, str], bool] = {}
    for row in rows:
        key = (row.target_side, row.record_id)
        written[key] = written.get(key, True) and row.old_value is None and row.rule != "identity"
    created: set[tuple[str, str]] = set()
    for link in links:
        if not run.started_at <= link.created_at <= ended:
            continue
        for side, record_id, partner in (
            ("hubspot", link.hubspot_id, ("salesforce", link.salesforce_id)),
            ("salesforce", link.salesforce_id, ("hubspot", link.hubspot_id)),
        ):
            if written.get((side, record_id)) and partner not in written:
                created.add((side, record_id))
    return created


def apply_revert(
    store: Store, plan: RevertPlan, *, connectors: Mapping[Side, Connector]
) -> RevertReport:
    """Write the plan back in one batch per side and object, as a run of kind "revert"."""
    report = RevertReport(plan=plan, dry_run=False)
    if not plan.to_write:
        report.outcome = "nothing"
        return report
    state = SyncState(store=store, pair=plan.pair)
    lease, holder = f"pair:{plan.pair}", f"revert-{uuid.uuid4().hex[:12]}"
    # The same lease as a sync of the pair: a revert racing a sync would be half undone.
    if not state.acquire_lease(name=lease, holder=holder, ttl=LEASE_TTL):
        raise TransientError(
            f"another process is syncing the pair {plan.pair!r}",
            hint="try again when that run has finished",
        )
    calls_before = {side: connectors[side].budget().calls_made for side in SIDES}
    report.revert_run_id = state.start_run(kind="revert", dry_run=False)
    report.outcome = "running"
    message = ""
    try:
        for (side, object_name), records in _batches(plan).items():
            ops = [
                WriteOp(
                    kind="update",
                    ref=record_id,
                    record_id=record_id,
                    values={w.field: decode_value(w.restore) for w in writes},
                )
                for record_id, writes in records.items()
            ]
            results = connectors[side].write(object_name, ops)
            # One commit per batch: a stop half-way keeps the record of what was written.
            state.commit_page(
                _commit(plan, report, side, records, results, run_id=report.revert_run_id)
            )
        report.outcome = "partial" if report.failures else "ok"
    except LeadbridgeError as error:
        report.outcome = "stopped"
        message = str(error)
        raise
    except BaseException as error:
        report.outcome = "crashed"
        message = f"{type(error).__name__}: {error}"
        raise
    finally:
        calls = {s: connectors[s].budget().calls_made - calls_before[s] for s in SIDES}
        state.finish_run(
            report.revert_run_id,
            outcome=report.outcome,
            counts={
                "reverts_run": plan.run_id,
                "field": plan.field,
                "written": sum(report.status(w) == "written" for w in plan.writes),
                "failed": sum(report.status(w) == "failed" for w in plan.writes),
                "skipped": sum(bool(w.skipped) for w in plan.writes),
            },
            calls_salesforce=calls["salesforce"],
            calls_hubspot=calls["hubspot"],
            message=message,
        )
        state.release_lease(name=lease, holder=holder)
    return report


def _batches(plan: RevertPlan) -> dict[tuple[Side, str], dict[str, list[RevertWrite]]]:
    batches: dict[tuple[Side, str], dict[str, list[RevertWrite]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for write in plan.to_write:
        batches[(write.side, write.object_name)][write.record_id].append(write)
    return batches


def _commit(
    plan: RevertPlan,
    report: RevertReport,
    side: Side,
    records: Mapping[str, Sequence[RevertWrite]],
    results: Sequence[WriteResult],
    *,
    run_id: int,
) -> PageCommit:
    commit = PageCommit()
    for (record_id, writes), result in zip(records.items(), results, strict=True):
        if not result.ok:
            error = result.error
            report.failures[(side, record_id)] = error.message if error else "failed"
            commit.errors.append(
                {
                    "run_id": run_id,
                    "side": side,
                    "record_id": record_id,
                    "operation": "update",
                    "category": str(error.recovery) if error else "retry_later",
                    "code": error.code if error else "",
                    "message": (error.message if error else "failed")[:2000],
                    "hint": (error.hint if error else "")[:2000],
                    "payload": {
                        "__source_side": side,
                        "__source_id": record_id,
                        "__target_id": record_id,
                        "__reverts_run": plan.run_id,
                        **{w.field: w.restore for w in writes},
                    },
                    # A sync retry re-plans the record from its snapshot, which cannot redo a
                    # revert: the entry waits for a person, who reruns `leadbridge revert`.
                    "retryable": False,
                }
            )
            continue
        commit.lineage.extend(
            lineage_row(
                run_id=run_id,
                pair=plan.pair,
                record_id=record_id,
                target_side=side,
                field=w.field,
                old=w.replaces,
                new=w.restore,
                source_side=REVERT_SOURCE,
                rule=REVERT_RULE,
            )
            for w in writes
        )
    return commit
