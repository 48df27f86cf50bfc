"""State-store access for scoring: score rows, candidate links, and the one-transaction commit.

A scoring commit saves the new scores, the link snapshots of the fields it wrote, lineage,
queue changes and the events cursor together: the next sync then reads the written values as
the snapshot's own (an echo, not a change), and a crash leaves either all of it or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, update
from sqlmodel import col, select

from leadbridge.connectors.base import CanonicalValue
from leadbridge.connectors.base import Cursor as ReadCursor
from leadbridge.store.bulk import insert_rows, select_in
from leadbridge.store.columns import utcnow
from leadbridge.store.db import Store
from leadbridge.store.models import Cursor, ErrorQueueItem, LeadScore, Lineage, Link, Run
from leadbridge.sync.snapshot import Snapshot

EVENTS_SIDE = "hubspot_events"
EVENTS_OBJECT = "contacts"
QUEUE_PAIR = "scoring"  # the sync runner retries only its own pair's entries; these are ours


@dataclass(frozen=True)
class LinkInfo:
    """A link as scoring sees it."""

    hubspot_id: str
    salesforce_id: str
    salesforce_type: str
    snapshot: Snapshot
    snapshot_hash: str


@dataclass
class ScoreRow:
    """A score to save (the table row without its id)."""

    hubspot_id: str
    salesforce_id: str
    total: int
    is_mql: bool
    breakdown: list[dict[str, Any]]
    decaying: bool
    attributes_hash: str
    rules_digest: str
    computed_at: datetime
    mql_since: datetime | None
    settled: bool = True  # False when a write failed: rescored on the next run
    hits: dict[str, Any] | None = None  # the events as matched by the rules (event_index)
    hits_digest: str = ""


@dataclass
class ScoringCommit:
    """Everything one scoring batch changes in the store."""

    scores: list[ScoreRow] = field(default_factory=list)
    # hubspot id -> side -> field -> value now held there (merged into the link snapshot)
    snapshots: dict[str, dict[str, dict[str, CanonicalValue]]] = field(default_factory=dict)
    lineage: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    succeeded: list[tuple[str, str]] = field(default_factory=list)
    events_cursor: datetime | None = None


class ScoringState:
    """Scores of one pair's leads in the state store."""

    def __init__(self, *, store: Store, pair: str) -> None:
        self.store = store
        self.pair = pair

    def events_cursor(self) -> datetime | None:
        """The newest event time already processed, or None before the first run."""
        with self.store.session() as session:
            row = session.get(Cursor, (self.pair, EVENTS_SIDE, EVENTS_OBJECT))
            return ReadCursor.decode(row.value).modified_at if row is not None else None

    def last_run_start(self, *, kind: str) -> datetime | None:
        """When the newest run of this kind that ended ok or partial started."""
        with self.store.session() as session:
            return session.exec(
                select(func.max(Run.started_at))
                .where(col(Run.pair) == self.pair)
                .where(col(Run.kind) == kind)
                .where(col(Run.outcome).in_(["ok", "partial"]))
            ).one()

    def scores(self, hubspot_ids: Iterable[str]) -> dict[str, LeadScore]:
        """Saved scores by HubSpot id."""
        query = select(LeadScore).where(col(LeadScore.pair) == self.pair)
        with self.store.session() as session:
            rows = select_in(session, query, col(LeadScore.hubspot_id), hubspot_ids)
            return {row.hubspot_id: row for row in rows}

    def with_hits(self, hubspot_ids: list[str], *, digest: str) -> set[str]:
        """Which of these leads have hits saved under the behaviour rules of this digest."""
        query = (
            select(LeadScore.hubspot_id)
            .where(col(LeadScore.pair) == self.pair)
            .where(col(LeadScore.hits_digest) == digest)
        )
        with self.store.session() as session:
            return set(select_in(session, query, col(LeadScore.hubspot_id), hubspot_ids))

    def links(self, hubspot_ids: Iterable[str]) -> dict[str, LinkInfo]:
        """Links of these HubSpot records."""
        query = select(Link).where(col(Link.pair) == self.pair)
        with self.store.session() as session:
            rows = select_in(session, query, col(Link.hubspot_id), hubspot_ids)
            return {row.hubspot_id: _info(row) for row in rows}

    def link_by_salesforce(self, salesforce_id: str) -> LinkInfo | None:
        """The link of one Salesforce record."""
        with self.store.session() as session:
            row = session.exec(
                select(Link)
                .where(col(Link.pair) == self.pair)
                .where(col(Link.salesforce_id) == salesforce_id)
            ).first()
            return _info(row) if row is not None else None

    def stale_links(
        self, *, rules_digest: str, page: int = 1000
    ) -> Iterator[tuple[LinkInfo, LeadScore | None]]:
        """Links never scored, whose snapshot moved since their score, or scored by other rules.

        Streamed a page at a time (by link id): after a first sync every link is stale, and
        100,000 parsed snapshots held at once would cost more than the scoring itself.
        """
        after = 0
        while True:
            with self.store.session() as session:
                rows = session.exec(
                    select(Link, LeadScore)
                    .join(
                        LeadScore,
                        and_(
                            col(LeadScore.pair) == col(Link.pair),
                            col(LeadScore.hubspot_id) == col(Link.hubspot_id),
                        ),
                        isouter=True,
                    )
                    .where(col(Link.pair) == self.pair)
                    .where(col(Link.id) > after)
                    .where(
                        or_(
                            col(LeadScore.id).is_(None),
                            col(LeadScore.link_hash) != col(Link.snapshot_hash),
                            col(LeadScore.rules_digest) != rules_digest,
                        )
                    )
                    .order_by(col(Link.id))
                    .limit(page)
                ).all()
                found = [(_info(link), score) for link, score in rows]
                if rows:
                    after = rows[-1][0].id or after
            yield from found
            if len(rows) < page:
                return

    def unsettled(self, *, rules_digest: str) -> list[str]:
        """HubSpot ids of unlinked scores that need another look (failed write, new rules)."""
        with self.store.session() as session:
            rows = session.exec(
                select(LeadScore.hubspot_id)
                .where(col(LeadScore.pair) == self.pair)
                .where(col(LeadScore.salesforce_id) == "")
                .where(
                    or_(col(LeadScore.attributes_hash) == "",
                        col(LeadScore.rules_digest) != rules_digest)
                )
            ).all()  # fmt: skip
            return list(rows)

    def decaying(self) -> list[str]:
        """HubSpot ids of leads whose score holds decaying points."""
        with self.store.session() as session:
            rows = session.exec(
                select(LeadScore.hubspot_id)
                .where(col(LeadScore.pair) == self.pair)
                .where(col(LeadScore.decaying) == True)  # noqa: E712  (SQL, not Python)
            ).all()
            return list(rows)

    def touch_links(self, hashes: Mapping[str, str]) -> None:
        """Record that moved snapshots left these leads' attributes as they were."""
        if not hashes:
            return
        table = LeadScore.__table__  # type: ignore[attr-defined]
        statement = (
            update(table)
            .where(table.c.pair == self.pair)
            .where(table.c.hubspot_id == bindparam("b_hubspot_id"))
            .values(link_hash=bindparam("b_link_hash"))
        )
        rows = [{"b_hubspot_id": k, "b_link_hash": v} for k, v in hashes.items()]
        with self.store.session() as session:
            session.connection().execute(statement, rows)

    def commit(self, page: ScoringCommit) -> None:
        """Scores, snapshots, lineage, queue changes and the events cursor, atomically."""
        now = utcnow()
        with self.store.session() as session:
            hashes = self._merge_snapshots(session, page.snapshots, now)
            self._save_scores(session, page.scores, hashes)
            insert_rows(session, Lineage, [{**row, "written_at": now} for row in page.lineage])
            for error in page.errors:
                self._queue(session, error, now)
            self._resolve(session, page.succeeded, now)
            if page.events_cursor is not None:
                saved = session.get(Cursor, (self.pair, EVENTS_SIDE, EVENTS_OBJECT))
                if saved is None:
                    saved = Cursor(
                        pair=self.pair, side=EVENTS_SIDE, object_name=EVENTS_OBJECT, value=""
                    )
                saved.value = ReadCursor(modified_at=page.events_cursor).encode()
                saved.updated_at = now
                session.add(saved)

    def _save_scores(
        self, session: Any, scores: list[ScoreRow], written_hashes: Mapping[str, str]
    ) -> None:
        """Insert new score rows and update existing ones, one executemany each."""
        ids = [score.hubspot_id for score in scores]
        query = select(LeadScore.hubspot_id, LeadScore.id).where(col(LeadScore.pair) == self.pair)
        existing: dict[str, int] = dict(select_in(session, query, col(LeadScore.hubspot_id), ids))
        link_hashes = self._link_hashes(session, ids)
        fresh: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for score in scores:
            # A failed write leaves the hashes empty: the lead is rescored on the next run.
            settled = score.settled
            link_hash = written_hashes.get(score.hubspot_id) or link_hashes.get(
                score.hubspot_id, ""
            )
            values = {
                "salesforce_id": score.salesforce_id,
                "total": score.total,
                "is_mql": score.is_mql,
                "breakdown": score.breakdown,
                "decaying": score.decaying,
                "rules_digest": score.rules_digest,
                "computed_at": score.computed_at,
                "mql_since": score.mql_since,
                "hits": score.hits,
                "hits_digest": score.hits_digest,
                "attributes_hash": score.attributes_hash if settled else "",
                "link_hash": link_hash if settled else "",
            }
            row_id = existing.get(score.hubspot_id)
            if row_id is None:
                fresh.append({"pair": self.pair, "hubspot_id": score.hubspot_id, **values})
            else:
                changed.append({"b_id": row_id, **{f"b_{k}": v for k, v in values.items()}})
        insert_rows(session, LeadScore, fresh)
        if changed:
            table = LeadScore.__table__  # type: ignore[attr-defined]
            names = [key[2:] for key in changed[0] if key != "b_id"]
            statement = (
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values({name: bindparam(f"b_{name}") for name in names})
            )
            session.connection().execute(statement, changed)

    def _resolve(self, session: Any, succeeded: list[tuple[str, str]], now: datetime) -> None:
        """Close the open queue entries of records written now (a query per 500, not per id)."""
        by_side: dict[str, list[str]] = {}
        for side, record_id in succeeded:
            by_side.setdefault(side, []).append(record_id)
        for side, record_ids in by_side.items():
            query = (
                select(ErrorQueueItem)
                .where(col(ErrorQueueItem.pair) == QUEUE_PAIR)
                .where(col(ErrorQueueItem.side) == side)
                .where(col(ErrorQueueItem.status) == "open")
            )
            for item in select_in(session, query, col(ErrorQueueItem.record_id), record_ids):
                item.status = "resolved"
                item.next_retry_at = None
                item.updated_at = now
                session.add(item)

    def _link_hashes(self, session: Any, hubspot_ids: list[str]) -> dict[str, str]:
        query = select(Link.hubspot_id, Link.snapshot_hash).where(col(Link.pair) == self.pair)
        return dict(select_in(session, query, col(Link.hubspot_id), hubspot_ids))

    def _merge_snapshots(
        self,
        session: Any,
        changes: Mapping[str, Mapping[str, Mapping[str, CanonicalValue]]],
        now: datetime,
    ) -> dict[str, str]:
        """Put the written values into the links' snapshots; return their new hashes."""
        query = select(Link).where(col(Link.pair) == self.pair)
        rows = select_in(session, query, col(Link.hubspot_id), list(changes))
        hashes: dict[str, str] = {}
        for row in rows:
            current = Snapshot.from_data(row.snapshot)
            written = changes[row.hubspot_id]
            merged = Snapshot(
                hubspot={**current.hubspot, **written.get("hubspot", {})},
                salesforce={**current.salesforce, **written.get("salesforce", {})},
            )
            row.snapshot = merged.to_data()
            row.snapshot_hash = merged.hash
            row.updated_at = now
            session.add(row)
            hashes[row.hubspot_id] = merged.hash
        return hashes

    def _open(self, side: str, record_id: str) -> Any:
        return (
            select(ErrorQueueItem)
            .where(col(ErrorQueueItem.pair) == QUEUE_PAIR)
            .where(col(ErrorQueueItem.side) == side)
            .where(col(ErrorQueueItem.record_id) == record_id)
            .where(col(ErrorQueueItem.status) == "open")
        )

    def _queue(self, session: Any, error: Mapping[str, Any], now: datetime) -> None:
        item = session.exec(self._open(str(error["side"]), str(error["record_id"]))).first()
        if item is None:
            item = ErrorQueueItem(pair=QUEUE_PAIR, **error, attempts=0, created_at=now)
        else:
            for key, value in error.items():
                setattr(item, key, value)
        item.attempts += 1
        item.updated_at = now
        # No retry time: the scoring run itself writes again (the lead stays unsettled).
        item.next_retry_at = None
        session.add(item)


def _info(row: Link) -> LinkInfo:
    return LinkInfo(
        hubspot_id=row.hubspot_id,
        salesforce_id=row.salesforce_id,
        salesforce_type=row.salesforce_type,
        snapshot=Snapshot.from_data(row.snapshot) if row.snapshot else Snapshot(),
        snapshot_hash=row.snapshot_hash,
    )
