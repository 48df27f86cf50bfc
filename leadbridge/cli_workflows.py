"""`leadbridge workflows list|dry-run|run|history`: the hand-over and nurturing workflows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from leadbridge.cli_common import (
    EXIT_PROBLEMS,
    JsonOption,
    emit_json,
    handles_errors,
    out,
    state_of,
)
from leadbridge.cli_score import _contact_mapping
from leadbridge.config import LoadedConfig
from leadbridge.connectors.factory import hubspot_from_config, salesforce_from_config
from leadbridge.nurture.actions import describe
from leadbridge.nurture.flow import WorkflowRunner
from leadbridge.nurture.flow_hook import build_runner
from leadbridge.nurture.workflow_rules import load_workflows, rules_path
from leadbridge.nurture.workflow_state import WorkflowState
from leadbridge.store.db import Store

workflows_app = typer.Typer(
    help="Hand-over and nurturing workflows: triggers, conditions, actions.", no_args_is_help=True
)
FileOption = Annotated[
    Path | None, typer.Option("--file", help="The rules file (default: [workflows] rules_file).")
]


def _runner(loaded: LoadedConfig, store: Store, file: Path | None) -> WorkflowRunner:
    """A runner over the configured systems and this (or the configured) rules file."""
    return build_runner(
        loaded,
        store=store,
        hubspot=hubspot_from_config(loaded),
        salesforce=salesforce_from_config(loaded),
        mapping=_contact_mapping(loaded),
        rules=load_workflows(rules_path(loaded, file)),
    )


@workflows_app.command("list")
@handles_errors
def list_command(ctx: typer.Context, file: FileOption = None, as_json: JsonOption = False) -> None:
    """Check the workflows file and list each workflow (exit 2 naming the key on a mistake)."""
    loaded = state_of(ctx).config()
    rules = load_workflows(rules_path(loaded, file))
    rows = [
        {
            "name": w.name,
            "enabled": w.enabled,
            "trigger": w.trigger.kind,
            "detail": w.trigger.field or w.trigger.event or f">= {w.trigger.threshold or 'MQL'}",
            "delay": str(w.trigger.delay) if w.trigger.delay else "",
            "conditions": [s.describe() for s in w.segments],
            "actions": describe(w.actions),
        }
        for w in rules.workflows
    ]
    if as_json:
        emit_json({"file": rules.source, "workflows": rows})
        return
    table = Table("workflow", "on", "trigger", "delay", "conditions", "actions", title=rules.source)
    for row in rows:
        table.add_row(
            str(row["name"]),
            "yes" if row["enabled"] else "no",
            f"{row['trigger']} {row['detail']}",
            str(row["delay"]),
            "; ".join(row["conditions"]),  # type: ignore[arg-type]
            str(row["actions"]),
        )
    out.print(table)


@workflows_app.command("dry-run")
@handles_errors
def dry_run_command(
    ctx: typer.Context, file: FileOption = None, as_json: JsonOption = False
) -> None:
    """Show what would fire now and why; sends, writes and records nothing."""
    loaded = state_of(ctx).config()
    store = Store.open(database_url=loaded.settings.state.database_url)
    try:
        planned = _runner(loaded, store, file).dry_run()
    finally:
        store.close()
    rows = [
        {
            "workflow": p.workflow,
            "hubspot_id": p.hubspot_id,
            "salesforce_id": p.salesforce_id,
            "verdict": p.verdict,
            "due_at": p.due_at.isoformat(),
            "reason": p.reason,
            "conditions": list(p.conditions),
        }
        for p in planned
    ]
    if as_json:
        emit_json({"planned": rows})
        return
    table = Table("workflow", "lead", "verdict", "due (UTC)", "why", title="workflows dry run")
    for p in planned:
        why = "; ".join([p.reason, *p.conditions])
        lead = p.hubspot_id or p.salesforce_id
        table.add_row(p.workflow, lead, p.verdict, f"{p.due_at:%Y-%m-%d %H:%M}", why)
    out.print(table)


@workflows_app.command("run")
@handles_errors
def run_command(ctx: typer.Context, file: FileOption = None, as_json: JsonOption = False) -> None:
    """Fire the steps due now, once (what `leadbridge run` does after each sync).

    Exit 1 when a step failed, its outcome is unknown, or another run held the pair.
    """
    loaded = state_of(ctx).config()
    store = Store.open(database_url=loaded.settings.state.database_url)
    try:
        report = _runner(loaded, store, file).run()
    finally:
        store.close()
    if as_json:
        emit_json(report.as_dict())
    else:
        counts = (
            f"{report.detected} trigger(s), {report.done} step(s) done, {report.failed} failed, "
            f"{report.unknown} unknown, {report.retrying} retrying, {report.locked} locked"
        )
        out.print(f"workflows: {report.outcome}; {counts}")
        if report.message:
            out.print(report.message)
    problems = report.failed or report.unknown or report.locked or report.outcome != "ok"
    raise typer.Exit(EXIT_PROBLEMS if problems else 0)


@workflows_app.command("history")
@handles_errors
def history_command(
    ctx: typer.Context,
    lead: Annotated[
        str | None, typer.Option("--lead", help="Only this lead (HubSpot or Salesforce id).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Newest N executions.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Show workflow executions, newest first, with each step's outcome."""
    loaded = state_of(ctx).config()
    store = Store.open(database_url=loaded.settings.state.database_url)
    try:
        mapping = _contact_mapping(loaded)
        rows = WorkflowState(store=store, pair=mapping.name).history(lead=lead, limit=limit)
    finally:
        store.close()
    shown = [
        {
            "workflow": r.workflow,
            "hubspot_id": r.hubspot_id,
            "salesforce_id": r.salesforce_id,
            "occurrence": r.occurrence,
            "reason": r.reason,
            "status": r.status,
            "due_at": r.due_at.isoformat(),
            "attempts": r.attempts,
            "steps": r.result,
        }
        for r in rows
    ]
    if as_json:
        emit_json({"executions": shown})
        return
    table = Table("workflow", "lead", "status", "due (UTC)", "why", "steps", title="history")
    for r in rows:
        steps = "; ".join(f"{s.get('action')}: {s.get('status')}" for s in r.result)
        table.add_row(
            r.workflow,
            r.hubspot_id or r.salesforce_id,
            r.status,
            f"{r.due_at:%Y-%m-%d %H:%M}",
            r.reason,
            steps,
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add `workflows` to the main app."""
    app.add_typer(workflows_app, name="workflows")
