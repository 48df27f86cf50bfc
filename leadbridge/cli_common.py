"""What every CLI module shares: exit codes, consoles, global state, error handling, --json."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from leadbridge.config import LoadedConfig, config_path, load_config
from leadbridge.errors import ConfigError, LeadbridgeError, StoreError
from leadbridge.logs import configure_logging, redact

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


def _width() -> int | None:
    """Terminal width when attached to one; wide otherwise, so piped tables are not cut."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit():
        return int(columns)
    return None if sys.stdout.isatty() else PIPED_WIDTH


PIPED_WIDTH = 200
# With a width, rich also needs a height, or a "dumb" TERM (CI, pipes) forces 80 columns back.
_columns = _width()
out = Console(soft_wrap=True, width=_columns, height=25 if _columns else None)
err = Console(stderr=True, soft_wrap=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class AppState:
    """Global options, and the configuration loaded once on first use."""

    config_file: Path | None = None
    log_format: str | None = None
    log_level: str | None = None
    loaded: LoadedConfig | None = field(default=None)

    def config(self) -> LoadedConfig:
        """Load (once) and return the validated configuration."""
        if self.loaded is None:
            self.loaded = load_config(config_path(self.config_file))
            settings = self.loaded.settings.logging
            configure_logging(
                level=self.log_level or settings.level,
                fmt="json" if (self.log_format or settings.format) == "json" else "text",
            )
        return self.loaded


def state_of(ctx: typer.Context) -> AppState:
    state = ctx.find_root().obj
    if not isinstance(state, AppState):
        state = AppState()
        ctx.find_root().obj = state
    return state


def handles_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn leadbridge errors into one clear message and the documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (ConfigError, StoreError) as exc:
            print_error(exc, as_json=bool(kwargs.get("as_json")))
            raise typer.Exit(EXIT_USAGE) from None
        except LeadbridgeError as exc:
            print_error(exc, as_json=bool(kwargs.get("as_json")))
            raise typer.Exit(EXIT_PROBLEMS) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            err.print(
                f"[red]internal error:[/red] {redact(f'{type(exc).__name__}: {exc}')}\n"
                "This is a bug in leadbridge; please report it with the command you ran.",
                highlight=False,
            )
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper


def print_error(exc: LeadbridgeError, *, as_json: bool) -> None:
    message = redact(exc.message)
    hint = redact(exc.hint)
    if as_json:
        details = {"message": message, "hint": hint}
        if isinstance(exc, ConfigError):
            details |= {"source": exc.source, "key": exc.key}
        print(json.dumps({"ok": False, "error": details}, ensure_ascii=False))
    err.print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    if hint:
        err.print(f"[yellow]fix:[/yellow] {hint}", highlight=False)


def emit_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
