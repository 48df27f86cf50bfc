"""`leadbridge setup ...` (provisioning, checklist, attestations) and `leadbridge mappings ...`."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Literal

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
from leadbridge.config import LoadedConfig
from leadbridge.errors import ConfigError
from leadbridge.setup.findings import SEVERITIES, worst
from leadbridge.setup.provisioning import SetupReport
from leadbridge.store.db import Store
from leadbridge.sync.mapping import FieldMap, PairMapping, load_mapping
from leadbridge.sync.transforms import Pipeline

setup_app = typer.Typer(
    help="Provision leadbridge's fields and walk the 16-item setup checklist.",
    no_args_is_help=True,
)
mappings_app = typer.Typer(
    help="Show mappings and audit them against both systems.", no_args_is_help=True
)

PairOption = Annotated[
    str | None, typer.Option("--pair", help="Only this pair (default: every configured pair).")
]
_COLOURS = {"error": "red", "warning": "yellow", "info": "dim", "conflict": "red"}
_STATUS_COLOURS = {"ok": "green", "attested": "green", "missing": "red", "expired": "yellow"}


@contextmanager
def _store(loaded: LoadedConfig) -> Iterator[Store]:
    store = Store.open(database_url=loaded.settings.state.database_url)
    try:
        yield store
    finally:
        store.close()


def _render_setup(report: SetupReport, *, as_json: bool) -> None:
    if as_json:
        emit_json(report.as_dict())
    else:
        title = "setup apply" if report.applied else "setup plan"
        table = Table("system", "object", "field", "action", "detail", "fix", title=title)
        for plan in report.plans:
            for a in plan.actions:
                colour = _COLOURS.get(a.kind, "green" if a.kind == "ok" else "cyan")
                shown = f"[{colour}]{a.kind}[/{colour}]"
                table.add_row(plan.side, a.object_name, a.field_name, shown, a.detail, a.fix)
        out.print(table)
        verb = "made" if report.applied else "to make"
        out.print(f"{report.change_count} change(s) {verb}, {report.conflict_count} conflict(s)")
    if report.conflict_count:
        raise typer.Exit(EXIT_PROBLEMS)


@setup_app.command("plan")
@handles_errors
def setup_plan(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the fields leadbridge would create or change in each system; change nothing."""
    from leadbridge.setup.provisioning import connectors_from_config, plan_setup

    loaded = state_of(ctx).config()
    report = plan_setup(connectors=connectors_from_config(loaded), fields=loaded.settings.fields)
    _render_setup(report, as_json=as_json)


