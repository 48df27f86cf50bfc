"""Workflow decisions, free of I/O: which trigger occurrences exist, whether a lead is in the
segment, what a notification says, who is next in the round-robin, when the SLA falls due.

An occurrence is (workflow, lead, occurrence id): the id is `score>=50` for a threshold crossing
(once per lead and threshold), `lineage:<row id>` for a field change leadbridge carried between
the systems, and `event:<HubSpot event id>` for an event. Its hash is the idempotency key.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from leadbridge.connectors.hubspot.events import Event
from leadbridge.nurture.rules import BehaviourRule
from leadbridge.nurture.scoring import matches, matches_event
from leadbridge.nurture.workflow_model import Segment, Trigger, Workflow

Locale = Literal["en", "ja"]


@dataclass(frozen=True)
class Occurrence:
    """One trigger occurrence of one workflow for one lead, due at `due_at`."""

    workflow: str
    hubspot_id: str
    salesforce_id: str
    occurrence: str
    due_at: datetime
    reason: str


@dataclass(frozen=True)
class ScoreSeen:
    """A saved score as the detector sees it."""

    hubspot_id: str
    salesforce_id: str
    total: int
    computed_at: datetime


@dataclass(frozen=True)
class FieldChange:
    """A field value leadbridge wrote (a lineage row), with both record ids when linked."""

    change_id: int
    hubspot_id: str
    salesforce_id: str
    field: str
    old: Any
    new: Any


def execution_key(*, pair: str, workflow: str, lead: str, occurrence: str) -> str:
    """The idempotency key of an occurrence: a hash of pair, workflow, lead and occurrence id."""
    text = json.dumps([pair, workflow, lead, occurrence], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def score_crossings(
    workflows: Iterable[Workflow], scores: Iterable[ScoreSeen], *, default_threshold: int
) -> list[Occurrence]:
    """Leads at or above each score_crossed workflow's threshold (the key makes it once)."""
    chosen = [w for w in workflows if w.trigger.kind == "score_crossed"]
    found: list[Occurrence] = []
    for seen in scores:
        for wf in chosen:
            threshold = wf.trigger.threshold or default_threshold
            if seen.total >= threshold:
                found.append(
                    Occurrence(
                        wf.name,
                        seen.hubspot_id,
                        seen.salesforce_id,
                        f"score>={threshold}",
                        seen.computed_at + wf.trigger.delay,
                        f"score {seen.total} reached {threshold}",
                    )
                )
    return found


def field_changes(
    workflows: Iterable[Workflow],
    changes: Iterable[FieldChange],
    *,
    aliases: Mapping[str, frozenset[str]],
    at: datetime,
) -> list[Occurrence]:
    """Changes that moved a watched field (by either side's name) to the awaited value."""
    chosen = [w for w in workflows if w.trigger.kind == "field_changed"]
    found: list[Occurrence] = []
    for change in changes:
        for wf in chosen:
            names = aliases.get(wf.trigger.field, frozenset({wf.trigger.field}))
            if change.field not in names:
                continue
            if satisfied(wf.trigger, change.new) and not satisfied(wf.trigger, change.old):
                found.append(
                    Occurrence(
                        wf.name,
                        change.hubspot_id,
                        change.salesforce_id,
                        f"lineage:{change.change_id}",
                        at + wf.trigger.delay,
                        f"{change.field} became {_shown(change.new)}",
                    )
                )
    return found


def event_occurrences(
    workflows: Iterable[Workflow], events: Iterable[Event], *, links: Mapping[str, str]
) -> list[Occurrence]:
    """Events matching an event workflow, due `delay` after they happened."""
    chosen = [w for w in workflows if w.trigger.kind == "event"]
    found: list[Occurrence] = []
    for event in events:
        for wf in chosen:
            if not matches_event(_as_rule(wf.trigger), event):
                continue
            when = event.occurred_at.isoformat(timespec="milliseconds")
            ident = event.id or f"{event.event_type}@{when}"
            found.append(
                Occurrence(
                    wf.name,
                    event.contact_id,
                    links.get(event.contact_id, ""),
                    f"event:{ident}",
                    event.occurred_at + wf.trigger.delay,
                    f"{event.event_type} at {when}",
                )
            )
    return found


