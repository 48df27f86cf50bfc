"""Workflow rules files: find, read and check one (docs/workflows.md describes every key).

A rules file is an array `[[workflow]]`, each with a `trigger` table, optional `[[...condition]]`
segment filters and one or more `[[...action]]` tables. Every mistake becomes one ConfigError
naming the file, the dotted key and the fix, the standard of the config and scoring rules.
The model lives in leadbridge.nurture.workflow_model and the per-table readers in
leadbridge.nurture.workflow_parse; their public names are re-exported here, where callers have
always imported them from.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leadbridge.config import LoadedConfig
from leadbridge.nurture.workflow_model import (
    ACTIONS,
    NOT_IDEMPOTENT,
    PLACEHOLDERS,
    TRIGGERS,
    Action,
    ActionKind,
    Segment,
    Trigger,
    TriggerKind,
    Workflow,
    WorkflowRules,
)
from leadbridge.nurture.workflow_parse import (
    parse_delay,
    read_action,
    read_segment,
    read_trigger,
)
from leadbridge.validation import TableReader, problems_error, read_toml

DEFAULT_RULES = Path("rules/workflows.toml")
_MISSING_HINT = (
    "copy rules/workflows.toml from the leadbridge repository and set [workflows] rules_file"
)
_WORKFLOW_KEYS = ("name", "enabled", "trigger", "condition", "action")


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
    return WorkflowRules(source=source, workflows=tuple(found))


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
    trigger = read_trigger(r, table.get("trigger"), loc=[*loc, "trigger"])
    segments = [
        read_segment(r, c, loc=[*loc, "condition", i])
        for i, c in enumerate(_tables(r, table, loc, "condition"))
    ]
    actions = [
        read_action(r, a, loc=[*loc, "action", i])
        for i, a in enumerate(_tables(r, table, loc, "action"))
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


__all__ = [
    "ACTIONS",
    "NOT_IDEMPOTENT",
    "PLACEHOLDERS",
    "TRIGGERS",
    "Action",
    "ActionKind",
    "Segment",
    "Trigger",
    "TriggerKind",
    "Workflow",
    "WorkflowRules",
    "load_workflows",
    "parse_delay",
    "parse_workflows",
    "rules_path",
]
