"""Lead scoring at scale: N linked leads, K behaviour events each, three scoring runs.

The sandbox runs in a child process. Salesforce leads and HubSpot contacts are seeded with the
same people (every contact matches a lead), one sync links them, and the events are seeded in
bulk straight into the portal's event store. Then: a first scoring run (every lead, every
event), a second run with no new events (it must write nothing), and a run after new events for
1% of the leads. API calls are counted by the emulators' own call logs.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests
from sqlmodel import col, select

from benchmarks.measure import Measured, measure, peak_rss_mib, reset_peak_rss
from benchmarks.sandbox_process import SandboxProcess, System, bench_records, trace_memory
from leadbridge.connectors.factory import hubspot_from_sandbox, salesforce_from_sandbox
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.hubspot.events import EVENT_PAGE, EventPage
from leadbridge.nurture.rules import load_rules
from leadbridge.nurture.runner import ScoringOptions, ScoringReport, ScoringRunner
from leadbridge.sandbox.faults import CONTROL_PREFIX
from leadbridge.setup.fields import hubspot_specs, salesforce_specs
from leadbridge.store.db import Store
from leadbridge.store.models import Link
from leadbridge.sync.mapping import load_mapping
from leadbridge.sync.runner import SyncOptions, run_pair
from leadbridge.sync.state import SyncState

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "mappings" / "contact_lead.toml"
RULES = ROOT / "rules" / "scoring.toml"
DEFAULT_EVENTS_PER_LEAD = 10
EVENT_TYPES = ["form_submission", "webinar_attended", "page_view", "email_open", "email_click"]
# Write-back batch sizes: Salesforce sObject Collections, HubSpot batch update.
BATCH: dict[System, int] = {"salesforce": 200, "hubspot": 100}
SYSTEMS: tuple[System, ...] = ("salesforce", "hubspot")
EVENTS_ENDPOINTS = ("GET /events/v3/events", "GET /events/v3/events/")
# Seeding a million events in the child takes a while; the control helper waits only 60 s.
SEED_TIMEOUT = 900.0


def events_per_lead(value: int | None) -> int:
    """Events per lead: the argument, else LEADBRIDGE_BENCH_EVENTS_PER_LEAD, else 10."""
    if value is not None:
        return value
    raw = os.environ.get("LEADBRIDGE_BENCH_EVENTS_PER_LEAD", str(DEFAULT_EVENTS_PER_LEAD))
    return int(raw)


def _seed_events(sandbox: SandboxProcess, body: dict[str, Any]) -> dict[str, Any]:
    """POST seed_events with a long timeout (never counted in the call log)."""
    url = f"{sandbox.base_url('hubspot')}{CONTROL_PREFIX}/hubspot/seed_events"
    with requests.Session() as session:
        session.trust_env = False
        session.verify = sandbox.info["salesforce"]["ca_file"]
        response = session.post(url, json=body, timeout=SEED_TIMEOUT)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


class EventReads:
    """Counts the events each `read_events` call of a connector returns (one entry a read)."""

    def __init__(self, connector: HubSpotConnector) -> None:
        self.reads: list[int] = []
        original = connector.read_events

        def counted(**kwargs: Any) -> Iterator[EventPage]:
            self.reads.append(0)
            index = len(self.reads) - 1
            for page in original(**kwargs):
                self.reads[index] += len(page.events)
                yield page

        # An instance attribute shadows the method for this connector only.
        connector.read_events = counted  # type: ignore[method-assign]

    def minimum(self, since: int) -> int:
        """Pages needed for the reads made since index `since` (an empty read costs one)."""
        return sum(max(1, math.ceil(n / EVENT_PAGE)) for n in self.reads[since:])


def _is_write(system: System, endpoint: str) -> bool:
    if system == "hubspot":
        return endpoint.startswith("POST ") and endpoint.endswith(
            ("/batch/update", "/batch/create", "/batch/upsert")
        )
    if "/jobs/ingest" in endpoint:
        return True  # a Bulk 2.0 job: create, upload, close, poll, results
    return "/composite/sobjects" in endpoint and not endpoint.startswith("GET ")


def _timed(action: Callable[[], ScoringReport]) -> tuple[ScoringReport, Measured]:
    if trace_memory():
        return measure(action)
    wall, cpu = time.perf_counter(), time.process_time()
    report = action()
    return report, Measured(time.perf_counter() - wall, time.process_time() - cpu, math.nan)


def _step(
    name: str,
    sandbox: SandboxProcess,
    runner: ScoringRunner,
    reads: EventReads,
    *,
    leads: int,
    per_contact: int,
    events_total: int,
    events_new: int,
) -> dict[str, Any]:
    before = {s: sandbox.calls(s) for s in SYSTEMS}
    first_read = len(reads.reads)
    # The linking sync before the first step holds far more than scoring: measure each alone.
    rss_reset = reset_peak_rss()
    report, cost = _timed(runner.run)
    peak_rss = peak_rss_mib()
    endpoints: dict[System, dict[str, int]] = {}
    for system in SYSTEMS:
        endpoints[system] = {
            endpoint: count - before[system].get(endpoint, 0)
            for endpoint, count in sandbox.calls(system).items()
            if count != before[system].get(endpoint, 0)
        }
    row: dict[str, Any] = {
        "step": name,
        "events_per_lead": per_contact,
        "outcome": report.outcome,
        "leads": leads,
        "events_total": events_total,
        "events_new": events_new,
        "scored": report.scored,
        "changed": report.changed,
        "mqls": report.mqls,
        "new_mqls": report.new_mqls,
        "failed": report.failed,
        "events_read": sum(reads.reads[first_read:]),
        "events_read_calls": sum(endpoints["hubspot"].get(e, 0) for e in EVENTS_ENDPOINTS),
        "events_read_minimum": reads.minimum(first_read),
    }
    for system in SYSTEMS:
        written = report.written[system]
        row[f"written_{system}"] = written
        row[f"api_calls_{system}"] = sum(endpoints[system].values())
        row[f"writeback_calls_{system}"] = sum(
            n for endpoint, n in endpoints[system].items() if _is_write(system, endpoint)
        )
        # The minimum through the record-at-a-time batch APIs (Collections, batch update); a
        # Salesforce write-back above 10,000 records a batch goes to Bulk 2.0, below it.
        row[f"writeback_minimum_{system}"] = math.ceil(written / BATCH[system])
    row.update(
        {
            "connector_api_calls": report.api_calls,
            "leads_per_second": round(report.scored / cost.wall_seconds) if report.scored else 0,
            "wall_seconds": round(cost.wall_seconds, 2),
            "cpu_seconds": round(cost.cpu_seconds, 2),
            "peak_python_mib": (
                None if math.isnan(cost.peak_python_mib) else round(cost.peak_python_mib, 1)
            ),
            # The step's own peak where the kernel lets us reset it, else the process's so far.
            "max_rss_mib": round(peak_rss),
            "max_rss_of": "step" if rss_reset else "process",
            "endpoints": endpoints,
        }
    )
    # Progress for long runs; the JSON lines on stdout come from benchmarks.__main__.
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def _link(info: dict[str, Any], database_url: str) -> None:
    """Provision the score fields and link every lead to its contact (in a child process)."""
    salesforce = salesforce_from_sandbox(info)
    hubspot = hubspot_from_sandbox(info)
    salesforce.ensure_fields("Lead", salesforce_specs(), apply=True)
    hubspot.ensure_fields("contacts", hubspot_specs(), apply=True)
    store = Store.open(database_url=database_url)
    mapping = load_mapping(MAPPING)
    synced = run_pair(
        mapping=mapping,
        state=SyncState(store=store, pair=mapping.name),
        hubspot=hubspot,
        salesforce=salesforce,
        options=SyncOptions(),
    )
    store.close()
    if synced.outcome != "ok":
        raise RuntimeError(f"the linking sync ended {synced.outcome}: {synced.message}")


def run(records: int | None = None, per_lead: int | None = None) -> list[dict[str, Any]]:
    """Seed, link and score N leads with K events each; rescore quietly and after 1% news."""
    count = bench_records(records)
    per_contact = events_per_lead(per_lead)
    rows: list[dict[str, Any]] = []
    with SandboxProcess() as sandbox, tempfile.TemporaryDirectory() as folder:
        sandbox.control("salesforce", "POST", "seed", {"leads": count, "seed": 42})
        sandbox.control(
            "hubspot",
            "POST",
            "seed",
            {"contacts": count, "seed": 42, "match_share": 1.0, "leads": count},
        )
        database_url = f"sqlite:///{Path(folder) / 'state.db'}"
        # The linking sync runs in a child process: it holds both sides' records, and its
        # memory would otherwise stay in this process and hide what scoring itself needs.
        child = multiprocessing.get_context("fork").Process(
            target=_link, args=(sandbox.info, database_url)
        )
        child.start()
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"the linking sync failed (exit code {child.exitcode})")
        salesforce = salesforce_from_sandbox(sandbox.info)
        hubspot = hubspot_from_sandbox(sandbox.info)
        store = Store.open(database_url=database_url)
        mapping = load_mapping(MAPPING)
        with store.session() as session:
            linked = [link.hubspot_id for link in session.exec(select(Link).order_by(col(Link.id)))]
        seeded = _seed_events(
            sandbox, {"per_contact": per_contact, "seed": 42, "types": EVENT_TYPES}
        )
        total = int(seeded["events"])
        reads = EventReads(hubspot)
        runner = ScoringRunner(
            mapping=mapping,
            rules=load_rules(RULES),
            store=store,
            hubspot=hubspot,
            salesforce=salesforce,
            options=ScoringOptions(keep_scores=False),
        )
        leads = len(linked)
        common = {"leads": leads, "per_contact": per_contact}
        rows.append(
            _step("first", sandbox, runner, reads, **common, events_total=total, events_new=total)
        )
        rows.append(
            _step(
                "no_new_events", sandbox, runner, reads, **common, events_total=total, events_new=0
            )
        )
        news = linked[: max(1, leads // 100)]
        # New events happen now: after the cursor of the runs before.
        fresh = _seed_events(
            sandbox,
            {"per_contact": per_contact, "seed": 43, "types": EVENT_TYPES, "ids": news, "days": 0},
        )
        total += int(fresh["events"])
        rows.append(
            _step(
                "new_events_1pct",
                sandbox,
                runner,
                reads,
                **common,
                events_total=total,
                events_new=int(fresh["events"]),
            )
        )
        store.close()
    return rows
