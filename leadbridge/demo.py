"""`make demo`: the main job against the built-in sandbox on an embedded SQLite state store.

Starts both emulators in-process (seeded demo data), provisions leadbridge's fields through the
connectors, reads both systems, and records the run. The sync engine and the nurture layer join
this flow as they land; until then the demo lists, honestly, what is not there yet.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from leadbridge.connectors.base import Connector, ProvisionPlan
from leadbridge.connectors.factory import hubspot_from_sandbox, salesforce_from_sandbox
from leadbridge.sandbox.runtime import RunningSandbox, SandboxOptions
from leadbridge.setup.fields import hubspot_specs, salesforce_specs
from leadbridge.store.columns import utcnow
from leadbridge.store.db import Store
from leadbridge.store.models import Run
from leadbridge.store.summary import summarize

Say = Callable[[str], None]


def _provision(connector: Connector, object_name: str, specs: Any, say: Say) -> ProvisionPlan:
    plan = connector.ensure_fields(object_name, specs, apply=False)
    say(
        f"{connector.side}: plan for {object_name} has {len(plan.changes)} change(s) "
        f"({', '.join(sorted({a.kind for a in plan.changes})) or 'none'})"
    )
    connector.ensure_fields(object_name, specs, apply=True)
    again = connector.ensure_fields(object_name, specs, apply=False)
    say(f"{connector.side}: applied; a second plan has {len(again.changes)} change(s)")
    return plan


def _read_all(connector: Connector, object_name: str, fields: list[str]) -> int:
    return sum(
        len(page.records)
        for page in connector.read_changes(object_name, cursor=None, fields=fields)
    )


def run_demo(*, state_dir: Path, leads: int = 200, say: Say | None = None) -> dict[str, Any]:
    """Run the demo flow and return what happened, step by step."""
    steps: list[str] = []

    def note(line: str) -> None:
        steps.append(line)
        if say is not None:
            say(line)

    state_dir.mkdir(parents=True, exist_ok=True)
    store = Store.open(database_url=f"sqlite:///{state_dir / 'state.db'}")
    options = SandboxOptions(folder=state_dir / "sandbox", leads=leads)
    try:
        note(f"state store ready at {state_dir / 'state.db'} (schema at head)")
        with RunningSandbox(options=options) as sandbox:
            info = sandbox.info()
            note(
                f"sandbox up: Salesforce {info['salesforce']['instance_url']} with {leads} "
                f"leads, HubSpot {info['hubspot']['base_url']} with "
                f"{info['seed']['contacts']} contacts"
            )
            salesforce = salesforce_from_sandbox(info)
            hubspot = hubspot_from_sandbox(info)
            _provision(salesforce, "Lead", salesforce_specs(), note)
            _provision(hubspot, "contacts", hubspot_specs(), note)
            lead_count = _read_all(salesforce, "Lead", ["Email", "LastName", "Company"])
            contact_count = _read_all(hubspot, "contacts", ["email", "lastname", "company"])
            calls = {
                "salesforce": salesforce.budget().calls_made,
                "hubspot": hubspot.budget().calls_made,
            }
            note(
                f"read {lead_count} Salesforce leads and {contact_count} HubSpot contacts; "
                f"API calls so far: Salesforce {calls['salesforce']}, HubSpot {calls['hubspot']}"
            )
        with store.session() as session:
            run = Run(
                kind="demo",
                outcome="ok",
                finished_at=utcnow(),
                counts={"leads_read": lead_count, "contacts_read": contact_count},
                calls_salesforce=calls["salesforce"],
                calls_hubspot=calls["hubspot"],
            )
            session.add(run)
        note(f"recorded run {run.id} in the state store")
        summary = summarize(store)
    finally:
        store.close()
    return {
        "steps": steps,
        "not_yet": [
            "sync of contacts and leads (issue 5)",
            "the setup checklist and mapping audit (issue 6)",
            "scoring and hand-over workflows (issue 7)",
        ],
        "calls": calls,
        "summary": summary,
    }
