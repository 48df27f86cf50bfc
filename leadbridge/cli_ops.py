"""`leadbridge errors ...`, `leadbridge audit ...`, `leadbridge revert`: RevOps over the store.

Unknown ids are usage errors (exit 2, one message, no traceback); `errors list` exits 1 while
it lists open entries, so a scheduler can alert on it; `revert` exits 1 when a write failed.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.table import Table

from leadbridge.cli_common import (
    EXIT_PROBLEMS,
    EXIT_USAGE,
    JsonOption,
    emit_json,
    handles_errors,
    out,
    print_error,
    state_of,
)
from leadbridge.connectors.base import Connector, Side
from leadbridge.errors import ConfigError, LeadbridgeError
from leadbridge.nurture.state import QUEUE_PAIR as SCORING_QUEUE
from leadbridge.nurture.workflow_errors import QUEUE_PAIR as WORKFLOWS_QUEUE
from leadbridge.store.db import Store
from leadbridge.store.models import ErrorQueueItem, Lineage
from leadbridge.sync.lineage import (
    field_history,
    get_run,
    lineage_dict,
    parse_since,
    record_history,
    shown,
)
from leadbridge.sync.mapping import load_mapping
from leadbridge.sync.queue import (
    STATUSES,
    ExportFormat,
    StatusFilter,
    UnknownIdError,
    error_dict,
    export_errors,
    get_error,
    list_errors,
    mark_for_retry,
    retried_record,
)
from leadbridge.sync.revert import RevertReport, apply_revert, plan_revert

P = ParamSpec("P")
R = TypeVar("R")
MESSAGE_WIDTH = 60

errors_app = typer.Typer(
    help="Read and retry the error queue: records the other system refused.",
    no_args_is_help=True,
)
audit_app = typer.Typer(
    help="Field lineage: every value leadbridge wrote, when, in which run, by which rule.",
    no_args_is_help=True,
)
revert_app = typer.Typer(
    help="Write back the values a run replaced (all fields, or one).",
    # A command, not a group (cli.py takes this module's commands through add_typer only):
    # its usage line must not ask for a subcommand.
    subcommand_metavar="",
)

PairOption = Annotated[str | None, typer.Option("--pair", help="Only this object pair.")]


class BadValueError(LeadbridgeError):
    """An option's value that click's parsing let through but the command cannot use."""

    def __init__(self, option: str, message: str, *, hint: str = "") -> None:
        super().__init__(f"{option}: {message}", hint=hint)


def usage_errors(func: Callable[P, R]) -> Callable[P, R]:
    """A bad value or an id that names nothing is a usage error: exit 2, one message, a fix."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (UnknownIdError, BadValueError) as exc:
            print_error(exc, as_json=bool(kwargs.get("as_json")))
            raise typer.Exit(EXIT_USAGE) from None

    return wrapper


@contextmanager
def opened_store(ctx: typer.Context) -> Iterator[Store]:
    """The configured state store, closed afterwards."""
    store = Store.open(database_url=state_of(ctx).config().settings.state.database_url)
    try:
        yield store
    finally:
        store.close()


def _choice(value: str, allowed: Sequence[str], option: str) -> str:
    if value not in allowed:
        raise BadValueError(option, f"use {', '.join(allowed)}")
    return value


_STATUS: dict[str, StatusFilter] = {"open": "open", "resolved": "resolved", "all": "all"}
_FORMAT: dict[str, ExportFormat] = {"csv": "csv", "json": "json"}


def _status(value: str) -> StatusFilter:
    return _STATUS[_choice(value, STATUSES, "--status")]


def _short(text: str, width: int = MESSAGE_WIDTH) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


# -- errors -----------------------------------------------------------------------------------


