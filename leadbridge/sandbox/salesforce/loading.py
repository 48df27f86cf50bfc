"""Fast seeding of an org: many records of canonical values at once, without per-field checks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from leadbridge.sandbox.salesforce import rules
from leadbridge.sandbox.salesforce.ids import IdAllocator
from leadbridge.sandbox.salesforce.schema import ObjectDef
from leadbridge.sandbox.salesforce.store import Record, RecordStore


def bulk_load(
    store: RecordStore,
    ids: IdAllocator,
    obj: ObjectDef,
    rows: Iterable[Mapping[str, Any]],
    *,
    owner: str,
) -> list[str]:
    """Store rows with defaults, derived fields, ids and stamps (given stamps are kept)."""
    batch: list[tuple[str, Record]] = []
    now = store.now()
    latest = now
    prefix = obj.key_prefix
    for row in rows:
        rec: Record = dict(row)
        rid = ids.allocate(prefix)
        rec["Id"] = rid
        rules.apply_defaults(obj, rec, user_id=owner)
        rules.derive(obj, rec, rec)
        created: dt.datetime = rec.get("CreatedDate") or now
        modified: dt.datetime = rec.get("LastModifiedDate") or created
        stamp: dt.datetime = rec.get("SystemModstamp") or modified
        rec["CreatedDate"], rec["LastModifiedDate"], rec["SystemModstamp"] = (
            created,
            modified,
            stamp,
        )
        rec.setdefault("CreatedById", owner)
        rec.setdefault("LastModifiedById", owner)
        latest = max(latest, stamp)
        batch.append((rid, rec))
    store.load(obj.name, batch)
    # Seeded stamps may lie ahead of the clock; later writes must still stamp after them.
    store.observe_stamp(latest)
    return [rid for rid, _ in batch]