@setup_app.command("apply")
@handles_errors
def setup_apply(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Create the missing fields, add options, grant access; exit 1 if conflicts remain."""
    from leadbridge.setup.provisioning import apply_setup, connectors_from_config

    loaded = state_of(ctx).config()
    with _store(loaded) as store:
        report = apply_setup(
            connectors=connectors_from_config(loaded), fields=loaded.settings.fields, store=store
        )
    _render_setup(report, as_json=as_json)


@setup_app.command("checklist")
@handles_errors
def setup_checklist(
    ctx: typer.Context,
    as_json: JsonOption = False,
    lang: Annotated[str, typer.Option("--lang", help="Language of the texts: en or ja.")] = "en",
) -> None:
    """Check the 16 setup items live; exit 1 while any is missing or expired."""
    from leadbridge.setup.checklist import run_checklist
    from leadbridge.setup.provisioning import connectors_from_config

    if lang not in ("en", "ja"):
        raise typer.BadParameter("use en or ja", param_hint="--lang")
    loaded = state_of(ctx).config()
    with _store(loaded) as store:
        results = run_checklist(
            loaded=loaded,
            store=store,
            connect=lambda: connectors_from_config(loaded),
            lang="ja" if lang == "ja" else "en",
        )
    rows = [r.as_dict() for r in results]
    open_items = [r for r in rows if r["status"] in ("missing", "expired")]
    if as_json:
        emit_json({"items": rows, "open": len(open_items)})
    else:
        table = Table("#", "item", "status", "evidence", "fix", title="setup checklist")
        for row in rows:
            colour = _STATUS_COLOURS[row["status"]]
            table.add_row(
                str(row["item"]),
                row["title"],
                f"[{colour}]{row['status_label']}[/{colour}]",
                "\n".join(row["evidence"]),
                row["fix"],
            )
        out.print(table)
        out.print(f"{len(rows) - len(open_items)} of {len(rows)} done")
    if open_items:
        raise typer.Exit(EXIT_PROBLEMS)


@setup_app.command("attest")
@handles_errors
def setup_attest(
    ctx: typer.Context,
    item: Annotated[str, typer.Argument(help="Item number (9) or slug (weekly-review).")],
    by: Annotated[str, typer.Option("--by", help="Who confirms it (name or e-mail).")],
    note: Annotated[str, typer.Option("--note", help="Where it is written down, etc.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Record that an organisational checklist item is in place (who, when, a note)."""
    from leadbridge.setup.checklist import attest

    loaded = state_of(ctx).config()
    with _store(loaded) as store:
        found = attest(store=store, ref=item, by=by, note=note)
    if as_json:
        emit_json({"item": found.number, "slug": found.slug, "attested_by": by, "note": note})
    else:
        out.print(f"item {found.number} ({found.slug}) attested by {by}")


def _mappings(loaded: LoadedConfig, pair: str | None) -> list[PairMapping]:
    pairs = loaded.settings.sync.pairs
    if pair is not None and pair not in {p.name for p in pairs}:
        raise ConfigError(
            f"no pair named {pair!r}",
            source=loaded.source,
            key="--pair",
            hint=f"use one of: {', '.join(p.name for p in pairs) or '(none configured)'}",
        )
    return [load_mapping(loaded.resolve(p.mapping)) for p in pairs]


@mappings_app.command("audit")
@handles_errors
def mappings_audit(
    ctx: typer.Context,
    pair: PairOption = None,
    as_json: JsonOption = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print the findings as CSV.")] = False,
    fail_on: Annotated[
        str,
        typer.Option("--fail-on", help="Exit 1 at this severity or worse: warning or error."),
    ] = "error",
) -> None:
    """Check mappings against both systems' live describe; exit 1 at --fail-on severity."""
    from leadbridge.setup.audit import audit
    from leadbridge.setup.provisioning import connectors_from_config, provisioned_fields

    if fail_on not in ("warning", "error"):
        raise typer.BadParameter("use warning or error", param_hint="--fail-on")
    loaded = state_of(ctx).config()
    mappings = _mappings(loaded, pair)
    with _store(loaded) as store:
        provisioned = provisioned_fields(store)
    findings = audit(
        mappings=mappings,
        connectors=connectors_from_config(loaded),
        provisioned=provisioned,
        only=pair,
    )
    rows = [f.as_dict() for f in findings]
    if as_json:
        emit_json({"findings": rows, "worst": worst(findings)})
    elif as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["kind"])
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table("severity", "pair", "entry", "field", "finding", "fix", title="mapping audit")
        for f in findings:
            colour = _COLOURS[f.severity]
            where = f"{f.side} {f.object_name}.{f.field}".strip(" .")
            table.add_row(
                f"[{colour}]{f.severity}[/{colour}]", f.pair, f.entry, where, f.message, f.fix
            )
        out.print(table if findings else "no findings")
    level = worst(findings)
    threshold: Literal["warning", "error"] = "warning" if fail_on == "warning" else "error"
    if level is not None and SEVERITIES.index(level) >= SEVERITIES.index(threshold):
        raise typer.Exit(EXIT_PROBLEMS)


def transform_text(field: FieldMap) -> str:
    """A short description of everything applied to the field's values, both ways."""
    parts = []
    for name, pipeline in (
        ("to_salesforce", field.to_salesforce),
        ("to_hubspot", field.to_hubspot),
    ):
        if field.flows_to("salesforce" if name == "to_salesforce" else "hubspot"):
            text = _pipeline_text(pipeline)
            if text:
                parts.append(f"{name}: {text}")
    return "; ".join(parts)


def _pipeline_text(pipeline: Pipeline) -> str:
    steps = [
        s.kind + (f"({s.length})" if s.length else f"({s.places})" if s.places is not None else "")
        for s in pipeline.steps
    ]
    if pipeline.translation is not None:
        steps.append(
            f"translate({len(pipeline.translation.table)}, {pipeline.translation.on_unknown})"
        )
    if pipeline.bands is not None:
        steps.append(f"bands({len(pipeline.bands.lower_bounds)})")
    return ", ".join(steps)


@mappings_app.command("show")
@handles_errors
def mappings_show(ctx: typer.Context, pair: PairOption = None, as_json: JsonOption = False) -> None:
    """Print each mapping as a table: field on each side, direction, rule, transforms."""
    loaded = state_of(ctx).config()
    shown = [m for m in _mappings(loaded, pair) if pair is None or m.name == pair]
    if as_json:
        emit_json(
            {
                m.name: [
                    {
                        "hubspot": f.hubspot,
                        "salesforce": f.salesforce,
                        "direction": f.direction,
                        "rule": f.rule,
                        "transform": transform_text(f),
                    }
                    for f in m.fields
                ]
                for m in shown
            }
        )
        return
    for m in shown:
        title = f"{m.name}: HubSpot {m.hubspot_object} <-> Salesforce {m.salesforce_object}"
        table = Table("hubspot", "salesforce", "direction", "rule", "transform", title=title)
        for f in m.fields:
            table.add_row(f.hubspot, f.salesforce, f.direction, f.rule, transform_text(f))
        out.print(table)


def register(app: typer.Typer) -> None:
    """Add the `setup` and `mappings` command groups to the main app."""
    app.add_typer(setup_app, name="setup")
    app.add_typer(mappings_app, name="mappings")
