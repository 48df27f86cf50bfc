"""State-store access for workflows: occurrences, claims, step progress, cursors, history.

Every change of an execution row is a conditional UPDATE (status and holder in the WHERE), so of
two runners racing for a row exactly one sees rowcount 1; detection is an insert that ignores a
duplicate key. Both work the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, func, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from leadbridge.nurture.workflows import FieldChange, Occurrence, ScoreSeen, execution_key
from leadbridge.store.bulk import select_in
from leadbridge.store.db import Store
from leadbridge.store.models import Cursor, LeadScore, Lineage, Link, WorkflowExecution
from leadbridge.sync.snapshot import decode_value

CURSOR_SIDE = "workflows"


class WorkflowState:
    """Workflow executions of one pair in the state store."""

    def __init__(self, *, store: Store, pair: str) -> None:
        self.store = store
        self.pair = pair

    # -- cursors ----------------------------------------------------------------------------

    def cursor(self, name: str) -> str | None:
        """A detector's saved position (an ISO time or a lineage id), None before the first run."""
        with self.store.session() as session:
            row = session.get(Cursor, (self.pair, CURSOR_SIDE, name))
            return row.value if row is not None else None

    def save_cursor(self, name: str, value: str, *, now: datetime) -> None:
        """Move a detector's position forward (never back: concurrent runs may both save)."""
        try:
            with self.store.session() as session:
                session.add(
                    Cursor(
                        pair=self.pair,
                        side=CURSOR_SIDE,
                        object_name=name,
                        value=value,
                        updated_at=now,
                    )
                )
            return
        except IntegrityError:
            pass  # it exists (perhaps inserted by a concurrent run a moment ago)
        with self.store.session() as session:
            session.execute(
                update(Cursor)
                .where(col(Cursor.pair) == self.pair)
                .where(col(Cursor.side) == CURSOR_SIDE)
                .where(col(Cursor.object_name) == name)
                .where(col(Cursor.value) < value)
                .values(value=value, updated_at=now)
            )

    # -- detection inputs -------------------------------------------------------------------

    def scores_since(self, since: datetime | None, *, minimum: int) -> list[ScoreSeen]:
        """Scores of at least `minimum` computed at or after `since`."""
        query = (
            select(LeadScore)
            .where(col(LeadScore.pair) == self.pair)
            .where(col(LeadScore.total) >= minimum)
        )
        if since is not None:
            query = query.where(col(LeadScore.computed_at) >= since)
        with self.store.session() as session:
            return [
                ScoreSeen(r.hubspot_id, r.salesforce_id, r.total, r.computed_at)
                for r in session.exec(query).all()
            ]

    def changes_since(
        self, last_id: int, *, fields: Iterable[str], limit: int = 5000
    ) -> tuple[list[FieldChange], int]:
        """Lineage rows after `last_id` on watched fields (not our own writes); the new last id."""
        names = sorted(set(fields))
        with self.store.session() as session:
            newest = session.exec(
                select(func.max(Lineage.id)).where(col(Lineage.pair) == self.pair)
            ).one()
            if not names:
                return [], int(newest or last_id)
            rows = session.exec(
                select(Lineage)
                .where(col(Lineage.pair) == self.pair)
                .where(col(Lineage.id) > last_id)
                .where(col(Lineage.field).in_(names))
                .where(~col(Lineage.rule).startswith("workflow"))
                .order_by(col(Lineage.id))
                .limit(limit)
            ).all()
            if len(rows) == limit:
                newest = rows[-1].id
            links = self._links(session, rows)
        changes = []
        for row in rows:
            hubspot_id, salesforce_id = links.get((row.target_side, row.record_id), ("", ""))
            if row.target_side == "hubspot":
                hubspot_id = hubspot_id or row.record_id
            else:
                salesforce_id = salesforce_id or row.record_id
            changes.append(
                FieldChange(
                    change_id=int(row.id or 0),
                    hubspot_id=hubspot_id,
                    salesforce_id=salesforce_id,
                    field=row.field,
                    old=_decoded(row.old_value),
                    new=_decoded(row.new_value),
                )
            )
        return changes, int(newest or last_id)

    def _links(
        self, session: Any, rows: Sequence[Lineage]
    ) -> dict[tuple[str, str], tuple[str, str]]:
        hs = {r.record_id for r in rows if r.target_side == "hubspot"}
        sf = {r.record_id for r in rows if r.target_side == "salesforce"}
        if not hs and not sf:
            return {}
        found = session.exec(
            select(Link)
            .where(col(Link.pair) == self.pair)
            .where(or_(col(Link.hubspot_id).in_(hs), col(Link.salesforce_id).in_(sf)))
        ).all()
        out: dict[tuple[str, str], tuple[str, str]] = {}
        for link in found:
            out[("hubspot", link.hubspot_id)] = (link.hubspot_id, link.salesforce_id)
            out[("salesforce", link.salesforce_id)] = (link.hubspot_id, link.salesforce_id)
        return out

    def links(self, hubspot_ids: Iterable[str]) -> dict[str, Link]:
        """Links of these HubSpot records."""
        wanted = sorted(set(hubspot_ids))
        with self.store.session() as session:
            rows = (
                session.exec(
                    select(Link)
                    .where(col(Link.pair) == self.pair)
                    .where(col(Link.hubspot_id).in_(wanted))
                ).all()
                if wanted
                else []
            )
            return {row.hubspot_id: row for row in rows}

    # -- executions -------------------------------------------------------------------------

    def key_of(self, occurrence: Occurrence) -> str:
        """The idempotency key of an occurrence in this pair."""
        lead = occurrence.hubspot_id or f"sf:{occurrence.salesforce_id}"
        return execution_key(
            pair=self.pair,
            workflow=occurrence.workflow,
            lead=lead,
            occurrence=occurrence.occurrence,
        )

    def known(self, keys: Iterable[str]) -> set[str]:
        """Which of these keys already have an execution row."""
        query = select(WorkflowExecution.idempotency_key).where(
            col(WorkflowExecution.pair) == self.pair
        )
        with self.store.session() as session:
            return set(select_in(session, query, col(WorkflowExecution.idempotency_key), keys))

    def record(self, occurrences: Sequence[Occurrence], *, now: datetime) -> int:
        """Insert new occurrences as pending rows; a key already there is left alone."""
        by_key = {self.key_of(o): o for o in occurrences}
        fresh = [k for k in by_key if k not in self.known(by_key)]
        if not fresh:
            return 0
        rows = [
            {
                "pair": self.pair,
                "idempotency_key": key,
                "workflow": o.workflow,
                "hubspot_id": o.hubspot_id,
                "salesforce_id": o.salesforce_id,
                "occurrence": o.occurrence[:200],
                "reason": o.reason[:500],
                "status": "pending",
                "due_at": o.due_at,
                "attempts": 0,
                "progress": 0,
                "claimed_by": "",
                "result": [],
                "created_at": now,
                "updated_at": now,
            }
            for key, o in ((k, by_key[k]) for k in fresh)
        ]
        table = WorkflowExecution.__table__  # type: ignore[attr-defined]
        assert isinstance(table, Table)
        with self.store.session() as session:
            dialect = session.connection().dialect.name
            maker = pg_insert if dialect == "postgresql" else sqlite_insert
            # A concurrent run may insert the same key between our check and here: ignored.
            statement = maker(table).on_conflict_do_nothing(
                index_elements=["pair", "idempotency_key"]
            )
            session.connection().execute(statement, rows)
        return len(fresh)

    def due(self, *, now: datetime, stale_before: datetime) -> list[WorkflowExecution]:
        """Pending rows that are due, and running rows whose runner stopped answering."""
        with self.store.session() as session:
            return list(
                session.exec(
                    select(WorkflowExecution)
                    .where(col(WorkflowExecution.pair) == self.pair)
                    .where(_claimable(now, stale_before))
                    .order_by(col(WorkflowExecution.due_at), col(WorkflowExecution.id))
                ).all()
            )

    def pending(self) -> list[WorkflowExecution]:
        """Rows not yet finished (for dry-run)."""
        with self.store.session() as session:
            return list(
                session.exec(
                    select(WorkflowExecution)
                    .where(col(WorkflowExecution.pair) == self.pair)
                    .where(col(WorkflowExecution.status).in_(("pending", "running")))
                    .order_by(col(WorkflowExecution.due_at))
                ).all()
            )

    def claim(
        self, row_id: int, *, holder: str, now: datetime, stale_before: datetime
    ) -> WorkflowExecution | None:
        """Take a due row for this holder (None when another runner has it or it is done)."""
        with self.store.session() as session:
            taken = session.execute(
                update(WorkflowExecution)
                .where(col(WorkflowExecution.id) == row_id)
                .where(_claimable(now, stale_before))
                .values(
                    status="running",
                    claimed_by=holder,
                    claimed_at=now,
                    updated_at=now,
                    attempts=WorkflowExecution.attempts + 1,
                )
            )
            if not taken.rowcount:  # type: ignore[attr-defined]
                return None
            return session.get(WorkflowExecution, row_id)

    def save(
        self,
        row_id: int,
        *,
        holder: str,
        now: datetime,
        progress: int,
        result: list[Any],
        status: str = "running",
        due_at: datetime | None = None,
    ) -> bool:
        """Record step progress (or the final status) if this holder still owns the row."""
        values: dict[str, Any] = {
            "progress": progress,
            "result": result,
            "status": status,
            "updated_at": now,
        }
        if due_at is not None:
            values["due_at"] = due_at
        if status != "running":
            values["claimed_by"] = ""
        with self.store.session() as session:
            saved = session.execute(
                update(WorkflowExecution)
                .where(col(WorkflowExecution.id) == row_id)
                .where(col(WorkflowExecution.status) == "running")
                .where(col(WorkflowExecution.claimed_by) == holder)
                .values(**values)
            )
            return bool(saved.rowcount)  # type: ignore[attr-defined]

    def assigned_before(self, *, workflow: str, step_index: int, key: str) -> int:
        """The round-robin turn: this workflow's other executions that got past this step.

        Progress moves past an owner step only when its assignment succeeded, so executions a
        segment skipped and assignments that failed do not count; the store carries the count
        across runs and restarts. A step redone after a crash does not count itself.
        """
        with self.store.session() as session:
            return int(
                session.exec(
                    select(func.count())
                    .select_from(WorkflowExecution)
                    .where(col(WorkflowExecution.pair) == self.pair)
                    .where(col(WorkflowExecution.workflow) == workflow)
                    .where(col(WorkflowExecution.progress) > step_index)
                    .where(col(WorkflowExecution.idempotency_key) != key)
                ).one()
            )

    def history(self, *, lead: str | None = None, limit: int = 200) -> list[WorkflowExecution]:
        """Newest executions first, optionally of one lead (HubSpot or Salesforce id)."""
        query = select(WorkflowExecution).where(col(WorkflowExecution.pair) == self.pair)
        if lead:
            query = query.where(
                or_(
                    col(WorkflowExecution.hubspot_id) == lead,
                    col(WorkflowExecution.salesforce_id) == lead,
                )
            )
        with self.store.session() as session:
            return list(
                session.exec(query.order_by(col(WorkflowExecution.id).desc()).limit(limit)).all()
            )


def _claimable(now: datetime, stale_before: datetime) -> Any:
    return or_(
        and_(col(WorkflowExecution.status) == "pending", col(WorkflowExecution.due_at) <= now),
        and_(
            col(WorkflowExecution.status) == "running",
            col(WorkflowExecution.claimed_at) < stale_before,
        ),
    )


def _decoded(value: Any) -> Any:
    try:
        return decode_value(value)
    except ValueError:
        return value
