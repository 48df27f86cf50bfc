"""Identity look-ups for one chunk: links, partner candidates, same-side twins, the skip memo.

Candidates come from the other side's change set (indexed once per run) and, unless that side
was read in full, from reads by external id and by e-mail. The identity decision itself is pure
(identity.py); this module only gathers its evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from leadbridge.connectors.base import EPOCH, Connector, Record, Side
from leadbridge.sync.changeset import ChangeSet, PoolIndex
from leadbridge.sync.identity import Link, LinkIndex, normalise_email
from leadbridge.sync.mapping import PairMapping
from leadbridge.sync.merge import other_side
from leadbridge.sync.reading import SideReader, id_field, main_object
from leadbridge.sync.snapshot import Snapshot
from leadbridge.sync.state import LinkRow, SyncState

# Per unlinked record id: (candidates by external id, candidates by e-mail) on the other side.
Candidates = dict[str, tuple[list[Record], list[Record]]]
# (side, record id, modified at, reason): an unlinked record left alone, for the skip memo.
SkipMemo = tuple[str, str, datetime, str]


def link_from_row(row: LinkRow) -> Link:
    """A stored link as the identity module's Link."""
    return Link(
        hubspot_id=row.hubspot_id,
        salesforce_id=row.salesforce_id,
        salesforce_object=row.salesforce_type,
        snapshot=Snapshot.from_data(row.snapshot) if row.snapshot else None,
    )


def link_rows(state: SyncState, *, side: Side, ids: Iterable[str]) -> dict[str, LinkRow]:
    """Stored links of these records of one side, by that side's id."""
    if side == "hubspot":
        return state.links_by_hubspot(ids)
    return state.links_by_salesforce(ids)


class IdentityLookups:
    """Gathers what identity needs to decide on unlinked records, through the connectors."""

    def __init__(
        self,
        *,
        mapping: PairMapping,
        state: SyncState,
        connectors: Mapping[Side, Connector],
        reader: SideReader,
    ) -> None:
        self.mapping = mapping
        self.state = state
        self.connectors = connectors
        self.reader = reader
        self._pools: dict[Side, PoolIndex] = {}

    def candidates(
        self,
        *,
        side: Side,
        records: Sequence[Record],
        links: LinkIndex,
        changes: Mapping[Side, ChangeSet],
    ) -> Candidates:
        """Other-side records that may be the same person: by external id, then by e-mail."""
        other = other_side(side)
        unlinked = [
            r
            for r in records
            if links.by_id(side, r.id) is None and not (r.deleted or r.merged_into)
        ]
        if not unlinked:
            return {}
        other_object = main_object(self.mapping, other)
        fields = self.reader.fields(other, other_object)
        connector = self.connectors[other]
        my_ext = self.mapping.external_id(side)  # my field holding the other side's id
        their_ext = self.mapping.external_id(other)  # their field holding my id
        by_pointer = {str(r.values.get(my_ext)): r.id for r in unlinked if r.values.get(my_ext)}
        found: list[Record] = []
        if self.reader.is_complete(other):
            by_pointer = {}  # the other side was read in full: the pool has every candidate
        if by_pointer:
            found += connector.read_by_keys(
                other_object,
                key_field=id_field(other),
                keys=list(by_pointer),
                fields=fields,
            )
        complete = self.reader.is_complete(other)
        if not complete:
            found += connector.read_by_keys(
                other_object, key_field=their_ext, keys=[r.id for r in unlinked], fields=fields
            )
        my_email = self.mapping.email(side)
        their_email = self.mapping.email(other)
        emails = {
            e: r.id
            for r in unlinked
            if my_email and (e := normalise_email(r.values.get(my_email))) is not None
        }
        if emails and their_email and not complete:
            found += connector.read_by_keys(
                other_object, key_field=their_email, keys=list(emails), fields=fields
            )
        index = self.pool_index(side=other, changes=changes)
        extra = PoolIndex(found, ext_field=their_ext, email_field=their_email)
        result: Candidates = {}
        wanted: set[str] = set()
        for record in unlinked:
            pointer = str(record.values.get(my_ext) or "")
            ext = {
                c.id: c for c in index.by_ext(record.id, pointer) + extra.by_ext(record.id, pointer)
            }
            email = normalise_email(record.values.get(my_email or ""))
            same = {c.id: c for c in index.by_email(email) + extra.by_email(email)} if email else {}
            result[record.id] = (list(ext.values()), list(same.values()))
            wanted.update(ext, same)
        for row in link_rows(self.state, side=other, ids=wanted).values():
            links.add(link_from_row(row))
        return result

    def remembered(
        self, *, side: Side, records: Sequence[Record], links: LinkIndex
    ) -> dict[str, str]:
        """Unlinked records skipped by an earlier run and unchanged since: id -> reason."""
        unlinked = {
            r.id: r
            for r in records
            if links.by_id(side, r.id) is None
            and not (r.deleted or r.merged_into)
            and r.modified_at != EPOCH
        }
        if not unlinked:
            return {}
        memo = self.state.skipped(side=side, ids=unlinked)
        return {
            record_id: reason
            for record_id, (when, reason) in memo.items()
            if unlinked[record_id].modified_at == when
        }

    def siblings(
        self,
        *,
        side: Side,
        records: Sequence[Record],
        candidates: Candidates,
        changes: Mapping[Side, ChangeSet],
    ) -> dict[str, list[str]]:
        """Other records on the same side sharing the e-mail of a record with an e-mail match."""
        email_field = self.mapping.email(side)
        if not email_field:
            return {}
        wanted = {
            r.id: e
            for r in records
            if candidates.get(r.id, ((), ()))[1]
            and (e := normalise_email(r.values.get(email_field))) is not None
        }
        if not wanted:
            return {}
        index = self.pool_index(side=side, changes=changes)
        same: dict[str, dict[str, Record]] = {
            e: {c.id: c for c in index.by_email(e) if not c.deleted} for e in set(wanted.values())
        }
        if not self.reader.is_complete(side):
            for found in self.connectors[side].read_by_keys(
                main_object(self.mapping, side),
                key_field=email_field,
                keys=sorted(same),
                fields=[email_field],
            ):
                email = normalise_email(found.values.get(email_field))
                if email in same and not found.deleted:
                    same[email][found.id] = found
        return {
            record_id: sorted(i for i in same[email] if i != record_id)
            for record_id, email in wanted.items()
            if len([i for i in same[email] if i != record_id]) > 0
        }

    def pool_index(self, *, side: Side, changes: Mapping[Side, ChangeSet]) -> PoolIndex:
        """An index of one side's change set, built once per run (it is not modified)."""
        cached = self._pools.get(side)
        if cached is None:
            cached = PoolIndex(
                changes[side],
                ext_field=self.mapping.external_id(side),
                email_field=self.mapping.email(side),
            )
            self._pools[side] = cached
        return cached
