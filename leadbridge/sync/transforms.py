"""Field transforms: small pure functions on canonical values, chained per direction.

A failure (an unknown picklist value, a text too long) raises TransformFailed with a fix hint;
the merge turns it into a per-field problem for that record, never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from leadbridge.connectors.base import CanonicalValue
from leadbridge.validation import TableReader

TransformKind = Literal[
    "trim",
    "lower",
    "upper",
    "title",
    "truncate",
    "max_length",
    "date_to_datetime",
    "datetime_to_date",
    "round",
]
TRANSFORM_KINDS: tuple[TransformKind, ...] = (
    "trim",
    "lower",
    "upper",
    "title",
    "truncate",
    "max_length",
    "date_to_datetime",
    "datetime_to_date",
    "round",
)
NEEDS_LENGTH: frozenset[str] = frozenset({"truncate", "max_length"})
NEEDS_PLACES: frozenset[str] = frozenset({"round"})
TAKES_TIMEZONE: frozenset[str] = frozenset({"date_to_datetime", "datetime_to_date"})

OnUnknown = Literal["error", "pass", "blank"]
Flow = Literal["to_salesforce", "to_hubspot"]


class TransformFailed(ValueError):
    """A value cannot be converted for the other side; carries a fix hint for people."""

    def __init__(self, message: str, *, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class TransformSpec:
    """One step of a field's pipeline as written in the mapping file."""

    kind: TransformKind
    direction: Literal["both", "to_salesforce", "to_hubspot"] = "both"
    length: int | None = None
    places: int | None = None
    timezone: str = "UTC"

    def applies_to(self, flow: Flow) -> bool:
        """True when this step runs for values flowing that way."""
        return self.direction in ("both", flow)


@dataclass(frozen=True)
class Translation:
    """A picklist table for one direction; multi-select values translate element-wise."""

    table: Mapping[str, str]
    on_unknown: OnUnknown = "error"
    where: str = ""


@dataclass(frozen=True)
class Bands:
    """Labelled number bands: label -> smallest number in the band (e.g. "25-50" -> 25)."""

    lower_bounds: Mapping[str, int]
    on_unknown: OnUnknown = "error"
    where: str = ""


@dataclass(frozen=True)
class Pipeline:
    """Everything applied to a value flowing one way: steps in order, then translate or bands."""

    flow: Flow
    steps: tuple[TransformSpec, ...] = ()
    translation: Translation | None = None
    bands: Bands | None = None
    bands_to_number: bool = True
    where: str = ""

    def apply(self, value: CanonicalValue) -> CanonicalValue:
        """The value as the other side should hold it; raises TransformFailed."""
        for step in self.steps:
            value = apply_step(step, value, where=self.where)
        if self.translation is not None:
            value = translate(self.translation, value)
        if self.bands is not None:
            value = (
                band_to_number(self.bands, value)
                if self.bands_to_number
                else number_to_band(self.bands, value)
            )
        return value


def apply_step(step: TransformSpec, value: CanonicalValue, *, where: str = "") -> CanonicalValue:
    """Apply one transform step; None passes through every step unchanged."""
    if value is None:
        return None
    kind = step.kind
    if kind in ("trim", "lower", "upper", "title", "truncate", "max_length"):
        return _on_text(step, value, where=where)
    if kind == "date_to_datetime":
        return _date_to_datetime(value, step.timezone, where=where)
    if kind == "datetime_to_date":
        return _datetime_to_date(value, step.timezone, where=where)
    return _round(value, step.places or 0, where=where)


def _on_text(step: TransformSpec, value: CanonicalValue, *, where: str) -> CanonicalValue:
    # Multi-select values get the same treatment per element, like a translation.
    if isinstance(value, frozenset):
        return frozenset(str(_on_text(step, item, where=where)) for item in value)
    if not isinstance(value, str):
        raise TransformFailed(
            f"{step.kind} expects text, got {type(value).__name__} {value!r}",
            hint=f"remove the {step.kind} transform from {where or 'the field'}",
        )
    length = step.length or 0
    match step.kind:
        case "trim":
            return value.strip()
        case "lower":
            return value.lower()
        case "upper":
            return value.upper()
        case "title":
            return value.title()
        case "truncate":
            return value[:length]
        case _:
            if len(value) > length:
                raise TransformFailed(
                    f"{len(value)} characters is longer than the {length} allowed",
                    hint="shorten the value at its source, or use kind = 'truncate' "
                    f"in {where or 'the field'}",
                )
            return value


def _zone(name: str, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        raise TransformFailed(
            f"unknown time zone {name!r}",
            hint=f"use an IANA name such as 'Asia/Tokyo' or 'UTC' in {where or 'the field'}",
        ) from None


def _date_to_datetime(value: CanonicalValue, zone: str, *, where: str) -> CanonicalValue:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, date):
        raise TransformFailed(
            f"date_to_datetime expects a date, got {type(value).__name__} {value!r}",
            hint=f"remove the date_to_datetime transform from {where or 'the field'}",
        )
    # Midnight where the business is, stored as an aware UTC instant like every datetime.
    return datetime.combine(value, time(0), tzinfo=_zone(zone, where)).astimezone(UTC)


def _datetime_to_date(value: CanonicalValue, zone: str, *, where: str) -> CanonicalValue:
    if isinstance(value, datetime):
        return value.astimezone(_zone(zone, where)).date()
    if isinstance(value, date):
        return value
    raise TransformFailed(
        f"datetime_to_date expects a datetime, got {type(value).__name__} {value!r}",
        hint=f"remove the datetime_to_date transform from {where or 'the field'}",
    )


