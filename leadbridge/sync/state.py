"""State-store access for sync runs: leases, cursors, links, runs, the error queue, lineage.

Everything here is one short transaction, so a crash between two calls leaves the store
consistent; the runner commits a page's snapshots, lineage and cursor in one call
(`commit_page`) so that a resumed run never skips a change nor re-applies a committed one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from leadbridge.connectors.base import Cursor as ReadCursor
from leadbridge.connectors.base import Side
from leadbridge.store.bulk import id_batches, insert_rows, select_in
from leadbridge.store.columns import utcnow
from leadbridge.store.db import Store
from leadbridge.store.models import (
    Cursor,
    ErrorQueueItem,
    Lease,
    Lineage,
    Link,
    Run,
    SkippedRecord,
)

RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=6)


def retry_delay(attempts: int) -> timedelta:
    """Backoff before retrying a queued record: 1, 2, 4 ... minutes, at most 6 hours."""
    return min(RETRY_BASE * (1 << max(0, min(attempts, 20) - 1)), RETRY_CAP)


@dataclass(frozen=True)
class LinkRow:
    """A link as the engine uses it (detached from the session)."""

    hubspot_id: str
    salesforce_id: str
    salesforce_type: str
    snapshot: Mapping[str, Any]
    snapshot_hash: str


@dataclass
class PageCommit:
    """Everything one page of a run changes in the store, committed together."""

    links: list[LinkRow] = field(default_factory=list)
    unlinks: list[str] = field(default_factory=list)  # hubspot ids whose link goes away
    lineage: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    resolved_errors: list[int] = field(default_factory=list)
    # (side, record id) written successfully: any open queue entry of theirs is resolved.
    succeeded: list[tuple[str, str]] = field(default_factory=list)
    # (side, record id, modified at, reason): unlinked records left alone this run.
    skipped: list[tuple[str, str, datetime, str]] = field(default_factory=list)
    cursors: Mapping[tuple[Side, str], ReadCursor] = field(default_factory=dict)


class SyncState:
    """The sync engine's view of the state store for one pair."""

    def __init__(self, *, store: Store, pair: str) -> None:
        self.store = store
        self.pair = pair

    # -- leases -----------------------------------------------------------------------------

    def acquire_lease(self, *, name: str, holder: str, ttl: timedelta) -> bool:
        """Take the named lease if it is free or expired; True when this holder has it."""
        now = utcnow()
        try:
            with self.store.session() as session:
                session.add(Lease(name=name, holder=holder, expires_at=now + ttl))
            return True
        except IntegrityError:
            pass
        with self.store.session() as session:
            taken = session.execute(
                update(Lease)
                .where(col(Lease.name) == name)
                .where((col(Lease.expires_at) < now) | (col(Lease.holder) == holder))
                .values(holder=holder, expires_at=now + ttl)
            )
            return bool(taken.rowcount)  # type: ignore[attr-defined]

    def release_lease(self, *, name: str, holder: str) -> None:
        """Give the lease back (only if this holder still has it)."""
        with self.store.session() as session:
            session.execute(
                delete(Lease).where(col(Lease.name) == name).where(col(Lease.holder) == holder)
            )

    # -- cursors ----------------------------------------------------------------------------

    def cursor(self, *, side: str, object_name: str) -> ReadCursor | None:
        """Where the read of one side resumes, or None before the first run."""
        with self.store.session() as session:
            row = session.get(Cursor, (self.pair, side, object_name))
            return ReadCursor.decode(row.value) if row is not None else None

    # -- links ------------------------------------------------------------------------------

    def links_by_hubspot(self, ids: Iterable[str]) -> dict[str, LinkRow]:
        """Links of these HubSpot records, by HubSpot id."""
        return {row.hubspot_id: row for row in self._links(col(Link.hubspot_id), ids)}

    def links_by_salesforce(self, ids: Iterable[str]) -> dict[str, LinkRow]:
        """Links of these Salesforce records, by Salesforce id."""
        return {row.salesforce_id: row for row in self._links(col(Link.salesforce_id), ids)}

    def _links(self, column: Any, ids: Iterable[str]) -> list[LinkRow]:
        query = select(Link).where(col(Link.pair) == self.pair)
        with self.store.session() as session:
            return [
                LinkRow(
                    hubspot_id=r.hubspot_id,
                    salesforce_id=r.salesforce_id,
                    salesforce_type=r.salesforce_type,
                    snapshot=r.snapshot,
                    snapshot_hash=r.snapshot_hash,
                )
                for r in select_in(session, query, column, ids)
            ]

    # -- runs -------------------------------------------------------------------------------

    def start_run(self, *, kind: str, dry_run: bool) -> int:
        """Record the start of a run; return its id."""
        with self.store.session() as session:
            run = Run(kind=kind, pair=self.pair, dry_run=dry_run)
            session.add(run)
            session.flush()
            assert run.id is not None
            return run.id

    def finish_run(
        self,
        run_id: int,
        *,
        outcome: str,
        counts: Mapping[str, Any],
        calls_salesforce: int,
        calls_hubspot: int,
        message: str = "",
    ) -> None:
        """Record how a run ended."""
        with self.store.session() as session:
            session.execute(
                update(Run)
                .where(col(Run.id) == run_id)
                .values(
                    outcome=outcome,
                    counts=dict(counts),
                    calls_salesforce=calls_salesforce,
                    calls_hubspot=calls_hubspot,
                    message=message[:2000],
                    finished_at=utcnow(),
                )
            )

    # -- the error queue --------------------------------------------------------------------

    def due_errors(self, *, now: datetime | None = None, limit: int = 1000) -> list[ErrorQueueItem]:
        """Open queue items of the pair whose retry time has come."""
        moment = now or utcnow()
        with self.store.session() as session:
            rows = session.exec(
                select(ErrorQueueItem)
                .where(col(ErrorQueueItem.pair) == self.pair)
                .where(col(ErrorQueueItem.status) == "open")
                .where(col(ErrorQueueItem.next_retry_at).is_not(None))
                .where(col(ErrorQueueItem.next_retry_at) <= moment)
                .order_by(col(ErrorQueueItem.id))
                .limit(limit)
            ).all()
            return list(rows)

    def open_error_for(self, *, side: str, record_id: str) -> ErrorQueueItem | None:
        """The open queue item of one record, if any."""
        with self.store.session() as session:
            return session.exec(
                select(ErrorQueueItem)
                .where(col(ErrorQueueItem.pair) == self.pair)
                .where(col(ErrorQueueItem.side) == side)
                .where(col(ErrorQueueItem.record_id) == record_id)
                .where(col(ErrorQueueItem.status) == "open")
            ).first()

    # -- the page commit --------------------------------------------------------------------

    def commit_page(self, page: PageCommit) -> None:
        """Snapshots, unlinks, lineage, queue changes and cursors of one page, atomically."""
        now = utcnow()
        with self.store.session() as session:
            if page.unlinks:
                session.execute(
                    delete(Link)
                    .where(col(Link.pair) == self.pair)
                    .where(col(Link.hubspot_id).in_(page.unlinks))
                )
            self._save_links(session, page.links, now)
            self._save_skips(session, page)
            insert_rows(session, Lineage, [{**row, "written_at": now} for row in page.lineage])
            for error in page.errors:
                self._queue(session, error, now)
            if page.resolved_errors:
                session.execute(
                    update(ErrorQueueItem)
                    .where(col(ErrorQueueItem.id).in_(page.resolved_errors))
                    .values(status="resolved", next_retry_at=None, updated_at=now)
                )
            by_side: dict[str, list[str]] = {}
            for side, record_id in page.succeeded:
                by_side.setdefault(side, []).append(record_id)
            for side, ids in by_side.items():
                session.execute(
                    update(ErrorQueueItem)
                    .where(col(ErrorQueueItem.pair) == self.pair)
                    .where(col(ErrorQueueItem.status) == "open")
                    .where(col(ErrorQueueItem.side) == side)
                    .where(col(ErrorQueueItem.record_id).in_(ids))
                    .values(status="resolved", next_retry_at=None, updated_at=now)
                )
            for (side, object_name), cursor in page.cursors.items():
                saved = session.get(Cursor, (self.pair, side, object_name))
                if saved is None:
                    saved = Cursor(pair=self.pair, side=side, object_name=object_name, value="")
                saved.value = cursor.encode()
                saved.tie_break_id = cursor.tie_break[:32]
                saved.updated_at = now
                session.add(saved)

    def skipped(self, *, side: str, ids: Iterable[str]) -> dict[str, tuple[datetime, str]]:
        """The skip memo of these records: modification time and reason, by id."""
        query = (
            select(SkippedRecord)
            .where(col(SkippedRecord.pair) == self.pair)
            .where(col(SkippedRecord.side) == side)
        )
        with self.store.session() as session:
            rows = select_in(session, query, col(SkippedRecord.record_id), ids)
            return {r.record_id: (r.modified_at, r.reason) for r in rows}

    def _save_skips(self, session: Any, page: PageCommit) -> None:
        """Replace the memo of the records skipped now; linked records leave it."""
        forget: dict[str, set[str]] = {"hubspot": set(), "salesforce": set()}
        for link in page.links:
            forget["hubspot"].add(link.hubspot_id)
            forget["salesforce"].add(link.salesforce_id)
        for side, record_id, _when, _why in page.skipped:
            forget.setdefault(side, set()).add(record_id)
        for side, ids in forget.items():
            for batch in id_batches(sorted(ids)):
                session.execute(
                    delete(SkippedRecord)
                    .where(col(SkippedRecord.pair) == self.pair)
                    .where(col(SkippedRecord.side) == side)
                    .where(col(SkippedRecord.record_id).in_(batch))
                )
        rows = {
            (side, record_id): {
                "pair": self.pair,
                "side": side,
                "record_id": record_id,
                "modified_at": when,
                "reason": why[:500],
            }
            for side, record_id, when, why in page.skipped
        }
        insert_rows(session, SkippedRecord, list(rows.values()))

    def _save_links(self, session: Any, links: Sequence[LinkRow], now: datetime) -> None:
        """Insert or move links in bulk: one query to find them, one flush to free ids."""
        if not links:
            return
        # The last word on a record wins within one page.
        links = list({link.hubspot_id: link for link in links}.values())
        links = list({link.salesforce_id: link for link in links}.values())
        hubspot_ids = [link.hubspot_id for link in links]
        salesforce_ids = [link.salesforce_id for link in links]
        query = select(Link).where(col(Link.pair) == self.pair)
        found: dict[int, Link] = {}
        for column, ids in ((col(Link.hubspot_id), hubspot_ids),
                            (col(Link.salesforce_id), salesforce_ids)):  # fmt: skip
            found.update({row.id: row for row in select_in(session, query, column, ids)})
        by_hubspot = {row.hubspot_id: row for row in found.values()}
        by_salesforce = {row.salesforce_id: row for row in found.values()}
        keep: dict[int, tuple[Link, LinkRow]] = {}
        fresh: list[LinkRow] = []
        drop: set[int] = set()
        for link in links:
            rows = [
                r
                for r in (by_hubspot.get(link.hubspot_id), by_salesforce.get(link.salesforce_id))
                if r is not None and r.id not in drop
            ]
            unique = list({r.id: r for r in rows}.values())
            if not unique:
                fresh.append(link)
                continue
            # A moved link (conversion, merge) may collide with another row: keep one.
            first = unique[0]
            assert first.id is not None  # rows read from the store have their ids
            keep[first.id] = (first, link)
            drop.update(r.id for r in unique[1:] if r.id is not None)
        for row_id in drop:
            keep.pop(row_id, None)
            session.delete(found[row_id])
        # Park kept rows on placeholder ids first, so that a swap of ids between two rows
        # never trips the unique constraints during the flush.
        for row, _link in keep.values():
            row.hubspot_id = f"~{row.id}"
            row.salesforce_id = f"~{row.id}"
        session.flush()
        for row, link in keep.values():
            row.hubspot_id = link.hubspot_id
            row.salesforce_id = link.salesforce_id
            row.salesforce_type = link.salesforce_type
            row.snapshot = dict(link.snapshot)
            row.snapshot_hash = link.snapshot_hash
            row.updated_at = now
        session.flush()
        insert_rows(
            session,
            Link,
            [
                {
                    "pair": self.pair,
                    "hubspot_id": link.hubspot_id,
                    "salesforce_id": link.salesforce_id,
                    "salesforce_type": link.salesforce_type,
                    "snapshot": dict(link.snapshot),
                    "snapshot_hash": link.snapshot_hash,
                    "created_at": now,
                    "updated_at": now,
                }
                for link in fresh
            ],
        )

    def _queue(self, session: Any, error: Mapping[str, Any], now: datetime) -> None:
        existing = session.exec(
            select(ErrorQueueItem)
            .where(col(ErrorQueueItem.pair) == self.pair)
            .where(col(ErrorQueueItem.side) == error["side"])
            .where(col(ErrorQueueItem.record_id) == error["record_id"])
            .where(col(ErrorQueueItem.status) == "open")
        ).first()
        retryable = bool(error.get("retryable", False))
        if existing is None:
            item = ErrorQueueItem(
                pair=self.pair,
                **{k: v for k, v in error.items() if k != "retryable"},
                attempts=1,
            )
        else:
            item = existing
            for key, value in error.items():
                if key != "retryable":
                    setattr(item, key, value)
            item.attempts += 1
            item.updated_at = now
        item.next_retry_at = now + retry_delay(item.attempts) if retryable else None
        session.add(item)


def lineage_row(
    *,
    run_id: int,
    pair: str,
    record_id: str,
    target_side: str,
    field: str,
    old: Any,
    new: Any,
    source_side: str,
    rule: str,
) -> dict[str, Any]:
    """One lineage row, values already JSON-safe."""
    return {
        "run_id": run_id,
        "pair": pair,
        "record_id": record_id,
        "target_side": target_side,
        "field": field,
        "old_value": old,
        "new_value": new,
        "source_side": source_side,
        "rule": rule,
    }


__all__: Sequence[str] = ["LinkRow", "PageCommit", "SyncState", "lineage_row", "retry_delay"]
