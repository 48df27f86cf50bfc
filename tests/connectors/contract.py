"""The connector contract suite: every connector opts in by subclassing ConnectorContract.

A subclass provides two fixtures, `connector` (the connector under test, pointed at its sandbox
emulator over real HTTP) and `harness` (acts on the emulator directly, as the people using the
remote system would, and reads its call log). The tests then hold every connector to the same
promises: minimal calls, ordered resumable reads, per-record outcomes, and clean behaviour
under faults.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol

import pytest

from leadbridge.connectors.base import (
    CanonicalValue,
    Connector,
    Cursor,
    Page,
    Record,
    WriteOp,
)
from leadbridge.errors import BudgetExhaustedError, DataError, LeadbridgeError, Recovery


class RemoteHarness(Protocol):
    """What the contract needs from a sandbox emulator, side by side with the connector."""

    object_name: str
    email_field: str
    key_field: str
    write_batch: int
    read_page: int
    full_read_page: int
    supports_reauth: bool

    def fields(self) -> list[str]:
        """Fields the tests read and write."""
        ...

    def values(self, i: int) -> dict[str, CanonicalValue]:
        """Valid values for test record number i (unique e-mail)."""
        ...

    def invalid_values(self, i: int) -> dict[str, CanonicalValue]:
        """Values the remote system rejects record by record."""
        ...

    def create_remote(self, values: Mapping[str, Any]) -> str:
        """Create a record as a user of the remote system would; return its id."""
        ...

    def update_remote(self, record_id: str, values: Mapping[str, Any]) -> None:
        """Edit a record as a user would."""
        ...

    def calls(self) -> int:
        """API calls the emulator has served so far."""
        ...

    def fail_next(self, count: int, *, status: int, path_contains: str = "") -> None:
        """Make the next `count` matching API calls fail with `status`."""
        ...

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        ...

    def expire_session(self) -> None:
        """Invalidate the connector's current session or token."""
        ...

    def exhaust_daily_limit(self) -> None:
        """Use up the remote daily API allocation."""
        ...


def drain(pages: Any) -> tuple[list[Record], list[Page]]:
    """All records of an iterator of pages, and the pages."""
    collected = list(pages)
    return [r for page in collected for r in page.records], collected


