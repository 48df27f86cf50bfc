"""Per-field validation rules and server-derived fields applied on every write."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from leadbridge.sandbox.salesforce.errors import SalesforceError, bad_request
from leadbridge.sandbox.salesforce.objects import OPPORTUNITY_STAGES
from leadbridge.sandbox.salesforce.schema import STRING_TYPES, FieldDef, ObjectDef
from leadbridge.sandbox.salesforce.store import Record

# Deliberately permissive: one @, no spaces, a dot in the domain, like Salesforce's check.
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_STAGES = {stage: (prob, closed, won) for stage, prob, closed, won in OPPORTUNITY_STAGES}


def required_missing(names: list[str]) -> SalesforceError:
    """REQUIRED_FIELD_MISSING listing every missing field."""
    return bad_request(
        "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(names)}]", names
    )


def check_value(field: FieldDef, value: Any) -> Any:
    """Validate one canonical non-null value against its field; returns the value to store."""
    kind = field.type
    if kind in STRING_TYPES and isinstance(value, str):
        if field.length and len(value) > field.length:
            raise bad_request(
                "STRING_TOO_LONG",
                f"{field.label}: data value too large: {value} (max length={field.length})",
                [field.name],
            )
        if kind == "email" and value and not _EMAIL_RE.match(value):
            raise bad_request(
                "INVALID_EMAIL_ADDRESS",
                f"{field.label}: invalid email address: {value}",
                [field.name],
            )
        if field.restricted_picklist and kind in {"picklist", "multipicklist"}:
            parts = value.split(";") if kind == "multipicklist" else [value]
            allowed = field.picklist_values
            for part in parts:
                if part not in allowed:
                    raise bad_request(
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        f"{field.label}: bad value for restricted picklist field: {part}",
                        [field.name],
                    )
        return value
    if kind == "int" and field.digits and abs(value) >= 10**field.digits:
        raise _out_of_range(field, value)
    if kind in {"double", "currency", "percent"} and field.precision:
        value = round(value, field.scale)
        if abs(value) >= 10 ** (field.precision - field.scale):
            raise _out_of_range(field, value)
    return value


def _out_of_range(field: FieldDef, value: Any) -> SalesforceError:
    return bad_request(
        "NUMBER_OUTSIDE_VALID_RANGE",
        f"{field.label}: value outside of valid range on numeric field: {value}",
        [field.name],
    )


def check_required(obj: ObjectDef, record: Mapping[str, Any]) -> None:
    """Raise REQUIRED_FIELD_MISSING when a required field is null or blank after the write."""
    missing = [name for name in obj.required_fields if record.get(name) in (None, "")]
    if missing:
        raise required_missing(missing)


def apply_defaults(obj: ObjectDef, record: Record, *, user_id: str) -> None:
    """Fill the values Salesforce sets on create when the caller gave none."""
    for f in obj.defaulted_fields:
        if record.get(f.name) is not None:
            continue
        if f.type == "boolean":
            record[f.name] = bool(f.default_value)
        elif f.picklist and f.defaulted_on_create:
            default = next((p.value for p in f.picklist if p.default), None)
            if default is not None:
                record[f.name] = default
        elif f.name == "OwnerId" and f.defaulted_on_create:
            record[f.name] = user_id


def derive(obj: ObjectDef, record: Record, changes: Mapping[str, Any]) -> None:
    """Recompute the fields Salesforce derives from others (Name, IsClosed, IsWon...)."""
    if "Name" in obj.fields and "LastName" in obj.fields:
        record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p)
    if obj.name == "Opportunity" and "StageName" in changes:
        prob, closed, won = _STAGES.get(record.get("StageName") or "", (0, False, False))
        record["IsClosed"], record["IsWon"] = closed, won
        if "Probability" not in changes:
            record["Probability"] = float(prob)
    if obj.name == "Task":
        record["IsClosed"] = record.get("Status") == "Completed"
