"""Sync runs through faults and crashes: 429 storms, 5xx bursts, timeouts, the daily limit,
rejected records, and a process that dies after a write or before a commit.

Every test ends the same way: no record exists twice in either system (counted by e-mail), no
edit made before the trouble is lost, both sides agree as the mapping says and one more run
writes nothing. Runs use no overlap window (STRICT), so a cursor that skipped a change shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3

from leadbridge.connectors.base import Connector, WriteOp, WriteResult
from leadbridge.connectors.retry import RetryPolicy
from leadbridge.errors import TransientError
from leadbridge.sandbox.faults import FaultRule
from leadbridge.sandbox.hubspot.ratelimit import rate_limit_body
from leadbridge.sandbox.salesforce.rejections import RejectRule
from leadbridge.store.db import Store
from leadbridge.sync.state import PageCommit
from tests.sync.world import STRICT, World, open_world, quiet, sqlite_store

CHUNK = 3  # several chunks per side, so a stop or crash can fall between two commits
NEW_LEAD_EMAIL = "shinki.lead@example.jp"


@dataclass
class Changes:
    """Edits made before the run under test, and what each must look like afterwards."""

    firstnames: dict[str, str] = field(default_factory=dict)  # HubSpot id -> firstname
    titles: dict[str, str] = field(default_factory=dict)  # Lead id -> Title
    conflict: tuple[str, str] = ("", "")  # (HubSpot id, Lead id) whose Company both changed
    promoted: str = ""  # HubSpot-only contact moved to MQL: a Lead must appear
    new_lead: str = ""  # Lead made in Salesforce: a contact must appear


def make_changes(world: World) -> Changes:
    """Edits on both sides: updates, a conflict, and a create in each direction."""
    pairs = world.linked_pairs()
    assert len(pairs) >= 9
    changes = Changes()
    for i, (hubspot_id, _lead_id) in enumerate(pairs[:4]):
        changes.firstnames[hubspot_id] = f"Kiki{i}"
        world.edit_contact(hubspot_id, firstname=f"Kiki{i}")
    for i, (_hubspot_id, lead_id) in enumerate(pairs[4:8]):
        changes.titles[lead_id] = f"営業部長{i}"
        assert world.edit_lead(lead_id, Title=f"営業部長{i}")
    hubspot_id, lead_id = pairs[8]
    world.edit_contact(hubspot_id, company="HubSpot Corp")
    assert world.edit_lead(lead_id, Company="Salesforce KK")
    changes.conflict = (hubspot_id, lead_id)
    linked = {h for h, _ in pairs}
    changes.promoted = next(c for c in world.contact_ids() if c not in linked)
    world.edit_contact(
        changes.promoted, lifecyclestage="marketingqualifiedlead", firstname="Promoted"
    )
    changes.new_lead = world.new_lead(
        FirstName="Shinki",
        LastName="新規",
        Company="新規商事",
        Email=NEW_LEAD_EMAIL,
        Title="CTO",
    )
    return changes


def assert_changes_present(world: World, changes: Changes) -> None:
    """Every edit made before the trouble is on both sides now."""
    pairs = dict(world.linked_pairs())
    by_lead = {lead: hs for hs, lead in pairs.items()}
    for hubspot_id, name in changes.firstnames.items():
        assert world.contact(hubspot_id, "firstname")["firstname"] == name
        assert world.lead(pairs[hubspot_id])["FirstName"] == name
    for lead_id, title in changes.titles.items():
        assert world.lead(lead_id)["Title"] == title
        assert world.contact(by_lead[lead_id], "jobtitle")["jobtitle"] == title
    hubspot_id, lead_id = changes.conflict
    # Company is prefer_salesforce_unless_blank: Salesforce's value wins on both sides.
    assert world.lead(lead_id)["Company"] == "Salesforce KK"
    assert world.contact(hubspot_id, "company")["company"] == "Salesforce KK"
    assert changes.promoted in pairs, "the MQL contact got no Lead"
    promoted = world.lead(pairs[changes.promoted])
    assert promoted["FirstName"] == "Promoted"
    assert promoted["Lead_Stage__c"] == "MQL"
    assert changes.new_lead in by_lead, "the new Lead got no contact"
    created = world.contact(by_lead[changes.new_lead], "email", "firstname", "jobtitle")
    assert (created["email"], created["firstname"], created["jobtitle"]) == (
        NEW_LEAD_EMAIL,
        "Shinki",
        "CTO",
    )


def assert_settled(world: World, changes: Changes) -> None:
    """No duplicates, no lost edit, both sides agree, and the next run is quiet."""
    world.assert_no_duplicates()
    assert_changes_present(world, changes)
    world.assert_converged()
    again = world.sync(overlap=STRICT, chunk=CHUNK)
    assert quiet(again), again.as_dict()
    assert not [q for q in world.queue() if q.status == "open"]


def synced_world(store: Store, tmp_path: Path, **options: Any) -> Any:
    """open_world plus a clean first run."""
    return open_world(store=store, folder=tmp_path / "sbx", **options)


def first_sync(world: World) -> None:
    report = world.sync(overlap=STRICT, chunk=CHUNK)
    assert report.outcome == "ok", report.as_dict()


# -- rate limits, server errors, timeouts -----------------------------------------------------

STORM = RetryPolicy(attempts=8, initial_wait=0.01, max_wait=0.02, max_retry_after=0.05)


def test_a_429_storm_on_hubspot_is_waited_out(store: Store, tmp_path: Path) -> None:
    with synced_world(store, tmp_path, retry=STORM) as world:
        first_sync(world)
        changes = make_changes(world)
        faults = world.sandbox.hubspot.faults
        body = rate_limit_body("TEN_SECONDLY_ROLLING")
        # Five 429s in a row on the first read, then three on the batch writes.
        faults.add(FaultRule(status=429, body=body, path_contains="/search", remaining=5))
        faults.add(FaultRule(status=429, body=body, path_contains="/batch/", remaining=3))
        started = time.monotonic()
        report = world.sync(overlap=STRICT, chunk=CHUNK)
        elapsed = time.monotonic() - started
        assert report.outcome == "ok", report.as_dict()
        assert all(rule.remaining == 0 for rule in faults.rules())
        assert world.hubspot.client.rate_limited_responses == 8
        # Each 429 says "ten seconds"; the policy caps the wait at max_retry_after (50 ms).
        assert elapsed >= 8 * STORM.max_retry_after
        world.clear_faults()
        assert_settled(world, changes)


def test_hubspots_daily_limit_stops_the_run_until_a_new_day(store: Store, tmp_path: Path) -> None:
    with synced_world(store, tmp_path) as world:
        first_sync(world)
        changes = make_changes(world)
        limiter = world.sandbox.hubspot.limiter
        full_day = limiter.daily_limit
        limiter.daily_limit = int(limiter.usage()["daily_used"]) + 3  # spent three calls in
        report = world.sync(overlap=STRICT, chunk=CHUNK)
        assert report.outcome == "stopped", report.as_dict()
        assert "daily" in report.message.lower()
        limiter.daily_limit = full_day  # a new day
        # The same connector (as the scheduler reuses it) must try again once the last
        # usage it saw is old enough.
        world.hubspot.client.budget_recheck_seconds = 0.0
        report = world.sync(overlap=STRICT, chunk=CHUNK)
        assert report.outcome == "ok", report.as_dict()
        assert_settled(world, changes)


def lose_answer(
    monkeypatch: pytest.MonkeyPatch, client: Any, what: str, error: BaseException
) -> list[str]:
    """The first `what` request the client sends is applied, but its answer never comes back.

    (A latency fault cannot show this: the emulator would read the body only after the delay,
    from a client that already hung up, and apply nothing.) Returns the names of lost calls.
    """
    original = client.call
    lost: list[str] = []

    def call(name: str, request: Callable[..., Any], **options: Any) -> Any:
        if not name.startswith(what) or lost:
            return original(name, request, **options)

        def applied_then_lost(*args: Any) -> Any:
            result = request(*args)
            if hasattr(result, "release_conn"):  # HubSpot's raw response: drain it
                _ = result.data
                result.release_conn()
            if not lost:
                lost.append(name)
                raise error
            return result

        return original(name, applied_then_lost, **options)

    monkeypatch.setattr(client, "call", call)
    return lost


def hubspot_timeout() -> BaseException:
    return urllib3.exceptions.ReadTimeoutError(None, "/crm/v3", "Read timed out.")  # type: ignore[arg-type]


def salesforce_timeout() -> BaseException:
    return requests.exceptions.ReadTimeout("Read timed out.")


def test_5xx_bursts_on_reads_and_writes_of_both_sides(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with synced_world(store, tmp_path) as world:
        first_sync(world)
        changes = make_changes(world)
        hubspot, salesforce = world.sandbox.hubspot.faults, world.sandbox.salesforce.faults
        # Two failures in a row on every kind of call (FAST allows four attempts).
        for path, status in (
            ("/search", 503),
            ("/batch/read", 502),
            ("/batch/upsert", 500),
            ("/batch/update", 503),
        ):
            hubspot.add(FaultRule(status=status, path_contains=path, remaining=2))
        salesforce.add(FaultRule(status=503, path_contains="/query", remaining=2))
        salesforce.add(FaultRule(status=500, path_contains="/composite/sobjects", remaining=2))
        # And a create on each side whose answer is lost after it was applied: the retry
        # (an upsert by external id) must not make a second record.
        lost_hs = lose_answer(monkeypatch, world.hubspot.client, "batch upsert", hubspot_timeout())
        lost_sf = lose_answer(monkeypatch, world.salesforce.client, "upsert", salesforce_timeout())
        report = world.sync(overlap=STRICT, chunk=CHUNK)
        assert report.outcome == "ok", report.as_dict()
        assert all(rule.remaining == 0 for rule in [*hubspot.rules(), *salesforce.rules()])
        assert (lost_hs, lost_sf) == (["batch upsert contacts"], ["upsert Lead"])
        monkeypatch.undo()
        world.clear_faults()
        assert_settled(world, changes)


@pytest.mark.parametrize("side", ["hubspot", "salesforce"])
def test_a_create_whose_outcome_is_unknown_is_not_repeated(
    side: str, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain create (not an upsert) whose answer was lost is reported, never sent twice."""
    with synced_world(store, tmp_path) as world:
        if side == "hubspot":
            emulator: Any = world.sandbox.hubspot
            connector: Connector = world.hubspot
            lose_answer(monkeypatch, world.hubspot.client, "batch create", hubspot_timeout())
            values: dict[str, Any] = {"email": "once@example.jp", "firstname": "Ichido"}
        else:
            emulator = world.sandbox.salesforce
            connector = world.salesforce
            lose_answer(monkeypatch, world.salesforce.client, "create", salesforce_timeout())
            values = {"Email": "once@example.jp", "LastName": "一度", "Company": "Once KK"}
        emulator.calls.reset()
        object_name = "contacts" if side == "hubspot" else "Lead"
        [result] = connector.write(object_name, [WriteOp(kind="create", ref="r", values=values)])
        assert not result.ok
        assert isinstance(result.error, TransientError)
        assert result.error.recovery == "retry_later"
        assert sum(emulator.calls.snapshot().values()) == 1, emulator.calls.snapshot()
        emails = world.hubspot_emails() if side == "hubspot" else world.salesforce_emails()
        assert emails["once@example.jp"] == 1


