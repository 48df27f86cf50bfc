"""Bulk access for the large tables: one executemany per page, and IN (...) lists in batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
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


IN_LIST = 500  # ids per IN (...) list: well inside every backend's bound-parameter limit


def id_batches(ids: Iterable[str], *, size: int = IN_LIST) -> Iterator[list[str]]:
    """The distinct ids (first-seen order) in lists short enough for one IN (...)."""
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


def select_in(session: Any, query: Any, column: Any, ids: Iterable[str]) -> list[Any]:
    """The query's rows whose `column` is one of `ids`, asked a batch of ids at a time."""
    found: list[Any] = []
    for batch in id_batches(ids):
        found.extend(session.exec(query.where(column.in_(batch))).all())
    return found