def _round(value: CanonicalValue, places: int, *, where: str) -> CanonicalValue:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TransformFailed(
            f"round expects a number, got {type(value).__name__} {value!r}",
            hint=f"remove the round transform from {where or 'the field'}",
        )
    if isinstance(value, int):
        return value
    number = Decimal(str(value)) if isinstance(value, float) else value
    return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def translate(translation: Translation, value: CanonicalValue) -> CanonicalValue:
    """Translate a picklist value (or each element of a multi-select value)."""
    if value is None:
        return None
    if isinstance(value, frozenset):
        out: set[str] = set()
        for item in value:
            found = _lookup(translation, item)
            if found is not None:
                out.add(found)
        return frozenset(out)
    if not isinstance(value, str):
        raise TransformFailed(
            f"a translate table expects picklist text, got {type(value).__name__} {value!r}",
            hint=f"remove the translate table from {translation.where or 'the field'}",
        )
    return _lookup(translation, value)


def _lookup(translation: Translation, item: str) -> str | None:
    found = translation.table.get(item)
    if found is not None:
        return found
    if translation.on_unknown == "pass":
        return item
    if translation.on_unknown == "blank":
        return None
    raise TransformFailed(
        f"picklist value {item!r} has no translation",
        hint=f'add "{item}" = "..." to {translation.where or "the translate table"}, '
        "or set on_unknown = 'pass' or 'blank'",
    )


def band_to_number(bands: Bands, value: CanonicalValue) -> CanonicalValue:
    """A band label -> the smallest number of that band."""
    if value is None:
        return None
    found = bands.lower_bounds.get(str(value))
    if found is not None:
        return found
    if bands.on_unknown == "blank":
        return None
    if bands.on_unknown == "pass":
        return value
    raise TransformFailed(
        f"band {value!r} is not listed",
        hint=f'add "{value}" = <lowest number> to {bands.where or "the bands table"}',
    )


def number_to_band(bands: Bands, value: CanonicalValue) -> CanonicalValue:
    """A number -> the label of the band it falls in (the highest lower bound not above it)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TransformFailed(
            f"bands expect a number, got {type(value).__name__} {value!r}",
            hint=f"map a number field to {bands.where or 'the banded field'}",
        )
    fitting = [(low, label) for label, low in bands.lower_bounds.items() if low <= value]
    if fitting:
        return max(fitting)[1]
    if bands.on_unknown == "blank":
        return None
    raise TransformFailed(
        f"{value} is below the lowest band",
        hint=f"add a band starting at or below {value} to {bands.where or 'the bands table'}",
    )


_STEP_KEYS = ("kind", "direction", "length", "places", "timezone")
_PARAMS = (("length", NEEDS_LENGTH), ("places", NEEDS_PLACES), ("timezone", TAKES_TIMEZONE))


def read_steps(
    reader: TableReader, raw: Any, loc: Sequence[Any], *, direction: str
) -> list[TransformSpec]:
    """Check a field's `transforms = [...]` list; mistakes go to the reader, not exceptions."""
    if not isinstance(raw, list):
        reader.problem(loc, "expected a list of tables", 'write transforms = [{ kind = "trim" }]')
        return []
    steps: list[TransformSpec] = []
    for i, item in enumerate(raw):
        at = [*loc, i]
        table = reader.table(item, at, known=_STEP_KEYS)
        if table is None:
            continue
        if "kind" not in table:
            reader.problem([*at, "kind"], "this key is required", 'add kind = "trim" (or another)')
            continue
        kind = reader.choice(table, at, "kind", allowed=TRANSFORM_KINDS, default="")
        flows = ("both", "to_salesforce", "to_hubspot")
        step_dir = reader.choice(table, at, "direction", allowed=flows, default="both")
        length = reader.integer(table, at, "length", minimum=1)
        places = reader.integer(table, at, "places", minimum=0)
        zone = reader.string(table, at, "timezone") or "UTC"
        for param, kinds in _PARAMS:
            if kind and param in table and kind not in kinds:
                reader.problem([*at, param], f"{kind} takes no {param}", f"remove {param}")
            elif kind in kinds and param != "timezone" and table.get(param) is None:
                reader.problem([*at, param], f"{kind} needs {param}", f"add {param} = ... here")
        if "timezone" in table:
            try:
                ZoneInfo(zone)
            except (KeyError, ValueError):
                reader.problem(
                    [*at, "timezone"],
                    f"unknown time zone {zone!r}",
                    "use an IANA name such as 'Asia/Tokyo' or 'UTC'",
                )
        if step_dir != "both" and direction not in ("both", step_dir):
            reader.warn(
                [*at, "direction"],
                f"never runs: the field's direction is {direction}",
                "remove the step or correct its direction",
            )
        if kind:
            step = TransformSpec(
                kind=cast(TransformKind, kind),
                direction=cast(Any, step_dir),
                length=length,
                places=places,
                timezone=zone,
            )
            steps.append(step)
    return steps


def reverse_table(table: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """The inverse of a one-to-one table, or ({}, why) when two values share one target."""
    reverse: dict[str, str] = {}
    for source, target in table.items():
        if target in reverse:
            return {}, f"{reverse[target]!r} and {source!r} both become {target!r}"
        reverse[target] = source
    return reverse, ""
