"""Helpers shared by every file leadbridge validates (config, mappings, rules).

They keep one message standard: the file, the dotted key, the problem and the fix, with
"did you mean" for misspelt keys and the line for broken TOML.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from leadbridge.errors import ConfigError

Problem = tuple[str, str, str]
"""One mistake as (dotted key, what is wrong, how to fix it)."""


def read_toml(path: Path, *, missing_hint: str) -> dict[str, Any]:
    """Parse a UTF-8 TOML file; any failure becomes a ConfigError naming the file (and line)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("the file does not exist", source=str(path), hint=missing_hint) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read the file ({exc.strerror})",
            source=str(path),
            hint="check the path and its permissions",
        ) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(
            "the file is not UTF-8 text", source=str(path), hint="save it as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"not valid TOML: {exc}",
            source=str(path),
            hint="correct the syntax at that line (strings need quotes, tables [brackets])",
        ) from None


def dotted_key(loc: Sequence[Any]) -> str:
    """Render a location such as ("fields", 3, "rule") as "fields[3].rule"."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part}]" if parts else f"[{part}]"
        else:
            parts.append(str(part))
    return ".".join(parts) or "(top level)"


def did_you_mean(name: str, known: Iterable[str], *, fallback: str = "") -> str:
    """The fix for an unknown key or value: the closest known one, else the list of them."""
    options = sorted(known)
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return fallback or f"remove it; valid keys here: {', '.join(options)}"


def problems_error(problems: Sequence[Problem], *, source: str) -> ConfigError:
    """One ConfigError for one or many problems (each listed with its key and fix)."""
    first_key, first_message, first_hint = problems[0]
    if len(problems) == 1:
        return ConfigError(first_message, source=source, key=first_key, hint=first_hint)
    lines = [f"{key}: {message} Fix: {hint}" for key, message, hint in problems]
    return ConfigError(
        f"{len(problems)} problems:\n  " + "\n  ".join(lines),
        source=source,
        hint="correct each key listed",
    )


class TableReader:
    """Reads a parsed TOML document key by key, collecting every problem instead of stopping.

    Used for files whose checks go beyond a schema (mappings, rules); each getter records a
    Problem and returns None (or the default) when the value is missing or wrong.
    """

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def problem(self, loc: Sequence[Any], message: str, hint: str) -> None:
        """Record one problem (an error) at a location."""
        self.problems.append((dotted_key(loc), message, hint))

    def warn(self, loc: Sequence[Any], message: str, hint: str) -> None:
        """Record a doubtful but workable choice at a location."""
        self.warnings.append((dotted_key(loc), message, hint))

    def table(
        self, value: Any, loc: Sequence[Any], *, known: Iterable[str]
    ) -> dict[str, Any] | None:
        """The value as a table with only known keys (unknown ones are reported)."""
        if not isinstance(value, dict):
            self.problem(loc, f"expected a table, got {_shown(value)}", "write it as a table")
            return None
        names = tuple(known)
        for name in value:
            if name not in names:
                self.problem([*loc, name], "unknown key", did_you_mean(str(name), names))
        return value

    def string(
        self, table: dict[str, Any], loc: Sequence[Any], name: str, *, required: bool = False
    ) -> str | None:
        """A non-empty string value (None when absent and not required)."""
        value = table.get(name)
        if value is None:
            if required:
                self.problem([*loc, name], "this key is required", f'add {name} = "..."')
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(
                [*loc, name],
                f"expected a non-empty string, got {_shown(value)}",
                f'write {name} = "..." in quotes',
            )
            return None
        return value

    def choice(
        self,
        table: dict[str, Any],
        loc: Sequence[Any],
        name: str,
        *,
        allowed: Sequence[str],
        default: str,
    ) -> str:
        """One of the allowed strings (the default when absent or wrong)."""
        value = table.get(name, default)
        if value not in allowed:
            listed = ", ".join(repr(a) for a in allowed)
            hint = did_you_mean(str(value), allowed, fallback=f"use one of {listed}")
            if hint.startswith("did you mean"):
                hint = f"{hint} (one of {listed})"
            self.problem([*loc, name], f"must be one of {listed}, got {_shown(value)}", hint)
            return default
        return str(value)

    def integer(
        self, table: dict[str, Any], loc: Sequence[Any], name: str, *, minimum: int
    ) -> int | None:
        """An integer at least `minimum` (None when absent or wrong)."""
        value = table.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.problem(
                [*loc, name],
                f"expected an integer >= {minimum}, got {_shown(value)}",
                f"write {name} = {max(minimum, 1)} (a whole number)",
            )
            return None
        return value

    def boolean(self, table: dict[str, Any], loc: Sequence[Any], name: str) -> bool | None:
        """true or false (None when absent or wrong)."""
        value = table.get(name)
        if value is None or isinstance(value, bool):
            return value
        self.problem(
            [*loc, name],
            f"expected true or false, got {_shown(value)}",
            f"write {name} = true or {name} = false",
        )
        return None

    def text_table(self, table: dict[str, Any], loc: Sequence[Any]) -> dict[str, str] | None:
        """A non-empty table of text to text (a translation), or None."""
        raw = table.get(loc[-1])
        if raw is None:
            return None
        if (
            not isinstance(raw, dict)
            or not raw
            or not all(isinstance(v, str) for v in raw.values())
        ):
            self.problem(loc, "expected a table of text to text", 'write { "FROM" = "To", ... }')
            return None
        return {str(k): v for k, v in raw.items()}

    def int_table(self, table: dict[str, Any], loc: Sequence[Any]) -> dict[str, int] | None:
        """A non-empty table of text to integers, or None."""
        raw = table.get(loc[-1])
        if raw is None:
            return None
        if not isinstance(raw, dict) or not raw or not all(_is_int(v) for v in raw.values()):
            self.problem(loc, "expected a table of text to whole numbers", 'write { "a" = 1, ... }')
            return None
        return {str(k): int(v) for k, v in raw.items()}

    def string_list(self, table: dict[str, Any], loc: Sequence[Any]) -> list[str] | None:
        """A non-empty list of strings, or None (reported when present but wrong or absent)."""
        raw = table.get(loc[-1])
        if not isinstance(raw, list) or not raw or not all(isinstance(v, str) for v in raw):
            self.problem(loc, "expected a non-empty list of strings", 'write ["value", ...]')
            return None
        return list(raw)

    def scalar(self, table: dict[str, Any], loc: Sequence[Any]) -> str | int | float | bool | None:
        """A plain string, number or boolean, or None."""
        value = table.get(loc[-1])
        if value is None or isinstance(value, str | int | float | bool):
            return value
        self.problem(loc, f"expected a plain value, got {_shown(value)}", "write text or a number")
        return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"
