"""Sync state in the store: leases, cursors, atomic page commits, the error queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from leadbridge.connectors.base import Cursor as ReadCursor
from leadbridge.store.db import Store
from leadbridge.store.models import ErrorQueueItem, Lineage
from leadbridge.sync.state import LinkRow, PageCommit, SyncState, lineage_row, retry_delay


@pytest.fixture
def state(store: Store) -> SyncState:
    return SyncState(store=store, pair="contact_lead")


def test_a_lease_has_one_holder_until_it_expires(state: SyncState) -> None:
    assert state.acquire_lease(name="pair:contact_lead", holder="a", ttl=timedelta(minutes=5))
    assert not state.acquire_lease(name="pair:contact_lead", holder="b", ttl=timedelta(minutes=5))
    assert state.acquire_lease(name="pair:contact_lead", holder="a", ttl=timedelta(minutes=5))
    state.release_lease(name="pair:contact_lead", holder="a")
    assert state.acquire_lease(name="pair:contact_lead", holder="b", ttl=timedelta(seconds=-1))
    # b's lease is already expired: a may take it over.
    assert state.acquire_lease(name="pair:contact_lead", holder="a", ttl=timedelta(minutes=5))


def test_page_commit_is_atomic_and_resumable(state: SyncState) -> None:
    run_id = state.start_run(kind="sync", dry_run=False)
    cursor = ReadCursor(
        modified_at=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC), tie_break="00Q1"
    )
    page = PageCommit(
        links=[
            LinkRow("101", "00Q000000000001AAA", "Lead", {"hubspot": {"email": "a@x.jp"}}, "h1")
        ],
        lineage=[
            lineage_row(
                run_id=run_id,
                pair="contact_lead",
                record_id="101",
                target_side="salesforce",
                field="Email",
                old=None,
                new="a@x.jp",
                source_side="hubspot",
                rule="newest",
            )
        ],
        cursors={("hubspot", "contacts"): cursor},
    )
    state.commit_page(page)
    assert state.cursor(side="hubspot", object_name="contacts") == cursor
    assert state.links_by_hubspot(["101"])["101"].salesforce_id == "00Q000000000001AAA"
    # A crash inside the commit leaves nothing half-written.
    broken = PageCommit(
        links=[LinkRow("102", "00Q000000000002AAA", "Lead", {}, "h2")],
        lineage=[{"run_id": run_id}],  # missing columns: the insert fails
        cursors={("hubspot", "contacts"): ReadCursor(modified_at=datetime(2027, 1, 1, tzinfo=UTC))},
    )
    with pytest.raises(Exception):  # noqa: B017  (any database error)
        state.commit_page(broken)
    assert state.cursor(side="hubspot", object_name="contacts") == cursor
    assert state.links_by_hubspot(["102"]) == {}
    with state.store.session() as session:
        assert len(session.exec(select(Lineage)).all()) == 1


def test_relinking_moves_the_link_and_unlink_removes_it(state: SyncState) -> None:
    state.commit_page(PageCommit(links=[LinkRow("1", "00QA", "Lead", {}, "h")]))
    # Lead converted: the same HubSpot record now pairs with a Contact.
    state.commit_page(PageCommit(links=[LinkRow("1", "003B", "Contact", {"x": 1}, "h2")]))
    links = state.links_by_hubspot(["1"])
    assert links["1"].salesforce_id == "003B"
    assert links["1"].salesforce_type == "Contact"
    assert state.links_by_salesforce(["00QA"]) == {}
    state.commit_page(PageCommit(unlinks=["1"]))
    assert state.links_by_hubspot(["1"]) == {}
    assert state.links_by_salesforce(["003B"]) == {}


def test_error_queue_backs_off_and_resolves(state: SyncState) -> None:
    error = {
        "side": "salesforce",
        "record_id": "101",
        "operation": "upsert",
        "category": "retry_later",
        "code": "UNABLE_TO_LOCK_ROW",
        "message": "locked",
        "hint": "retried later",
        "payload": {"Email": "a@x.jp"},
        "retryable": True,
    }
    state.commit_page(PageCommit(errors=[error]))
    item = state.open_error_for(side="salesforce", record_id="101")
    assert item is not None
    assert item.attempts == 1
    assert item.next_retry_at is not None
    assert state.due_errors() == []
    later = datetime.now(UTC) + timedelta(minutes=2)
    assert [e.record_id for e in state.due_errors(now=later)] == ["101"]
    state.commit_page(PageCommit(errors=[error]))  # failed again
    again = state.open_error_for(side="salesforce", record_id="101")
    assert again is not None
    assert again.attempts == 2
    assert again.id == item.id
    state.commit_page(PageCommit(resolved_errors=[item.id or 0]))
    assert state.open_error_for(side="salesforce", record_id="101") is None
    with state.store.session() as session:
        assert session.exec(select(ErrorQueueItem)).one().status == "resolved"


def test_data_errors_wait_for_a_person(state: SyncState) -> None:
    state.commit_page(
        PageCommit(
            errors=[
                {
                    "side": "hubspot",
                    "record_id": "00QA",
                    "operation": "update",
                    "category": "fix_data",
                    "code": "INVALID_OPTION",
                    "message": "bad option",
                    "hint": "add a translation",
                    "payload": {},
                    "retryable": False,
                }
            ]
        )
    )
    item = state.open_error_for(side="hubspot", record_id="00QA")
    assert item is not None
    assert item.next_retry_at is None
    assert state.due_errors(now=datetime.now(UTC) + timedelta(days=30)) == []


def test_retry_delay_grows_and_caps() -> None:
    assert retry_delay(1) == timedelta(minutes=1)
    assert retry_delay(3) == timedelta(minutes=4)
    assert retry_delay(30) == timedelta(hours=6)


def test_runs_record_their_outcome(state: SyncState) -> None:
    run_id = state.start_run(kind="sync", dry_run=True)
    state.finish_run(run_id, outcome="ok", counts={"read": 3}, calls_salesforce=2, calls_hubspot=1)
    from leadbridge.store.models import Run

    with state.store.session() as session:
        run = session.get(Run, run_id)
        assert run is not None
        assert (run.outcome, run.counts, run.calls_salesforce, run.dry_run) == (
            "ok",
            {"read": 3},
            2,
            True,
        )
        assert run.finished_at is not None
