"""HubSpot connector promises beyond the shared contract: ties, 429 storms, 409 in a batch."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from leadbridge.connectors.base import Cursor, WriteOp
from leadbridge.connectors.hubspot.client import HubSpotClient, HubSpotCredentials
from leadbridge.connectors.hubspot.connector import SEARCH_PAGE, HubSpotConnector
from leadbridge.connectors.retry import RetryPolicy
from leadbridge.errors import DataError, Recovery
from leadbridge.sandbox.faults import FaultRule
from leadbridge.sandbox.hubspot.app import HubSpotEmulator
from leadbridge.sandbox.hubspot.ratelimit import rate_limit_body
from leadbridge.sandbox.server import BackgroundServer

FAST = RetryPolicy(attempts=6, initial_wait=0.01, max_wait=0.05, max_retry_after=0.05)
FIELDS = ["email", "lastname"]


@pytest.fixture
def served() -> Iterator[tuple[HubSpotEmulator, HubSpotConnector]]:
    emulator = HubSpotEmulator(tier="professional")
    with BackgroundServer(app=emulator.app) as server:
        credentials = HubSpotCredentials(
            access_token=SecretStr(emulator.access_token),
            base_url=server.base_url,
            search_per_second=50,  # the emulator's search limit is raised below to match
        )
        emulator.limiter._search.limit = 60
        yield emulator, HubSpotConnector(client=HubSpotClient(credentials=credentials, retry=FAST))


@pytest.mark.slow
def test_25000_records_in_one_millisecond_are_read_once_each(
    served: tuple[HubSpotEmulator, HubSpotConnector],
) -> None:
    emulator, connector = served
    count = 25_000
    emulator.portal.bulk_insert(
        object_type="contacts",
        rows=[{"email": f"tie{i}@example.com", "lastname": f"T{i}"} for i in range(count)],
        validate=False,
    )
    connector.describe("contacts")
    before = emulator.calls.total()
    seen: list[str] = []
    # An incremental read from the beginning of time takes the search path.
    for page in connector.read_changes("contacts", cursor=Cursor(), fields=FIELDS):
        seen.extend(r.id for r in page.records)
    assert len(seen) == count
    assert len(set(seen)) == count
    calls = emulator.calls.total() - before
    # One page detects the tie, the walk by id reads each record once (plus the empty page
    # that proves the walk is over), and one empty window proves nothing follows.
    assert calls <= math.ceil(count / SEARCH_PAGE) + 3
    # A full read (no cursor) goes through the list endpoint: 100 a page, no search limit.
    before = emulator.calls.total()
    listed = [
        r.id
        for p in connector.read_changes("contacts", cursor=None, fields=FIELDS)
        for r in p.records
    ]
    assert sorted(listed) == sorted(seen)
    assert emulator.calls.total() - before == math.ceil(count / 100)


def test_resume_inside_a_tie_reads_the_rest_once(
    served: tuple[HubSpotEmulator, HubSpotConnector],
) -> None:
    emulator, connector = served
    emulator.portal.bulk_insert(
        object_type="contacts",
        rows=[{"email": f"r{i}@example.com", "lastname": f"R{i}"} for i in range(450)],
        validate=False,
    )
    everything = [
        r for p in connector.read_changes("contacts", cursor=None, fields=FIELDS) for r in p.records
    ]
    assert len({r.id for r in everything}) == 450
    middle = everything[301]
    rest = [
        r
        for p in connector.read_changes("contacts", cursor=middle.cursor, fields=FIELDS)
        for r in p.records
    ]
    assert [r.id for r in rest] == [r.id for r in everything[302:]]
    final = list(connector.read_changes("contacts", cursor=middle.cursor, fields=FIELDS))[-1]
    assert [
        r
        for p in connector.read_changes("contacts", cursor=final.cursor, fields=FIELDS)
        for r in p.records
    ] == []
    assert final.cursor > Cursor(modified_at=middle.modified_at, tie_break=middle.cursor.tie_break)


def test_429_storm_is_waited_out(served: tuple[HubSpotEmulator, HubSpotConnector]) -> None:
    emulator, connector = served
    emulator.faults.add(
        FaultRule(status=429, remaining=4, body=rate_limit_body("TEN_SECONDLY_ROLLING"))
    )
    results = connector.write(
        "contacts",
        [WriteOp(kind="create", ref="a", values={"email": "storm@example.com", "lastname": "S"})],
    )
    assert results[0].ok
    assert connector.client.rate_limited_responses == 4
    assert (
        emulator.portal.get_object(
            object_type="contacts", object_id="storm@example.com", id_property="email"
        )["properties"]["lastname"]
        == "S"
    )


def test_duplicate_inside_a_batch_fails_alone(
    served: tuple[HubSpotEmulator, HubSpotConnector],
) -> None:
    emulator, connector = served
    emulator.portal.create_object(
        object_type="contacts", body={"properties": {"email": "taken@example.com"}}
    )
    ops = [
        WriteOp(kind="create", ref=str(i), values={"email": f"b{i}@example.com", "lastname": "B"})
        for i in range(5)
    ]
    ops[2] = WriteOp(kind="create", ref="2", values={"email": "taken@example.com"})
    results = connector.write("contacts", ops)
    assert [r.ok for r in results] == [True, True, False, True, True]
    assert isinstance(results[2].error, DataError)
    assert results[2].recovery is Recovery.FIX_DATA
    assert "already exists" in results[2].error.message