class ConnectorContract:
    """Promises every connector keeps, run against its sandbox emulator."""

    def _create(
        self, connector: Connector, harness: RemoteHarness, count: int, start: int
    ) -> list[str]:
        ops = [
            WriteOp(kind="create", ref=str(i), values=harness.values(i))
            for i in range(start, start + count)
        ]
        results = connector.write(harness.object_name, ops)
        assert [r.ref for r in results] == [op.ref for op in ops]
        assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
        return [str(r.record_id) for r in results]

    def test_describe_lists_the_fields(self, connector: Connector, harness: RemoteHarness) -> None:
        schema = connector.describe(harness.object_name)
        for name in harness.fields():
            assert schema.field(name) is not None, name

    def test_writes_use_the_fewest_calls(
        self, connector: Connector, harness: RemoteHarness
    ) -> None:
        count = harness.write_batch * 2 + 7
        before = harness.calls()
        ids = self._create(connector, harness, count, start=10_000)
        assert len(set(ids)) == count
        assert harness.calls() - before == math.ceil(count / harness.write_batch)

    def test_full_read_is_ordered_complete_and_minimal(
        self, connector: Connector, harness: RemoteHarness
    ) -> None:
        created = set(self._create(connector, harness, harness.write_batch + 3, start=20_000))
        connector.describe(harness.object_name)  # schema is cached; measure the reads alone
        before = harness.calls()
        records, pages = drain(
            connector.read_changes(harness.object_name, cursor=None, fields=harness.fields())
        )
        ids = [r.id for r in records]
        assert len(ids) == len(set(ids))
        assert created <= set(ids)
        cursors = [r.cursor for r in records]
        assert cursors == sorted(cursors)
        assert pages[-1].cursor >= cursors[-1]
        assert harness.calls() - before == math.ceil(len(records) / harness.full_read_page)

    def test_incremental_read_returns_exactly_the_changes(
        self, connector: Connector, harness: RemoteHarness
    ) -> None:
        self._create(connector, harness, 5, start=30_000)
        _, pages = drain(
            connector.read_changes(harness.object_name, cursor=None, fields=harness.fields())
        )
        cursor = pages[-1].cursor
        changed = [harness.create_remote(harness.values(30_100))]
        records, _ = drain(
            connector.read_changes(harness.object_name, cursor=cursor, fields=harness.fields())
        )
        assert [r.id for r in records] == changed
        again, pages_again = drain(
            connector.read_changes(
                harness.object_name, cursor=records[-1].cursor, fields=harness.fields()
            )
        )
        assert again == []
        assert pages_again[-1].cursor >= records[-1].cursor
        from_final, _ = drain(
            connector.read_changes(
                harness.object_name, cursor=pages_again[-1].cursor, fields=harness.fields()
            )
        )
        assert from_final == []

    def test_resuming_mid_page_neither_skips_nor_repeats(
        self, connector: Connector, harness: RemoteHarness
    ) -> None:
        self._create(connector, harness, harness.write_batch, start=40_000)
        everything, _ = drain(
            connector.read_changes(harness.object_name, cursor=None, fields=harness.fields())
        )
        middle = len(everything) // 2
        rest, _ = drain(
            connector.read_changes(
                harness.object_name, cursor=everything[middle].cursor, fields=harness.fields()
            )
        )
        assert [r.id for r in rest] == [r.id for r in everything[middle + 1 :]]

    def test_upsert_by_key_is_idempotent(
        self, connector: Connector, harness: RemoteHarness
    ) -> None:
        op = WriteOp(
            kind="upsert",
            ref="u",
            key_field=harness.key_field,
            key_value="contract-upsert-1",
            values=harness.values(50_000),
        )
        first = connector.write(harness.object_name, [op])[0]
        second = connector.write(harness.object_name, [op])[0]
        assert first.ok
        assert first.created
        assert second.ok
        assert not second.created
        assert first.record_id == second.record_id

    def test_a_rejected_record_does_not_sink_its_batch(
        self, connector: Connector, harness: RemoteHarness
    ) -> None:
        ops = [
            WriteOp(kind="create", ref="good-1", values=harness.values(60_001)),
            WriteOp(kind="create", ref="bad", values=harness.invalid_values(60_002)),
            WriteOp(kind="create", ref="good-2", values=harness.values(60_003)),
        ]
        results = connector.write(harness.object_name, ops)
        assert [r.ok for r in results] == [True, False, True]
        bad = results[1]
        assert isinstance(bad.error, DataError)
        assert bad.recovery is Recovery.FIX_DATA
        assert bad.error.message
        assert bad.error.hint

    def test_read_by_keys_finds_records_by_email(
        self, connector: Connector, harness: RemoteHarness
    ) -> None:
        self._create(connector, harness, 3, start=70_000)
        wanted = [str(harness.values(i)[harness.email_field]) for i in (70_000, 70_002)]
        found = connector.read_by_keys(
            harness.object_name,
            key_field=harness.email_field,
            keys=[*wanted, "nobody@example.invalid"],
            fields=harness.fields(),
        )
        emails = sorted(str(r.values[harness.email_field]).lower() for r in found)
        assert emails == sorted(w.lower() for w in wanted)

    def test_5xx_burst_is_retried(self, connector: Connector, harness: RemoteHarness) -> None:
        # Its own record: run alone (or on another worker) the remote would otherwise be empty.
        created = self._create(connector, harness, 1, start=60_000)
        harness.fail_next(2, status=503)
        try:
            records, _ = drain(
                connector.read_changes(harness.object_name, cursor=None, fields=harness.fields())
            )
        finally:
            harness.clear_faults()
        assert set(created) <= {record.id for record in records}

    def test_expired_session_mid_read_recovers(
        self, connector: Connector, harness: RemoteHarness
    ) -> None:
        self._create(connector, harness, harness.read_page + 1, start=80_000)
        pages = connector.read_changes(harness.object_name, cursor=None, fields=harness.fields())
        first = next(iter(pages))
        harness.expire_session()
        if not harness.supports_reauth:
            # A token that cannot be renewed: the read stops with a classified error.
            with pytest.raises(LeadbridgeError) as caught:
                list(pages)
            assert caught.value.recovery in (Recovery.REAUTHENTICATE, Recovery.STOP)
            return
        rest = [r for page in pages for r in page.records]
        assert len(first.records) + len(rest) >= harness.read_page + 1

    def test_daily_limit_stops_cleanly(
        self, spare_connector: Connector, harness: RemoteHarness
    ) -> None:
        # A connector of its own: a client that saw the limit spent refuses calls until it
        # rechecks, which would fail whichever test ran after this one.
        harness.exhaust_daily_limit()
        with pytest.raises(BudgetExhaustedError) as caught:
            spare_connector.write(
                harness.object_name,
                [WriteOp(kind="create", ref="x", values=harness.values(90_000))],
            )
        assert caught.value.recovery is Recovery.STOP
        assert caught.value.hint


__all__ = ["ConnectorContract", "Cursor", "RemoteHarness"]
