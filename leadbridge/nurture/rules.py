"""Scoring rules: the TOML model and its loader (docs/scoring.md describes every key).

A rules file has top-level arrays `[[behaviour]]`, `[[attribute]]` and `[[negative]]` and an
optional `threshold`. Every mistake becomes one ConfigError naming the file, the dotted key and
the fix (with "did you mean" for misspelt keys), the same standard as the config and mappings.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from leadbridge.config import LoadedConfig
from leadbridge.validation import TableReader, did_you_mean, problems_error, read_toml

Kind = Literal["behaviour", "attribute", "negative"]
EVENT_TYPES = ("form_submission", "webinar_attended", "page_view", "email_open", "email_click")
DEFAULT_RULES = Path("rules/scoring.toml")
_TOP = ("threshold", "behaviour", "attribute", "negative")
_BEHAVIOUR_KEYS = (
    "name",
    "event",
    "points",
    "url_contains",
    "properties",
    "cap",
    "half_life_days",
)
_CONDITION_KEYS = ("field", "in", "min", "max", "pattern", "domain_in")
_ATTRIBUTE_KEYS = ("name", "points", "group", *_CONDITION_KEYS)
_MISSING_HINT = (
    "copy rules/scoring.toml from the leadbridge repository and set [scoring] rules_file"
)


@dataclass(frozen=True)
class BehaviourRule:
    """Points per matching event, optionally capped and decaying with a half-life."""

    key: str
    name: str
    event: str
    points: int
    url_contains: tuple[str, ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict)
    cap: int | None = None
    half_life_days: float | None = None


@dataclass(frozen=True)
class Condition:
    """A test on one lead field: a value list, a number range, patterns or e-mail domains."""

    field: str
    values: frozenset[str] = frozenset()
    minimum: float | None = None
    maximum: float | None = None
    patterns: tuple[re.Pattern[str], ...] = ()
    domains: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AttributeRule:
    """Points when a lead's field meets the condition (negative rules have points < 0)."""

    key: str
    name: str
    points: int
    condition: Condition
    kind: Kind = "attribute"
    group: str | None = None


@dataclass(frozen=True)
class Rules:
    """A checked rules file."""

    source: str
    threshold: int
    behaviour: tuple[BehaviourRule, ...] = ()
    attribute: tuple[AttributeRule, ...] = ()
    negative: tuple[AttributeRule, ...] = ()
    threshold_from_file: bool = False
    digest: str = ""

    def fields(self) -> tuple[str, ...]:
        """Every lead field the attribute and negative rules read."""
        names = [r.condition.field for r in (*self.attribute, *self.negative)]
        return tuple(dict.fromkeys(names))


def rules_path(loaded: LoadedConfig, explicit: Path | None = None) -> Path:
    """The rules file: --file, else [scoring] rules_file, else rules/scoring.toml beside it."""
    if explicit is not None:
        return explicit
    configured = loaded.settings.scoring.rules_file
    return loaded.resolve(configured if configured is not None else DEFAULT_RULES)


def load_rules(path: Path, *, default_threshold: int = 50) -> Rules:
    """Read and check a rules file; raise ConfigError naming file, dotted key and fix."""
    data = read_toml(path, missing_hint=_MISSING_HINT)
    return parse_rules(data, source=str(path), default_threshold=default_threshold)


def rules_from_config(loaded: LoadedConfig, *, explicit: Path | None = None) -> Rules:
    """The rules the configuration points at, with its threshold as the default."""
    return load_rules(
        rules_path(loaded, explicit), default_threshold=loaded.settings.scoring.threshold
    )


def parse_rules(data: Mapping[str, Any], *, source: str, default_threshold: int = 50) -> Rules:
    """Check an already-parsed rules document (load_rules without the file read)."""
    r = TableReader()
    top = r.table(dict(data), [], known=_TOP) or {}
    threshold = r.integer(top, [], "threshold", minimum=1)
    behaviour = tuple(
        found
        for index, raw in enumerate(_array(r, top, "behaviour"))
        if (found := _behaviour(r, raw, index)) is not None
    )
    attribute = _attributes(r, top, "attribute")
    negative = _attributes(r, top, "negative")
    _unique_names(r, [*behaviour, *attribute, *negative])
    if r.problems:
        raise problems_error(r.problems, source=source)
    digest = hashlib.sha256(
        json.dumps(data, sort_keys=True, default=str).encode("utf-8")
    ).hexdigest()
    return Rules(
        source=source,
        threshold=threshold if threshold is not None else default_threshold,
        behaviour=behaviour,
        attribute=attribute,
        negative=negative,
        threshold_from_file=threshold is not None,
        digest=digest,
    )


def _attributes(r: TableReader, top: Mapping[str, Any], kind: Kind) -> tuple[AttributeRule, ...]:
    found = (_attribute(r, raw, [kind, i], kind=kind) for i, raw in enumerate(_array(r, top, kind)))
    return tuple(rule for rule in found if rule is not None)


def _array(r: TableReader, top: Mapping[str, Any], name: str) -> list[Any]:
    raw = top.get(name, [])
    if not isinstance(raw, list):
        r.problem([name], "expected an array of tables", f"write each rule as [[{name}]]")
        return []
    return raw


