"""Fixtures for setup tests: a fresh sandbox and a config (and environment) that reaches it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from typer.testing import CliRunner, Result

from leadbridge.cli import app
from leadbridge.cli_sandbox import sandbox_config
from leadbridge.connectors.base import Connector, Side
from leadbridge.connectors.factory import hubspot_from_sandbox, salesforce_from_sandbox
from leadbridge.sandbox.runtime import RunningSandbox, SandboxOptions

runner = CliRunner()


@dataclass
class Org:
    """A running sandbox, the config file that reaches it, and a way to run the CLI on it."""

    sandbox: RunningSandbox
    config: Path
    database_url: str

    def connectors(self) -> dict[Side, Connector]:
        """Fresh connectors (no cached describes)."""
        info = self.sandbox.info()
        return {"salesforce": salesforce_from_sandbox(info), "hubspot": hubspot_from_sandbox(info)}

    def write(self, extra: dict[str, Any]) -> None:
        """Rewrite the config with extra sections merged in."""
        settings, _ = sandbox_config(self.sandbox.info())
        settings["state"] = {"database_url": self.database_url}
        settings |= extra
        self.config.write_text(tomli_w.dumps(settings), encoding="utf-8")

    def cli(self, *args: str) -> Result:
        """Run `leadbridge --config ... ARGS`."""
        return runner.invoke(app, ["--config", str(self.config), *args])

    def json(self, *args: str) -> tuple[int, Any]:
        """Run a --json command; its exit code and parsed output."""
        result = self.cli(*args, "--json")
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def orgs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Org]]:
    """Start fresh, seeded sandboxes (no leadbridge fields yet), each with a config for it."""
    started: list[RunningSandbox] = []

    def make(database_url: str) -> Org:
        folder = tmp_path / f"sbx{len(started)}"
        sandbox = RunningSandbox(options=SandboxOptions(folder=folder, leads=5)).start()
        started.append(sandbox)
        _, environment = sandbox_config(sandbox.info())
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        org = Org(sandbox, folder / "leadbridge.toml", database_url)
        org.write({})
        return org

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def org(orgs: Callable[[str], Org], database_url: str) -> Org:
    """A fresh sandbox whose state store runs on each backend."""
    return orgs(database_url)


@pytest.fixture
def lite_org(orgs: Callable[[str], Org], tmp_path: Path) -> Org:
    """A fresh sandbox with a SQLite state store (for tests the backend does not matter to)."""
    return orgs(f"sqlite:///{tmp_path / 'lite.db'}")
