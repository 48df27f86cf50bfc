"""The workflow runs' entries in the error queue: pair "workflows", one open entry per record.

They stay apart from the sync's entries (pair = the mapping's name, which the sync retries by
re-reading the record) and from scoring's (pair "scoring"), so `leadbridge errors list --pair
workflows` shows exactly what workflows could not do. A workflow entry is resolved by the next
successful workflow write of the same record. `leadbridge errors retry` makes an entry due now;
the next workflows run then gives its failed execution another go from the step that failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from leadbridge.store.columns import utcnow
from leadbridge.store.db import Store
from leadbridge.store.models import ErrorQueueItem, WorkflowExecution

QUEUE_PAIR = "workflows"


class WorkflowErrors:
    """Queue entries of one pair's workflow writes."""

    def __init__(self, *, store: Store, pair: str) -> None:
        self.store = store
        self.pair = pair

    def queue_error(
        self,
        *,
        run_id: int | None,
        side: str,
        record_id: str,
        operation: str,
        category: str,
        code: str,
        message: str,
        hint: str,
        payload: Mapping[str, Any],
    ) -> None:
        """Open an entry for a refused write, or count another attempt on the open one."""
        now = utcnow()
        values: dict[str, Any] = {
            "run_id": run_id or None,
            "operation": operation[:16],
            "category": category[:32],
            "code": code[:64],
            "message": (message or "failed")[:2000],
            "hint": hint[:2000],
            "payload": {**payload, "__pair": self.pair},
            # The workflow run retries by itself (its own back-off); the queue only reports,
            # until a person asks for a retry with `leadbridge errors retry`.
            "next_retry_at": None,
            "updated_at": now,
        }
        with self.store.session() as session:
            item = next(iter(self._open(session, side, record_id)), None)
            if item is None:
                item = ErrorQueueItem(
                    pair=QUEUE_PAIR,
                    side=side,
                    record_id=record_id[:64],
                    created_at=now,
                    attempts=0,
                    **values,
                )
            else:
                for key, value in values.items():
                    setattr(item, key, value)
            item.attempts += 1
            session.add(item)

    def resolve_errors(self, *, side: str, record_id: str) -> None:
        """Close this pair's open workflow entries of a record that was just written."""
        now = utcnow()
        with self.store.session() as session:
            for item in self._open(session, side, record_id):
                item.status = "resolved"
                item.next_retry_at = None
                item.updated_at = now
                session.add(item)

    def reopen_retried(self, *, now: datetime) -> int:
        """Make failed executions due again whose entry `errors retry` marked; how many."""
        with self.store.session() as session:
            items = [
                item
                for item in session.exec(
                    select(ErrorQueueItem)
                    .where(col(ErrorQueueItem.pair) == QUEUE_PAIR)
                    .where(col(ErrorQueueItem.status) == "open")
                    .where(col(ErrorQueueItem.next_retry_at).is_not(None))
                    .where(col(ErrorQueueItem.next_retry_at) <= now)
                ).all()
                if item.payload.get("__pair") == self.pair
            ]
            keys = sorted({str(i.payload.get("__execution") or "") for i in items} - {""})
            reopened = 0
            if keys:
                # Only failed rows: a pending one retries anyway and a done one needs nothing.
                changed = session.execute(
                    update(WorkflowExecution)
                    .where(col(WorkflowExecution.pair) == self.pair)
                    .where(col(WorkflowExecution.idempotency_key).in_(keys))
                    .where(col(WorkflowExecution.status) == "failed")
                    .values(status="pending", due_at=now, attempts=0, updated_at=now)
                )
                reopened = int(changed.rowcount or 0)  # type: ignore[attr-defined]
            for item in items:
                item.next_retry_at = None  # asked once, done once; it stays open until fixed
                item.updated_at = now
                session.add(item)
            return reopened

    def _open(self, session: Any, side: str, record_id: str) -> list[ErrorQueueItem]:
        rows = session.exec(
            select(ErrorQueueItem)
            .where(col(ErrorQueueItem.pair) == QUEUE_PAIR)
            .where(col(ErrorQueueItem.side) == side)
            .where(col(ErrorQueueItem.record_id) == record_id[:64])
            .where(col(ErrorQueueItem.status) == "open")
        ).all()
        # The mapping pair is in the payload (JSON), filtered here alike on both backends.
        return [row for row in rows if row.payload.get("__pair") == self.pair]
