"""The `leadbridge` command: parses, calls, renders. Logic lives in the modules it calls.

Exit codes (docs/cli.md): 0 ok, 1 the command found problems, 2 usage or configuration error,
3 an internal error (a bug: please report it with the log).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated, Any

import tomli_w
import typer
from rich.table import Table

from leadbridge import __version__
from leadbridge.cli_common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    AppState,
    JsonOption,
    emit_json,
    handles_errors,
    out,
    state_of,
)
from leadbridge.cli_ops import audit_app, errors_app, revert_app
from leadbridge.cli_sandbox import read_info, sandbox_app, sandbox_config
from leadbridge.cli_score import register as register_score
from leadbridge.cli_setup import register as register_setup
from leadbridge.cli_sync import register as register_sync
from leadbridge.cli_workflows import register as register_workflows
from leadbridge.config_check import check_config
from leadbridge.errors import ConfigError
from leadbridge.store.db import Store, current_revision, head_revision, make_engine, upgrade
from leadbridge.store.summary import summarize

EXAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "config.example.toml"

app = typer.Typer(
    name="leadbridge",
    help="Keep HubSpot and Salesforce in step for lead nurturing: sync, score, hand over, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Validate and show the configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Create and upgrade the state store.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(errors_app, name="errors")
app.add_typer(audit_app, name="audit")
app.add_typer(revert_app, name="revert")
register_sync(app)
register_score(app)
register_setup(app)
register_workflows(app)


def _version(value: bool) -> None:
    if value:
        print(f"leadbridge {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="LEADBRIDGE_CONFIG",
            help="Configuration file (default ./leadbridge.toml when present).",
        ),
    ] = None,
    log_format: Annotated[
        str | None,
        typer.Option("--log-format", help="Log line format: text or json (overrides config)."),
    ] = None,
    log_level: Annotated[
        str | None, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR.")
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Keep HubSpot and Salesforce in step for lead nurturing: sync, score, hand over, report."""
    if log_format is not None and log_format not in ("text", "json"):
        raise typer.BadParameter("use text or json", param_hint="--log-format")
    if log_level is not None and log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise typer.BadParameter("use DEBUG, INFO, WARNING or ERROR", param_hint="--log-level")
    ctx.obj = AppState(
        config_file=config,
        log_format=log_format,
        log_level=log_level.upper() if log_level else None,
    )


