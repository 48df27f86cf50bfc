"""Reading both sides of a pair into change sets, and the cursors a chunk may claim.

Besides the incremental streams, two re-reads land in the change sets with the EPOCH stamp (so
they never move a cursor): HubSpot's archived records, which its search never returns, and the
source records of queue entries whose retry is due.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta

from leadbridge.connectors.base import EPOCH, Connector, Cursor, ReadsArchived, Record, Side
from leadbridge.sync.changeset import ChangeSet
from leadbridge.sync.mapping import PairMapping
from leadbridge.sync.queue import retried_record
from leadbridge.sync.state import SyncState

HUBSPOT_ID_FIELD = "hs_object_id"
SALESFORCE_ID_FIELD = "Id"


def id_field(side: Side) -> str:
    """The field holding a record's own id on one side (the key of a read by id)."""
    return HUBSPOT_ID_FIELD if side == "hubspot" else SALESFORCE_ID_FIELD


def main_object(mapping: PairMapping, side: Side) -> str:
    """The pair's object on one side (the Lead, not the converted Contact, on Salesforce)."""
    return mapping.hubspot_object if side == "hubspot" else mapping.salesforce_object


class SideReader:
    """Reads the pair's streams of both sides and remembers which side was read in full."""

    def __init__(
        self,
        *,
        mapping: PairMapping,
        state: SyncState,
        connectors: Mapping[Side, Connector],
        full: bool,
        overlap: timedelta,
        on_progress: Callable[[str, int], None] | None = None,
    ) -> None:
        self.mapping = mapping
        self.state = state
        self.connectors = connectors
        self.full = full
        self.overlap = overlap
        self.on_progress = on_progress
        self._contact_fields: set[str] | None = None
        self._complete: dict[Side, bool] = {}

    def streams(self) -> list[tuple[Side, str]]:
        """The (side, object) streams this pair reads, in reading order."""
        streams: list[tuple[Side, str]] = [
            ("hubspot", self.mapping.hubspot_object),
            ("salesforce", self.mapping.salesforce_object),
        ]
        if self.mapping.converted_object:
            streams.append(("salesforce", self.mapping.converted_object))
        return streams

    def is_complete(self, side: Side) -> bool:
        """Whether this run read the side's main object from the beginning."""
        return self._complete.get(side, False)

    def fields(self, side: Side, object_name: str) -> list[str]:
        """The fields to read of one object (the converted Contact's limited to what it has)."""
        converted = side == "salesforce" and object_name == self.mapping.converted_object
        names = list(self.mapping.read_fields(side, converted=converted))
        if converted:
            available = self.converted_fields()
            names = [n for n in names if n in available]
        return names

    def converted_fields(self) -> set[str]:
        """The converted object's fields, described once per reader."""
        if self._contact_fields is None:
            assert self.mapping.converted_object is not None
            schema = self.connectors["salesforce"].describe(self.mapping.converted_object)
            self._contact_fields = set(schema.fields)
        return self._contact_fields

    def read(self, *, side: Side, object_name: str, into: ChangeSet) -> tuple[int, Cursor | None]:
        """Read one stream into the side's change set, page by page; (records read, cursor)."""
        cursor = None if self.full else self.state.cursor(side=side, object_name=object_name)
        if object_name == main_object(self.mapping, side):
            # A read from the beginning holds every live record of that side: identity
            # lookups can then be answered from it without asking the API again.
            self._complete[side] = cursor is None
        read = 0
        last: Cursor | None = None
        pages = self.connectors[side].read_changes(
            object_name,
            cursor=cursor,
            fields=self.fields(side, object_name),
            overlap=self.overlap if cursor is not None else timedelta(0),
        )
        for page in pages:
            for record in page.records:
                into.add(record)
            read += len(page.records)
            last = page.cursor
            if self.on_progress is not None:
                self.on_progress(f"read {side} {object_name}", read)
        if last is not None and cursor is not None and last < cursor:
            last = cursor  # an overlap re-read must never move the cursor back
        return read, last

    def read_archived(self, *, changes: Mapping[Side, ChangeSet]) -> int:
        """HubSpot deletes: its search never returns archived records, so ask for them apart."""
        connector = self.connectors["hubspot"]
        if not isinstance(connector, ReadsArchived):
            return 0
        object_name = self.mapping.hubspot_object
        cursor = self.state.cursor(side="hubspot", object_name=object_name)
        since = None
        if cursor is not None and not self.full:
            since = cursor.modified_at - self.overlap
        archived = connector.read_deleted(object_name, since=since)
        linked = self.state.links_by_hubspot(r.id for r in archived)
        added = 0
        # Only linked records matter: an archived record that was never synced needs nothing.
        for record in archived:
            if record.id in linked:
                changes["hubspot"].add(replace(record, modified_at=EPOCH))
                added += 1
        return added

    def retry_due(self, *, changes: Mapping[Side, ChangeSet]) -> dict[tuple[Side, str], int]:
        """Re-read records whose queued error is due, so they go through the normal path."""
        due = self.state.due_errors()
        by_side: dict[Side, list[str]] = defaultdict(list)
        queued: dict[tuple[Side, str], int] = {}
        for item in due:
            # The queue names the side that refused the write; the record to re-plan is the
            # source of that write (what `leadbridge errors retry` tells the user, too).
            named, record_id = retried_record(item)
            source: Side = "salesforce" if named == "salesforce" else "hubspot"
            by_side[source].append(record_id)
            assert item.id is not None
            queued[(source, record_id)] = item.id
        for side, ids in by_side.items():
            missing = [i for i in ids if i not in changes[side]]
            if not missing:
                continue
            object_name = main_object(self.mapping, side)
            found = self.connectors[side].read_by_keys(
                object_name,
                key_field=id_field(side),
                keys=missing,
                fields=self.fields(side, object_name),
            )
            for record in found:
                changes[side].add(replace(record, modified_at=EPOCH))
        return queued

    def chunk_cursors(
        self, *, side: Side, chunk: Sequence[Record]
    ) -> dict[tuple[Side, str], Cursor]:
        """The cursors committing this chunk may move forward: per object, its newest stamp."""
        newest: dict[str, Cursor] = {}
        for record in chunk:
            if record.modified_at == EPOCH:
                continue  # re-read for a queued retry: not part of the incremental stream
            # Only whole earlier stamps are claimed mid-run: the chunk order is ours, not the
            # server's, so a position inside a stamp could skip a record on resume.
            stamp = Cursor(modified_at=record.modified_at)
            if record.object_name not in newest or stamp > newest[record.object_name]:
                newest[record.object_name] = stamp
        saved = {obj: self.state.cursor(side=side, object_name=obj) for obj in newest}
        return {
            (side, obj): cur
            for obj, cur in newest.items()
            if saved[obj] is None or cur > saved[obj]  # type: ignore[operator]
        }
