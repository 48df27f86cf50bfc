"""Lead scoring as pure functions: attributes + events + rules + now -> a score with a breakdown.

Rounding keeps the breakdown exact: behaviour lines may be fractional after decay, so the total
is the exact sum rounded half up, and the lines are rounded by largest remainder (each line is
floored, then the units still missing go to the lines with the largest fractional parts, ties
in rule order). The printed lines therefore always add up to the printed total.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from leadbridge.connectors.hubspot.events import Event
from leadbridge.nurture.event_index import Hits, from_micros, micros, rule_hits

# Workflows match events by the same test; it lives with the event index.
from leadbridge.nurture.event_index import matches_event as matches_event
from leadbridge.nurture.rules import AttributeRule, BehaviourRule, Condition, Kind, Rules

_BAND = re.compile(r"^\s*(\d[\d,]*(?:\.\d+)?)\s*(?:[-\u2013~\u301c+]|以上|名|人|$)")
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Line:
    """One rule's contribution: whole points (after rounding) and what earned them."""

    rule: str
    kind: Kind
    points: int
    detail: str
    decays: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON form (the state store's breakdown column, --json)."""
        return {
            "rule": self.rule,
            "kind": self.kind,
            "points": self.points,
            "detail": self.detail,
            "decays": self.decays,
        }


@dataclass(frozen=True)
class Score:
    """A lead's score: the total, the lines that sum to it, and whether it is an MQL."""

    total: int
    breakdown: tuple[Line, ...] = ()
    is_mql: bool = False
    threshold: int = 50

    @property
    def decaying(self) -> bool:
        """True when some points fade with time (the lead needs the daily decay pass)."""
        return any(line.decays for line in self.breakdown)

    def text(self, *, limit: int = 1000) -> str:
        """The short breakdown written to both systems, e.g. "pricing page 20; webinar 15"."""
        parts = [f"{line.rule} {line.points}" for line in self.breakdown]
        text = "; ".join(parts)
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def explain(self) -> list[str]:
        """Human lines: one per rule, then the total (the lines sum to it)."""
        width = max([len(line.rule) for line in self.breakdown] + [5])
        lines = [
            f"{line.points:>+5d}  {line.rule:<{width}}  {line.detail}" for line in self.breakdown
        ]
        verdict = "MQL" if self.is_mql else f"below the MQL threshold of {self.threshold}"
        return [*lines, f"{self.total:>5d}  total ({verdict})"]


def decay_factor(*, age_days: float, half_life_days: float | None) -> Fraction:
    """How much of an event's points remain after `age_days` (1 without a half-life)."""
    if not half_life_days or age_days <= 0:
        return Fraction(1)
    return Fraction(math.pow(0.5, age_days / half_life_days))


def score(
    lead_attributes: Mapping[str, Any],
    events: Iterable[Event],
    rules: Rules,
    now: datetime,
) -> Score:
    """Score one lead at `now` (pure: no clock, no I/O)."""
    return score_hits(lead_attributes, rule_hits(events, rules), rules, now)


def score_hits(
    lead_attributes: Mapping[str, Any],
    hits: Hits,
    rules: Rules,
    now: datetime,
) -> Score:
    """Score one lead from its events already matched to rules (see event_index)."""
    exact: list[tuple[str, Kind, Fraction, str, bool]] = []
    now_us = micros(now)
    for index, rule in enumerate(rules.behaviour):
        value, detail = _behaviour(rule, hits.get(index, ()), now_us)
        if value:
            exact.append((rule.name, "behaviour", value, detail, bool(rule.half_life_days)))
    for chosen in (
        *_best_in_groups(rules.attribute, lead_attributes),
        *_best_in_groups(rules.negative, lead_attributes),
    ):
        shown = _shown(chosen, lead_attributes)
        exact.append((chosen.name, chosen.kind, Fraction(chosen.points), shown, False))
    rounded = largest_remainder([value for _, _, value, _, _ in exact])
    lines = tuple(
        Line(rule=name, kind=kind, points=points, detail=detail, decays=decays)
        for (name, kind, _, detail, decays), points in zip(exact, rounded, strict=True)
        if points != 0
    )
    total = sum(line.points for line in lines)
    return Score(total=total, breakdown=lines, is_mql=total >= rules.threshold,
                 threshold=rules.threshold)  # fmt: skip


def largest_remainder(values: Sequence[Fraction]) -> list[int]:
    """Whole numbers summing to round-half-up(sum(values)), each as near its value as can be."""
    if not values:
        return []
    target = math.floor(sum(values, Fraction(0)) + Fraction(1, 2))
    floors = [math.floor(v) for v in values]
    missing = target - sum(floors)
    # Largest fractional part first; stable sort keeps rule order for ties.
    order = sorted(range(len(values)), key=lambda i: values[i] - floors[i], reverse=True)
    for i in order[:missing]:
        floors[i] += 1
    return floors


def _behaviour(rule: BehaviourRule, times: Sequence[int], now_us: int) -> tuple[Fraction, str]:
    if not times:
        return Fraction(0), ""
    total = Fraction(0)
    for moment in times:
        # Exactly timedelta.total_seconds(): integer microseconds over 10**6.
        age = (now_us - moment) / 10**6 / SECONDS_PER_DAY
        total += rule.points * decay_factor(age_days=age, half_life_days=rule.half_life_days)
    capped = rule.cap is not None and total > rule.cap
    if capped:
        total = Fraction(rule.cap or 0)
    detail = f"{len(times)} x {rule.points}"
    if rule.half_life_days:
        newest = from_micros(max(times)).date().isoformat()
        detail += f", half-life {rule.half_life_days:g} d (latest {newest})"
    if capped:
        detail += f", capped at {rule.cap}"
    return total, detail


def _best_in_groups(
    rules: Sequence[AttributeRule], attributes: Mapping[str, Any]
) -> list[AttributeRule]:
    """Matching rules; within a group only the one with the most points (first on ties)."""
    chosen: list[AttributeRule] = []
    best: dict[str, AttributeRule] = {}
    for rule in rules:
        if not matches(rule.condition, attributes.get(rule.condition.field)):
            continue
        if rule.group is None:
            chosen.append(rule)
            continue
        current = best.get(rule.group)
        if current is None or abs(rule.points) > abs(current.points):
            best[rule.group] = rule
    winners = {id(rule) for rule in best.values()}
    return [r for r in rules if id(r) in winners or any(r is c for c in chosen)]


def matches(condition: Condition, value: Any) -> bool:
    """True when a field value meets every test the condition has."""
    if value is None or value == "" or value == frozenset():
        return False
    texts = _texts(value)
    if condition.values and not any(t.strip().casefold() in condition.values for t in texts):
        return False
    if condition.minimum is not None or condition.maximum is not None:
        number = as_number(value)
        if number is None:
            return False
        if condition.minimum is not None and number < condition.minimum:
            return False
        if condition.maximum is not None and number > condition.maximum:
            return False
    if condition.patterns and not any(p.search(t) for p in condition.patterns for t in texts):
        return False
    return not condition.domains or any(_domain(t) in condition.domains for t in texts)


def as_number(value: Any) -> float | None:
    """A number, or a band label's lower bound ("100-500" -> 100, "1000+" -> 1000)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, str):
        found = _BAND.match(value)
        if found:
            return float(found.group(1).replace(",", ""))
    return None


def _texts(value: Any) -> list[str]:
    if isinstance(value, frozenset | set | list | tuple):
        return [str(v) for v in value]
    if isinstance(value, datetime | date):
        return [value.isoformat()]
    return [str(value)]


def _domain(text: str) -> str:
    return text.rpartition("@")[2].strip().lower()


def _shown(rule: AttributeRule, attributes: Mapping[str, Any]) -> str:
    value = attributes.get(rule.condition.field)
    shown = ", ".join(sorted(_texts(value))) if isinstance(value, frozenset) else str(value)
    if rule.condition.domains:
        shown = _domain(shown)
    return f"{rule.condition.field} = {shown}"
