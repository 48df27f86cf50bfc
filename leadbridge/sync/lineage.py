"""Queries over field lineage: what leadbridge wrote to a record, to a field, in a run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlmodel import col, select

from leadbridge.store.db import Store
from leadbridge.store.models import Lineage, Link, Run
from leadbridge.sync.plan import show_value
from leadbridge.sync.queue import UnknownIdError
from leadbridge.sync.snapshot import decode_value


@dataclass(frozen=True)
class LinkedIds:
    """The two ids of one linked pair of records."""

    pair: str
    hubspot_id: str
    salesforce_id: str
    salesforce_type: str


@dataclass(frozen=True)
class RecordHistory:
    """Every write to one record and to its linked partner(s), oldest first."""

    record_id: str
    links: tuple[LinkedIds, ...]
    writes: tuple[Lineage, ...]


def shown(encoded: Any) -> str:
    """A stored (encoded) value as people read it; undecodable data is shown as it is."""
    try:
        return show_value(decode_value(encoded))
    except ValueError:
        return repr(encoded)


def lineage_dict(row: Lineage) -> dict[str, Any]:
    """One lineage row as JSON-ready data (values stay in their stored encoding)."""
    return {
        "id": row.id,
        "run_id": row.run_id,
        "pair": row.pair,
        "record_id": row.record_id,
        "target_side": row.target_side,
        "field": row.field,
        "old_value": row.old_value,
        "new_value": row.new_value,
        "source_side": row.source_side,
        "rule": row.rule,
        "written_at": row.written_at.isoformat(),
    }


def record_history(store: Store, record_id: str, *, pair: str | None = None) -> RecordHistory:
    """What leadbridge wrote to a HubSpot or Salesforce record and to the record linked to it."""
    with store.session() as session:
        query = select(Link).where(
            (col(Link.hubspot_id) == record_id) | (col(Link.salesforce_id) == record_id)
        )
        if pair:
            query = query.where(col(Link.pair) == pair)
        links = tuple(
            LinkedIds(row.pair, row.hubspot_id, row.salesforce_id, row.salesforce_type)
            for row in session.exec(query.order_by(col(Link.pair))).all()
        )
        ids = {record_id} | {i for link in links for i in (link.hubspot_id, link.salesforce_id)}
        rows = select(Lineage).where(col(Lineage.record_id).in_(sorted(ids)))
        if pair:
            rows = rows.where(col(Lineage.pair) == pair)
        writes = tuple(session.exec(rows.order_by(col(Lineage.written_at), col(Lineage.id))).all())
    if not links and not writes:
        raise UnknownIdError(
            f"leadbridge links no record {record_id!r} and has written nothing to it",
            hint="give a HubSpot record id or an 18-character Salesforce id",
        )
    return RecordHistory(record_id=record_id, links=links, writes=writes)


def field_history(
    store: Store, field: str, *, since: datetime | None = None, pair: str | None = None
) -> list[Lineage]:
    """Every write to a field (its name on the side written), oldest first."""
    query = select(Lineage).where(col(Lineage.field) == field)
    if since is not None:
        query = query.where(col(Lineage.written_at) >= since)
    if pair:
        query = query.where(col(Lineage.pair) == pair)
    with store.session() as session:
        return list(session.exec(query.order_by(col(Lineage.written_at), col(Lineage.id))).all())


def get_run(store: Store, run_id: int) -> Run:
    """One run, or UnknownIdError."""
    with store.session() as session:
        run = session.get(Run, run_id)
    if run is None:
        raise UnknownIdError(
            f"no run {run_id}", hint="the latest runs are listed by `leadbridge status`"
        )
    return run


def run_writes(store: Store, run_id: int, *, field: str | None = None) -> list[Lineage]:
    """The writes one run made (of one field when given), in the order they were recorded."""
    query = select(Lineage).where(col(Lineage.run_id) == run_id)
    if field:
        query = query.where(col(Lineage.field) == field)
    with store.session() as session:
        return list(session.exec(query.order_by(col(Lineage.id))).all())


def parse_since(text: str) -> datetime:
    """A date (midnight UTC) or an ISO 8601 date-time (UTC when it names no zone)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (2024-04-01) nor a date-time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


__all__: Sequence[str] = [
    "LinkedIds",
    "RecordHistory",
    "field_history",
    "get_run",
    "lineage_dict",
    "parse_since",
    "record_history",
    "run_writes",
    "shown",
]
