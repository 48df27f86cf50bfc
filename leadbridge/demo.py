"""`make demo`: the main job against the built-in sandbox on an embedded SQLite state store.

The sandbox emulators, the sync engine and the nurture layer join this flow as they land;
until then the demo runs what exists and lists, honestly, what does not yet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leadbridge.store.columns import utcnow
from leadbridge.store.db import Store
from leadbridge.store.models import Run
from leadbridge.store.summary import summarize


def run_demo(*, state_dir: Path) -> dict[str, Any]:
    """Run the demo flow and return what happened, step by step."""
    state_dir.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{state_dir / 'state.db'}"
    steps: list[str] = []
    store = Store.open(database_url=database_url)
    try:
        steps.append(f"state store ready at {state_dir / 'state.db'} (schema migrated to head)")
        with store.session() as session:
            run = Run(kind="demo", pair="", outcome="ok", finished_at=utcnow())
            session.add(run)
        steps.append(f"recorded run {run.id} in the state store")
        summary = summarize(store)
        steps.append(f"state store holds {len(summary['last_runs'])} pair(s) with runs")
    finally:
        store.close()
    return {
        "steps": steps,
        "not_yet": [
            "Salesforce and HubSpot sandbox emulators (issues 3 and 4)",
            "sync of contacts and leads (issue 5)",
            "provisioning and the setup checklist (issue 6)",
            "scoring and hand-over workflows (issue 7)",
        ],
        "summary": summary,
    }
