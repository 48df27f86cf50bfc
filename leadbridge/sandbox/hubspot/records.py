"""Record writes and lookups for every object type of a portal (no paging, no batching)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .errors import HubSpotError, JsonDict, conflict, not_found, validation_error
from .properties import DEFAULT_RETURNED, LAST_MODIFIED, OBJECT_TYPES, PropertyRegistry
from .store import ObjectStore, RecordVersion
from .values import Clock, iso_ms, parse_time_ms, to_ms

SERVER_MAINTAINED = frozenset({"hs_object_id", "lastmodifieddate", "hs_lastmodifieddate"})
_SINGULAR = {"contacts": "Contact", "companies": "Company"}


@dataclass(frozen=True, slots=True)
class WriteStamp:
    """When a write happened: `ms` is the record timestamp, `clock_ms` the wall clock."""

    ms: int
    clock_ms: int


class Records:
    """The object stores of a portal plus the rules every write follows."""

    def __init__(
        self,
        *,
        registry: PropertyRegistry,
        clock: Clock,
        lag_ms: int,
        strict_timestamps: bool,
        first_id: int,
    ) -> None:
        self.registry = registry
        self.clock = clock
        self.strict_timestamps = strict_timestamps
        self._last_ms = 0
        self._next_id = first_id
        self.stores = {
            t: ObjectStore(
                object_type=t,
                lm_property=LAST_MODIFIED[t],
                unique=registry.unique_names(t),
                lag_ms=lag_ms,
            )
            for t in OBJECT_TYPES
        }

    # --- time and ids ----------------------------------------------------------------

    def now_ms(self) -> int:
        """The injected clock in epoch ms."""
        return to_ms(self.clock())

    def stamp(self) -> WriteStamp:
        """A timestamp for one write operation (a whole batch shares one)."""
        clock_ms = self.now_ms()
        ms = max(clock_ms, self._last_ms + 1 if self.strict_timestamps else self._last_ms)
        self._last_ms = ms
        return WriteStamp(ms=ms, clock_ms=clock_ms)

    def seen_ms(self, ms: int) -> None:
        """Keep later writes after an explicit (seeded) timestamp."""
        self._last_ms = max(self._last_ms, ms)

    def allocate_id(self) -> int:
        """A new record id (ids are unique across object types, as HubSpot's look)."""
        record_id = self._next_id
        self._next_id += 1
        return record_id

    # --- lookups ---------------------------------------------------------------------

    def store(self, object_type: str) -> ObjectStore:
        """The store of an object type, 404 for unknown types."""
        found = self.stores.get(object_type)
        if found is None:
            raise not_found(f"Unable to infer object type from: {object_type}")
        return found

    def resolve(
        self,
        *,
        object_type: str,
        object_id: object,
        id_property: str | None = None,
        follow_merges: bool = True,
    ) -> RecordVersion | None:
        """The active record an id (or unique idProperty value) names; merged ids redirect."""
        store = self.store(object_type)
        text = str(object_id).strip()
        if id_property in (None, "", "hs_object_id"):
            if not text.isdigit():
                return None
            record_id = int(text)
            if follow_merges:
                record_id = store.merged_into.get(record_id, record_id)
            return store.get_active(record_id)
        assert id_property is not None
        definition = self.registry.find(object_type, id_property)
        if definition is None:
            raise validation_error(f"Unknown idProperty: {id_property}")
        if not definition.has_unique_value:
            raise validation_error(
                f"{id_property} is not a unique property and cannot be used as idProperty"
            )
        found_id = store.find_unique(id_property, text)
        return None if found_id is None else store.get_active(found_id)

    def require(
        self,
        *,
        object_type: str,
        object_id: object,
        id_property: str | None = None,
        follow_merges: bool = True,
    ) -> RecordVersion:
        """Like resolve, but 404 when nothing matches."""
        found = self.resolve(
            object_type=object_type,
            object_id=object_id,
            id_property=id_property,
            follow_merges=follow_merges,
        )
        if found is None:
            raise not_found(f"Object not found. objectId are usually numeric. ({object_id})")
        return found

    def returned_names(
        self, object_type: str, requested: list[str] | None, written: Iterable[str] = ()
    ) -> list[str]:
        """Requested properties that exist (unknown ones are ignored), else the defaults."""
        self.store(object_type)
        if requested is None:
            names = list(DEFAULT_RETURNED[object_type])
            names.extend(n for n in written if n not in names)
            return names
        known = set(self.registry.names(object_type))
        return [n for n in dict.fromkeys(requested) if n in known]

    # --- validation ------------------------------------------------------------------

    def coerce(
        self, *, object_type: str, values: object, allow_read_only: bool = False
    ) -> dict[str, str | None]:
        """Validated stored values of a `properties` object."""
        if not isinstance(values, Mapping):
            raise validation_error("`properties` must be an object")
        return self.registry.coerce_values(
            object_type=object_type, values=values, allow_read_only=allow_read_only
        )

    def unique_clash(
        self,
        *,
        object_type: str,
        values: Mapping[str, str | None],
        self_id: int | None,
        claimed: Mapping[tuple[str, str], int] | None = None,
    ) -> HubSpotError | None:
        """The 409 for a unique value already held by another record (or earlier batch input)."""
        store = self.store(object_type)
        for name in store.unique:
            value = values.get(name)
            if not value:
                continue
            holder = store.find_unique(name, value)
            if holder is None and claimed is not None:
                holder = claimed.get((name, value.lower()))
            if holder is not None and holder != self_id:
                return conflict(
                    f"{_SINGULAR[object_type]} already exists. Existing ID: {holder}",
                    context={"id": [str(holder)]},
                )
        return None

    # --- writes ----------------------------------------------------------------------

    def insert(
        self,
        *,
        object_type: str,
        values: Mapping[str, str | None],
        stamp: WriteStamp,
        created_ms: int | None = None,
    ) -> RecordVersion:
        """Store a new record with server-maintained properties filled in."""
        store = self.store(object_type)
        record_id = self.allocate_id()
        props = {k: v for k, v in values.items() if v is not None}
        if created_ms is None and "createdate" in props:
            created_ms = parse_time_ms(props["createdate"])
        created = stamp.ms if created_ms is None else created_ms
        props["createdate"] = iso_ms(created)
        props[store.lm_property] = iso_ms(stamp.ms)
        props["hs_object_id"] = str(record_id)
        version = RecordVersion(
            id=record_id, properties=props, created_ms=created, updated_ms=stamp.ms
        )
        store.put(version, written_ms=stamp.clock_ms, is_new=True)
        return version

    def update(
        self,
        *,
        object_type: str,
        current: RecordVersion,
        values: Mapping[str, str | None],
        stamp: WriteStamp,
    ) -> RecordVersion:
        """Store a new version of an active record with `values` applied."""
        store = self.store(object_type)
        props = dict(current.properties)
        for name, value in values.items():
            if name in SERVER_MAINTAINED:
                continue
            if value is None:
                props.pop(name, None)
            else:
                props[name] = value
        created_ms = current.created_ms
        if "createdate" in values:
            parsed = parse_time_ms(values["createdate"])
            created_ms = parsed if parsed is not None else created_ms
            props["createdate"] = iso_ms(created_ms)
        props[store.lm_property] = iso_ms(stamp.ms)
        version = RecordVersion(
            id=current.id, properties=props, created_ms=created_ms, updated_ms=stamp.ms
        )
        store.put(version, written_ms=stamp.clock_ms)
        return version

    def archive(self, *, object_type: str, record_id: int, stamp: WriteStamp) -> RecordVersion:
        """Archive an active record."""
        return self.store(object_type).archive(
            record_id, archived_ms=stamp.ms, written_ms=stamp.clock_ms
        )

    def merge(
        self, *, object_type: str, primary: RecordVersion, loser: RecordVersion, stamp: WriteStamp
    ) -> RecordVersion:
        """Fold `loser` into `primary`: blanks filled from the loser, the loser archived."""
        store = self.store(object_type)
        store.archive(loser.id, archived_ms=stamp.ms, written_ms=stamp.clock_ms)
        merged_ids = [
            *(primary.properties.get("hs_merged_object_ids") or "").split(";"),
            str(loser.id),
            *(loser.properties.get("hs_merged_object_ids") or "").split(";"),
        ]
        values: dict[str, str | None] = {
            name: value
            for name, value in loser.properties.items()
            if value is not None
            and not primary.properties.get(name)
            and name not in ("createdate", "hs_merged_object_ids")
        }
        values["hs_merged_object_ids"] = ";".join(i for i in merged_ids if i)
        loser_email = loser.properties.get("email")
        if object_type == "contacts" and loser_email and primary.properties.get("email"):
            # The loser's address survives as an additional email of the winner.
            extra = (primary.properties.get("hs_additional_emails") or "").split(";")
            values["hs_additional_emails"] = ";".join(e for e in [*extra, loser_email] if e)
        for old, target in list(store.merged_into.items()):
            if target == loser.id:
                store.merged_into[old] = primary.id
        store.merged_into[loser.id] = primary.id
        return self.update(object_type=object_type, current=primary, values=values, stamp=stamp)


def render(version: RecordVersion, names: Iterable[str], **extra: object) -> JsonDict:
    """A record in the SimplePublicObject shape with extra top-level keys."""
    body = version.to_dict(names)
    body.update(extra)
    return body
