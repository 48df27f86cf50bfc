"""Bulk writes for the large tables (lineage, links): one executemany per page, not per row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlmodel import Session, SQLModel


def insert_rows(session: Session, model: type[SQLModel], rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert plain dict rows through Core (no ORM identity map); return how many were written."""
    if not rows:
        return 0
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    session.connection().execute(insert(table), list(rows))
    return len(rows)
