"""Salesforce connector throughput and API calls against the sandbox emulator (own process).

Steps: upsert N Leads by HubSpot_Contact_Id__c (2,000 ops per write call, as the engine pages),
a full read, an incremental read after a salesperson edited 1% of them (edits made through the
control endpoint, not measured), and an incremental read with no changes. Minimums: one
Collections call per 200 records written, one query page per 2,000 records read (at least one).
Calls are counted twice: the emulator's call log and the connector's own budget().calls_made.
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
from leadbridge.connectors.factory import salesforce_from_sandbox
from leadbridge.connectors.salesforce.connector import COLLECTION_LIMIT, QUERY_PAGE

OBJECT = "Lead"
KEY = FieldSpec(
    name="HubSpot_Contact_Id__c",
    label="HubSpot contact id",
    type=FieldType.STRING,
    length=32,
    external_id=True,
    unique=True,
)
FIELDS = ["Email", "FirstName", "LastName", "Company", KEY.name]


def _op(i: int) -> WriteOp:
    return WriteOp(
        kind="upsert",
        ref=str(i),
        key_field=KEY.name,
        key_value=f"bench-{i}",
        values={
            "Email": f"lead{i}@bench.example.com",
            "FirstName": "Taro" if i % 2 else "Sam",
            "LastName": f"Lead{i}",
            "Company": f"Company {i % 97}",
        },
    )


def run(records: int | None = None) -> list[dict[str, Any]]:
    """Write, fully read and incrementally read N Leads; one result row per step."""
    n = bench_records(records)
    with SandboxProcess() as sandbox:
        connector = salesforce_from_sandbox(sandbox.info)
        try:
            plan = connector.ensure_fields(OBJECT, [KEY], apply=True)
            if plan.conflicts:
                raise RuntimeError(f"cannot provision {KEY.name}: {plan.conflicts}")
            # The engine describes once per run before syncing; keep that call out of the reads.
            connector.describe(OBJECT)
            runner = StepRunner(sandbox, "salesforce", connector)
            connector_steps(
                runner,
                object_name=OBJECT,
                records=n,
                op=_op,
                fields=FIELDS,
                write_batch=COLLECTION_LIMIT,
                read_page=QUERY_PAGE,
                edit=lambda record_id: {
                    "object": OBJECT,
                    "id": record_id,
                    "field": "Company",
                    "value": "Edited",
                },
            )
        finally:
            connector.client.close()
    return runner.rows
