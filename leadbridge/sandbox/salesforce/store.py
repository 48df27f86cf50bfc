"""Record storage with a (SystemModstamp, Id) index, external-id indexes and an undo journal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from sortedcontainers import SortedList

from leadbridge.sandbox.salesforce.values import truncate_ms

Clock = Callable[[], dt.datetime]
Record = dict[str, Any]
IndexKey = tuple[dt.datetime, str]


def system_clock() -> dt.datetime:
    """The wall clock in UTC."""
    return dt.datetime.now(dt.UTC)


class ModstampIndex:
    """Sorted (SystemModstamp, Id) keys of one object, deleted rows included."""

    def __init__(self, keys: Iterable[IndexKey] = ()) -> None:
        self._keys = SortedList(keys)

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: IndexKey) -> None:
        """Insert a key."""
        self._keys.add(key)

    def discard(self, key: IndexKey) -> None:
        """Remove a key if present."""
        self._keys.discard(key)

    def extend(self, keys: Iterable[IndexKey]) -> None:
        """Insert many keys at once (bulk seeding)."""
        self._keys.update(keys)

    def bisect_left(self, key: IndexKey) -> int:
        """Position of the first key >= key."""
        return int(self._keys.bisect_left(key))

    def bisect_right(self, key: IndexKey) -> int:
        """Position after the last key <= key."""
        return int(self._keys.bisect_right(key))

    def __getitem__(self, position: int) -> IndexKey:
        key: IndexKey = self._keys[position]
        return key

    def slice(self, start: int, stop: int) -> list[IndexKey]:
        """Keys in positions [start, stop)."""
        return list(self._keys.islice(start, stop))

    def islice(self, start: int, stop: int) -> Iterator[IndexKey]:
        """Iterate keys in positions [start, stop) (no writes while iterating)."""
        keys: Iterator[IndexKey] = self._keys.islice(start, stop)
        return keys

    def window(
        self,
        *,
        after: IndexKey | None = None,
        until: IndexKey | None = None,
        limit: int | None = None,
    ) -> list[IndexKey]:
        """Keys strictly after `after` and up to `until` inclusive, at most `limit` of them."""
        start = 0 if after is None else self.bisect_right(after)
        stop = len(self._keys) if until is None else self.bisect_right(until)
        if limit is not None:
            stop = min(stop, start + limit)
        return self.slice(start, max(start, stop))

    def __iter__(self) -> Iterator[IndexKey]:
        return iter(self._keys)


def unique_key(value: Any, *, case_sensitive: bool) -> Any:
    """The lookup key of an external-id/unique value (text matches ignore case by default)."""
    if isinstance(value, str) and not case_sensitive:
        return value.lower()
    return value


class RecordStore:
    """Records of every object plus their indexes; all writes go through `put`."""

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self._last_stamp = dt.datetime.min.replace(tzinfo=dt.UTC)
        self.records: dict[str, dict[str, Record]] = {}
        self.indexes: dict[str, ModstampIndex] = {}
        # (object, field) -> unique key -> ids of live records carrying it.
        self.unique: dict[tuple[str, str], dict[Any, set[str]]] = {}
        self._case_sensitive: dict[tuple[str, str], bool] = {}
        # object -> (field, table, case sensitive) of its indexed fields, for the write path.
        self._unique_by_object: dict[str, list[tuple[str, dict[Any, set[str]], bool]]] = {}
        self._journal: list[tuple[str, str, Record | None]] | None = None
        self.listeners: list[Callable[[str], None]] = []

    def now(self) -> dt.datetime:
        """A server timestamp: millisecond precision and never earlier than the previous one."""
        stamp = truncate_ms(self._clock().astimezone(dt.UTC))
        if stamp < self._last_stamp:
            stamp = self._last_stamp
        self._last_stamp = stamp
        return stamp

    def observe_stamp(self, stamp: dt.datetime) -> None:
        """Keep the clock floor at or above a timestamp written by seeding."""
        if stamp > self._last_stamp:
            self._last_stamp = stamp

    def add_object(self, name: str) -> None:
        """Create the empty tables of an object."""
        self.records.setdefault(name, {})
        self.indexes.setdefault(name, ModstampIndex())

    def track_unique(self, object_name: str, field: str, *, case_sensitive: bool) -> None:
        """Start indexing a unique or external-id field, including existing records."""
        table: dict[Any, set[str]] = {}
        for rid, rec in self.records[object_name].items():
            value = rec.get(field)
            if value is not None and not rec.get("IsDeleted"):
                table.setdefault(unique_key(value, case_sensitive=case_sensitive), set()).add(rid)
        self.unique[(object_name, field)] = table
        self._case_sensitive[(object_name, field)] = case_sensitive
        tracked = self._unique_by_object.setdefault(object_name, [])
        tracked[:] = [t for t in tracked if t[0] != field]
        tracked.append((field, table, case_sensitive))

    def lookup(self, object_name: str, field: str, value: Any) -> set[str]:
        """Ids of live records whose indexed field equals value."""
        key = (object_name, field)
        table = self.unique.get(key)
        if table is None:
            return {
                rid
                for rid, rec in self.records[object_name].items()
                if rec.get(field) == value and not rec.get("IsDeleted")
            }
        return set(table.get(unique_key(value, case_sensitive=self._case_sensitive[key]), ()))

    def get(self, object_name: str, record_id: str) -> Record | None:
        """The stored record or None."""
        return self.records[object_name].get(record_id)

    def put(self, object_name: str, record_id: str, record: Record | None) -> None:
        """Replace (or with None, remove) a record and keep every index in step."""
        table = self.records[object_name]
        old = table.get(record_id)
        if self._journal is not None:
            self._journal.append((object_name, record_id, old))
        index = self.indexes[object_name]
        if old is not None:
            index.discard((old["SystemModstamp"], record_id))
            self._unindex(object_name, record_id, old)
        if record is None:
            table.pop(record_id, None)
        else:
            table[record_id] = record
            index.add((record["SystemModstamp"], record_id))
            self._index(object_name, record_id, record)
        for listener in self.listeners:
            listener(object_name)

    def _index(self, object_name: str, record_id: str, record: Mapping[str, Any]) -> None:
        if record.get("IsDeleted"):
            return
        for field, table, case_sensitive in self._unique_by_object.get(object_name, ()):
            value = record.get(field)
            if value is not None:
                key = unique_key(value, case_sensitive=case_sensitive)
                table.setdefault(key, set()).add(record_id)

    def _unindex(self, object_name: str, record_id: str, record: Mapping[str, Any]) -> None:
        for field, table, case_sensitive in self._unique_by_object.get(object_name, ()):
            value = record.get(field)
            if value is not None:
                key = unique_key(value, case_sensitive=case_sensitive)
                ids = table.get(key)
                if ids is not None:
                    ids.discard(record_id)
                    if not ids:
                        del table[key]

    def load(self, object_name: str, rows: list[tuple[str, Record]]) -> None:
        """Insert many new records at once, sorting the index in one pass."""
        table = self.records[object_name]
        for rid, rec in rows:
            table[rid] = rec
            self._index(object_name, rid, rec)
        self.indexes[object_name].extend((rec["SystemModstamp"], rid) for rid, rec in rows)
        for listener in self.listeners:
            listener(object_name)

    def begin(self) -> int:
        """Start (or nest into) a journal; returns the savepoint to roll back to."""
        if self._journal is None:
            self._journal = []
        return len(self._journal)

    def rollback(self, savepoint: int) -> None:
        """Undo every write made since the savepoint."""
        journal = self._journal
        if journal is None:
            return
        entries = journal[savepoint:]
        del journal[savepoint:]
        self._journal = None
        try:
            for object_name, record_id, old in reversed(entries):
                self.put(object_name, record_id, old)
        finally:
            self._journal = journal

    def end(self, savepoint: int) -> None:
        """Close the outermost journal once its savepoint is back at zero."""
        if savepoint == 0:
            self._journal = None
