"""Timestamps and the conversion of written values to the strings HubSpot stores."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

Clock = Callable[[], datetime]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_MS = 86_400_000
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DIGITS_RE = re.compile(r"^-?\d+$")


def utc_now() -> datetime:
    """The default clock: the current aware UTC time."""
    return datetime.now(UTC)


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime (naive values are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    """Aware UTC datetime for epoch milliseconds."""
    return _EPOCH + timedelta(milliseconds=ms)


def iso_ms(ms: int) -> str:
    """HubSpot's datetime text: ISO 8601, UTC, always three fractional digits and `Z`."""
    return f"{_iso_second(ms // 1000)}.{ms % 1000:03d}Z"


@lru_cache(maxsize=65_536)
def _iso_second(second: int) -> str:
    # Seeding formats hundreds of thousands of stamps, most sharing a second: cache the slow part.
    return (_EPOCH + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S")


def iso_date(ms: int) -> str:
    """HubSpot's date text (YYYY-MM-DD) for epoch milliseconds."""
    return from_ms(ms).strftime("%Y-%m-%d")


def parse_time_ms(value: object) -> int | None:
    """Epoch ms for epoch-ms numbers/strings, ISO dates and ISO datetimes; None if unparseable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, datetime):
        return to_ms(value)
    if isinstance(value, date):
        return to_ms(datetime(value.year, value.month, value.day, tzinfo=UTC))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _DIGITS_RE.match(text):
        return int(text)
    if _DATE_RE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        return to_ms(datetime(day.year, day.month, day.day, tzinfo=UTC))
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return to_ms(moment)


def normalize_number(value: object) -> str | None:
    """Canonical number text ("17", "12.5"), or None when the value is not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            return None
        if not number.is_finite():
            return None
        if number == number.to_integral_value():
            return str(int(number))
        return format(number.normalize(), "f")
    return None


def parse_number(text: str) -> Decimal | None:
    """Decimal value of stored or filter number text, None when not numeric."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def normalize_bool(value: object) -> str | None:
    """ "true"/"false" for booleans and their text forms, None otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower()
    return None


def normalize_datetime(value: object) -> str | None:
    """ISO-with-ms text for epoch ms or ISO input, None when unparseable."""
    ms = parse_time_ms(value)
    return None if ms is None else iso_ms(ms)


def normalize_date(value: object) -> str | None:
    """YYYY-MM-DD for a midnight-UTC epoch ms or an ISO date, None otherwise."""
    ms = parse_time_ms(value)
    # HubSpot rejects date values that are not midnight UTC instead of truncating them.
    if ms is None or ms % _DAY_MS != 0:
        return None
    return iso_date(ms)


def as_text(value: object) -> str:
    """Text form of a scalar written to a string property."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
