"""The sandbox in a child process, and the per-step accounting the connector benchmarks share.

The emulators run in their own process so that their CPU never competes with the benchmarked
connector for one GIL: what is measured here is the client side, and the wall time is the
time a real client would wait for a (fast) server.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import requests

from benchmarks.measure import Measured, measure
from leadbridge.connectors.base import Connector, Cursor, WriteOp
from leadbridge.sandbox.faults import CONTROL_PREFIX

System = Literal["salesforce", "hubspot"]

DEFAULT_RECORDS = 100_000
# The sync engine hands the connector one page of planned writes at a time.
OPS_PER_WRITE = 2000
START_TIMEOUT = 60.0
_SERVE = "from leadbridge.cli import main; main()"


def bench_records(records: int | None) -> int:
    """The record count: the argument, else LEADBRIDGE_BENCH_RECORDS, else 100,000."""
    if records is not None:
        return records
    return int(os.environ.get("LEADBRIDGE_BENCH_RECORDS", str(DEFAULT_RECORDS)))


def trace_memory() -> bool:
    """Whether steps trace Python allocations (LEADBRIDGE_BENCH_TRACE_MEMORY, default 1).

    tracemalloc makes allocation-heavy client code several times slower, so `=0` gives true
    wall and CPU times (and no peak_python_mib) for a second, timing-only run.
    """
    return os.environ.get("LEADBRIDGE_BENCH_TRACE_MEMORY", "1") != "0"


class SandboxProcess:
    """`leadbridge sandbox serve` with no seeded data on free ports, in a child process."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="leadbridge-bench-")
        self._info_file = Path(self._folder.name) / "info.json"
        self._log_file = Path(self._folder.name) / "serve.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._session = requests.Session()
        # Never route sandbox traffic through a proxy from the environment.
        self._session.trust_env = False
        self.info: dict[str, Any] = {}

    def start(self) -> SandboxProcess:
        """Start the child and wait until it has written its info file."""
        command = [sys.executable, "-c", _SERVE, "sandbox", "serve"]
        command += ["--salesforce-port", "0", "--hubspot-port", "0", "--leads", "0"]
        command += ["--info-file", str(self._info_file)]
        with self._log_file.open("wb") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            self.info = self._wait_for_info()
        except BaseException:
            self.stop()
            raise
        self._session.verify = self.info["salesforce"]["ca_file"]
        return self

    def _wait_for_info(self) -> dict[str, Any]:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = self._log_file.read_text(encoding="utf-8", errors="replace")
                raise RuntimeError(f"the sandbox exited with {self._process.returncode}:\n{log}")
            try:
                info: dict[str, Any] = json.loads(self._info_file.read_text(encoding="utf-8"))
                return info
            except (FileNotFoundError, ValueError):
                # Not written yet, or caught half-written.
                time.sleep(0.05)
        raise RuntimeError(f"the sandbox wrote no info file within {START_TIMEOUT:.0f} s")

    def stop(self) -> None:
        """Terminate the child (SIGTERM, then SIGKILL after 10 s) and remove its folder."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._session.close()
        self._folder.cleanup()

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._process is not None and self._process.poll() is None

    def base_url(self, system: System) -> str:
        """Where one emulator listens."""
        key = "instance_url" if system == "salesforce" else "base_url"
        return str(self.info[system][key])

    def control(self, system: System, method: str, path: str, body: Any = None) -> Any:
        """Call a control endpoint (never counted in the emulator's call log)."""
        url = f"{self.base_url(system)}{CONTROL_PREFIX}/{system}/{path}"
        response = self._session.request(method, url, json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    def calls(self, system: System) -> dict[str, int]:
        """API calls the emulator has served so far, by endpoint ("METHOD /path")."""
        counts: dict[str, int] = self.control(system, "GET", "calls")["calls"]
        return counts

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def write_all(
    connector: Connector, object_name: str, records: int, op: Callable[[int], WriteOp]
) -> dict[str, int]:
    """Write records 0..records-1 in engine-sized chunks; count outcomes."""
    written = created = failed = 0
    for start in range(0, records, OPS_PER_WRITE):
        ops = [op(i) for i in range(start, min(start + OPS_PER_WRITE, records))]
        for result in connector.write(object_name, ops):
            written += result.ok
            created += result.created
            failed += not result.ok
    return {"records": written, "created": created, "failed": failed}


def read_all(
    connector: Connector,
    object_name: str,
    *,
    cursor: Cursor | None,
    fields: list[str],
    sample_every: int = 0,
) -> dict[str, Any]:
    """Drain read_changes; keep the last cursor and (optionally) every n-th record id."""
    count, pages, last, sample = 0, 0, cursor, []
    for page in connector.read_changes(object_name, cursor=cursor, fields=fields):
        pages += 1
        for record in page.records:
            if sample_every and count % sample_every == 0:
                sample.append(record.id)
            count += 1
        last = page.cursor
    return {"records": count, "pages": pages, "cursor": last, "sample": sample}


Counters = Callable[[], dict[str, float]]


def _no_counters() -> dict[str, float]:
    return {}


class StepRunner:
    """Measures steps against one emulator and collects one report row per step."""

    def __init__(
        self,
        sandbox: SandboxProcess,
        system: System,
        connector: Connector,
        *,
        counters: Counters | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.system = system
        self.connector = connector
        # Client-side counters (429s, limiter waits) reported as differences over each step.
        self.counters: Counters = counters or _no_counters
        self.rows: list[dict[str, Any]] = []

    def step(
        self,
        name: str,
        *,
        expected: int,
        minimum: int,
        action: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        """Measure one step, keep its row, and return the action's full outcome."""
        emulator_before = self.sandbox.calls(self.system)
        connector_before = self.connector.budget().calls_made
        counters_before = self.counters()
        if trace_memory():
            outcome, cost = measure(action)
        else:
            wall, cpu = time.perf_counter(), time.process_time()
            outcome = action()
            cost = Measured(time.perf_counter() - wall, time.process_time() - cpu, math.nan)
        endpoints = {
            endpoint: count - emulator_before.get(endpoint, 0)
            for endpoint, count in self.sandbox.calls(self.system).items()
            if count != emulator_before.get(endpoint, 0)
        }
        emulator_calls = sum(endpoints.values())
        connector_calls = self.connector.budget().calls_made - connector_before
        counters = {k: v - counters_before.get(k, 0) for k, v in self.counters().items()}
        records = int(outcome["records"])
        row: dict[str, Any] = {
            "system": self.system,
            "step": name,
            "records": records,
            "expected_records": expected,
            **{k: v for k, v in outcome.items() if k in ("pages", "created", "failed")},
            "emulator_calls": emulator_calls,
            "connector_calls": connector_calls,
            "minimum_calls": minimum,
            "calls_per_minimum": round(emulator_calls / minimum, 3),
            "records_per_second": round(records / cost.wall_seconds),
            "wall_seconds": round(cost.wall_seconds, 3),
            "cpu_seconds": round(cost.cpu_seconds, 3),
            "peak_python_mib": (
                None if math.isnan(cost.peak_python_mib) else round(cost.peak_python_mib, 1)
            ),
            # ru_maxrss is KiB on Linux and the peak of the whole process so far.
            "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            **{k: round(v, 2) if isinstance(v, float) else v for k, v in counters.items()},
            # Which API did the work (e.g. the Salesforce connector moves big reads to Bulk 2.0).
            "endpoints": endpoints,
        }
        self.rows.append(row)
        # Progress for long runs; the JSON lines on stdout come from benchmarks.__main__.
        print(json.dumps(row), file=sys.stderr, flush=True)
        return outcome


def pages_needed(records: int, per_call: int) -> int:
    """Calls to move `records` at `per_call` a call; a read costs one call even when empty."""
    return max(1, math.ceil(records / per_call))


CHANGE_EVERY = 100  # one record in a hundred is edited before the incremental read


def connector_steps(
    runner: StepRunner,
    *,
    object_name: str,
    records: int,
    op: Callable[[int], WriteOp],
    fields: list[str],
    write_batch: int,
    read_page: int,
    edit: Callable[[str], dict[str, Any]],
) -> list[dict[str, Any]]:
    """The four connector steps both systems run: write, full read, 1% incremental, none.

    `edit(record_id)` is the control-endpoint body that changes one record as a person would
    (made between the steps, neither timed nor counted).
    """
    connector = runner.connector
    runner.step(
        "write_upsert",
        expected=records,
        minimum=pages_needed(records, write_batch),
        action=lambda: write_all(connector, object_name, records, op),
    )
    full = runner.step(
        "read_full",
        expected=records,
        minimum=pages_needed(records, read_page),
        action=lambda: read_all(
            connector, object_name, cursor=None, fields=fields, sample_every=CHANGE_EVERY
        ),
    )
    # A read that repeats records may sample one twice; each is edited once.
    edited = list(dict.fromkeys(full["sample"]))
    for record_id in edited:
        runner.sandbox.control(runner.system, "POST", "actions/edit", edit(record_id))
    changed = runner.step(
        "read_incremental_1pct",
        expected=len(edited),
        minimum=pages_needed(len(edited), read_page),
        action=lambda: read_all(connector, object_name, cursor=full["cursor"], fields=fields),
    )
    runner.step(
        "read_incremental_none",
        expected=0,
        minimum=1,
        action=lambda: read_all(connector, object_name, cursor=changed["cursor"], fields=fields),
    )
    return runner.rows
