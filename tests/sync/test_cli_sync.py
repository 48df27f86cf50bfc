"""`leadbridge sync` and `leadbridge run` against the sandbox, through the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w
from typer.testing import CliRunner

from leadbridge.cli import app
from leadbridge.cli_sandbox import sandbox_config
from leadbridge.connectors.factory import hubspot_from_sandbox, salesforce_from_sandbox
from leadbridge.sandbox.runtime import RunningSandbox, SandboxOptions
from leadbridge.setup.fields import hubspot_specs, salesforce_specs

runner = CliRunner()


@pytest.fixture
def config(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, RunningSandbox]]:
    with RunningSandbox(options=SandboxOptions(folder=tmp_path / "sbx", leads=20)) as sandbox:
        info = sandbox.info()
        salesforce_from_sandbox(info).ensure_fields("Lead", salesforce_specs(), apply=True)
        hubspot_from_sandbox(info).ensure_fields("contacts", hubspot_specs(), apply=True)
        settings, environment = sandbox_config(info)
        settings["state"] = {"database_url": database_url}
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        path = tmp_path / "leadbridge.toml"
        path.write_text(tomli_w.dumps(settings), encoding="utf-8")
        yield path, sandbox


def test_dry_run_then_sync_then_quiet(config: tuple[Path, RunningSandbox]) -> None:
    path, _ = config
    base = ["--config", str(path), "sync"]
    dry = runner.invoke(app, [*base, "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    planned = json.loads(dry.stdout)
    assert planned["runs"][0]["dry_run"] is True
    assert any("create_in_hubspot" in line for line in planned["plan"]["contact_lead"])
    first = runner.invoke(app, [*base, "--json"])
    assert first.exit_code == 0, first.output
    run = json.loads(first.stdout)["runs"][0]
    assert run["outcome"] == "ok"
    assert run["sides"]["hubspot"]["created"] > 0
    assert run["sides"]["salesforce"]["api_calls"] > 0
    second = runner.invoke(app, [*base, "--json"])
    sides = json.loads(second.stdout)["runs"][0]["sides"]
    assert all(sides[s]["created"] == sides[s]["updated"] == 0 for s in sides)
    shown = runner.invoke(app, [*base, "--pair", "contact_lead"])
    assert shown.exit_code == 0
    assert "contact_lead: ok" in shown.output


def test_unknown_pair_is_a_usage_error(config: tuple[Path, RunningSandbox]) -> None:
    path, _ = config
    result = runner.invoke(app, ["--config", str(path), "sync", "--pair", "nope"])
    assert result.exit_code == 2
    assert "contact_lead" in result.output


def test_scheduler_runs_pairs_and_refuses_a_second_instance(
    config: tuple[Path, RunningSandbox],
) -> None:
    path, _ = config
    from leadbridge.config import load_config
    from leadbridge.store.db import Store
    from leadbridge.sync.jobs import SyncJobs
    from leadbridge.sync.scheduler import EmbeddedScheduler

    loaded = load_config(path)
    store = Store.open(database_url=loaded.settings.state.database_url)
    reports = []
    first = EmbeddedScheduler(
        jobs=SyncJobs.from_config(loaded, store=store), on_report=reports.append, holder="a"
    )
    first.start()
    try:
        second = EmbeddedScheduler(jobs=first.jobs, holder="b")
        with pytest.raises(Exception, match="another `leadbridge run` is active"):
            second.start()
        refused = runner.invoke(app, ["--config", str(path), "run", "--exit-after", "0.1"])
        assert refused.exit_code == 1
        assert "another `leadbridge run` is active" in refused.output
        for _ in range(200):
            if reports:
                break
            first.wait(seconds=0.05)
        assert reports
        assert reports[0].outcome == "ok"
    finally:
        first.stop()
        store.close()
    ran = runner.invoke(app, ["--config", str(path), "run", "--exit-after", "1"])
    assert ran.exit_code == 0, ran.output
    assert "scheduler stopped" in ran.output
