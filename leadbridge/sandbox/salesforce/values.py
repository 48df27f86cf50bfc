"""Canonical value handling: JSON/CSV input to Python values by field type, and back."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from leadbridge.sandbox.salesforce.errors import SalesforceError, bad_request
from leadbridge.sandbox.salesforce.ids import is_valid_id, to_18
from leadbridge.sandbox.salesforce.schema import STRING_TYPES, FieldDef

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)
_NUMBER_TYPES = frozenset({"double", "currency", "percent"})


def _parser_error(java_type: str, value: Any) -> SalesforceError:
    # Salesforce reports JSON type mismatches through its Jackson deserialiser.
    kind = "VALUE_STRING" if isinstance(value, str) else "VALUE_NUMBER_INT"
    if isinstance(value, bool):
        kind = "VALUE_TRUE" if value else "VALUE_FALSE"
    elif isinstance(value, float):
        kind = "VALUE_NUMBER_FLOAT"
    elif isinstance(value, (list, dict)):
        kind = "START_ARRAY" if isinstance(value, list) else "START_OBJECT"
    return bad_request(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {java_type} from {kind} value {value} "
        "or request may be missing a required field",
    )


def truncate_ms(moment: dt.datetime) -> dt.datetime:
    """Drop sub-millisecond precision, as Salesforce stores datetimes."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def parse_datetime(text: str) -> dt.datetime | None:
    """Parse an ISO 8601 datetime into an aware UTC datetime (ms precision), or None."""
    match = _DATETIME_RE.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, frac, zone = match.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    offset = dt.timedelta(0)
    if zone and zone != "Z":
        digits = zone.replace(":", "")
        offset = dt.timedelta(hours=int(digits[1:3]), minutes=int(digits[3:5]))
        if digits[0] == "-":
            offset = -offset
    try:
        moment = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            micro,
            tzinfo=dt.timezone(offset),
        )
    except ValueError:
        return None
    return truncate_ms(moment.astimezone(dt.UTC))


def _to_date(value: Any) -> dt.date:
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise _parser_error("date", value)


def _to_datetime(value: Any) -> dt.datetime:
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is not None:
            return parsed
    raise _parser_error("datetime", value)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise _parser_error("boolean", value)


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _parser_error("int", value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise _parser_error("int", value)


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise _parser_error("double", value)
    if isinstance(value, (int, float)):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value)
        except ValueError:
            raise _parser_error("double", value) from None
    else:
        raise _parser_error("double", value)
    if math.isnan(result) or math.isinf(result):
        raise _parser_error("double", value)
    return result


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Salesforce accepts JSON numbers for text fields and keeps their text.
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    raise _parser_error("String", value)


def _to_id(field: FieldDef, value: Any) -> str:
    if not isinstance(value, str) or not is_valid_id(value):
        raise bad_request(
            "MALFORMED_ID", f"{field.label}: id value of incorrect type: {value}", [field.name]
        )
    return to_18(value)


def from_json(field: FieldDef, value: Any) -> Any:
    """Convert one JSON input value to the canonical Python value of a field (None stays None)."""
    if value is None:
        return None
    kind = field.type
    if kind in STRING_TYPES:
        return _to_text(value)
    if kind in {"id", "reference"}:
        return _to_id(field, value)
    if kind == "boolean":
        return _to_bool(value)
    if kind == "int":
        return _to_int(value)
    if kind in _NUMBER_TYPES:
        return _to_float(value)
    if kind == "date":
        return _to_date(value)
    if kind == "datetime":
        return _to_datetime(value)
    return value


# Bulk API 2.0 CSV: an empty cell leaves the field alone, "#N/A" sets it to null.
CSV_NULL = "#N/A"


def from_csv(field: FieldDef, text: str) -> Any:
    """Convert one Bulk CSV cell to a canonical value (the caller skips empty cells)."""
    if text == CSV_NULL:
        return None
    if field.type == "datetime":
        parsed = parse_datetime(text)
        if parsed is None:
            raise bad_request(
                "INVALID_TYPE_ON_FIELD_IN_RECORD",
                f"{field.label}: value not of required type: {text}",
                [field.name],
            )
        return parsed
    try:
        return from_json(field, text)
    except SalesforceError as err:
        if err.error_code != "JSON_PARSER_ERROR":
            raise
        raise bad_request(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            f"{field.label}: value not of required type: {text}",
            [field.name],
        ) from None


def format_datetime(moment: dt.datetime) -> str:
    """REST format of a datetime: 2013-05-20T20:49:32.000+0000."""
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def format_datetime_csv(moment: dt.datetime) -> str:
    """Bulk CSV format of a datetime: 2013-05-20T20:49:32.000Z."""
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def to_json(value: Any) -> Any:
    """Serialise a canonical value for a REST response."""
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return ";".join(sorted(value))
    return value


def to_csv(value: Any) -> str:
    """Serialise a canonical value for a Bulk CSV cell (null is empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return format_datetime_csv(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(to_json(value))


def record_url(object_name: str, record_id: str, api_version: str) -> str:
    """The attributes.url of a record."""
    return f"/services/data/v{api_version}/sobjects/{object_name}/{record_id}"


def serialize_record(
    object_name: str,
    record: Mapping[str, Any],
    fields: Iterable[str],
    *,
    api_version: str,
) -> dict[str, Any]:
    """A record in query-response shape: attributes first, then the fields asked for."""
    body: dict[str, Any] = {
        "attributes": {
            "type": object_name,
            "url": record_url(object_name, record["Id"], api_version),
        },
    }
    for name in fields:
        body[name] = to_json(record.get(name))
    return body
