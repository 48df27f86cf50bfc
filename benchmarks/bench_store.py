"""State store throughput: bulk-writing lineage rows and upserting link snapshots.

Lineage is the largest table (one row per field written); it must be written in bulk, so
this measures rows per second for one bulk insert per page of 2,000 records x 5 fields.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from benchmarks.measure import measure
from leadbridge.store.bulk import insert_rows
from leadbridge.store.db import Store
from leadbridge.store.models import Lineage, Link, Run

RECORDS = int(os.environ.get("LEADBRIDGE_BENCH_RECORDS", "100000"))
FIELDS = 5
PAGE = 2000
POSTGRES_ADMIN_DSN = os.environ.get(
    "LEADBRIDGE_TEST_POSTGRES", "host=127.0.0.1 port=5432 dbname=test user=postgres"
)


def _write(store: Store) -> int:
    now = datetime.now(UTC)
    with store.session() as session:
        run = Run(kind="bench", pair="bench")
        session.add(run)
        session.flush()
        run_id = run.id
    written = 0
    for start in range(0, RECORDS, PAGE):
        ids = range(start, min(start + PAGE, RECORDS))
        lineage = [
            {
                "run_id": run_id,
                "pair": "bench",
                "record_id": str(i),
                "target_side": "salesforce",
                "field": f"Field{f}",
                "old_value": None,
                "new_value": f"value {i}/{f}",
                "source_side": "hubspot",
                "rule": "prefer_hubspot",
                "written_at": now,
            }
            for i in ids
            for f in range(FIELDS)
        ]
        links = [
            {
                "pair": "bench",
                "hubspot_id": str(i),
                "salesforce_id": f"00Q{i:015d}",
                "salesforce_type": "Lead",
                "snapshot": {f"Field{f}": f"value {i}/{f}" for f in range(FIELDS)},
                "snapshot_hash": uuid.uuid5(uuid.NAMESPACE_OID, str(i)).hex,
                "created_at": now,
                "updated_at": now,
            }
            for i in ids
        ]
        # One transaction per page, as the sync engine commits per page.
        with store.session() as session:
            insert_rows(session, Lineage, lineage)
            insert_rows(session, Link, links)
        written += len(lineage) + len(links)
    return written


def _bench(backend: str, database_url: str) -> dict[str, Any]:
    store = Store.open(database_url=database_url)
    try:
        rows, cost = measure(lambda: _write(store))
    finally:
        store.close()
    return {
        "backend": backend,
        "records": RECORDS,
        "rows_written": rows,
        "rows_per_second": round(rows / cost.wall_seconds),
        "records_per_second": round(RECORDS / cost.wall_seconds),
        "wall_seconds": round(cost.wall_seconds, 2),
        "cpu_seconds": round(cost.cpu_seconds, 2),
        "peak_python_mib": round(cost.peak_python_mib, 1),
    }


def run() -> list[dict[str, Any]]:
    """Benchmark SQLite and (when reachable) PostgreSQL."""
    results = []
    with tempfile.TemporaryDirectory() as folder:
        results.append(_bench("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}"))
    name = f"leadbridge_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True, connect_timeout=3) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        results.append({"backend": "postgresql", "skipped": str(exc).splitlines()[0]})
        return results
    try:
        results.append(_bench("postgresql", f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"))
    finally:
        with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    return results
