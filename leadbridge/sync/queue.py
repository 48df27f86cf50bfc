"""Queries over the error queue for RevOps: list, show, mark for retry, export.

A retry is not a write: it only makes the entry due now, so the next sync re-reads the source
record and re-plans it through the normal path (identity, merge, plan, batched write). That
keeps one way of writing to the systems and lets a record fixed at its source go through.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import update
from sqlmodel import col, select

from leadbridge.errors import LeadbridgeError, Recovery
from leadbridge.store.columns import utcnow
from leadbridge.store.db import Store
from leadbridge.store.models import ErrorQueueItem

StatusFilter = Literal["open", "resolved", "all"]
ExportFormat = Literal["csv", "json"]
STATUSES: tuple[str, ...] = ("open", "resolved", "all")
CATEGORIES: tuple[str, ...] = tuple(r.value for r in Recovery)
EXPORT_COLUMNS: tuple[str, ...] = (
    "id",
    "run_id",
    "pair",
    "side",
    "record_id",
    "operation",
    "category",
    "code",
    "message",
    "hint",
    "attempts",
    "status",
    "next_retry_at",
    "created_at",
    "updated_at",
    "payload",
)


class UnknownIdError(LeadbridgeError):
    """An id given on the command line names nothing in the state store."""

    recovery = Recovery.FIX_DATA


def list_errors(
    store: Store,
    *,
    pair: str | None = None,
    status: StatusFilter = "open",
    category: str | None = None,
    side: str | None = None,
) -> list[ErrorQueueItem]:
    """Queue entries matching every given filter, oldest first."""
    query = select(ErrorQueueItem)
    if pair:
        query = query.where(col(ErrorQueueItem.pair) == pair)
    if status != "all":
        query = query.where(col(ErrorQueueItem.status) == status)
    if category:
        query = query.where(col(ErrorQueueItem.category) == category)
    if side:
        query = query.where(col(ErrorQueueItem.side) == side)
    with store.session() as session:
        return list(session.exec(query.order_by(col(ErrorQueueItem.id))).all())


def get_error(store: Store, item_id: int) -> ErrorQueueItem:
    """One queue entry, or UnknownIdError."""
    with store.session() as session:
        item = session.get(ErrorQueueItem, item_id)
    if item is None:
        raise UnknownIdError(
            f"no error queue entry {item_id}",
            hint="list the ids with `leadbridge errors list --status all`",
        )
    return item


def mark_for_retry(
    store: Store,
    *,
    ids: Sequence[int] = (),
    every: bool = False,
    pair: str | None = None,
    now: datetime | None = None,
) -> list[ErrorQueueItem]:
    """Make the chosen entries open and due now; return them as they are afterwards.

    With `every`, all open entries (of `pair` when given) are chosen; otherwise exactly `ids`,
    each of which must exist (a resolved one is reopened, so a person can force a re-check).
    """
    if not every and not ids:
        raise UnknownIdError("name an entry to retry", hint="pass an ID, or --all")
    chosen = (
        [item.id for item in list_errors(store, pair=pair, status="open") if item.id is not None]
        if every
        else [get_error(store, item_id).id for item_id in ids]
    )
    if not chosen:
        return []
    moment = now or utcnow()
    with store.session() as session:
        session.execute(
            update(ErrorQueueItem)
            .where(col(ErrorQueueItem.id).in_(chosen))
            .values(status="open", next_retry_at=moment, updated_at=moment)
        )
    with store.session() as session:
        rows = session.exec(
            select(ErrorQueueItem)
            .where(col(ErrorQueueItem.id).in_(chosen))
            .order_by(col(ErrorQueueItem.id))
        ).all()
        return list(rows)


def error_dict(item: ErrorQueueItem) -> dict[str, Any]:
    """Every column of an entry as JSON-ready data (times as ISO 8601 text)."""
    return {
        "id": item.id,
        "run_id": item.run_id,
        "pair": item.pair,
        "side": item.side,
        "record_id": item.record_id,
        "operation": item.operation,
        "category": item.category,
        "code": item.code,
        "message": item.message,
        "hint": item.hint,
        "attempts": item.attempts,
        "status": item.status,
        "next_retry_at": _iso(item.next_retry_at),
        "created_at": _iso(item.created_at),
        "updated_at": _iso(item.updated_at),
        "payload": item.payload,
    }


def retried_record(item: ErrorQueueItem) -> tuple[str, str]:
    """(side, id) of the record the next sync re-reads for this entry: the write's source."""
    side = str(item.payload.get("__source_side") or item.side)
    return side, str(item.payload.get("__source_id") or item.record_id)


def export_errors(items: Sequence[ErrorQueueItem], fmt: ExportFormat) -> str:
    """The entries as CSV (payload as one JSON cell) or as a JSON array."""
    rows = [error_dict(item) for item in items]
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(EXPORT_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        # A spreadsheet needs one cell per column: the payload goes in as compact JSON text.
        row["payload"] = json.dumps(row["payload"], ensure_ascii=False, sort_keys=True)
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
