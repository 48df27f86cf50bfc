"""CLI: help and documented examples for every command, exit codes, --json, no tracebacks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from leadbridge import __version__
from leadbridge.cli import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def leaf_commands() -> list[tuple[str, Any]]:
    """Every runnable command as ('db upgrade', command)."""
    found: list[tuple[str, Any]] = []

    def walk(command: Any, path: list[str]) -> None:
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        else:
            found.append((" ".join(path), command))

    walk(typer.main.get_command(app), [])
    return found


def documented_examples() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md"))


@pytest.mark.parametrize(("path", "command"), leaf_commands(), ids=lambda v: str(v))
def test_every_command_has_help_and_a_documented_example(path: str, command: Any) -> None:
    assert (command.help or "").strip(), f"`leadbridge {path}` has no help text"
    examples = re.findall(r"^\$ (leadbridge .+)$", documented_examples(), flags=re.MULTILINE)
    assert any(
        example == f"leadbridge {path}" or example.startswith(f"leadbridge {path} ")
        for example in examples
    ), f"no `$ leadbridge {path}` example in docs/"
    result = runner.invoke(app, [*path.split(), "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_reporting_commands_take_json() -> None:
    reporting = {
        "status",
        "config check",
        "config show",
        "db upgrade",
        "db status",
        "demo",
        "sandbox calls",
    }
    for path, command in leaf_commands():
        if path in reporting:
            assert any("--json" in p.opts for p in command.params), path


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"leadbridge {__version__}"


def test_no_arguments_shows_help() -> None:
    result = runner.invoke(app, [])
    assert result.exit_code == 2
    assert "Usage" in result.output


def test_usage_error_exits_2() -> None:
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2
    assert runner.invoke(app, ["--log-format", "xml", "status"]).exit_code == 2


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[state\n", "not valid TOML"),
        ("[logging]\nlevle = 'INFO'\n", "did you mean 'level'?"),
        ("[sync]\noverlap_seconds = 'x'\n", "sync.overlap_seconds: expected an integer"),
        ('[hubspot]\naccess_token = "pat-na1-secretvalue-123456"\n', "inline secret"),
        ('[hubspot]\naccess_token = { env = "UNSET_VAR_FOR_TEST" }\n', "UNSET_VAR_FOR_TEST"),
    ],
    ids=["broken-toml", "unknown-key", "wrong-type", "inline-secret", "missing-env-var"],
)
def test_bad_config_exits_2_with_one_clear_message(tmp_path: Path, text: str, needle: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["--config", str(config), "config", "check"])
    assert result.exit_code == 2
    assert needle in result.output
    assert str(config) in result.output
    assert "Traceback" not in result.output
    assert "secretvalue" not in result.output
    assert result.output.count("error:") == 1


def test_bad_config_with_json_gives_a_json_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[logging]\nlevle = 'INFO'\n", encoding="utf-8")
    result = runner.invoke(app, ["--config", str(config), "config", "check", "--json"])
    assert result.exit_code == 2
    payload = json.loads(result.stdout.splitlines()[0])
    assert payload["ok"] is False
    assert payload["error"]["key"] == "logging.levle"
    assert payload["error"]["source"] == str(config)


def test_config_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "env.toml"
    config.write_text("[logging]\nlevel = 'nope'\n", encoding="utf-8")
    monkeypatch.setenv("LEADBRIDGE_CONFIG", str(config))
    result = runner.invoke(app, ["config", "check"])
    assert result.exit_code == 2
    assert str(config) in result.output


def test_init_writes_a_valid_config_and_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "leadbridge.toml"
    assert runner.invoke(app, ["init", "--path", str(target)]).exit_code == 0
    assert target.read_text(encoding="utf-8") == (ROOT / "config.example.toml").read_text(
        encoding="utf-8"
    )
    again = runner.invoke(app, ["init", "--path", str(target)])
    assert again.exit_code == 2
    assert "--force" in again.output
    shown = runner.invoke(app, ["--config", str(target), "config", "show", "--json"])
    assert shown.exit_code == 0
    settings = json.loads(shown.stdout)["settings"]
    assert settings["hubspot"]["access_token"] == {"env": "LEADBRIDGE_HUBSPOT_TOKEN"}


def test_config_check_ok_when_secrets_are_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "ok.toml"
    config.write_text('[hubspot]\naccess_token = { env = "HS_OK_TOKEN" }\n', encoding="utf-8")
    monkeypatch.setenv("HS_OK_TOKEN", "pat-value-for-test")
    result = runner.invoke(app, ["--config", str(config), "config", "check", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"ok": True, "source": str(config)}


def test_db_upgrade_status_and_status_on_each_backend(tmp_path: Path, database_url: str) -> None:
    config = tmp_path / "db.toml"
    config.write_text(f"[state]\ndatabase_url = '{database_url}'\n", encoding="utf-8")
    base = ["--config", str(config)]
    behind = runner.invoke(app, [*base, "db", "status", "--json"])
    assert behind.exit_code == 1
    assert json.loads(behind.stdout)["revision"] is None
    first = runner.invoke(app, [*base, "db", "upgrade", "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["changed"] is True
    second = runner.invoke(app, [*base, "db", "upgrade", "--json"])
    assert json.loads(second.stdout)["changed"] is False
    current = runner.invoke(app, [*base, "db", "status", "--json"])
    assert current.exit_code == 0
    assert json.loads(current.stdout)["current"] is True
    summary = runner.invoke(app, [*base, "status", "--json"])
    assert summary.exit_code == 0
    assert json.loads(summary.stdout)["links"] == {}


def test_unreachable_store_exits_2_without_traceback(tmp_path: Path) -> None:
    config = tmp_path / "db.toml"
    config.write_text(
        "[state]\ndatabase_url = 'postgresql+psycopg://nobody@127.0.0.1:1/x?connect_timeout=2'\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["--config", str(config), "status"])
    assert result.exit_code == 2
    assert "cannot open the state store" in result.output
    assert "Traceback" not in result.output


def test_demo_runs_and_reports(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["demo", "--state-dir", str(tmp_path / "demo"), "--leads", "20", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"]["schema_revision"] == report["summary"]["schema_head"]
    assert (tmp_path / "demo" / "state.db").exists()
    assert report["calls"]["salesforce"] > 0
    assert report["calls"]["hubspot"] > 0
    assert any("a second plan has 0 change(s)" in step for step in report["steps"])
    assert any(step.startswith("scoring: ok") for step in report["steps"])
    assert any("(MQL: True)" in step for step in report["steps"])
    assert any("e-mail delivered to inside-sales@" in step for step in report["steps"])
    assert report["not_yet"] == []
    quiet = next(s for s in report["steps"] if s.startswith("sync after scoring"))
    assert "created 0, updated 0" in quiet


def test_sandbox_info_gives_a_working_config_and_call_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadbridge.sandbox.runtime import RunningSandbox, SandboxOptions

    with RunningSandbox(options=SandboxOptions(folder=tmp_path / "sbx", leads=10)) as sandbox:
        info_file = tmp_path / "sbx" / "info.json"
        sandbox.write_info(info_file)
        assert oct(info_file.stat().st_mode & 0o777) == "0o600"
        config = tmp_path / "sandbox.toml"
        made = runner.invoke(app, ["init", "--path", str(config), "--sandbox-info", str(info_file)])
        assert made.exit_code == 0, made.output
        secret = sandbox.info()["salesforce"]["client_secret"]
        assert secret not in config.read_text(encoding="utf-8")
        for line in made.stdout.splitlines():
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").partition("=")
                monkeypatch.setenv(name, value)
        checked = runner.invoke(app, ["--config", str(config), "config", "check"])
        assert checked.exit_code == 0, checked.output
        log = runner.invoke(app, ["sandbox", "calls", "--info-file", str(info_file), "--json"])
        assert log.exit_code == 0, log.output
        assert set(json.loads(log.stdout)) == {"salesforce", "hubspot"}


def test_sandbox_calls_without_a_sandbox_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sandbox", "calls", "--info-file", str(tmp_path / "none.json")])
    assert result.exit_code == 2
    assert "leadbridge sandbox serve" in result.output
