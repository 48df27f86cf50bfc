"""Nurturing enrolment: static lists found or created by name, members added and removed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from leadbridge.connectors.hubspot.client import HubSpotClient, HubSpotCredentials
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.sandbox.hubspot.app import HubSpotEmulator
from leadbridge.sandbox.server import BackgroundServer


@pytest.fixture
def served() -> Iterator[tuple[HubSpotEmulator, HubSpotConnector]]:
    emulator = HubSpotEmulator()
    with BackgroundServer(app=emulator.app) as server:
        credentials = HubSpotCredentials(
            access_token=SecretStr(emulator.access_token), base_url=server.base_url
        )
        yield emulator, HubSpotConnector(client=HubSpotClient(credentials=credentials))


def test_enrolment_list_is_found_or_created_and_members_change(
    served: tuple[HubSpotEmulator, HubSpotConnector],
) -> None:
    emulator, connector = served
    ids = [
        emulator.portal.create_object(
            object_type="contacts", body={"properties": {"email": f"n{i}@example.jp"}}
        )["id"]
        for i in range(3)
    ]
    assert connector.lists.list_id("MQL nurturing") is None
    list_id = connector.lists.list_id("MQL nurturing", create=True)
    assert list_id is not None
    again = HubSpotConnector(client=connector.client)
    assert again.lists.list_id("MQL nurturing") == list_id
    assert connector.lists.add(list_id, [*ids, "999999"]) == ["999999"]
    assert connector.lists.add(list_id, ids) == []  # idempotent
    members = emulator.portal.list_memberships(list_id=list_id)["results"]
    assert sorted(str(m["recordId"]) for m in members) == sorted(ids)
    assert connector.lists.remove(list_id, ids[:1]) == []
    members = emulator.portal.list_memberships(list_id=list_id)["results"]
    assert sorted(str(m["recordId"]) for m in members) == sorted(ids[1:])
