"""Narrow error-path tests of the Salesforce HTTP layer (responses stubs, no emulator).

The behaviour against a real server is covered by the contract suite; these pin the retry
policy's decisions that are awkward to provoke there: which calls are repeated and which not.
"""

from __future__ import annotations

import re

import pytest
import responses
from pydantic import SecretStr

from leadbridge.connectors.base import WriteOp
from leadbridge.connectors.retry import RetryPolicy
from leadbridge.connectors.salesforce.client import SalesforceClient, SalesforceCredentials
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.errors import BudgetExhaustedError, Recovery, TransientError

BASE = "https://acme.my.salesforce.com/services/data/v60.0/"
FAST = RetryPolicy(attempts=3, initial_wait=0.001, max_wait=0.002)
UNAVAILABLE = [{"errorCode": "SERVER_UNAVAILABLE", "message": "try later"}]


def connector(share: float = 0.5) -> SalesforceConnector:
    credentials = SalesforceCredentials(
        mode="token",
        instance_url="https://acme.my.salesforce.com",
        access_token=SecretStr("00Dxx!token-value"),
        daily_api_share=share,
    )
    return SalesforceConnector(client=SalesforceClient(credentials=credentials, retry=FAST))


@responses.activate
def test_idempotent_read_is_retried_after_5xx() -> None:
    url = re.compile(re.escape(BASE) + r"queryAll/.*")
    responses.add(responses.GET, url, json=UNAVAILABLE, status=503)
    responses.add(responses.GET, url, json=UNAVAILABLE, status=503)
    responses.add(
        responses.GET,
        url,
        json={"totalSize": 0, "done": True, "records": []},
        headers={"Sforce-Limit-Info": "api-usage=10/1000"},
    )
    sf = connector()
    sf._schemas["Lead"] = sf._schemas.get("Lead") or _lead_schema()
    pages = list(sf.read_changes("Lead", cursor=None, fields=["Email"]))
    assert [len(p.records) for p in pages] == [0]
    assert sf.budget().calls_made == 3
    assert sf.budget().daily_used == 10


@responses.activate
def test_create_is_not_repeated_when_its_outcome_is_unknown() -> None:
    responses.add(responses.POST, BASE + "composite/sobjects", json=UNAVAILABLE, status=503)
    sf = connector()
    results = sf.write("Lead", [WriteOp(kind="create", ref="a", values={"LastName": "X"})])
    assert len(responses.calls) == 1
    assert results[0].ok is False
    assert isinstance(results[0].error, TransientError)
    assert results[0].recovery is Recovery.RETRY_LATER


@responses.activate
def test_upsert_is_repeated_because_it_is_idempotent() -> None:
    url = BASE + "composite/sobjects/Lead/HubSpot_Id__c"
    responses.add(responses.PATCH, url, json=UNAVAILABLE, status=503)
    responses.add(
        responses.PATCH,
        url,
        json=[{"id": "00Q000000000001AAA", "success": True, "errors": [], "created": True}],
    )
    sf = connector()
    op = WriteOp(
        kind="upsert", ref="a", key_field="HubSpot_Id__c", key_value="1", values={"LastName": "X"}
    )
    results = sf.write("Lead", [op])
    assert len(responses.calls) == 2
    assert results[0].ok
    assert results[0].created


@responses.activate
def test_daily_limit_stops_the_run() -> None:
    responses.add(
        responses.POST,
        BASE + "composite/sobjects",
        json=[{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}],
        status=403,
    )
    with pytest.raises(BudgetExhaustedError):
        connector().write("Lead", [WriteOp(kind="create", ref="a", values={"LastName": "X"})])


@responses.activate
def test_share_of_daily_allocation_is_enforced_before_calling() -> None:
    responses.add(
        responses.PATCH,
        BASE + "composite/sobjects",
        json=[{"id": "00Q000000000001AAA", "success": True, "errors": []}],
        headers={"Sforce-Limit-Info": "api-usage=500/1000"},
    )
    sf = connector(share=0.5)
    op = WriteOp(kind="update", ref="a", record_id="00Q000000000001AAA", values={"LastName": "X"})
    assert sf.write("Lead", [op])[0].ok
    with pytest.raises(BudgetExhaustedError) as caught:
        sf.write("Lead", [op])
    assert "500 of 1000" in str(caught.value)
    assert len(responses.calls) == 1


def _lead_schema():  # type: ignore[no-untyped-def]
    from leadbridge.connectors.salesforce.values import schema_from_describe

    return schema_from_describe(
        {
            "name": "Lead",
            "fields": [
                {"name": n, "type": t}
                for n, t in (
                    ("Id", "id"),
                    ("Email", "email"),
                    ("SystemModstamp", "datetime"),
                    ("IsDeleted", "boolean"),
                )
            ],
        }
    )


@responses.activate
def test_every_request_has_the_configured_timeout() -> None:
    responses.add(
        responses.GET,
        BASE + "sobjects/Lead/describe",
        json={"name": "Lead", "fields": []},
        headers={"Sforce-Limit-Info": "api-usage=1/1000"},
    )
    credentials = SalesforceCredentials(
        mode="token",
        instance_url="https://acme.my.salesforce.com",
        access_token=SecretStr("00Dxx!token-value"),
        timeout_seconds=7.5,
    )
    sf = SalesforceConnector(client=SalesforceClient(credentials=credentials, retry=FAST))
    sf.describe("Lead")  # simple-salesforce's restful() passes no timeout of its own
    assert responses.calls[0].request.req_kwargs["timeout"] == 7.5
