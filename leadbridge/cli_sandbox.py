"""`leadbridge sandbox ...`: run the local Salesforce and HubSpot emulators, read call logs."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import requests
import typer
from rich.table import Table

from leadbridge.cli_common import JsonOption, emit_json, handles_errors, out
from leadbridge.errors import ConfigError
from leadbridge.sandbox.faults import CONTROL_PREFIX
from leadbridge.sandbox.runtime import DEFAULT_FOLDER, RunningSandbox, SandboxOptions

DEFAULT_INFO = DEFAULT_FOLDER / "info.json"
SHIPPED_MAPPING = Path(__file__).resolve().parents[1] / "mappings" / "contact_lead.toml"

sandbox_app = typer.Typer(
    help="Run local emulators of Salesforce and HubSpot (demo, offline trials, tests).",
    no_args_is_help=True,
)

InfoOption = Annotated[
    Path, typer.Option("--info-file", help="Where the running sandbox describes itself.")
]


@sandbox_app.command("serve")
@handles_errors
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    salesforce_port: Annotated[
        int, typer.Option("--salesforce-port", help="HTTPS port of Salesforce (0: any).")
    ] = 8443,
    hubspot_port: Annotated[
        int, typer.Option("--hubspot-port", help="HTTP port of HubSpot (0: any).")
    ] = 8080,
    leads: Annotated[int, typer.Option("--leads", help="Seeded Salesforce leads.", min=0)] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generated data.")] = 42,
    info_file: InfoOption = DEFAULT_INFO,
) -> None:
    """Serve both emulators until interrupted; write how to reach them to the info file."""
    options = SandboxOptions(
        folder=info_file.parent,
        host=host,
        salesforce_port=salesforce_port,
        hubspot_port=hubspot_port,
        leads=leads,
        seed=seed,
    )
    try:
        sandbox = RunningSandbox(options=options).start()
    except OSError as exc:
        raise ConfigError(
            f"cannot listen: {exc.strerror}",
            key="--salesforce-port/--hubspot-port",
            hint="choose free ports, or 0 for any free port",
        ) from None
    try:
        sandbox.write_info(info_file)
        info = sandbox.info()
        salesforce = info["salesforce"]
        out.print(f"Salesforce  {salesforce['instance_url']}  (CA {salesforce['ca_file']})")
        out.print(f"HubSpot     {info['hubspot']['base_url']}")
        out.print(f"seeded {leads} leads (seed {seed}); credentials in {info_file}")
        out.print("press Ctrl-C to stop")
        # A service manager stops us with SIGTERM: leave through the same path as Ctrl-C.
        signal.signal(signal.SIGTERM, _interrupt)
        threading.Event().wait()
    except KeyboardInterrupt:
        out.print("stopping")
    finally:
        sandbox.stop()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def sandbox_config(info: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A configuration that reaches the sandbox, and the environment its secrets need."""
    salesforce, hubspot = info["salesforce"], info["hubspot"]
    config = {
        "salesforce": {
            "instance_url": salesforce["instance_url"],
            "login_url": salesforce["login_url"],
            "api_version": salesforce["api_version"],
            "auth": "client_credentials",
            "client_id": salesforce["client_id"],
            "username": salesforce["username"],
            "client_secret": {"env": "LEADBRIDGE_SANDBOX_SALESFORCE_SECRET"},
            "ca_file": salesforce["ca_file"],
            "daily_api_share": 1.0,
        },
        "hubspot": {
            "base_url": hubspot["base_url"],
            "access_token": {"env": "LEADBRIDGE_SANDBOX_HUBSPOT_TOKEN"},
            "daily_api_share": 1.0,
        },
        "sync": {"pairs": [{"name": "contact_lead", "mapping": str(SHIPPED_MAPPING)}]},
    }
    environment = {
        "LEADBRIDGE_SANDBOX_SALESFORCE_SECRET": salesforce["client_secret"],
        "LEADBRIDGE_SANDBOX_HUBSPOT_TOKEN": hubspot["access_token"],
    }
    return config, environment


def read_info(path: Path) -> dict[str, Any]:
    """The info file of a running sandbox, or a clear error."""
    try:
        info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            "no sandbox info file here",
            source=str(path),
            hint="start one with `leadbridge sandbox serve` (or pass --info-file)",
        ) from None
    except ValueError:
        raise ConfigError(
            "the sandbox info file is not JSON", source=str(path), hint="restart the sandbox"
        ) from None
    return info


@sandbox_app.command("calls")
@handles_errors
def calls(info_file: InfoOption = DEFAULT_INFO, as_json: JsonOption = False) -> None:
    """Show the API calls each emulator has served, by endpoint."""
    info = read_info(info_file)
    session = requests.Session()
    session.trust_env = False
    session.verify = info["salesforce"]["ca_file"]
    logs: dict[str, Any] = {}
    for system, base in (
        ("salesforce", info["salesforce"]["instance_url"]),
        ("hubspot", info["hubspot"]["base_url"]),
    ):
        try:
            response = session.get(f"{base}{CONTROL_PREFIX}/{system}/calls", timeout=10)
            response.raise_for_status()
        except requests.RequestException as exc:
            raise ConfigError(
                f"the {system} emulator does not answer ({type(exc).__name__})",
                source=str(info_file),
                hint="is `leadbridge sandbox serve` still running?",
            ) from None
        logs[system] = response.json()
    if as_json:
        emit_json(logs)
        return
    for system, log in logs.items():
        counts = log.get("calls", log)
        table = Table("endpoint", "calls", title=f"{system}: {log.get('total', '')} calls")
        for endpoint, count in sorted(counts.items()) if isinstance(counts, dict) else []:
            table.add_row(endpoint, str(count))
        out.print(table)
