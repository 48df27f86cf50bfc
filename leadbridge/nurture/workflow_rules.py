"""Workflow rules: the TOML model and its loader (docs/workflows.md describes every key).

A rules file is an array `[[workflow]]`, each with a `trigger` table, optional `[[...condition]]`
segment filters and one or more `[[...action]]` tables. Every mistake becomes one ConfigError
naming the file, the dotted key and the fix, the standard of the config and scoring rules.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from leadbridge.config import LoadedConfig
from leadbridge.nurture.rules import EVENT_TYPES, Condition
from leadbridge.validation import TableReader, did_you_mean, problems_error, read_toml

TriggerKind = Literal["score_crossed", "field_changed", "event"]
ActionKind = Literal[
    "notify_email", "webhook", "assign_owner", "create_task", "add_to_list", "set_field"
]
TRIGGERS: tuple[TriggerKind, ...] = ("score_crossed", "field_changed", "event")
ACTIONS: tuple[ActionKind, ...] = (
    "notify_email",
    "webhook",
    "assign_owner",
    "create_task",
    "add_to_list",
    "set_field",
)
# Email and webhook calls cannot be taken back: they are the ones guarded by the started mark.
NOT_IDEMPOTENT = frozenset({"notify_email", "webhook"})
PLACEHOLDERS = frozenset(
    {
        "workflow",
        "reason",
        "first_name",
        "last_name",
        "email",
        "company",
        "score",
        "threshold",
        "hubspot_id",
        "salesforce_id",
        "owner",
        "due",
    }
)
DEFAULT_RULES = Path("rules/workflows.toml")
_MISSING_HINT = (
    "copy rules/workflows.toml from the leadbridge repository and set [workflows] rules_file"
)
_WORKFLOW_KEYS = ("name", "enabled", "trigger", "condition", "action")
_TRIGGER_KEYS = (
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
_CONDITION_KEYS = ("field", "in", "min", "max", "pattern", "event", "url_contains", "min_count")
_ACTION_KEYS: dict[str, tuple[str, ...]] = {
    "notify_email": ("to", "subject_en", "body_en", "subject_ja", "body_ja"),
    "webhook": ("url", "text_en", "text_ja", "resend_unknown"),
    "assign_owner": ("queue", "round_robin"),
    "create_task": ("subject", "description"),
    "add_to_list": ("list",),
    "set_field": ("side", "field", "value"),
}
_DELAY = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Trigger:
    """What starts a workflow: a score crossing, a field reaching a value, or an event."""

    kind: TriggerKind
    threshold: int | None = None
    field: str = ""
    equals: str | int | float | bool | None = None
    all_of: tuple[str, ...] = ()
    event: str = ""
    url_contains: tuple[str, ...] = ()
    properties: Mapping[str, str] = dataclasses.field(default_factory=dict)
    delay: timedelta = timedelta(0)


@dataclass(frozen=True)
class Segment:
    """A condition on the lead: an attribute test, or at least `min_count` matching events."""

    attribute: Condition | None = None
    event: str = ""
    url_contains: tuple[str, ...] = ()
    min_count: int = 1

    def describe(self) -> str:
        """A short human form for dry-run and list output."""
        if self.attribute is not None:
            c = self.attribute
            parts = [f"in {sorted(c.values)}" if c.values else ""]
            parts += [f">= {c.minimum:g}" if c.minimum is not None else ""]
            parts += [f"<= {c.maximum:g}" if c.maximum is not None else ""]
            parts += ["matches a pattern" if c.patterns else ""]
            return f"{c.field} " + " and ".join(p for p in parts if p)
        return f"{self.min_count}+ {self.event}" + (
            f" ({', '.join(self.url_contains)})" if self.url_contains else ""
        )


@dataclass(frozen=True)
class Action:
    """One step of a workflow; only the keys of its kind are set."""

    kind: ActionKind
    to: tuple[str, ...] = ()
    subject: Mapping[str, str] = dataclasses.field(default_factory=dict)  # locale -> template
    body: Mapping[str, str] = dataclasses.field(default_factory=dict)
    url: str = ""
    resend_unknown: bool = False
    queue: str | None = None
    round_robin: bool = False
    list_name: str | None = None
    side: str = ""
    field_name: str = ""
    value: str | int | float | bool | None = None

    @property
    def idempotent(self) -> bool:
        """True when doing it twice leaves the same result as doing it once."""
        return self.kind not in NOT_IDEMPOTENT or self.resend_unknown


@dataclass(frozen=True)
class Workflow:
    """A checked workflow."""

    key: str
    name: str
    trigger: Trigger
    actions: tuple[Action, ...]
    segments: tuple[Segment, ...] = ()
    enabled: bool = True


@dataclass(frozen=True)
class WorkflowRules:
    """A checked workflows file."""

    source: str
    workflows: tuple[Workflow, ...]
    digest: str = ""

    def enabled(self) -> tuple[Workflow, ...]:
        """The workflows that run."""
        return tuple(w for w in self.workflows if w.enabled)


def rules_path(loaded: LoadedConfig, explicit: Path | None = None) -> Path:
    """The file: --file, else [workflows] rules_file, else rules/workflows.toml beside it."""
    if explicit is not None:
        return explicit
    configured = loaded.settings.workflows.rules_file
    return loaded.resolve(configured if configured is not None else DEFAULT_RULES)


def load_workflows(path: Path) -> WorkflowRules:
    """Read and check a workflows file; raise ConfigError naming file, dotted key and fix."""
    return parse_workflows(read_toml(path, missing_hint=_MISSING_HINT), source=str(path))


def parse_workflows(data: Mapping[str, Any], *, source: str) -> WorkflowRules:
    """Check an already-parsed workflows document."""
    r = TableReader()
    top = r.table(dict(data), [], known=("workflow",)) or {}
    raw = top.get("workflow", [])
    if not isinstance(raw, list) or not raw:
        r.problem(["workflow"], "expected at least one [[workflow]]", "add a [[workflow]] table")
        raw = []
    found = [w for i, item in enumerate(raw) if (w := _workflow(r, item, i)) is not None]
    seen: set[str] = set()
    for wf in found:
        if wf.name in seen:
            r.problem(
                [*_loc(wf.key), "name"],
                f"the name {wf.name!r} is used twice",
                "give each workflow its own name (it is part of the idempotency key)",
            )
        seen.add(wf.name)
    if r.problems:
        raise problems_error(r.problems, source=source)
    text = json.dumps(data, sort_keys=True, default=str).encode("utf-8")
    return WorkflowRules(
        source=source, workflows=tuple(found), digest=hashlib.sha256(text).hexdigest()
    )


def _loc(key: str) -> list[Any]:
    return ["workflow", int(key.split("[")[1].rstrip("]"))]


def _tables(r: TableReader, table: Mapping[str, Any], loc: list[Any], name: str) -> list[Any]:
    raw = table.get(name, [])
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        r.problem([*loc, name], "expected an array of tables", f"write [[workflow.{name}]]")
        return []
    return raw


def _workflow(r: TableReader, raw: Any, index: int) -> Workflow | None:
    loc: list[Any] = ["workflow", index]
    table = r.table(raw, loc, known=_WORKFLOW_KEYS)
    if table is None:
        return None
    name = r.string(table, loc, "name", required=True) or ""
    enabled = r.boolean(table, loc, "enabled")
    trigger = _trigger(r, table.get("trigger"), [*loc, "trigger"])
    segments = [
        _segment(r, c, [*loc, "condition", i])
        for i, c in enumerate(_tables(r, table, loc, "condition"))
    ]
    actions = [
        _action(r, a, [*loc, "action", i]) for i, a in enumerate(_tables(r, table, loc, "action"))
    ]
    if not actions:
        r.problem(
            [*loc, "action"],
            "a workflow needs at least one action",
            'add [[workflow.action]] with kind = "notify_email" (or another kind)',
        )
    if trigger is None:
        return None
    return Workflow(
        key=f"workflow[{index}]",
        name=name,
        trigger=trigger,
        actions=tuple(a for a in actions if a is not None),
        segments=tuple(s for s in segments if s is not None),
        enabled=enabled is not False,
    )


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


def _trigger(r: TableReader, raw: Any, loc: list[Any]) -> Trigger | None:
    if raw is None:
        r.problem(
            loc,
            "every workflow needs a trigger",
            'add [workflow.trigger] with kind = "score_crossed"',
        )
        return None
    table = r.table(raw, loc, known=_TRIGGER_KEYS)
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
    trigger = Trigger(kind="score_crossed", delay=delay)
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
        delay=trigger.delay,
    )


def _segment(r: TableReader, raw: Any, loc: list[Any]) -> Segment | None:
    table = r.table(raw, loc, known=_CONDITION_KEYS)
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


def _action(r: TableReader, raw: Any, loc: list[Any]) -> Action | None:
    if not isinstance(raw, dict):
        r.problem(loc, "expected a table", 'write [[workflow.action]] with kind = "..."')
        return None
    r.choice(raw, loc, "kind", allowed=ACTIONS, default="notify_email")
    kind: ActionKind | None = next((a for a in ACTIONS if a == raw.get("kind")), None)
    if kind is None:
        return None
    table = r.table(raw, loc, known=("kind", *_ACTION_KEYS[kind]))
    if table is None:
        return None
    if kind == "notify_email":
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
        return Action(kind=kind, to=tuple(to), subject=subject, body=body)
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
        return Action(kind=kind, queue=queue, round_robin=bool(robin))
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


__all__ = [
    "Action",
    "Segment",
    "Trigger",
    "Workflow",
    "WorkflowRules",
    "load_workflows",
    "parse_delay",
    "parse_workflows",
    "rules_path",
]
