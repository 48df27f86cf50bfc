"""A link's snapshot: the last-synced canonical value of every mapped field, on each side.

Keeping each side's own value (rather than one common form) means many-to-one translations need
no inverse: a side "changed" exactly when its current value differs from what it last held.

JSON form (what the state store keeps), keys sorted so that the hash is stable:
    {"hubspot": {prop: encoded}, "salesforce": {field: encoded}}
where str, int, float, bool and null stay plain JSON and the other canonical values are tagged:
    {"$decimal": "12.50"}  {"$date": "2024-04-01"}  {"$datetime": "2024-04-01T09:00:00+00:00"}
    {"$set": ["a", "b"]}   (a multi-select value, elements sorted)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from leadbridge.connectors.base import CanonicalValue, Side

SNAPSHOT_SIDES: tuple[Side, Side] = ("hubspot", "salesforce")


def encode_value(value: CanonicalValue) -> Any:
    """A canonical value as JSON-serialisable data (see the module docstring)."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.astimezone(UTC).isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    return {"$set": sorted(value)}


def decode_value(data: Any) -> CanonicalValue:
    """Inverse of encode_value; raises ValueError on data it did not produce."""
    if data is None or isinstance(data, str | bool | int | float):
        return data
    if isinstance(data, dict) and len(data) == 1:
        ((tag, raw),) = data.items()
        try:
            if tag == "$decimal":
                return Decimal(str(raw))
            if tag == "$datetime":
                return datetime.fromisoformat(str(raw))
            if tag == "$date":
                return date.fromisoformat(str(raw))
            if tag == "$set" and isinstance(raw, list):
                return frozenset(str(item) for item in raw)
        except (InvalidOperation, ValueError):
            pass
    raise ValueError(f"not an encoded canonical value: {data!r}")


@dataclass(frozen=True)
class Snapshot:
    """Per mapped field, the value each side held right after the last successful sync."""

    hubspot: Mapping[str, CanonicalValue] = field(default_factory=dict)
    salesforce: Mapping[str, CanonicalValue] = field(default_factory=dict)

    def side(self, side: Side) -> Mapping[str, CanonicalValue]:
        """The values of one side."""
        return self.hubspot if side == "hubspot" else self.salesforce

    def to_data(self) -> dict[str, dict[str, Any]]:
        """JSON-serialisable form for a JSON column."""
        return {
            "hubspot": {k: encode_value(v) for k, v in sorted(self.hubspot.items())},
            "salesforce": {k: encode_value(v) for k, v in sorted(self.salesforce.items())},
        }

    def to_json(self) -> str:
        """Compact JSON text with sorted keys (the hash is taken over this text)."""
        return json.dumps(self.to_data(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @property
    def hash(self) -> str:
        """A stable SHA-256 of the JSON form, to compare snapshots without decoding them."""
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Snapshot:
        """Inverse of to_data; raises ValueError on a malformed snapshot."""
        sides: dict[str, dict[str, CanonicalValue]] = {}
        for side in SNAPSHOT_SIDES:
            raw = data.get(side, {})
            if not isinstance(raw, dict):
                raise ValueError(f"snapshot side {side!r} is not an object")
            sides[side] = {str(k): decode_value(v) for k, v in raw.items()}
        return cls(hubspot=sides["hubspot"], salesforce=sides["salesforce"])

    @classmethod
    def from_json(cls, text: str) -> Snapshot:
        """Inverse of to_json; raises ValueError on malformed text."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a snapshot is a JSON object")
        return cls.from_data(data)


def is_blank(value: CanonicalValue) -> bool:
    """None, empty or whitespace-only text and an empty multi-select all mean "no value"."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, frozenset) and not value


def normalise(value: CanonicalValue, *, ignore_case: bool = False) -> CanonicalValue:
    """The form two values are compared in: blanks are None, floats are Decimals, and so on."""
    if is_blank(value):
        return None
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        # Trailing zeros are only presentation: 12.50 and 12.5 are one score.
        return value.normalize() if value.is_finite() else value
    if ignore_case and isinstance(value, str):
        return value.strip().casefold()
    if ignore_case and isinstance(value, frozenset):
        return frozenset(item.strip().casefold() for item in value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


def same(left: CanonicalValue, right: CanonicalValue, *, ignore_case: bool = False) -> bool:
    """True when two canonical values mean the same (after normalise)."""
    a = normalise(left, ignore_case=ignore_case)
    b = normalise(right, ignore_case=ignore_case)
    # bool is an int in Python: True must not equal 1 here, nor a date a datetime.
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, datetime) != isinstance(b, datetime):
        return False
    return a == b
