"""Search filters compiled to predicates with HubSpot's typed comparison rules."""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .errors import validation_error
from .schema import PropertyDefinition
from .values import as_text, parse_number, parse_time_ms

OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)
_RANGE_OPS = frozenset({"EQ", "GT", "GTE", "LT", "LTE", "BETWEEN"})
_TOKEN_SPLIT = re.compile(r"[\s,;]+")

Predicate = Callable[[str | None], bool]
Comparable = Decimal | int | str


def kind_of(definition: PropertyDefinition) -> str:
    """Comparison family of a property: number, time, or text."""
    if definition.type == "number":
        return "number"
    if definition.type in ("date", "datetime"):
        return "time"
    return "text"


def typed(kind: str, text: str | None) -> Comparable | None:
    """A stored value as a comparable of its family (None when absent or unparseable)."""
    if text is None or text == "":
        return None
    if kind == "number":
        return parse_number(text)
    if kind == "time":
        return parse_time_ms(text)
    return text.lower()


def _filter_value(kind: str, raw: object, name: str) -> Comparable:
    if raw is None:
        raise validation_error(f"Filter on {name} needs a value")
    result = typed(kind, as_text(raw))
    if result is None:
        expected = "a number" if kind == "number" else "epoch milliseconds or an ISO 8601 date"
        raise validation_error(f"Filter value {raw!r} for {name} is not {expected}")
    return result


@dataclass(frozen=True, slots=True)
class CompiledFilter:
    """One filter ready to evaluate, plus the bounds it implies when it is a range."""

    name: str
    operator: str
    kind: str
    predicate: Predicate
    low: Comparable | None = None
    high: Comparable | None = None

    def int_bounds(self) -> tuple[int, int] | None:
        """Inclusive integer bounds for range operators on number/time values, else None."""
        if self.operator not in _RANGE_OPS or self.kind == "text":
            return None
        low, high = self.low, self.high
        lo_bound = -1 << 62
        hi_bound = 1 << 62
        if low is not None and self.operator in ("EQ", "GTE", "BETWEEN"):
            lo_bound = math.ceil(low)  # type: ignore[arg-type]
        if low is not None and self.operator == "GT":
            lo_bound = math.floor(low) + 1  # type: ignore[arg-type]
        if high is not None and self.operator in ("EQ", "LTE", "BETWEEN"):
            hi_bound = math.floor(high)  # type: ignore[arg-type]
        if high is not None and self.operator == "LT":
            hi_bound = math.ceil(high) - 1  # type: ignore[arg-type]
        return lo_bound, hi_bound


def _tokens(text: str) -> list[str]:
    lowered = text.lower()
    return [lowered, *(t for t in _TOKEN_SPLIT.split(lowered) if t)]


def _contains_token(text: str | None, token: str) -> bool:
    if text is None:
        return False
    needle = token.lower()
    if "*" in needle:
        return any(fnmatch.fnmatchcase(t, needle) for t in _tokens(text))
    return needle in _tokens(text)


def compile_filter(raw: Mapping[str, Any], definition: PropertyDefinition) -> CompiledFilter:
    """Validate one `{propertyName, operator, value|values|highValue}` and compile it."""
    name = definition.name
    operator = str(raw.get("operator", "")).upper()
    if operator not in OPERATORS:
        raise validation_error(f"Unsupported filter operator: {raw.get('operator')!r}")
    kind = kind_of(definition)
    multi = definition.is_multi

    def parts(text: str | None) -> list[Comparable]:
        if text is None or text == "":
            return []
        pieces = text.split(";") if multi else [text]
        return [p for p in (typed(kind, piece) for piece in pieces) if p is not None]

    if operator in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        wanted = operator == "HAS_PROPERTY"
        return CompiledFilter(name, operator, kind, lambda v: (v is not None and v != "") == wanted)
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token = as_text(raw.get("value", ""))
        if not token:
            raise validation_error(f"Filter on {name} needs a value")
        negate = operator == "NOT_CONTAINS_TOKEN"
        return CompiledFilter(name, operator, kind, lambda v: _contains_token(v, token) != negate)
    if operator in ("IN", "NOT_IN"):
        values = raw.get("values")
        if not isinstance(values, Sequence) or isinstance(values, str) or not values:
            raise validation_error(f"Filter {operator} on {name} needs a non-empty `values` list")
        targets = {_filter_value(kind, v, name) for v in values}
        negate = operator == "NOT_IN"
        return CompiledFilter(
            name, operator, kind, lambda v: any(p in targets for p in parts(v)) != negate
        )
    low = _filter_value(kind, raw.get("value"), name)
    if operator == "BETWEEN":
        high = _filter_value(kind, raw.get("highValue"), name)
        return CompiledFilter(
            name,
            operator,
            kind,
            lambda v: any(low <= p <= high for p in parts(v)),  # type: ignore[operator]
            low=low,
            high=high,
        )
    checks: dict[str, Callable[[Any], bool]] = {
        "EQ": lambda p: p == low,
        "NEQ": lambda p: p == low,
        "LT": lambda p: p < low,
        "LTE": lambda p: p <= low,
        "GT": lambda p: p > low,
        "GTE": lambda p: p >= low,
    }
    check = checks[operator]
    if operator == "NEQ":
        # A record without the value matches NEQ, as it does in HubSpot's index.
        return CompiledFilter(name, operator, kind, lambda v: not any(check(p) for p in parts(v)))
    try:
        bounds = {
            "EQ": (low, low),
            "GT": (low, None),
            "GTE": (low, None),
            "LT": (None, low),
            "LTE": (None, low),
        }[operator]
    except KeyError:  # pragma: no cover - every operator is handled above
        raise validation_error(f"Unsupported filter operator: {operator}") from None
    return CompiledFilter(
        name,
        operator,
        kind,
        lambda v: any(_safe(check, p) for p in parts(v)),
        low=bounds[0],
        high=bounds[1],
    )


def _safe(check: Callable[[Any], bool], value: Comparable) -> bool:
    # Comparing text with a number filter value (or the reverse) is a non-match, not a crash.
    try:
        return check(value)
    except TypeError:
        return False
