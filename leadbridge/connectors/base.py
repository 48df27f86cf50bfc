"""The Connector protocol and the value types that cross it.

Values crossing the protocol are canonical Python values, never raw API strings: str, int,
Decimal, bool, date, aware UTC datetime, frozenset[str] for multi-select, or None.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal, Protocol, runtime_checkable

from leadbridge.errors import LeadbridgeError, Recovery

Side = Literal["salesforce", "hubspot"]

CanonicalValue = str | int | Decimal | float | bool | date | datetime | frozenset[str] | None


class FieldType(StrEnum):
    """Canonical field types; each connector maps its native types onto these."""

    ID = "id"
    STRING = "string"
    TEXT = "text"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    PICKLIST = "picklist"
    MULTIPICKLIST = "multipicklist"
    REFERENCE = "reference"
    OTHER = "other"


@dataclass(frozen=True)
class FieldSchema:
    """One field as the integration user sees it."""

    name: str
    label: str
    type: FieldType
    native_type: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    picklist_values: tuple[str, ...] = ()
    restricted: bool = False
    createable: bool = True
    updateable: bool = True
    required_on_create: bool = False
    external_id: bool = False
    unique: bool = False
    custom: bool = False


@dataclass(frozen=True)
class ObjectSchema:
    """An object's visible fields, by name."""

    name: str
    fields: Mapping[str, FieldSchema]

    def field(self, name: str) -> FieldSchema | None:
        """Look a field up by name, ignoring case (both systems treat names that way)."""
        found = self.fields.get(name)
        if found is not None:
            return found
        lowered = name.lower()
        return next((f for n, f in self.fields.items() if n.lower() == lowered), None)


@dataclass(frozen=True)
class PicklistOption:
    """A picklist value with its label (labels may be Japanese or English)."""

    value: str
    label: str


@dataclass(frozen=True)
class FieldSpec:
    """A field leadbridge needs to exist, for ensure_fields."""

    name: str
    label: str
    type: FieldType
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    options: tuple[PicklistOption, ...] = ()
    external_id: bool = False
    unique: bool = False
    description: str = ""


ProvisionKind = Literal["create", "add_options", "grant_access", "ok", "conflict"]


@dataclass(frozen=True)
class ProvisionAction:
    """One step of a provisioning plan: what would change (or what is wrong) and how to fix it."""

    object_name: str
    field_name: str
    kind: ProvisionKind
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class ProvisionPlan:
    """What ensure_fields found and (when applied) did."""

    side: Side
    actions: tuple[ProvisionAction, ...]
    applied: bool

    @property
    def changes(self) -> tuple[ProvisionAction, ...]:
        """Actions that change something in the remote system."""
        return tuple(a for a in self.actions if a.kind in ("create", "add_options", "grant_access"))

    @property
    def conflicts(self) -> tuple[ProvisionAction, ...]:
        """Existing fields that leadbridge will not touch by itself (wrong type and the like)."""
        return tuple(a for a in self.actions if a.kind == "conflict")


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, order=True)
class Cursor:
    """Where an incremental read resumes: a modification time plus a tie-break id.

    Ordering is by (modified_at, tie_break), the same order the connectors read in, so a cursor
    never skips records that share one timestamp.
    """

    modified_at: datetime = EPOCH
    tie_break: str = ""

    def rewound(self, overlap: timedelta) -> Cursor:
        """The cursor moved back by the overlap window (and before every id at that time)."""
        if overlap <= timedelta(0):
            return self
        return Cursor(modified_at=max(EPOCH, self.modified_at - overlap), tie_break="")

    def encode(self) -> str:
        """A string form for the state store."""
        moment = self.modified_at.astimezone(UTC).isoformat(timespec="milliseconds")
        return f"{moment}|{self.tie_break}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Inverse of encode()."""
        moment, _, tie_break = text.partition("|")
        return cls(modified_at=datetime.fromisoformat(moment).astimezone(UTC), tie_break=tie_break)


@dataclass(frozen=True)
class Record:
    """One record as read: canonical values of the requested fields, and how it changed."""

    id: str
    object_name: str
    values: Mapping[str, CanonicalValue]
    modified_at: datetime
    deleted: bool = False
    merged_into: str | None = None
    sort_key: str = ""

    @property
    def cursor(self) -> Cursor:
        """The cursor just at this record (sort_key orders ids the way the API does)."""
        return Cursor(modified_at=self.modified_at, tie_break=self.sort_key or self.id)


@dataclass(frozen=True)
class Page:
    """A page of changes and the cursor to checkpoint after committing it."""

    records: tuple[Record, ...]
    cursor: Cursor


WriteKind = Literal["create", "update", "upsert", "delete"]


@dataclass(frozen=True)
class WriteOp:
    """One record to write. `ref` is the caller's correlation key, echoed in the result.

    create: values; update/delete: record_id (+ values); upsert: key_field + key_value + values.
    """

    kind: WriteKind
    ref: str
    values: Mapping[str, CanonicalValue] = field(default_factory=dict)
    record_id: str | None = None
    key_field: str | None = None
    key_value: str | None = None


@dataclass(frozen=True)
class WriteResult:
    """The outcome of one WriteOp: the record id on success, a classified error otherwise."""

    ref: str
    ok: bool
    record_id: str | None = None
    created: bool = False
    error: LeadbridgeError | None = None

    @property
    def recovery(self) -> Recovery | None:
        """How the caller recovers from the failure (None on success)."""
        return self.error.recovery if self.error is not None else None


@dataclass(frozen=True)
class ApiBudget:
    """API calls: made by this connector, and the remote daily usage against leadbridge's share."""

    calls_made: int
    daily_used: int | None
    daily_limit: int | None
    share: float

    @property
    def allowed(self) -> int | None:
        """The daily calls leadbridge may use (its share of the limit)."""
        return int(self.daily_limit * self.share) if self.daily_limit is not None else None

    @property
    def exhausted(self) -> bool:
        """True once the remote daily usage reached leadbridge's share."""
        allowed = self.allowed
        return allowed is not None and self.daily_used is not None and self.daily_used >= allowed


@runtime_checkable
class Connector(Protocol):
    """What the sync engine, setup and nurture layers need from Salesforce or HubSpot."""

    side: Side

    def describe(self, object_name: str) -> ObjectSchema:
        """The object's fields as the integration user sees them."""
        ...

    def ensure_fields(
        self, object_name: str, specs: Sequence[FieldSpec], *, apply: bool
    ) -> ProvisionPlan:
        """Plan (and with apply=True, make) the fields exist and are visible; idempotent."""
        ...

    def read_changes(
        self,
        object_name: str,
        *,
        cursor: Cursor | None,
        fields: Sequence[str],
        overlap: timedelta = timedelta(0),
    ) -> Iterator[Page]:
        """Records changed after the cursor (minus overlap), oldest first, deletes included."""
        ...

    def read_by_keys(
        self, object_name: str, *, key_field: str, keys: Sequence[str], fields: Sequence[str]
    ) -> list[Record]:
        """Records whose key field equals one of the keys (several may match one key)."""
        ...

    def write(self, object_name: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Write in the largest batches the API allows; one result per op, in order."""
        ...

    def budget(self) -> ApiBudget:
        """Calls made and the daily budget left."""
        ...


@runtime_checkable
class ReadsArchived(Protocol):
    """A connector whose change reads miss deletes, and which reads them apart (HubSpot)."""

    def read_deleted(self, object_name: str, *, since: datetime | None) -> list[Record]:
        """Records deleted (archived) after `since`, or all of them when it is None."""
        ...
