"""`leadbridge score` and `leadbridge score rules check`: lead scoring and its rules file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from leadbridge.cli_common import (
    EXIT_PROBLEMS,
    JsonOption,
    emit_json,
    err,
    handles_errors,
    out,
    state_of,
)
from leadbridge.config import LoadedConfig
from leadbridge.connectors.factory import hubspot_from_config, salesforce_from_config
from leadbridge.errors import ConfigError
from leadbridge.nurture.rules import Rules, rules_from_config, rules_path
from leadbridge.nurture.runner import ScoringOptions, ScoringReport, ScoringRunner
from leadbridge.nurture.scoring import Score
from leadbridge.store.db import Store
from leadbridge.sync.mapping import PairMapping, load_mapping

score_app = typer.Typer(
    help="Score leads from behaviour and attributes; write scores and MQLs to both systems.",
    no_args_is_help=False,
    invoke_without_command=True,
)
rules_app = typer.Typer(help="The scoring rules file.", no_args_is_help=True)
score_app.add_typer(rules_app, name="rules")


def _contact_mapping(loaded: LoadedConfig) -> PairMapping:
    """The first enabled pair over HubSpot contacts: the leads that are scored."""
    for pair in loaded.settings.sync.pairs:
        if not pair.enabled:
            continue
        mapping = load_mapping(loaded.resolve(pair.mapping))
        if mapping.hubspot_object == "contacts":
            return mapping
    raise ConfigError(
        "no enabled pair syncs HubSpot contacts",
        source=loaded.source,
        key="sync.pairs",
        hint="add the contact_lead pair (see config.example.toml)",
    )


def _score_dict(hubspot_id: str, score: Score) -> dict[str, Any]:
    return {
        "hubspot_id": hubspot_id,
        "total": score.total,
        "is_mql": score.is_mql,
        "threshold": score.threshold,
        "breakdown": [line.as_dict() for line in score.breakdown],
    }


def _render(report: ScoringReport, *, explain: bool) -> None:
    if explain:
        for hubspot_id, score in sorted(report.scores.items()):
            out.print(f"lead {hubspot_id}: {score.total}", highlight=False)
            for line in score.explain():
                out.print("  " + line, highlight=False, markup=False)
    table = Table("scored", "changed", "new MQLs", "HubSpot writes", "Salesforce writes",
                  "failed", "API calls", title=f"scoring: {report.outcome}")  # fmt: skip
    table.add_row(*(str(v) for v in (report.scored, report.changed, report.new_mqls,
                  report.written["hubspot"], report.written["salesforce"], report.failed,
                  report.api_calls)))  # fmt: skip
    out.print(table)
    if report.message:
        err.print(f"[yellow]{report.outcome}:[/yellow] {report.message}", highlight=False)


@score_app.callback()
@handles_errors
def score_command(
    ctx: typer.Context,
    lead: Annotated[
        str | None,
        typer.Option("--lead", help="Score only this lead (HubSpot or Salesforce id)."),
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print each lead's breakdown; the lines sum to it.")
    ] = False,
    decay: Annotated[
        bool, typer.Option("--decay", help="Also rescore every lead holding decaying points.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Score leads with new events or changed attributes (or one --lead) and write results."""
    if ctx.invoked_subcommand is not None:
        return
    loaded = state_of(ctx).config()
    rules = rules_from_config(loaded)
    store = Store.open(database_url=loaded.settings.state.database_url)
    try:
        runner = ScoringRunner(
            mapping=_contact_mapping(loaded),
            rules=rules,
            store=store,
            hubspot=hubspot_from_config(loaded),
            salesforce=salesforce_from_config(loaded),
            fields=loaded.settings.fields,
            options=ScoringOptions.from_settings(loaded.settings.scoring),
        )
        report = runner.score_one(lead) if lead else runner.run()
        if decay and lead is None and report.outcome == "ok":
            report.absorb(runner.decay_pass())
    finally:
        store.close()
    if as_json:
        emit_json({
            "run": report.as_dict(),
            "scores": [_score_dict(k, v) for k, v in sorted(report.scores.items())],
        })  # fmt: skip
    else:
        _render(report, explain=explain or lead is not None)
    raise typer.Exit(0 if report.outcome == "ok" else EXIT_PROBLEMS)


@rules_app.command("check")
@handles_errors
def rules_check_command(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="The rules file (default: [scoring] rules_file)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Validate the scoring rules file; exit 2 naming the file, key and fix on a mistake."""
    loaded = state_of(ctx).config()
    rules: Rules = rules_from_config(loaded, explicit=file)
    config_threshold = loaded.settings.scoring
    notes: list[str] = []
    written = "threshold" in config_threshold.model_fields_set
    if rules.threshold_from_file and written and config_threshold.threshold != rules.threshold:
        notes.append(
            f"threshold {rules.threshold} in the rules file overrides [scoring] threshold "
            f"{config_threshold.threshold}; keep one of them"
        )
    summary = {
        "file": str(rules_path(loaded, file)),
        "threshold": rules.threshold,
        "behaviour": len(rules.behaviour),
        "attribute": len(rules.attribute),
        "negative": len(rules.negative),
        "fields": list(rules.fields()),
        "warnings": notes,
    }
    if as_json:
        emit_json({"ok": True, **summary})
        return
    out.print(
        f"{summary['file']}: ok: {summary['behaviour']} behaviour, {summary['attribute']} "
        f"attribute and {summary['negative']} negative rule(s); MQL at {rules.threshold}",
        highlight=False,
    )
    for note in notes:
        err.print(f"[yellow]warning:[/yellow] {note}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add `score` (and `score rules check`) to the main app."""
    app.add_typer(score_app, name="score")
