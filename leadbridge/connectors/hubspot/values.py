"""HubSpot property strings <-> canonical values, by property type; properties -> schema."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from leadbridge.connectors.base import CanonicalValue, FieldSchema, FieldType, ObjectSchema

READ_ONLY = frozenset(
    {
        "hs_object_id",
        "createdate",
        "lastmodifieddate",
        "hs_lastmodifieddate",
        "hs_merged_object_ids",
    }
)


def field_type(prop_type: str, field_kind: str) -> FieldType:
    """Canonical type of a HubSpot property from its type and fieldType."""
    if prop_type == "enumeration":
        if field_kind == "booleancheckbox":
            return FieldType.BOOLEAN
        return FieldType.MULTIPICKLIST if field_kind == "checkbox" else FieldType.PICKLIST
    if prop_type == "string":
        if field_kind == "textarea":
            return FieldType.TEXT
        return FieldType.PHONE if field_kind == "phonenumber" else FieldType.STRING
    return {
        "number": FieldType.NUMBER,
        "bool": FieldType.BOOLEAN,
        "date": FieldType.DATE,
        "datetime": FieldType.DATETIME,
    }.get(prop_type, FieldType.OTHER)


def schema_from_properties(
    object_name: str, properties: Iterable[Mapping[str, Any]]
) -> ObjectSchema:
    """Turn the properties API's answer into the canonical schema."""
    fields: dict[str, FieldSchema] = {}
    for prop in properties:
        name = str(prop["name"])
        kind = field_type(str(prop.get("type", "")), str(prop.get("fieldType", "")))
        modification = prop.get("modificationMetadata") or {}
        read_only = bool(modification.get("readOnlyValue", False)) or name in READ_ONLY
        options = prop.get("options") or []
        fields[name] = FieldSchema(
            name=name,
            label=str(prop.get("label", name)),
            type=kind,
            native_type=f"{prop.get('type')}/{prop.get('fieldType')}",
            picklist_values=tuple(str(o["value"]) for o in options if not o.get("hidden", False)),
            restricted=kind in (FieldType.PICKLIST, FieldType.MULTIPICKLIST),
            createable=not read_only,
            updateable=not read_only,
            unique=bool(prop.get("hasUniqueValue", False)) or name == "email",
            external_id=bool(prop.get("hasUniqueValue", False)),
            custom=not bool(prop.get("hubspotDefined", False)),
        )
    return ObjectSchema(name=object_name, fields=fields)


def parse_datetime(text: str) -> datetime:
    """Parse HubSpot's ISO datetimes (or epoch milliseconds) as aware UTC."""
    value = text.strip()
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def to_canonical(value: str | None, field: FieldSchema | None) -> CanonicalValue:
    """Convert a HubSpot property string into its canonical form ("" means no value)."""
    if value is None or value == "":
        return None
    if field is None:
        return value
    kind = field.type
    if kind is FieldType.NUMBER:
        try:
            number = Decimal(value)
        except InvalidOperation:
            return value
        return number.normalize() if number == number.to_integral_value() else number
    if kind is FieldType.BOOLEAN:
        return value.lower() == "true"
    if kind is FieldType.DATE:
        if value.isdigit():
            return parse_datetime(value).date()
        return date.fromisoformat(value[:10])
    if kind is FieldType.DATETIME:
        return parse_datetime(value)
    if kind is FieldType.MULTIPICKLIST:
        return frozenset(part for part in value.split(";") if part)
    return value


def to_property(value: CanonicalValue) -> str:
    """Convert a canonical value into the string HubSpot stores ("" clears the property)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    if isinstance(value, datetime):
        utc = value.astimezone(UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return ";".join(sorted(value))
    return str(value)