@app.command()
@handles_errors
def init(
    path: Annotated[Path, typer.Option("--path", help="Where to write the config.")] = Path(
        "leadbridge.toml"
    ),
    sandbox_info: Annotated[
        Path | None,
        typer.Option("--sandbox-info", help="Write a config for this running sandbox instead."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a starting configuration: the commented example, or one for a running sandbox."""
    if path.exists() and not force:
        raise ConfigError(
            "the file already exists", source=str(path), hint="pass --force to overwrite it"
        )
    if sandbox_info is not None:
        config, environment = sandbox_config(read_info(sandbox_info))
        path.write_text(
            "# Written by `leadbridge init --sandbox-info`: reaches the local sandbox.\n"
            + tomli_w.dumps(config),
            encoding="utf-8",
        )
        out.print(f"wrote {path}; its secrets come from the environment (sandbox values):")
        for name, value in environment.items():
            print(f"export {name}={value}")
        return
    if not EXAMPLE_CONFIG.exists():
        raise ConfigError(
            "config.example.toml is missing from the installation",
            source=str(EXAMPLE_CONFIG),
            hint="install leadbridge from its source tree",
        )
    shutil.copyfile(EXAMPLE_CONFIG, path)
    out.print(f"wrote {path}; edit it, then run `leadbridge config check`")


@config_app.command("check")
@handles_errors
def config_check(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Validate the configuration and check that every secret it references can be read."""
    loaded = state_of(ctx).config()
    problems = check_config(loaded)
    if problems:
        if len(problems) == 1:
            raise problems[0]
        raise ConfigError(
            f"{len(problems)} problems:\n  " + "\n  ".join(str(p) for p in problems),
            source=loaded.source,
            hint="correct each one listed",
        )
    if as_json:
        emit_json({"ok": True, "source": loaded.source})
    else:
        out.print(f"[green]ok[/green]: {loaded.source} is valid and its secrets are readable")


@config_app.command("show")
@handles_errors
def config_show(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Print the effective configuration (file + environment); secrets show as references."""
    loaded = state_of(ctx).config()
    data = loaded.settings.model_dump(mode="json", exclude_none=True)
    if as_json:
        emit_json({"source": loaded.source, "settings": data})
        return
    table = Table("key", "value", title=f"configuration from {loaded.source}")
    for key, value in _flatten(data):
        table.add_row(key, value)
    out.print(table)


def _flatten(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(data, dict):
        rows: list[tuple[str, str]] = []
        for key, value in data.items():
            rows.extend(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return rows
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        rows = []
        for index, item in enumerate(data):
            rows.extend(_flatten(item, f"{prefix}[{index}]"))
        return rows
    return [(prefix, json.dumps(data, ensure_ascii=False))]


def _open_store(ctx: typer.Context) -> Store:
    loaded = state_of(ctx).config()
    return Store.open(database_url=loaded.settings.state.database_url)


@db_app.command("upgrade")
@handles_errors
def db_upgrade(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Create the state store or bring its schema to the newest revision."""
    engine = make_engine(state_of(ctx).config().settings.state.database_url)
    try:
        before, after = upgrade(engine)
    finally:
        engine.dispose()
    if as_json:
        emit_json({"from": before, "to": after, "changed": before != after})
    elif before == after:
        out.print(f"state store already at revision {after}")
    else:
        out.print(f"state store upgraded from {before or '(empty)'} to {after}")


@db_app.command("status")
@handles_errors
def db_status(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the schema revision of the state store against the newest one; 1 if behind."""
    engine = make_engine(state_of(ctx).config().settings.state.database_url)
    try:
        current, head = current_revision(engine), head_revision(engine)
        url = engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()
    if as_json:
        emit_json({"database": url, "revision": current, "head": head, "current": current == head})
    else:
        state = "[green]up to date[/green]" if current == head else "[yellow]behind[/yellow]"
        out.print(f"{url}: revision {current or '(empty)'}, newest {head}: {state}")
    if current != head:
        raise typer.Exit(EXIT_PROBLEMS)


@app.command()
@handles_errors
def status(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Summarise the state store: links per pair, open errors, the latest runs."""
    store = _open_store(ctx)
    try:
        summary = summarize(store)
    finally:
        store.close()
    if as_json:
        emit_json(summary)
        return
    out.print(f"state store {summary['database']} at revision {summary['schema_revision']}")
    table = Table("pair", "links", "open errors", title="pairs")
    pairs = sorted(set(summary["links"]) | set(summary["open_errors"]))
    for pair in pairs:
        table.add_row(
            pair, str(summary["links"].get(pair, 0)), str(summary["open_errors"].get(pair, 0))
        )
    out.print(table if pairs else "no linked records yet")
    if summary["last_runs"]:
        runs = Table("run", "kind", "pair", "outcome", "started", title="latest runs")
        for run in summary["last_runs"]:
            runs.add_row(
                str(run["id"]), run["kind"], run["pair"], run["outcome"], run["started_at"]
            )
        out.print(runs)


@app.command()
@handles_errors
def demo(
    state_dir: Annotated[
        Path, typer.Option("--state-dir", help="Folder for the demo's SQLite state store.")
    ] = Path(".leadbridge/demo"),
    leads: Annotated[int, typer.Option("--leads", help="Seeded Salesforce leads.", min=1)] = 200,
    as_json: JsonOption = False,
) -> None:
    """Run the main job against the built-in sandbox on an embedded SQLite store."""
    from leadbridge.demo import run_demo

    def say(line: str) -> None:
        out.print(f"[green]✓[/green] {line}", highlight=False)

    report = run_demo(state_dir=state_dir, leads=leads, say=None if as_json else say)
    if as_json:
        emit_json(report)
        return
    for missing in report["not_yet"]:
        out.print(f"[dim]- not yet available: {missing}[/dim]")


def main() -> None:
    """Console-script entry point."""
    app()
