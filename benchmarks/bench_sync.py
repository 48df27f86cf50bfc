"""The sync engine end to end: an initial sync of N records a side, 1% churn, and a quiet run.

The sandbox runs in a child process (its CPU is not the engine's); the engine, its SQLite state
store and both connectors run here. API calls are counted by the emulators' own call logs.
"""

from __future__ import annotations

import math
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from benchmarks.measure import Measured, measure, peak_rss_mib, reset_peak_rss
from benchmarks.sandbox_process import SandboxProcess, System, bench_records, trace_memory
from leadbridge.connectors.factory import hubspot_from_sandbox, salesforce_from_sandbox
from leadbridge.setup.fields import hubspot_specs, salesforce_specs
from leadbridge.store.db import Store
from leadbridge.store.models import Link
from leadbridge.sync.mapping import load_mapping
from leadbridge.sync.runner import SyncOptions, SyncReport, run_pair
from leadbridge.sync.state import SyncState

MAPPING = Path(__file__).resolve().parents[1] / "mappings" / "contact_lead.toml"
MATCH_SHARE = 0.6
BATCH: dict[System, int] = {"salesforce": 200, "hubspot": 100}
READ_PAGE: dict[System, int] = {"salesforce": 2000, "hubspot": 200}


def _total(sandbox: SandboxProcess, system: System) -> int:
    return sum(sandbox.calls(system).values())


def _minimum(report: SyncReport, system: System, *, full: bool) -> int:
    """Reads in full pages plus writes in full batches (creates, updates, back-links)."""
    side = report.sides[system]
    other = report.sides["hubspot" if system == "salesforce" else "salesforce"]
    page = 100 if (system == "hubspot" and full) else READ_PAGE[system]
    streams = 2 if system == "salesforce" else 1  # Lead, and Contact after conversion
    reads = max(streams, math.ceil(side.read / page))
    writes = math.ceil(side.created / BATCH[system]) + math.ceil(side.updated / BATCH[system])
    # A record created on the other side needs its new id written back here (one batch).
    backlinks = math.ceil(other.created / BATCH[system])
    return reads + writes + backlinks


def _rss_mib() -> float | None:
    """The process's resident memory now (Linux), to tell a step's growth from what it found."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _timed(sync: Any) -> tuple[SyncReport, Measured]:
    if trace_memory():
        return measure(sync)
    wall, cpu = time.perf_counter(), time.process_time()
    report = sync()
    return report, Measured(time.perf_counter() - wall, time.process_time() - cpu, math.nan)


def _step(
    name: str, sandbox: SandboxProcess, sync: Any, *, full: bool
) -> tuple[SyncReport, list[dict[str, Any]]]:
    before = {s: _total(sandbox, s) for s in ("salesforce", "hubspot")}
    # Each step's own peak: an earlier step's high-water mark must not hide this one's.
    rss_before = _rss_mib()
    rss_reset = reset_peak_rss()
    report, cost = _timed(sync)
    peak_rss = peak_rss_mib()
    rows = []
    for system in ("salesforce", "hubspot"):
        side = report.sides[system]
        calls = _total(sandbox, system) - before[system]
        minimum = _minimum(report, system, full=full)
        rows.append(
            {
                "step": name,
                "side": system,
                "outcome": report.outcome,
                "read": side.read,
                "created": side.created,
                "updated": side.updated,
                "failed": side.failed,
                "api_calls": calls,
                "minimum_calls": minimum,
                "calls_vs_minimum": round(calls / minimum, 2) if minimum else None,
                "records_per_second": round(side.read / cost.wall_seconds) if side.read else 0,
                "wall_seconds": round(cost.wall_seconds, 2),
                "engine_cpu_seconds": round(cost.cpu_seconds, 2),
                "peak_python_mib": (
                    None if math.isnan(cost.peak_python_mib) else round(cost.peak_python_mib, 1)
                ),
                # The step's own peak when the kernel allows a reset, else the process's so far.
                "max_rss_mib": round(peak_rss),
                "max_rss_of": "step" if rss_reset else "process",
                "rss_before_mib": None if rss_before is None else round(rss_before),
            }
        )
    return report, rows


def run(records: int | None = None) -> list[dict[str, Any]]:
    """Initial sync, 1% churn on both sides, and a run with nothing changed."""
    count = bench_records(records)
    rows: list[dict[str, Any]] = []
    with SandboxProcess() as sandbox, tempfile.TemporaryDirectory() as folder:
        sandbox.control("salesforce", "POST", "seed", {"leads": count, "seed": 42})
        sandbox.control(
            "hubspot",
            "POST",
            "seed",
            {"contacts": count, "seed": 42, "match_share": MATCH_SHARE, "leads": count},
        )
        salesforce = salesforce_from_sandbox(sandbox.info)
        hubspot = hubspot_from_sandbox(sandbox.info)
        salesforce.ensure_fields("Lead", salesforce_specs(), apply=True)
        hubspot.ensure_fields("contacts", hubspot_specs(), apply=True)
        store = Store.open(database_url=f"sqlite:///{Path(folder) / 'state.db'}")
        mapping = load_mapping(MAPPING)
        state = SyncState(store=store, pair=mapping.name)

        def sync(overlap: timedelta = timedelta(minutes=5)) -> SyncReport:
            return run_pair(
                mapping=mapping,
                state=state,
                hubspot=hubspot,
                salesforce=salesforce,
                options=SyncOptions(overlap=overlap),
            )

        _report, step_rows = _step("initial", sandbox, sync, full=True)
        rows += step_rows
        churn = max(1, count // 100)
        with store.session() as session:
            links = session.exec(select(Link).order_by(col(Link.id)).limit(churn * 2)).all()
            pairs = [(link.hubspot_id, link.salesforce_id) for link in links]
        for n, (hubspot_id, lead_id) in enumerate(pairs):
            if n % 2:
                sandbox.control(
                    "hubspot",
                    "POST",
                    "actions/edit",
                    {"id": hubspot_id, "properties": {"jobtitle": f"Churn {n}"}},
                )
            else:
                sandbox.control(
                    "salesforce",
                    "POST",
                    "actions/edit",
                    {"object": "Lead", "id": lead_id, "field": "Title", "value": f"Churn {n}"},
                )
        _report, step_rows = _step("incremental_1pct", sandbox, sync, full=False)
        rows += step_rows
        # Within the overlap window a quiet run re-reads the last minutes' records (echoes are
        # dropped by snapshot); once they are older than the window it reads only the cursors.
        _report, step_rows = _step("no_changes_within_overlap", sandbox, sync, full=False)
        rows += step_rows
        _report, step_rows = _step(
            "no_changes_after_overlap", sandbox, lambda: sync(timedelta(0)), full=False
        )
        rows += step_rows
        store.close()
    return rows
