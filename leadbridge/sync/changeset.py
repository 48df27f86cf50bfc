"""A run's change sets, kept packed, and the identity index over them.

A run holds both sides' change sets until its last chunk (it reads both sides first, see
runner.py). As Record objects with their value dicts, strings, datetimes and Decimals they took
about 1.4 KB a record, so the change sets were most of a run's memory. A ChangeSet keeps each
record as one pickled tuple (about 0.3 KB) and makes it a Record again only when a chunk, an
identity lookup or a merge asks for it. Pickle round-trips every canonical value exactly
(Decimal digits, aware datetimes, frozensets); the bytes never leave the process.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from leadbridge.connectors.base import Record
from leadbridge.sync.identity import normalise_email

_PROTOCOL = pickle.HIGHEST_PROTOCOL


def _load(packed: bytes) -> tuple[Any, ...]:
    fields: tuple[Any, ...] = pickle.loads(packed)  # noqa: S301  (made by add(), in this process)
    return fields


class ChangeSet(Mapping[str, Record]):
    """One side's records read in this run, by id, in the order they were first added.

    Adding a record whose id is already there replaces it and keeps its place (as a dict does).
    Each lookup returns a new, equal Record.
    """

    def __init__(self, records: Iterable[Record] = ()) -> None:
        self._packed: dict[str, bytes] = {}
        # (object name, field names) shared by many records, so that no record repeats them.
        self._layouts: list[tuple[str, tuple[str, ...]]] = []
        self._layout_ids: dict[tuple[str, tuple[str, ...]], int] = {}
        for record in records:
            self.add(record)

    def add(self, record: Record) -> None:
        """Keep the record (replacing one with the same id)."""
        layout = (record.object_name, tuple(record.values))
        number = self._layout_ids.get(layout)
        if number is None:
            number = self._layout_ids[layout] = len(self._layouts)
            self._layouts.append(layout)
        fields = (
            number,
            tuple(record.values.values()),
            record.modified_at,
            record.deleted,
            record.merged_into,
            record.sort_key,
        )
        self._packed[record.id] = pickle.dumps(fields, protocol=_PROTOCOL)

    def __getitem__(self, record_id: str) -> Record:
        return self._unpack(record_id, self._packed[record_id])

    def get(self, record_id: str, default: Record | None = None) -> Record | None:  # type: ignore[override]
        """The record with this id, or `default`."""
        packed = self._packed.get(record_id)
        return default if packed is None else self._unpack(record_id, packed)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._packed

    def __iter__(self) -> Iterator[str]:
        return iter(self._packed)

    def __len__(self) -> int:
        return len(self._packed)

    def in_cursor_order(self) -> list[str]:
        """Ids sorted by Record.cursor (a stable sort: equal cursors keep their order)."""
        return sorted(self._packed, key=self._cursor_key)

    def _cursor_key(self, record_id: str) -> tuple[datetime, str]:
        # The same order as Record.cursor: (modified_at, sort_key or id).
        _number, _values, modified_at, _deleted, _merged, sort_key = _load(self._packed[record_id])
        return modified_at, sort_key or record_id

    def _unpack(self, record_id: str, packed: bytes) -> Record:
        number, values, modified_at, deleted, merged_into, sort_key = _load(packed)
        object_name, names = self._layouts[number]
        return Record(
            id=record_id,
            object_name=object_name,
            values=dict(zip(names, values, strict=True)),
            modified_at=modified_at,
            deleted=deleted,
            merged_into=merged_into,
            sort_key=sort_key,
        )


# One entry, or several in the order they were indexed (most keys name exactly one record).
_Slot = str | Record | list[str | Record]


def _put(slots: dict[str, _Slot], key: str, entry: str | Record) -> None:
    held = slots.get(key)
    if held is None:
        slots[key] = entry
    elif isinstance(held, list):
        held.append(entry)
    else:
        slots[key] = [held, entry]


class PoolIndex:
    """Records of one side by id, by the external-id field and by normalised e-mail.

    Over a ChangeSet it holds ids only (the records stay packed until a lookup returns them);
    over a list of looked-up records it holds every record as it came.
    """

    def __init__(
        self,
        records: ChangeSet | Iterable[Record],
        *,
        ext_field: str,
        email_field: str | None,
    ) -> None:
        self._source = records if isinstance(records, ChangeSet) else None
        self._by_id: dict[str, Record] = {}
        self._by_ext: dict[str, _Slot] = {}
        self._by_email: dict[str, _Slot] = {}
        for record in records.values() if isinstance(records, ChangeSet) else records:
            entry: str | Record = record
            if self._source is not None:
                entry = record.id
            else:
                self._by_id[record.id] = record
            pointer = record.values.get(ext_field)
            if pointer:
                _put(self._by_ext, str(pointer), entry)
            email = normalise_email(record.values.get(email_field or ""))
            if email:
                _put(self._by_email, email, entry)

    def by_ext(self, record_id: str, pointer: str) -> list[Record]:
        """Records pointing at record_id, and the record the pointer names."""
        found = self._resolve(self._by_ext.get(record_id))
        named = self._record(pointer) if pointer else None
        return [*found, named] if named is not None else found

    def by_email(self, email: str | None) -> list[Record]:
        """Records with this normalised e-mail."""
        return self._resolve(self._by_email.get(email)) if email else []

    def _record(self, record_id: str) -> Record | None:
        if self._source is not None:
            return self._source.get(record_id)
        return self._by_id.get(record_id)

    def _resolve(self, slot: _Slot | None) -> list[Record]:
        if slot is None:
            return []
        entries = slot if isinstance(slot, list) else [slot]
        found: list[Record] = []
        for entry in entries:
            record = entry if isinstance(entry, Record) else self._record(entry)
            if record is not None:
                found.append(record)
        return found
