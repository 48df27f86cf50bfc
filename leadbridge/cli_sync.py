"""`leadbridge sync` and `leadbridge run`: sync pairs once, or on a schedule."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn
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
from leadbridge.store.db import Store
from leadbridge.sync.jobs import SyncJobs
from leadbridge.sync.runner import SyncReport

PairOption = Annotated[
    str | None, typer.Option("--pair", help="Only this pair (default: every enabled pair).")
]


def _render(report: SyncReport) -> None:
    title = f"{report.pair}: {report.outcome}" + (" (dry run)" if report.dry_run else "")
    table = Table(
        "side",
        "read",
        "created",
        "updated",
        "unchanged",
        "conflicts",
        "failed",
        "skipped",
        "duplicates",
        "API calls",
        title=title,
    )
    for side, counts in report.sides.items():
        table.add_row(
            side,
            *(
                str(getattr(counts, name))
                for name in (
                    "read",
                    "created",
                    "updated",
                    "unchanged",
                    "conflicts",
                    "failed",
                    "skipped",
                    "duplicates",
                    "api_calls",
                )
            ),
        )
    out.print(table)
    if report.message:
        err.print(f"[yellow]{report.outcome}:[/yellow] {report.message}", highlight=False)


def _exit_code(reports: Sequence[SyncReport]) -> int:
    return 0 if all(r.outcome == "ok" for r in reports) else EXIT_PROBLEMS


def sync_command(
    ctx: typer.Context,
    pair: PairOption = None,
    once: Annotated[
        bool,
        typer.Option("--once", help="Run each pair once and exit (the default; for cron)."),
    ] = True,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and write nothing.")
    ] = False,
    full: Annotated[
        bool, typer.Option("--full", help="Re-read everything instead of changes since last run.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Sync HubSpot contacts and Salesforce leads once; exit 1 if any record failed."""
    loaded = state_of(ctx).config()
    store = Store.open(database_url=loaded.settings.state.database_url)
    try:
        jobs = SyncJobs.from_config(loaded, store=store)
        if as_json:
            reports = jobs.run_all(only=pair, dry_run=dry_run, full=full)
        else:
            with Progress(
                SpinnerColumn(), TextColumn("{task.description}"), transient=True, console=err
            ) as progress:
                task = progress.add_task("starting", total=None)

                def show(step: str, count: int) -> None:
                    progress.update(task, description=f"{step}: {count}")

                reports = jobs.run_all(only=pair, dry_run=dry_run, full=full, on_progress=show)
    finally:
        store.close()
    if as_json:
        payload: dict[str, Any] = {"runs": [r.as_dict() for r in reports]}
        if dry_run:
            payload["plan"] = {r.pair: r.plan_lines for r in reports}
        emit_json(payload)
    else:
        for report in reports:
            if dry_run:
                for line in report.plan_lines:
                    out.print(line, highlight=False, markup=False)
            _render(report)
    raise typer.Exit(_exit_code(reports))


def run_command(
    ctx: typer.Context,
    exit_after: Annotated[
        float | None,
        typer.Option("--exit-after", help="Stop after this many seconds (default: run forever)."),
    ] = None,
) -> None:
    """Run every enabled pair on its interval until interrupted (one process per store)."""
    from leadbridge.sync.scheduler import EmbeddedScheduler

    loaded = state_of(ctx).config()
    store = Store.open(database_url=loaded.settings.state.database_url)
    scheduler = EmbeddedScheduler(jobs=SyncJobs.from_config(loaded, store=store), on_report=_render)
    scheduler.start()
    out.print(
        "scheduler running: "
        + ", ".join(f"{p.name} every {p.interval_minutes} min" for p in scheduler.jobs.pairs())
        + "; Ctrl-C to stop"
    )

    def stop(_signum: int, _frame: object) -> None:
        scheduler.stopped.set()

    signal.signal(signal.SIGTERM, stop)
    try:
        scheduler.wait(seconds=exit_after)
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.stop()
        store.close()
    out.print("scheduler stopped")


def register(app: typer.Typer) -> None:
    """Add `sync` and `run` to the main app."""
    app.command("sync")(handles_errors(sync_command))
    app.command("run")(handles_errors(run_command))
