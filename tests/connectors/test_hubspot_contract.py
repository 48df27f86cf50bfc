"""The connector contract, run by the HubSpot connector against the HubSpot sandbox emulator."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from pydantic import SecretStr

from leadbridge.connectors.base import CanonicalValue, FieldSpec, FieldType
from leadbridge.connectors.hubspot.client import HubSpotClient, HubSpotCredentials
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.retry import RetryPolicy
from leadbridge.sandbox.faults import FaultRule
from leadbridge.sandbox.hubspot.app import HubSpotEmulator
from leadbridge.sandbox.server import BackgroundServer
from tests.connectors.contract import ConnectorContract

FAST = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.05)
KEY = FieldSpec(
    name="leadbridge_salesforce_id",
    label="Salesforce id",
    type=FieldType.STRING,
    external_id=True,
    unique=True,
)


class HubSpotHarness:
    """Acts on the HubSpot emulator directly, as marketers and the portal itself would."""

    object_name = "contacts"
    email_field = "email"
    key_field = KEY.name
    write_batch = 100
    read_page = 200
    full_read_page = 100  # a read without a cursor goes through the list endpoint
    supports_reauth = False

    def __init__(self, emulator: HubSpotEmulator) -> None:
        self.emulator = emulator

    def fields(self) -> list[str]:
        return ["email", "firstname", "lastname", "company"]

    def values(self, i: int) -> dict[str, CanonicalValue]:
        return {
            "email": f"person{i}@example.com",
            "firstname": "Hanako" if i % 2 else "Alex",
            "lastname": f"Tester{i}",
            "company": f"Company {i % 7}",
        }

    def invalid_values(self, i: int) -> dict[str, CanonicalValue]:
        return {**self.values(i), "email": "not an e-mail"}

    def create_remote(self, values: Mapping[str, Any]) -> str:
        created = self.emulator.portal.create_object(
            object_type="contacts", body={"properties": dict(values)}
        )
        return str(created["id"])

    def update_remote(self, record_id: str, values: Mapping[str, Any]) -> None:
        self.emulator.portal.update_object(
            object_type="contacts", object_id=record_id, body={"properties": dict(values)}
        )

    def calls(self) -> int:
        return self.emulator.calls.total()

    def fail_next(self, count: int, *, status: int, path_contains: str = "") -> None:
        self.emulator.faults.add(
            FaultRule(status=status, remaining=count, path_contains=path_contains)
        )

    def clear_faults(self) -> None:
        self.emulator.faults.clear()

    def expire_session(self) -> None:
        self.emulator.access_token = "pat-na1-revoked"

    def exhaust_daily_limit(self) -> None:
        self.emulator.limiter.daily_limit = 0


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[HubSpotEmulator, BackgroundServer]]:
    emulator = HubSpotEmulator(tier="professional")
    with BackgroundServer(app=emulator.app) as server:
        yield emulator, server


@pytest.fixture(scope="module")
def connector(served: tuple[HubSpotEmulator, BackgroundServer]) -> HubSpotConnector:
    emulator, server = served
    credentials = HubSpotCredentials(
        access_token=SecretStr(emulator.access_token), base_url=server.base_url
    )
    hubspot = HubSpotConnector(client=HubSpotClient(credentials=credentials, retry=FAST))
    plan = hubspot.ensure_fields("contacts", [KEY], apply=True)
    assert [a.kind for a in plan.changes] == ["create", "create"]  # the group and the property
    again = hubspot.ensure_fields("contacts", [KEY], apply=True)
    assert again.changes == ()
    return hubspot


@pytest.fixture
def spare_connector(connector: HubSpotConnector) -> HubSpotConnector:
    """Another connector to the same portal, for a test that spends its budget."""
    client = HubSpotClient(credentials=connector.client.credentials, retry=FAST)
    return HubSpotConnector(client=client)


@pytest.fixture
def harness(served: tuple[HubSpotEmulator, BackgroundServer]) -> Iterator[HubSpotHarness]:
    emulator, _ = served
    daily = emulator.limiter.daily_limit
    token = emulator.access_token
    yield HubSpotHarness(emulator)
    emulator.access_token = token
    emulator.faults.clear()
    emulator.limiter.daily_limit = daily
    emulator.limiter.reset()


class TestHubSpotContract(ConnectorContract):
    """Every contract test, against the HubSpot emulator over real HTTP."""


def test_no_429_was_received(connector: HubSpotConnector) -> None:
    assert connector.client.rate_limited_responses == 0