def test_timeouts_on_idempotent_calls_are_retried(store: Store, tmp_path: Path) -> None:
    with synced_world(store, tmp_path, timeout_seconds=0.5) as world:
        first_sync(world)
        changes = make_changes(world)
        for emulator, path in (
            (world.sandbox.hubspot, "/search"),
            (world.sandbox.hubspot, "/batch/update"),
            (world.sandbox.salesforce, "/query"),
        ):
            emulator.faults.add(
                FaultRule(
                    kind="timeout", status=504, delay_seconds=1.0, path_contains=path, remaining=1
                )
            )
        report = world.sync(overlap=STRICT, chunk=CHUNK)
        assert report.outcome == "ok", report.as_dict()
        rules = [*world.sandbox.hubspot.faults.rules(), *world.sandbox.salesforce.faults.rules()]
        assert all(rule.remaining == 0 for rule in rules)
        world.clear_faults()
        assert_settled(world, changes)


# -- the daily limit --------------------------------------------------------------------------


def test_the_daily_limit_stops_the_run_and_the_next_run_catches_up(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with synced_world(store, tmp_path) as world:
        first_sync(world)
        changes = make_changes(world)
        # More HubSpot-side edits than one chunk holds, so that some commit before the stop.
        more = {h: f"Mae{i}" for i, (h, _) in enumerate(world.linked_pairs()[4:])}
        for hubspot_id, name in more.items():
            world.edit_contact(hubspot_id, firstname=name)
        changes.firstnames.update(more)
        counter = world.sandbox.salesforce.org.limits.daily_api_requests
        commits: list[PageCommit] = []
        original = world.state.commit_page

        def spend_after_first_chunk(page: PageCommit) -> None:
            original(page)
            commits.append(page)
            if len(commits) == 1:
                counter.used = counter.max - 1  # the org's allocation runs out mid-run

        monkeypatch.setattr(world.state, "commit_page", spend_after_first_chunk)
        stopped = world.sync(overlap=STRICT, chunk=CHUNK)
        monkeypatch.setattr(world.state, "commit_page", original)
        assert stopped.outcome == "stopped", stopped.as_dict()
        assert "daily" in stopped.message.lower()
        assert len(commits) == 1
        # The committed chunk stays: its three HubSpot edits are in Salesforce already.
        crossed = [
            h
            for h, n in more.items()
            if world.lead(dict(world.linked_pairs())[h])["FirstName"] == n
        ]
        crossed += [
            h
            for h, n in changes.firstnames.items()
            if h not in more and world.lead(dict(world.linked_pairs())[h])["FirstName"] == n
        ]
        assert len(crossed) >= 1
        assert world.state.cursor(side="hubspot", object_name="contacts") is not None
        # A change made after the stop, then the allocation comes back (a new day).
        first_hs = world.linked_pairs()[0][0]
        world.edit_contact(first_hs, phone="03-1234-5678")
        counter.used = 0
        # The connectors are reused (as by the scheduler): the usage they saw last must not
        # keep them refusing once the recheck interval has passed.
        world.salesforce.client.budget_recheck_seconds = 0.0
        resumed = world.sync(overlap=STRICT, chunk=CHUNK)
        assert resumed.outcome == "ok", resumed.as_dict()
        assert world.lead(dict(world.linked_pairs())[first_hs])["Phone"] == "03-1234-5678"
        assert_settled(world, changes)


# -- rejected records -------------------------------------------------------------------------


def test_rejected_records_are_queued_with_a_hint_and_the_rest_sync(
    store: Store, tmp_path: Path
) -> None:
    with synced_world(store, tmp_path) as world:
        first_sync(world)
        (bad_hs, bad_lead), (locked_hs, locked_lead), (good_hs, good_lead) = world.linked_pairs()[
            :3
        ]
        rejections = world.sandbox.salesforce.rejections
        rejections.add(
            RejectRule(object="Lead", field="Title", value="Rejected", message="Title not allowed")
        )
        # A row lock held by someone else, once: transient, so queued for a retry.
        rejections.add(
            RejectRule(
                object="Lead",
                field="Title",
                value="Locked",
                message="unable to obtain exclusive access to this record",
                error_code="UNABLE_TO_LOCK_ROW",
                remaining=1,
            )
        )
        world.edit_contact(bad_hs, jobtitle="Rejected")
        world.edit_contact(locked_hs, jobtitle="Locked")
        world.edit_contact(good_hs, jobtitle="Accepted")
        report = world.sync(overlap=STRICT, chunk=CHUNK)
        assert report.outcome == "partial", report.as_dict()
        assert report.sides["salesforce"].failed == 2
        assert world.lead(good_lead)["Title"] == "Accepted"
        queued = {item.record_id: item for item in world.queue()}
        assert set(queued) == {bad_lead, locked_lead}
        bad, locked = queued[bad_lead], queued[locked_lead]
        assert (bad.category, bad.code, bad.status) == (
            "fix_data",
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "open",
        )
        assert "Title not allowed" in bad.message
        assert bad.hint
        assert bad.next_retry_at is None  # fixing data is a person's job, not a retry's
        assert (locked.category, locked.code) == ("retry_later", "UNABLE_TO_LOCK_ROW")
        assert locked.next_retry_at is not None
        # Time passes: the queued retry goes through the normal path and is resolved.
        assert world.make_queue_due() == 1
        retried = world.sync(overlap=STRICT, chunk=CHUNK)
        assert retried.outcome == "ok", retried.as_dict()
        assert world.lead(locked_lead)["Title"] == "Locked"
        statuses = {item.record_id: item.status for item in world.queue()}
        assert statuses == {bad_lead: "open", locked_lead: "resolved"}
        # The bad record is fixed at the source: it syncs and its entry is resolved.
        world.edit_contact(bad_hs, jobtitle="Fixed")
        assert world.sync(overlap=STRICT, chunk=CHUNK).outcome == "ok"
        assert world.lead(bad_lead)["Title"] == "Fixed"
        assert {item.status for item in world.queue()} == {"resolved"}
        world.assert_converged()
        assert quiet(world.sync(overlap=STRICT, chunk=CHUNK))


# -- crashes ----------------------------------------------------------------------------------


class Crash(RuntimeError):
    """The process dies here."""


def crash_after_write(connector: Connector, *, on_call: int) -> Callable[..., list[WriteResult]]:
    """connector.write that delegates, then dies on its `on_call`-th call."""
    original = connector.write
    calls = {"n": 0}

    def write(object_name: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        results = original(object_name, ops)
        calls["n"] += 1
        if calls["n"] == on_call:
            raise Crash(f"died after write call {on_call} ({len(ops)} ops to {object_name})")
        return results

    return write


@pytest.mark.slow
@pytest.mark.parametrize("on_call", [1, 2])
@pytest.mark.parametrize("side", ["hubspot", "salesforce"])
def test_a_crash_after_a_write_loses_and_duplicates_nothing(
    side: str, on_call: int, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with synced_world(store, tmp_path) as world:
        first_sync(world)
        changes = make_changes(world)
        connector = world.hubspot if side == "hubspot" else world.salesforce
        monkeypatch.setattr(connector, "write", crash_after_write(connector, on_call=on_call))
        with pytest.raises(Crash):
            world.sync(overlap=STRICT, chunk=CHUNK)
        monkeypatch.undo()
        report = world.sync(overlap=STRICT, chunk=CHUNK)
        assert report.outcome == "ok", report.as_dict()
        assert_settled(world, changes)


def crash_before_commit(tmp_path: Path, on_commit: int) -> bool:
    """In a fresh world: die before the run's `on_commit`-th page commit, re-run, check.

    False when the run had fewer commits (it completed without dying).
    """
    store = sqlite_store(tmp_path / f"state-{on_commit}")
    try:
        with synced_world(store, tmp_path) as world:
            first_sync(world)
            changes = make_changes(world)
            original = world.state.commit_page
            calls = {"n": 0}

            def die_before(page: PageCommit) -> None:
                calls["n"] += 1
                if calls["n"] == on_commit:
                    raise Crash(f"died before commit {on_commit}")
                original(page)

            world.state.commit_page = die_before
            try:
                world.sync(overlap=STRICT, chunk=CHUNK)
                died = False
            except Crash:
                died = True
            world.state.commit_page = original
            if died:
                report = world.sync(overlap=STRICT, chunk=CHUNK)
                assert report.outcome == "ok", (on_commit, report.as_dict())
            assert_settled(world, changes)
            return died
    finally:
        store.close()


@pytest.mark.slow
def test_a_crash_before_each_commit_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """Die before the 1st, 2nd, ... page commit of a run until the run has no commit left."""
    on_commit = 1
    while crash_before_commit(tmp_path, on_commit):
        on_commit += 1
    assert on_commit > 4, "the scenario should span several page commits"
