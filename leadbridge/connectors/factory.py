"""Build connectors from the configuration, or from a running sandbox's info."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from leadbridge.config import LoadedConfig
from leadbridge.connectors.hubspot.client import HubSpotClient, HubSpotCredentials
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.retry import RetryPolicy
from leadbridge.connectors.salesforce.client import SalesforceClient, SalesforceCredentials
from leadbridge.connectors.salesforce.connector import SalesforceConnector


def salesforce_from_config(
    loaded: LoadedConfig, *, retry: RetryPolicy | None = None
) -> SalesforceConnector:
    """The Salesforce connector the configuration describes (secrets resolved now)."""
    credentials = SalesforceCredentials.from_config(loaded)
    return SalesforceConnector(client=SalesforceClient(credentials=credentials, retry=retry))


def hubspot_from_config(
    loaded: LoadedConfig, *, retry: RetryPolicy | None = None
) -> HubSpotConnector:
    """The HubSpot connector the configuration describes (secrets resolved now)."""
    credentials = HubSpotCredentials.from_config(loaded)
    return HubSpotConnector(client=HubSpotClient(credentials=credentials, retry=retry))


def salesforce_from_sandbox(
    info: Mapping[str, Any], *, retry: RetryPolicy | None = None
) -> SalesforceConnector:
    """A Salesforce connector signed in to the sandbox with client credentials."""
    sf = info["salesforce"]
    credentials = SalesforceCredentials(
        mode="client_credentials",
        instance_url=sf["instance_url"],
        login_url=sf["login_url"],
        api_version=sf["api_version"],
        client_id=sf["client_id"],
        client_secret=SecretStr(sf["client_secret"]),
        username=sf["username"],
        ca_file=Path(sf["ca_file"]),
        daily_api_share=1.0,
    )
    return SalesforceConnector(client=SalesforceClient(credentials=credentials, retry=retry))


def hubspot_from_sandbox(
    info: Mapping[str, Any], *, retry: RetryPolicy | None = None
) -> HubSpotConnector:
    """A HubSpot connector for the sandbox portal."""
    hs = info["hubspot"]
    credentials = HubSpotCredentials(
        access_token=SecretStr(hs["access_token"]), base_url=hs["base_url"], daily_api_share=1.0
    )
    return HubSpotConnector(client=HubSpotClient(credentials=credentials, retry=retry))