def _unique_names(r: TableReader, rules: Sequence[BehaviourRule | AttributeRule]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            r.problem([*_loc(rule.key), "name"], f"the name {rule.name!r} is used twice",
                      "give each rule its own name (the breakdown shows it)")  # fmt: skip
        seen.add(rule.name)


def _loc(key: str) -> list[Any]:
    kind, _, rest = key.partition("[")
    return [kind, int(rest.rstrip("]"))]


def _points(r: TableReader, table: Mapping[str, Any], loc: list[Any], *, negative: bool) -> int:
    value = table.get("points")
    if value is None:
        r.problem([*loc, "points"], "this key is required", "add points = 10 (a whole number)")
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        r.problem([*loc, "points"], f"expected a whole number, got {value!r}",
                  "write points = 10 (no quotes, no decimals)")  # fmt: skip
        return 0
    if negative and value >= 0:
        r.problem([*loc, "points"], f"a negative rule needs points below 0, got {value}",
                  f"write points = -{abs(value) or 10}")  # fmt: skip
    if not negative and value <= 0:
        r.problem([*loc, "points"], f"expected points above 0, got {value}",
                  "write it as a [[negative]] rule to take points away")  # fmt: skip
    return value


def _number(r: TableReader, table: Mapping[str, Any], loc: list[Any], name: str) -> float | None:
    value = table.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        r.problem([*loc, name], f"expected a number above 0, got {value!r}",
                  f"write {name} = 30 (no quotes)")  # fmt: skip
        return None
    return float(value)


def _strings(r: TableReader, table: Mapping[str, Any], loc: list[Any], name: str) -> list[str]:
    if name not in table:
        return []
    raw = table[name]
    if isinstance(raw, str):
        raw = [raw]
    found = r.string_list({name: raw}, [*loc, name])
    return found or []


def _behaviour(r: TableReader, raw: Any, index: int) -> BehaviourRule | None:
    loc: list[Any] = ["behaviour", index]
    table = r.table(raw, loc, known=_BEHAVIOUR_KEYS)
    if table is None:
        return None
    name = r.string(table, loc, "name", required=True) or ""
    event = r.string(table, loc, "event", required=True) or ""
    if event and event not in EVENT_TYPES:
        listed = ", ".join(EVENT_TYPES)
        r.problem([*loc, "event"], f"unknown event type {event!r}",
                  did_you_mean(event, EVENT_TYPES, fallback=f"use one of {listed}"))  # fmt: skip
    points = _points(r, table, loc, negative=False)
    props = table.get("properties", {})
    if not isinstance(props, dict) or not all(isinstance(v, str) for v in props.values()):
        r.problem([*loc, "properties"], "expected a table of property names to text",
                  'write properties = { form_type = "download" }')  # fmt: skip
        props = {}
    cap = r.integer(table, loc, "cap", minimum=1)
    if cap is not None and points > 0 and cap < points:
        r.problem([*loc, "cap"], f"the cap {cap} is below one event's points ({points})",
                  f"write cap = {points} or more (or remove it)")  # fmt: skip
    return BehaviourRule(
        key=f"behaviour[{index}]",
        name=name,
        event=event,
        points=points,
        url_contains=tuple(_strings(r, table, loc, "url_contains")),
        properties={str(k): v for k, v in props.items()},
        cap=cap,
        half_life_days=_number(r, table, loc, "half_life_days"),
    )


def _attribute(r: TableReader, raw: Any, loc: list[Any], *, kind: Kind) -> AttributeRule | None:
    table = r.table(raw, loc, known=_ATTRIBUTE_KEYS)
    if table is None:
        return None
    name = r.string(table, loc, "name", required=True) or ""
    points = _points(r, table, loc, negative=kind == "negative")
    condition = _condition(r, table, loc)
    group = r.string(table, loc, "group")
    if condition is None:
        return None
    return AttributeRule(
        key=f"{loc[0]}[{loc[1]}]",
        name=name,
        points=points,
        condition=condition,
        kind=kind,
        group=group,
    )


def _condition(r: TableReader, table: dict[str, Any], loc: list[Any]) -> Condition | None:
    name = r.string(table, loc, "field", required=True)
    tests = [key for key in ("in", "min", "max", "pattern", "domain_in") if key in table]
    if not tests:
        hint = 'add in = [...], min/max = N, pattern = ["regex"] or domain_in = [...]'
        r.problem(loc, "the rule has no condition", hint)
        return None
    values = _strings(r, table, loc, "in")
    minimum = _bound(r, table, loc, "min")
    maximum = _bound(r, table, loc, "max")
    if minimum is not None and maximum is not None and minimum > maximum:
        r.problem([*loc, "max"], f"max {maximum:g} is below min {minimum:g}",
                  "swap them, or widen the band")  # fmt: skip
    patterns: list[re.Pattern[str]] = []
    for n, text in enumerate(_strings(r, table, loc, "pattern")):
        try:
            patterns.append(re.compile(text, re.IGNORECASE))
        except re.error as exc:
            r.problem([*loc, "pattern", n], f"not a valid regular expression: {exc}",
                      "escape special characters with \\\\ (TOML needs them doubled)")  # fmt: skip
    domains = [d.lower().lstrip("@") for d in _strings(r, table, loc, "domain_in")]
    if name is None:
        return None
    return Condition(
        field=name,
        values=frozenset(v.strip().casefold() for v in values),
        minimum=minimum,
        maximum=maximum,
        patterns=tuple(patterns),
        domains=frozenset(domains),
    )


def _bound(r: TableReader, table: Mapping[str, Any], loc: list[Any], name: str) -> float | None:
    value = table.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        r.problem([*loc, name], f"expected a number, got {value!r}",
                  f"write {name} = 100 (no quotes)")  # fmt: skip
        return None
    return float(value)


__all__ = [
    "AttributeRule",
    "BehaviourRule",
    "Condition",
    "Rules",
    "load_rules",
    "parse_rules",
    "rules_from_config",
    "rules_path",
]
