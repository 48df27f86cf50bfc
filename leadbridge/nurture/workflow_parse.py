"""TOML tables of one workflow -> checked triggers, segments and actions.

Each reader records every mistake on the TableReader (dotted key and fix) and returns what it
could build, so one run over a file reports all of its mistakes; leadbridge.nurture.workflow_rules
turns them into one ConfigError.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from leadbridge.nurture.rules import EVENT_TYPES, Condition
from leadbridge.nurture.workflow_model import (
    ACTIONS,
    PLACEHOLDERS,
    TRIGGERS,
    Action,
    ActionKind,
    Segment,
    Trigger,
)
from leadbridge.validation import TableReader, did_you_mean

TRIGGER_KEYS = (
    "kind",
    "threshold",
    "field",
    "equals",
    "all_of",
    "event",
    "url_contains",
    "properties",
    "delay",
)
CONDITION_KEYS = ("field", "in", "min", "max", "pattern", "event", "url_contains", "min_count")
ACTION_KEYS: dict[str, tuple[str, ...]] = {
    "notify_email": ("to", "subject_en", "body_en", "subject_ja", "body_ja"),
    "webhook": ("url", "text_en", "text_ja", "resend_unknown"),
    "assign_owner": ("queue", "round_robin"),
    "create_task": ("subject", "description"),
    "add_to_list": ("list",),
    "set_field": ("side", "field", "value"),
}
_DELAY = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_delay(text: str) -> timedelta | None:
    """A delay such as "30m", "6h" or "3d" (None when it is not one)."""
    found = _DELAY.match(text)
    if found is None:
        return None
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


def _strings(r: TableReader, table: Mapping[str, Any], loc: list[Any], name: str) -> list[str]:
    if name not in table:
        return []
    raw = table[name]
    return r.string_list({name: [raw] if isinstance(raw, str) else raw}, [*loc, name]) or []


def read_trigger(r: TableReader, raw: Any, *, loc: list[Any]) -> Trigger | None:
    """A `[workflow.trigger]` table (None when it is missing or unusable)."""
    if raw is None:
        r.problem(
            loc,
            "every workflow needs a trigger",
            'add [workflow.trigger] with kind = "score_crossed"',
        )
        return None
    table = r.table(raw, loc, known=TRIGGER_KEYS)
    if table is None:
        return None
    kind = r.choice(table, loc, "kind", allowed=TRIGGERS, default="score_crossed")
    delay = timedelta(0)
    if "delay" in table:
        text = r.string(table, loc, "delay")
        parsed = parse_delay(text) if text else None
        if parsed is None:
            r.problem(
                [*loc, "delay"],
                f"not a delay: {table['delay']!r}",
                'write delay = "3d" (or "12h", "30m")',
            )
        delay = parsed or delay
    if kind == "score_crossed":
        return Trigger(
            kind="score_crossed",
            threshold=r.integer(table, loc, "threshold", minimum=1),
            delay=delay,
        )
    if kind == "field_changed":
        name = r.string(table, loc, "field", required=True) or ""
        all_of = _strings(r, table, loc, "all_of")
        equals = r.scalar(table, [*loc, "equals"])
        if equals is None and not all_of:
            r.problem(
                loc,
                "a field_changed trigger needs the value it waits for",
                "add equals = true, or all_of = [...] for a multi-select",
            )
        return Trigger(
            kind="field_changed", field=name, equals=equals, all_of=tuple(all_of), delay=delay
        )
    event = r.string(table, loc, "event", required=True) or ""
    if event and event not in EVENT_TYPES:
        r.problem(
            [*loc, "event"],
            f"unknown event type {event!r}",
            did_you_mean(event, EVENT_TYPES, fallback=f"use one of {', '.join(EVENT_TYPES)}"),
        )
    props = table.get("properties", {})
    if not isinstance(props, dict) or not all(isinstance(v, str) for v in props.values()):
        r.problem(
            [*loc, "properties"],
            "expected a table of property names to text",
            'write properties = { form_type = "download" }',
        )
        props = {}
    return Trigger(
        kind="event",
        event=event,
        url_contains=tuple(_strings(r, table, loc, "url_contains")),
        properties={str(k): v for k, v in props.items()},
        delay=delay,
    )


def read_segment(r: TableReader, raw: Any, *, loc: list[Any]) -> Segment | None:
    """A `[[workflow.condition]]` table: an attribute test or an event count."""
    table = r.table(raw, loc, known=CONDITION_KEYS)
    if table is None:
        return None
    if "event" in table:
        event = r.string(table, loc, "event") or ""
        if event not in EVENT_TYPES:
            r.problem(
                [*loc, "event"],
                f"unknown event type {event!r}",
                did_you_mean(event, EVENT_TYPES, fallback=", ".join(EVENT_TYPES)),
            )
        count = r.integer(table, loc, "min_count", minimum=1)
        return Segment(
            event=event,
            url_contains=tuple(_strings(r, table, loc, "url_contains")),
            min_count=count or 1,
        )
    name = r.string(table, loc, "field", required=True)
    if not any(k in table for k in ("in", "min", "max", "pattern")):
        r.problem(
            loc,
            "the condition tests nothing",
            'add in = [...], min/max = N or pattern = ["regex"] (or event = "...")',
        )
        return None
    patterns = []
    for n, text in enumerate(_strings(r, table, loc, "pattern")):
        try:
            patterns.append(re.compile(text, re.IGNORECASE))
        except re.error as exc:
            r.problem(
                [*loc, "pattern", n],
                f"not a valid regular expression: {exc}",
                "escape special characters with \\\\",
            )
    bounds = {}
    for bound in ("min", "max"):
        value = table.get(bound)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            r.problem(
                [*loc, bound],
                f"expected a number, got {value!r}",
                f"write {bound} = 100 (no quotes)",
            )
            value = None
        bounds[bound] = float(value) if value is not None else None
    if name is None:
        return None
    values = frozenset(v.strip().casefold() for v in _strings(r, table, loc, "in"))
    return Segment(
        attribute=Condition(
            field=name,
            values=values,
            minimum=bounds["min"],
            maximum=bounds["max"],
            patterns=tuple(patterns),
        )
    )


def _templates(r: TableReader, table: dict[str, Any], loc: list[Any], name: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for locale in ("en", "ja"):
        key = f"{name}_{locale}"
        text = r.string(table, loc, key)
        if text is None:
            continue
        try:
            names = {n for _, n, _, _ in string.Formatter().parse(text) if n is not None}
        except ValueError as exc:
            r.problem([*loc, key], f"not a valid template: {exc}", "write {{ and }} for braces")
            continue
        unknown = sorted(names - PLACEHOLDERS)
        if unknown:
            listed = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
            r.problem(
                [*loc, key],
                f"unknown placeholder {{{unknown[0]}}}",
                did_you_mean(unknown[0], PLACEHOLDERS, fallback=f"use one of {listed}"),
            )
            continue
        found[locale] = text
    return found


def read_action(r: TableReader, raw: Any, *, loc: list[Any]) -> Action | None:
    """A `[[workflow.action]]` table, checked against the keys of its kind."""
    if not isinstance(raw, dict):
        r.problem(loc, "expected a table", 'write [[workflow.action]] with kind = "..."')
        return None
    r.choice(raw, loc, "kind", allowed=ACTIONS, default="notify_email")
    kind: ActionKind | None = next((a for a in ACTIONS if a == raw.get("kind")), None)
    if kind is None:
        return None
    table = r.table(raw, loc, known=("kind", *ACTION_KEYS[kind]))
    if table is None:
        return None
    if kind == "notify_email":
        return _email(r, table, loc)
    if kind == "webhook":
        url = r.string(table, loc, "url", required=True) or ""
        if url and not re.match(r"^https?://\S+$", url):
            r.problem(
                [*loc, "url"],
                f"not an http(s) URL: {url!r}",
                'write url = "https://hooks.example/..."',
            )
        resend = r.boolean(table, loc, "resend_unknown")
        return Action(
            kind=kind, url=url, body=_templates(r, table, loc, "text"), resend_unknown=bool(resend)
        )
    if kind == "assign_owner":
        queue = r.string(table, loc, "queue")
        robin = r.boolean(table, loc, "round_robin")
        if (queue is None) == (not robin):
            r.problem(
                loc,
                "assign_owner needs exactly one of queue or round_robin",
                'write queue = "Field Sales Queue" or round_robin = true',
            )
        return Action(kind=kind, queue=queue)  # no queue: round robin
    if kind == "create_task":
        title = r.string(table, loc, "subject") or "First contact (SLA)"
        return Action(
            kind=kind, subject={"en": title}, body={"en": r.string(table, loc, "description") or ""}
        )
    if kind == "add_to_list":
        return Action(kind=kind, list_name=r.string(table, loc, "list"))
    side = r.choice(table, loc, "side", allowed=("hubspot", "salesforce"), default="hubspot")
    name = r.string(table, loc, "field", required=True) or ""
    if "value" not in table:
        r.problem([*loc, "value"], "this key is required", "add value = ... (text, number, true)")
    return Action(kind=kind, side=side, field_name=name, value=r.scalar(table, [*loc, "value"]))


def _email(r: TableReader, table: dict[str, Any], loc: list[Any]) -> Action:
    subject, body = _templates(r, table, loc, "subject"), _templates(r, table, loc, "body")
    if "subject_en" not in table and "subject_ja" not in table:
        r.problem(
            [*loc, "subject_en"],
            "an e-mail needs a subject",
            'add subject_en = "..." (and subject_ja for Japanese leads)',
        )
    to = _strings(r, table, loc, "to")
    for n, address in enumerate(to):
        if "@" not in address:
            r.problem(
                [*loc, "to", n],
                f"not an e-mail address: {address!r}",
                'write to = ["name@company.example"]',
            )
    return Action(kind="notify_email", to=tuple(to), subject=subject, body=body)
