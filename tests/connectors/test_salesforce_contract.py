"""The connector contract, run by the Salesforce connector against the Salesforce emulator."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from leadbridge.connectors.base import CanonicalValue, FieldSpec, FieldType
from leadbridge.connectors.retry import RetryPolicy
from leadbridge.connectors.salesforce.client import SalesforceClient, SalesforceCredentials
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.sandbox.faults import FaultRule
from leadbridge.sandbox.salesforce.app import SalesforceEmulator
from leadbridge.sandbox.server import BackgroundServer
from leadbridge.sandbox.tls import ensure_tls
from tests.connectors.contract import ConnectorContract

FAST = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.05)
KEY = FieldSpec(
    name="HubSpot_Contact_Id__c",
    label="HubSpot contact id",
    type=FieldType.STRING,
    length=32,
    external_id=True,
    unique=True,
)


class SalesforceHarness:
    """Acts on the Salesforce emulator directly, as the sales team and the org would."""

    object_name = "Lead"
    email_field = "Email"
    key_field = KEY.name
    write_batch = 200
    read_page = 2000
    full_read_page = 2000
    supports_reauth = True

    def __init__(self, emulator: SalesforceEmulator) -> None:
        self.emulator = emulator

    def fields(self) -> list[str]:
        return ["Email", "FirstName", "LastName", "Company"]

    def values(self, i: int) -> dict[str, CanonicalValue]:
        return {
            "Email": f"lead{i}@example.com",
            "FirstName": "Taro" if i % 2 else "Sam",
            "LastName": f"Lead{i}",
            "Company": f"Company {i % 7}",
        }

    def invalid_values(self, i: int) -> dict[str, CanonicalValue]:
        return {**self.values(i), "Email": "not an e-mail"}

    def create_remote(self, values: Mapping[str, Any]) -> str:
        with self.emulator.lock:
            org = self.emulator.org
            return org.create("Lead", dict(values), user_id=org.integration_user_id)

    def update_remote(self, record_id: str, values: Mapping[str, Any]) -> None:
        with self.emulator.lock:
            org = self.emulator.org
            org.update("Lead", record_id, dict(values), user_id=org.integration_user_id)

    def calls(self) -> int:
        return self.emulator.calls.total()

    def fail_next(self, count: int, *, status: int, path_contains: str = "") -> None:
        self.emulator.faults.add(
            FaultRule(
                status=status, remaining=count, path_contains=path_contains or "/services/data"
            )
        )

    def clear_faults(self) -> None:
        self.emulator.faults.clear()

    def expire_session(self) -> None:
        self.emulator.expire_tokens()

    def exhaust_daily_limit(self) -> None:
        counter = self.emulator.org.limits.daily_api_requests
        counter.used = counter.max


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SalesforceEmulator, str, BackgroundServer]]:
    emulator = SalesforceEmulator(daily_api_max=1_000_000)
    tls = ensure_tls(Path(tmp_path_factory.mktemp("tls")))
    with BackgroundServer(app=emulator.app, tls=tls) as server:
        yield emulator, str(tls.ca_file), server
        gc.collect()


@pytest.fixture(scope="module")
def connector(served: tuple[SalesforceEmulator, str, BackgroundServer]) -> SalesforceConnector:
    emulator, ca_file, server = served
    info = emulator.client_info(base_url=server.base_url, ca_file=ca_file)
    credentials = SalesforceCredentials(
        mode="client_credentials",
        instance_url=server.base_url,
        login_url=f"https://{info['domain']}.salesforce.com",
        client_id=info["client_id"],
        client_secret=SecretStr(info["client_secret"]),
        username=info["username"],
        ca_file=Path(ca_file),
        daily_api_share=1.0,
    )
    salesforce = SalesforceConnector(client=SalesforceClient(credentials=credentials, retry=FAST))
    plan = salesforce.ensure_fields("Lead", [KEY], apply=True)
    assert sorted(a.kind for a in plan.changes) == ["create", "grant_access"]
    assert salesforce.describe("Lead").field(KEY.name) is not None
    again = salesforce.ensure_fields("Lead", [KEY], apply=True)
    assert again.changes == ()
    return salesforce


@pytest.fixture
def spare_connector(connector: SalesforceConnector) -> Iterator[SalesforceConnector]:
    """Another connector to the same org, for a test that spends its budget."""
    client = SalesforceClient(credentials=connector.client.credentials, retry=FAST)
    yield SalesforceConnector(client=client)
    client.close()


@pytest.fixture
def harness(
    served: tuple[SalesforceEmulator, str, BackgroundServer],
) -> Iterator[SalesforceHarness]:
    emulator, _, _ = served
    yield SalesforceHarness(emulator)
    emulator.faults.clear()
    emulator.org.limits.daily_api_requests.used = 0


class TestSalesforceContract(ConnectorContract):
    """Every contract test, against the Salesforce emulator over real HTTPS."""
