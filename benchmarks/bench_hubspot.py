"""HubSpot connector throughput and API calls against the sandbox emulator (own process).

Steps: upsert N contacts by leadbridge_salesforce_id (batch upsert, 2,000 ops per write call, as
the engine pages), a full read, an incremental read after a marketer edited 1% of them (edits
made through the control endpoint, not measured), and an incremental read with no changes.
Minimums: one batch call per 100 records written, one search page per 200 records read (at
least one); a full read (no cursor) through the list endpoint needs twice that, 100 a page, but
is not held to search's 4 calls a second. The emulator enforces the professional tier's real
limits (190 calls per 10 s, a search rate per second) and `sandbox serve` has no option to
change them, so the client-side limiter waits are part of the wall time and reported apart.
"""

from __future__ import annotations

from typing import Any

from benchmarks.sandbox_process import (
    SandboxProcess,
    StepRunner,
    bench_records,
    connector_steps,
)
from leadbridge.connectors.base import FieldSpec, FieldType, WriteOp
from leadbridge.connectors.factory import hubspot_from_sandbox
from leadbridge.connectors.hubspot.connector import BATCH_LIMIT, SEARCH_PAGE, HubSpotConnector

OBJECT = "contacts"
KEY = FieldSpec(
    name="leadbridge_salesforce_id",
    label="Salesforce id",
    type=FieldType.STRING,
    external_id=True,
    unique=True,
)
FIELDS = ["email", "firstname", "lastname", "company", KEY.name]


def _op(i: int) -> WriteOp:
    return WriteOp(
        kind="upsert",
        ref=str(i),
        key_field=KEY.name,
        key_value=f"00Q{i:015d}",
        values={
            "email": f"person{i}@bench.example.com",
            "firstname": "Hanako" if i % 2 else "Alex",
            "lastname": f"Person{i}",
            "company": f"Company {i % 97}",
        },
    )


def _counters(connector: HubSpotConnector) -> dict[str, float]:
    client = connector.client
    return {
        "rate_limited_429s": client.rate_limited_responses,
        "limiter_wait_seconds": client.window.waited_seconds,
        "search_limiter_wait_seconds": client.search_window.waited_seconds,
    }


def run(records: int | None = None) -> list[dict[str, Any]]:
    """Write, fully read and incrementally read N contacts; one result row per step."""
    n = bench_records(records)
    with SandboxProcess() as sandbox:
        connector = hubspot_from_sandbox(sandbox.info)
        plan = connector.ensure_fields(OBJECT, [KEY], apply=True)
        if plan.conflicts:
            raise RuntimeError(f"cannot provision {KEY.name}: {plan.conflicts}")
        # The engine reads the properties once per run before syncing; keep that out of the reads.
        connector.describe(OBJECT)
        runner = StepRunner(sandbox, "hubspot", connector, counters=lambda: _counters(connector))
        connector_steps(
            runner,
            object_name=OBJECT,
            records=n,
            op=_op,
            fields=FIELDS,
            write_batch=BATCH_LIMIT,
            read_page=SEARCH_PAGE,
            edit=lambda record_id: {"id": record_id, "properties": {"company": "Edited"}},
        )
    return runner.rows
