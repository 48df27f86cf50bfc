"""Salesforce JSON values <-> canonical values, by field type; describe -> ObjectSchema."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from leadbridge.connectors.base import CanonicalValue, FieldSchema, FieldType, ObjectSchema

_TYPES: dict[str, FieldType] = {
    "id": FieldType.ID,
    "string": FieldType.STRING,
    "textarea": FieldType.TEXT,
    "email": FieldType.EMAIL,
    "phone": FieldType.PHONE,
    "url": FieldType.URL,
    "int": FieldType.INTEGER,
    "double": FieldType.NUMBER,
    "currency": FieldType.NUMBER,
    "percent": FieldType.NUMBER,
    "boolean": FieldType.BOOLEAN,
    "date": FieldType.DATE,
    "datetime": FieldType.DATETIME,
    "picklist": FieldType.PICKLIST,
    "combobox": FieldType.PICKLIST,
    "multipicklist": FieldType.MULTIPICKLIST,
    "reference": FieldType.REFERENCE,
}


def schema_from_describe(describe: Mapping[str, Any]) -> ObjectSchema:
    """Turn a describe response into the canonical schema (only the fields the user sees)."""
    fields: dict[str, FieldSchema] = {}
    for raw in describe.get("fields", []):
        native = str(raw.get("type", ""))
        kind = _TYPES.get(native, FieldType.OTHER)
        if kind is FieldType.STRING and raw.get("extraTypeInfo") == "plaintextarea":
            kind = FieldType.TEXT
        createable = bool(raw.get("createable", False))
        fields[raw["name"]] = FieldSchema(
            name=raw["name"],
            label=str(raw.get("label", raw["name"])),
            type=kind,
            native_type=native,
            length=raw.get("length") or None,
            precision=raw.get("precision") or None,
            scale=raw.get("scale") if raw.get("precision") else None,
            picklist_values=tuple(
                str(v["value"]) for v in raw.get("picklistValues") or [] if v.get("active", True)
            ),
            restricted=bool(raw.get("restrictedPicklist", False)),
            createable=createable,
            updateable=bool(raw.get("updateable", False)),
            required_on_create=createable
            and not raw.get("nillable", True)
            and not raw.get("defaultedOnCreate", False)
            and native != "boolean",
            external_id=bool(raw.get("externalId", False)),
            unique=bool(raw.get("unique", False)),
            custom=bool(raw.get("custom", False)),
        )
    return ObjectSchema(name=str(describe.get("name", "")), fields=fields)


def parse_datetime(text: str) -> datetime:
    """Parse Salesforce's `2013-05-20T20:49:32.000+0000` (and ISO variants) as aware UTC."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    elif len(value) > 5 and value[-5] in "+-" and value[-3] != ":":
        value = f"{value[:-2]}:{value[-2:]}"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_canonical(value: Any, field: FieldSchema | None) -> CanonicalValue:
    """Convert one JSON value from Salesforce into its canonical form."""
    if value is None or field is None:
        return value if value is None or isinstance(value, str | int | bool) else str(value)
    kind = field.type
    if kind is FieldType.BOOLEAN:
        return bool(value)
    if kind is FieldType.INTEGER:
        return int(value)
    if kind is FieldType.NUMBER:
        return Decimal(str(value))
    if kind is FieldType.DATE:
        return date.fromisoformat(str(value)[:10])
    if kind is FieldType.DATETIME:
        return parse_datetime(str(value))
    if kind is FieldType.MULTIPICKLIST:
        return frozenset(part for part in str(value).split(";") if part)
    return str(value)


def format_datetime(value: datetime) -> str:
    """Salesforce's datetime form, in UTC with milliseconds."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def to_json(value: CanonicalValue) -> Any:
    """Convert a canonical value into what Salesforce accepts in a JSON body."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return ";".join(sorted(value))
    raise TypeError(f"not a canonical value: {type(value).__name__}")
