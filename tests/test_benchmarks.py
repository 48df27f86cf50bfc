"""The connector benchmarks at CI size: they must keep working and keep to the minimum calls."""

from __future__ import annotations

import pytest

from benchmarks.__main__ import BENCHMARKS
from benchmarks.sandbox_process import SandboxProcess

STEPS = ["write_upsert", "read_full", "read_incremental_1pct", "read_incremental_none"]
# Allowed calls above the minimum, by (benchmark, step). A HubSpot full read (no cursor) uses the
# list endpoint, 100 a page, rather than search, 200 a page but only 4 calls a second: twice the
# calls, half the time. Everything else must be exactly minimal at this size.
SLACK = {("hubspot", "read_full"): 1}


@pytest.mark.parametrize("name", ["salesforce", "hubspot"])
def test_benchmark_reaches_the_minimum_calls(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Through the registry and the environment, as `make bench` runs it; 300 records need two
    # Collections calls or three HubSpot batches, and fit in one or two read pages.
    monkeypatch.setenv("LEADBRIDGE_BENCH_RECORDS", "300")
    rows = BENCHMARKS[name]()

    assert [row["step"] for row in rows] == STEPS
    assert [row["expected_records"] for row in rows] == [300, 300, 3, 0]
    for row in rows:
        assert row["records"] == row["expected_records"], row
        # At this size nothing moves to Bulk 2.0, no HubSpot search window restarts and the
        # whole-second rewind of a Salesforce cursor stays inside one page.
        assert row["emulator_calls"] == row["connector_calls"], row
        slack = SLACK.get((name, row["step"]), 0)
        assert row["minimum_calls"] <= row["emulator_calls"] <= row["minimum_calls"] + slack, row
    assert rows[0]["failed"] == 0
    assert rows[0]["created"] == 300
    if name == "hubspot":
        assert all(row["rate_limited_429s"] == 0 for row in rows)
    assert capsys.readouterr().err.count("\n") == len(STEPS)


def _fail_inside(sandbox: SandboxProcess) -> None:
    with sandbox:
        assert sandbox.running
        assert sandbox.calls("salesforce") == {}
        raise RuntimeError("boom")


def test_the_sandbox_process_stops_on_errors() -> None:
    sandbox = SandboxProcess()
    with pytest.raises(RuntimeError, match="boom"):
        _fail_inside(sandbox)
    assert not sandbox.running


def test_sync_benchmark_converges_and_a_quiet_run_reads_only_the_cursors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEADBRIDGE_BENCH_RECORDS", "300")
    rows = BENCHMARKS["sync"]()
    steps = {(row["step"], row["side"]): row for row in rows}
    assert all(row["outcome"] == "ok" and row["failed"] == 0 for row in rows)
    assert steps[("initial", "hubspot")]["created"] > 0
    assert steps[("incremental_1pct", "salesforce")]["updated"] > 0
    assert steps[("incremental_1pct", "hubspot")]["updated"] > 0
    for side in ("salesforce", "hubspot"):
        quiet = steps[("no_changes_after_overlap", side)]
        assert quiet["created"] == quiet["updated"] == 0
        # Salesforce: the Lead and Contact queries; HubSpot: one search and the archive page.
        assert quiet["api_calls"] == 2


def test_scoring_benchmark_writes_back_in_full_batches_and_a_quiet_run_writes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEADBRIDGE_BENCH_RECORDS", "200")
    monkeypatch.setenv("LEADBRIDGE_BENCH_EVENTS_PER_LEAD", "3")
    rows = BENCHMARKS["scoring"]()
    assert [row["step"] for row in rows] == ["first", "no_new_events", "new_events_1pct"]
    first, quiet, news = rows
    assert all(row["outcome"] == "ok" and row["failed"] == 0 for row in rows)
    assert first["leads"] == first["scored"] == 200
    assert first["events_read"] == first["events_total"] == 600
    assert first["written_hubspot"] == first["written_salesforce"] == 200
    assert quiet["written_hubspot"] == quiet["written_salesforce"] == 0
    assert quiet["api_calls_salesforce"] == 0
    assert news["events_new"] == 6
    assert news["scored"] >= 2
    for row in rows:
        for side in ("salesforce", "hubspot"):
            assert row[f"writeback_calls_{side}"] == row[f"writeback_minimum_{side}"], row
        assert row["events_read_calls"] == row["events_read_minimum"], row