@errors_app.command("list")
@handles_errors
@usage_errors
def errors_list(
    ctx: typer.Context,
    pair: PairOption = None,
    status: Annotated[
        str, typer.Option("--status", help="open, resolved or all.", show_default=True)
    ] = "open",
    category: Annotated[
        str | None,
        typer.Option(
            "--category",
            help="retry_later, reauthenticate, fix_data, fix_setup or stop.",
        ),
    ] = None,
    side: Annotated[
        str | None, typer.Option("--side", help="The side that refused: hubspot or salesforce.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List queued errors; exit 1 while the list holds open entries (alert on it)."""
    chosen = _status(status)
    if side is not None:
        _choice(side, ("hubspot", "salesforce"), "--side")
    with opened_store(ctx) as store:
        items = list_errors(store, pair=pair, status=chosen, category=category, side=side)
    if as_json:
        emit_json([error_dict(item) for item in items])
    elif not items:
        out.print(f"no {'' if chosen == 'all' else chosen + ' '}errors in the queue")
    else:
        table = Table(
            "id",
            "pair",
            "side",
            "record",
            "operation",
            "category",
            "code",
            "message",
            "attempts",
            "next retry",
            title=f"error queue ({chosen}): {len(items)}",
        )
        for item in items:
            table.add_row(
                str(item.id),
                item.pair,
                item.side,
                item.record_id,
                item.operation,
                item.category,
                item.code,
                _short(item.message),
                str(item.attempts),
                _when(item),
            )
        out.print(table)
    if any(item.status == "open" for item in items):
        raise typer.Exit(EXIT_PROBLEMS)


def _when(item: ErrorQueueItem) -> str:
    if item.status != "open":
        return item.status
    if item.next_retry_at is None:
        return "after a fix"
    return item.next_retry_at.isoformat(timespec="seconds")


@errors_app.command("show")
@handles_errors
@usage_errors
def errors_show(
    ctx: typer.Context,
    item_id: Annotated[int, typer.Argument(metavar="ID", help="Queue entry id.")],
    as_json: JsonOption = False,
) -> None:
    """Show one queued error in full: message, fix hint, payload, retry state."""
    with opened_store(ctx) as store:
        item = get_error(store, item_id)
    data = error_dict(item)
    if as_json:
        emit_json(data)
        return
    table = Table("key", "value", title=f"error {item.id}", show_header=False)
    for key, value in data.items():
        if key != "payload":
            table.add_row(key, "" if value is None else str(value))
    out.print(table)
    payload = Table("field", "value", title="payload (values leadbridge tried to write)")
    for key, value in sorted(item.payload.items()):
        payload.add_row(key, shown(value) if not key.startswith("__") else str(value))
    out.print(payload)


@errors_app.command("retry")
@handles_errors
@usage_errors
def errors_retry(
    ctx: typer.Context,
    item_id: Annotated[
        int | None, typer.Argument(metavar="[ID]", help="Queue entry id (or use --all).")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every open entry.")] = False,
    pair: PairOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make entries due now: the next sync, scoring or workflows run (by pair) takes them up."""
    if (item_id is None) == (not every):
        raise BadValueError("ID / --all", "give an ID or --all (not both)")
    if pair and not every:
        raise BadValueError("--pair", "--pair goes with --all")
    with opened_store(ctx) as store:
        items = mark_for_retry(
            store, ids=[item_id] if item_id is not None else [], every=every, pair=pair
        )
    rows = [
        {**error_dict(item), "reread_side": side, "reread_record": record,
         "retried_by": retried_by(item.pair)}
        for item in items
        for side, record in [retried_record(item)]
    ]  # fmt: skip
    if as_json:
        emit_json({"marked": rows})
        return
    if not rows:
        out.print("no open entries to retry")
        return
    table = Table(
        "id",
        "pair",
        "re-read",
        "record",
        "refused by",
        "category",
        "retried by",
        title=f"{len(rows)} entr{'y' if len(rows) == 1 else 'ies'} due now:",
    )
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["pair"],
            row["reread_side"],
            row["reread_record"],
            f"{row['side']} {row['record_id']}",
            row["category"],
            row["retried_by"],
        )
    out.print(table)


def retried_by(pair: str) -> str:
    """What takes up a retried entry of this queue pair."""
    if pair == WORKFLOWS_QUEUE:
        return "next `leadbridge workflows run` redoes the failed step"
    if pair == SCORING_QUEUE:
        return "next `leadbridge score` writes the score again"
    return "next `leadbridge sync` re-reads and re-plans"


@errors_app.command("export")
@handles_errors
@usage_errors
def errors_export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    pair: PairOption = None,
    status: Annotated[str, typer.Option("--status", help="open, resolved or all.")] = "all",
) -> None:
    """Export queue entries (all of them by default) as CSV or JSON."""
    chosen = _FORMAT[_choice(fmt, tuple(_FORMAT), "--format")]
    wanted = _status(status)
    with opened_store(ctx) as store:
        text = export_errors(list_errors(store, pair=pair, status=wanted), chosen)
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    out.print(f"wrote {text.count(chr(10)) - (1 if chosen == 'csv' else 0)} line(s) to {output}")


# -- audit ------------------------------------------------------------------------------------


def _lineage_table(rows: Sequence[Lineage], title: str) -> Table:
    table = Table(
        "when", "run", "pair", "side", "record", "field", "old -> new", "from", "rule", title=title
    )
    for row in rows:
        table.add_row(
            row.written_at.isoformat(timespec="seconds"),
            str(row.run_id),
            row.pair,
            row.target_side,
            row.record_id,
            row.field,
            f"{shown(row.old_value)} -> {shown(row.new_value)}",
            row.source_side,
            row.rule,
        )
    return table


@audit_app.command("record")
@handles_errors
@usage_errors
def audit_record(
    ctx: typer.Context,
    record_id: Annotated[
        str, typer.Argument(metavar="ID", help="A HubSpot record id or a Salesforce id.")
    ],
    pair: PairOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every value leadbridge wrote to a record and to the record linked to it."""
    with opened_store(ctx) as store:
        history = record_history(store, record_id, pair=pair)
    if as_json:
        emit_json(
            {
                "record_id": history.record_id,
                "links": [vars(link) for link in history.links],
                "writes": [lineage_dict(row) for row in history.writes],
            }
        )
        return
    for link in history.links:
        out.print(
            f"{link.pair}: HubSpot {link.hubspot_id} <-> Salesforce {link.salesforce_type} "
            f"{link.salesforce_id}"
        )
    if not history.links:
        out.print(f"{record_id} is not linked now")
    if history.writes:
        out.print(_lineage_table(history.writes, f"{len(history.writes)} write(s)"))
    else:
        out.print("leadbridge has written no field of it")


@audit_app.command("field")
@handles_errors
@usage_errors
def audit_field(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(help="The field's name on the side written (FirstName, jobtitle).")
    ],
    since: Annotated[
        str | None,
        typer.Option("--since", help="From this date or date-time (UTC unless it has a zone)."),
    ] = None,
    pair: PairOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every write of one field, oldest first."""
    try:
        start = parse_since(since) if since is not None else None
    except ValueError as exc:
        raise BadValueError("--since", str(exc)) from None
    with opened_store(ctx) as store:
        rows = field_history(store, name, since=start, pair=pair)
    if as_json:
        emit_json({"field": name, "since": start, "writes": [lineage_dict(r) for r in rows]})
    elif rows:
        out.print(_lineage_table(rows, f"{name}: {len(rows)} write(s)"))
    else:
        out.print(f"leadbridge has written no {name!r}" + (f" since {since}" if since else ""))


# -- revert -----------------------------------------------------------------------------------


@revert_app.callback(invoke_without_command=True)
@handles_errors
@usage_errors
def revert(
    ctx: typer.Context,
    run_id: Annotated[int, typer.Option("--run", help="The run to revert.")],
    field: Annotated[
        str | None, typer.Option("--field", help="Only this field (its name on the side written).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be written; write nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Write back the values a run replaced, as a new run whose lineage says "revert"."""
    loaded = state_of(ctx).config()
    with opened_store(ctx) as store:
        run = get_run(store, run_id)
        pair = next((p for p in loaded.settings.sync.pairs if p.name == run.pair), None)
        if pair is None:
            raise ConfigError(
                f"run {run_id} belongs to the pair {run.pair!r}, which is not configured",
                source=loaded.source,
                key="sync.pairs",
                hint="add that pair (and its mapping file) to the configuration",
            )
        mapping = load_mapping(loaded.resolve(pair.mapping))
        plan = plan_revert(
            store,
            run_id,
            field=field,
            hubspot_object=mapping.hubspot_object,
            salesforce_object=mapping.salesforce_object,
        )
        if dry_run:
            report = RevertReport(plan=plan, dry_run=True)
        else:
            connectors = _connectors(ctx) if plan.to_write else {}
            report = apply_revert(store, plan, connectors=connectors)
    _render_revert(report, as_json=as_json)
    if report.failures:
        raise typer.Exit(EXIT_PROBLEMS)


def _connectors(ctx: typer.Context) -> dict[Side, Connector]:
    # Imported here: the API clients are slow to import and only a real revert needs them.
    from leadbridge.connectors.factory import hubspot_from_config, salesforce_from_config

    loaded = state_of(ctx).config()
    return {"hubspot": hubspot_from_config(loaded), "salesforce": salesforce_from_config(loaded)}


def _render_revert(report: RevertReport, *, as_json: bool) -> None:
    data = report.as_dict()
    if as_json:
        emit_json(data)
        return
    plan = report.plan
    what = f"run {plan.run_id}" + (f", field {plan.field}" if plan.field else "")
    if not plan.writes:
        out.print(f"{what} wrote nothing to revert")
        return
    table = Table("side", "object", "record", "field", "written -> back to", "status", "reason")
    for row in data["writes"]:
        table.add_row(
            row["side"],
            row["object"],
            row["record_id"],
            row["field"],
            f"{row['from_shown']} -> {row['to_shown']}",
            row["status"],
            row["reason"],
        )
    out.print(table)
    counts = {status: 0 for status in ("planned", "written", "failed", "skipped")}
    for row in data["writes"]:
        counts[row["status"]] += 1
    if report.dry_run:
        out.print(f"dry run: reverting {what} would write {counts['planned']} value(s)")
    elif report.revert_run_id is None:
        out.print(f"nothing written: every write of {what} is skipped")
    else:
        out.print(
            f"reverted {what} as run {report.revert_run_id}: {counts['written']} written, "
            f"{counts['failed']} failed (see `leadbridge errors list`), "
            f"{counts['skipped']} skipped"
        )
