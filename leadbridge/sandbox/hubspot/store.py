"""Record versions of one object type, with the live view and the (lagging) search view."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sortedcontainers import SortedDict, SortedList

from .values import iso_ms

ID_BITS = 40
ID_MASK = (1 << ID_BITS) - 1
MAX_MS = (1 << 62) - 1
_BLOCK_BITS = 10
# Above this many versions becoming visible at once, rebuilding the sorted index from scratch
# is cheaper than inserting one by one (bulk seeding hits this path).
_REBUILD_AT = 20_000


def index_key(lm_ms: int, record_id: int) -> int:
    """Pack (last-modified ms, id) into one int that sorts like the tuple but costs less memory."""
    return (lm_ms << ID_BITS) | record_id


@dataclass(frozen=True, slots=True)
class RecordVersion:
    """One immutable state of a record; writes replace versions instead of mutating them."""

    id: int
    properties: Mapping[str, str | None]
    created_ms: int
    updated_ms: int
    archived_ms: int | None = None

    @property
    def archived(self) -> bool:
        """True once the record was archived (deleted) or merged away."""
        return self.archived_ms is not None

    def to_dict(self, names: Iterable[str] | None) -> dict[str, Any]:
        """The SimplePublicObject shape with only the named properties (all when None)."""
        if names is None:
            props = dict(self.properties)
        else:
            props = {n: self.properties.get(n) for n in names}
        body: dict[str, Any] = {
            "id": str(self.id),
            "properties": props,
            "createdAt": iso_ms(self.created_ms),
            "updatedAt": iso_ms(self.updated_ms),
            "archived": self.archived,
        }
        if self.archived_ms is not None:
            body["archivedAt"] = iso_ms(self.archived_ms)
        return body


class SearchView:
    """What search sees: versions become visible `lag_ms` after they were written."""

    def __init__(self, *, lag_ms: int) -> None:
        self.lag_ms = lag_ms
        self._pending: deque[tuple[int, RecordVersion]] = deque()
        self.visible: dict[int, RecordVersion] = {}
        self.ids: Any = SortedList()
        self.keys: Any = SortedList()
        # ids grouped in blocks of 2**_BLOCK_BITS, each with its own sorted index keys, so that
        # counting a (time range, id range) window costs a bisect per block, not a scan.
        self._blocks: Any = SortedDict()

    def queue(self, *, version: RecordVersion, written_ms: int) -> None:
        """Schedule a version to become searchable."""
        self._pending.append((written_ms + self.lag_ms, version))

    def flush(self, now_ms: int) -> None:
        """Make every version whose lag has elapsed visible."""
        ready: list[RecordVersion] = []
        while self._pending and self._pending[0][0] <= now_ms:
            ready.append(self._pending.popleft()[1])
        if not ready:
            return
        if len(ready) > max(_REBUILD_AT, len(self.visible) // 4):
            for version in ready:
                if version.archived:
                    self.visible.pop(version.id, None)
                else:
                    self.visible[version.id] = version
            self._rebuild()
            return
        for version in ready:
            old = self.visible.pop(version.id, None)
            if old is not None:
                self._unindex(old)
            if not version.archived:
                self.visible[version.id] = version
                self._index(version)

    def _rebuild(self) -> None:
        self.ids = SortedList(self.visible.keys())
        keys = [index_key(v.updated_ms, v.id) for v in self.visible.values()]
        self.keys = SortedList(keys)
        grouped: dict[int, list[int]] = {}
        for key in keys:
            grouped.setdefault((key & ID_MASK) >> _BLOCK_BITS, []).append(key)
        self._blocks = SortedDict({b: SortedList(ks) for b, ks in grouped.items()})

    def _index(self, version: RecordVersion) -> None:
        key = index_key(version.updated_ms, version.id)
        self.ids.add(version.id)
        self.keys.add(key)
        block_no = version.id >> _BLOCK_BITS
        block = self._blocks.get(block_no)
        if block is None:
            block = self._blocks[block_no] = SortedList()
        block.add(key)

    def _unindex(self, version: RecordVersion) -> None:
        key = index_key(version.updated_ms, version.id)
        self.ids.remove(version.id)
        self.keys.remove(key)
        self._blocks[version.id >> _BLOCK_BITS].remove(key)

    def count_window(self, *, lm_lo: int, lm_hi: int, id_lo: int, id_hi: int) -> int:
        """How many visible records have lm in [lm_lo, lm_hi] and id in [id_lo, id_hi]."""
        if lm_lo > lm_hi or id_lo > id_hi:
            return 0
        lo_key, hi_key = index_key(lm_lo, 0), index_key(lm_hi, ID_MASK)
        if id_lo <= 0 and id_hi >= ID_MASK:
            return int(self.keys.bisect_right(hi_key) - self.keys.bisect_left(lo_key))
        first, last = id_lo >> _BLOCK_BITS, id_hi >> _BLOCK_BITS
        total = 0
        for block_no in self._blocks.irange(first, last):
            block = self._blocks[block_no]
            if first < block_no < last:
                total += block.bisect_right(hi_key) - block.bisect_left(lo_key)
            else:
                total += sum(
                    1 for k in block.irange(lo_key, hi_key) if id_lo <= (k & ID_MASK) <= id_hi
                )
        return total

    def iter_window(
        self, *, lm_lo: int, lm_hi: int, id_lo: int, id_hi: int, descending: bool
    ) -> Iterator[int]:
        """Ids in (lm, id) order inside the window, jumping over out-of-range id runs."""
        if lm_lo > lm_hi or id_lo > id_hi:
            return
        if descending:
            yield from self._iter_desc(lm_lo, lm_hi, id_lo, id_hi)
            return
        start, stop = index_key(lm_lo, id_lo), index_key(lm_hi, ID_MASK)
        while True:
            jump: int | None = None
            for key in self.keys.irange(start, stop):
                record_id, lm = key & ID_MASK, key >> ID_BITS
                if record_id < id_lo:
                    jump = index_key(lm, id_lo)
                elif record_id > id_hi:
                    jump = index_key(lm + 1, id_lo)
                if jump is not None:
                    break
                yield record_id
            if jump is None:
                return
            start = jump

    def _iter_desc(self, lm_lo: int, lm_hi: int, id_lo: int, id_hi: int) -> Iterator[int]:
        floor, start = index_key(lm_lo, 0), index_key(lm_hi, id_hi)
        while True:
            jump: int | None = None
            for key in self.keys.irange(floor, start, reverse=True):
                record_id, lm = key & ID_MASK, key >> ID_BITS
                if record_id > id_hi:
                    jump = index_key(lm, id_hi)
                elif record_id < id_lo:
                    jump = index_key(lm - 1, id_hi) if lm > lm_lo else -1
                if jump is not None:
                    break
                yield record_id
            if jump is None or jump < floor:
                return
            start = jump


class ObjectStore:
    """All records of one object type: live versions, archive, unique-value lookups."""

    def __init__(self, *, object_type: str, lm_property: str, unique: Iterable[str], lag_ms: int):
        self.object_type = object_type
        self.lm_property = lm_property
        self.active: Any = SortedDict()
        self.archived: Any = SortedDict()
        self.merged_into: dict[int, int] = {}
        self.unique: dict[str, dict[str, int]] = {name: {} for name in unique}
        self.search = SearchView(lag_ms=lag_ms)

    def get_active(self, record_id: int) -> RecordVersion | None:
        """The live version of an active record."""
        found: RecordVersion | None = self.active.get(record_id)
        return found

    def get_archived(self, record_id: int) -> RecordVersion | None:
        """The archived version of a record."""
        found: RecordVersion | None = self.archived.get(record_id)
        return found

    def add_unique(self, name: str) -> None:
        """Start enforcing uniqueness of a property created with hasUniqueValue."""
        index = self.unique.setdefault(name, {})
        for version in self.active.values():
            value = version.properties.get(name)
            if value:
                index.setdefault(value.lower(), version.id)

    def find_unique(self, name: str, value: str) -> int | None:
        """Id of the active record holding a unique value (case-insensitive)."""
        return self.unique.get(name, {}).get(value.lower())

    def put(self, version: RecordVersion, *, written_ms: int, is_new: bool = False) -> None:
        """Store a new live version of an active record."""
        old = None if is_new else self.get_active(version.id)
        for name, index in self.unique.items():
            old_value = old.properties.get(name) if old is not None else None
            new_value = version.properties.get(name)
            if old_value and index.get(old_value.lower()) == version.id:
                del index[old_value.lower()]
            if new_value:
                index[new_value.lower()] = version.id
        self.active[version.id] = version
        self.search.queue(version=version, written_ms=written_ms)

    def archive(self, record_id: int, *, archived_ms: int, written_ms: int) -> RecordVersion:
        """Move an active record to the archive and return its archived version."""
        old: RecordVersion = self.active.pop(record_id)
        for name, index in self.unique.items():
            value = old.properties.get(name)
            if value and index.get(value.lower()) == record_id:
                del index[value.lower()]
        gone = RecordVersion(
            id=old.id,
            properties=old.properties,
            created_ms=old.created_ms,
            updated_ms=old.updated_ms,
            archived_ms=archived_ms,
        )
        self.archived[record_id] = gone
        self.search.queue(version=gone, written_ms=written_ms)
        return gone