def _as_rule(trigger: Trigger) -> BehaviourRule:
    return BehaviourRule(
        key="trigger",
        name="trigger",
        event=trigger.event,
        points=1,
        url_contains=trigger.url_contains,
        properties=trigger.properties,
    )


def satisfied(trigger: Trigger, value: Any) -> bool:
    """True when a field value is the one the trigger waits for."""
    if trigger.all_of:
        held = {t.strip().casefold() for t in _texts(value)}
        return all(v.strip().casefold() in held for v in trigger.all_of)
    return _same(value, trigger.equals)


def _same(value: Any, wanted: Any) -> bool:
    if value is None:
        return wanted is None
    if isinstance(wanted, bool):
        return str(value).strip().casefold() in (
            ("true", "1", "yes") if wanted else ("false", "0", "no")
        )
    if isinstance(wanted, int | float) and isinstance(value, int | float | Decimal | str):
        try:
            return Decimal(str(value)) == Decimal(str(wanted))
        except ArithmeticError:
            return False
    return str(value).strip().casefold() == str(wanted).strip().casefold()


def _texts(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict) and "$set" in value:
        value = value["$set"]
    if isinstance(value, list | set | frozenset | tuple):
        return [str(v) for v in value]
    return [part for part in str(value).split(";") if part]


def _shown(value: Any) -> str:
    return ";".join(_texts(value)) if not isinstance(value, bool) else str(value).lower()


def segment_check(
    segments: Sequence[Segment], values: Mapping[str, Any], events: Sequence[Event]
) -> tuple[bool, list[str]]:
    """Whether the lead is in every segment, and a line per condition saying why (or why not)."""
    ok = True
    lines: list[str] = []
    for segment in segments:
        if segment.attribute is not None:
            value = values.get(segment.attribute.field)
            passed = matches(segment.attribute, value)
            lines.append(f"{segment.describe()}: {value!r} {'yes' if passed else 'no'}")
        else:
            rule = BehaviourRule(
                key="segment",
                name="segment",
                event=segment.event,
                points=1,
                url_contains=segment.url_contains,
            )
            count = sum(1 for e in events if matches_event(rule, e))
            passed = count >= segment.min_count
            lines.append(f"{segment.describe()}: {count} {'yes' if passed else 'no'}")
        ok = ok and passed
    return ok, lines


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, context: Mapping[str, Any]) -> str:
    """Fill a template's placeholders; a value the lead lacks renders empty."""
    filled = _Blank({k: "" if v is None else str(v) for k, v in context.items()})
    return string.Formatter().vformat(template, (), filled)


def choose_locale(values: Mapping[str, Any], *, field: str | None, default: Locale) -> Locale:
    """Japanese when the lead's locale field says so, else the configured default."""
    held = str(values.get(field) or "").strip().casefold() if field else ""
    if held.startswith("ja") or held in ("japanese", "日本語"):
        return "ja"
    if held.startswith("en") or held == "english":
        return "en"
    return default


def pick_template(texts: Mapping[str, str], locale: Locale) -> str:
    """The template in the lead's locale, else the other one."""
    return texts.get(locale) or texts.get("en") or texts.get("ja") or ""


def round_robin(users: Sequence[str], *, turn: int) -> str | None:
    """The user whose turn it is (turns count earlier assignments of the workflow)."""
    return users[turn % len(users)] if users else None


def sla_deadline(now: datetime, *, hours: float) -> datetime:
    """When first contact is due: `hours` after the hand-over."""
    return now + timedelta(hours=hours)


__all__ = [
    "FieldChange",
    "Occurrence",
    "ScoreSeen",
    "choose_locale",
    "event_occurrences",
    "execution_key",
    "field_changes",
    "pick_template",
    "render",
    "round_robin",
    "satisfied",
    "score_crossings",
    "segment_check",
    "sla_deadline",
]
