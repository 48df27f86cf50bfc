"""Sandbox control routes and injected faults, observed through plain hubspot-api-client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hubspot.crm.contacts import (
    ApiException,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectInputForCreate,
)

from leadbridge.sandbox import seed as seed_data
from leadbridge.sandbox.hubspot.control import SEED_EVENT_TYPES

from .hubspot_http_fixtures import Served, conformance_server, error_body


@pytest.fixture(scope="module")
def hs() -> Iterator[Served]:
    """The conformance server of this module."""
    yield from conformance_server()


@pytest.fixture(autouse=True)
def _clean(hs: Served) -> None:
    hs.control("DELETE", "faults")


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_injected_server_errors_are_hubspot_shaped(hs: Served, status: int) -> None:
    hs.control(
        "POST",
        "faults",
        {"status": status, "path_contains": "/crm/v3/objects/contacts", "remaining": 1},
    )
    api = hs.client().crm.contacts.basic_api
    with pytest.raises(ApiException) as caught:
        api.get_page()
    assert caught.value.status == status
    body = error_body(caught.value)
    assert body["status"] == "error"
    assert body["category"] == "INTERNAL_ERROR"
    assert body["correlationId"]
    assert body["message"]
    assert api.get_page() is not None  # the rule was used up


def test_injected_429_looks_like_a_rate_limit(hs: Served) -> None:
    hs.control("POST", "faults", {"rules": [{"status": 429, "method": "POST", "remaining": 1}]})
    with pytest.raises(ApiException) as caught:
        hs.client().crm.contacts.search_api.do_search(PublicObjectSearchRequest(limit=1))
    assert caught.value.status == 429
    body = error_body(caught.value)
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert "X-HubSpot-RateLimit-Max" in caught.value.headers


def test_fault_rules_can_be_listed_and_cleared(hs: Served) -> None:
    hs.control("POST", "faults", {"status": 503, "rate": 1.0})
    assert len(hs.control("GET", "faults")["rules"]) == 1
    hs.control("DELETE", "faults")
    assert hs.control("GET", "faults")["rules"] == []
    assert hs.client().crm.contacts.basic_api.get_page() is not None


def test_bad_fault_rule_is_400(hs: Served) -> None:
    response = hs.raw("POST", "/__sandbox__/hubspot/faults", json={"colour": "red"})
    assert response.status_code == 400
    assert "colour" in response.json()["error"]


def test_call_log_counts_api_calls_only(hs: Served) -> None:
    hs.control("DELETE", "calls")
    client = hs.client()
    client.crm.contacts.basic_api.get_page()
    client.crm.contacts.basic_api.get_page()
    client.crm.contacts.search_api.do_search(PublicObjectSearchRequest(limit=1))
    hs.control("GET", "faults")
    log = hs.control("GET", "calls")
    assert log["calls"] == {
        "GET /crm/v3/objects/contacts": 2,
        "POST /crm/v3/objects/contacts/search": 1,
    }
    assert log["total"] == 3
    assert hs.control("DELETE", "calls")["total"] == 0


def test_control_needs_no_token_and_is_not_limited(hs: Served) -> None:
    for _ in range(10):
        assert hs.control("GET", "limits")["tier"] == "professional"


def test_seed_matches_a_share_of_the_seed_leads(hs: Served) -> None:
    result = hs.control("POST", "seed", {"contacts": 30, "seed": 5, "match_share": 0.4})
    assert result["contacts"] == 30
    assert result["matched"] == 12
    lead_emails = {lead.email for lead in seed_data.generate(seed=5, leads=30).leads}
    assert set(result["matched_emails"]) <= lead_emails
    search = hs.client().crm.contacts.search_api
    email = result["matched_emails"][0]
    found = search.do_search(
        PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(filters=[Filter(property_name="email", operator="EQ", value=email)])
            ],
            properties=["email", "firstname", "lifecyclestage", "numemployees"],
        )
    )
    assert found.total == 1
    assert found.results[0].properties["lifecyclestage"] == "lead"
    everyone = set()
    after = None
    while True:
        page = hs.client().crm.contacts.basic_api.get_page(
            limit=100, after=after, properties=["email"]
        )
        everyone |= {item.properties["email"] for item in page.results}
        if page.paging is None:
            break
        after = page.paging.next.after
    assert len((everyone & lead_emails) - set(result["matched_emails"])) == 0


def test_marketer_edit_and_merge(hs: Served) -> None:
    api = hs.client().crm.contacts.basic_api
    one = api.create(SimplePublicObjectInputForCreate(properties={"email": "m1@example.com"}))
    two = api.create(SimplePublicObjectInputForCreate(properties={"email": "m2@example.com"}))
    hs.control("POST", "actions/edit", {"id": one.id, "properties": {"firstname": "Edited"}})
    assert api.get_by_id(one.id, properties=["firstname"]).properties["firstname"] == "Edited"
    merged = hs.control("POST", "actions/merge", {"primary_id": one.id, "merged_id": two.id})
    assert merged["id"] == one.id
    assert api.get_by_id(two.id).id == one.id


def test_control_errors_from_the_portal_are_hubspot_shaped(hs: Served) -> None:
    response = hs.raw(
        "POST", "/__sandbox__/hubspot/actions/edit", json={"id": "999999", "properties": {}}
    )
    assert response.status_code == 404
    assert response.json()["category"] == "OBJECT_NOT_FOUND"


def test_search_lag_hides_fresh_writes_from_search_only(hs: Served) -> None:
    hs.control("POST", "search_lag", {"seconds": 3600})
    try:
        api = hs.client().crm.contacts.basic_api
        created = api.create(
            SimplePublicObjectInputForCreate(properties={"email": "lagged@example.com"})
        )
        found = hs.client().crm.contacts.search_api.do_search(
            PublicObjectSearchRequest(
                filter_groups=[
                    FilterGroup(
                        filters=[
                            Filter(property_name="email", operator="EQ", value="lagged@example.com")
                        ]
                    )
                ]
            )
        )
        assert found.total == 0
        assert api.get_by_id(created.id).id == created.id
    finally:
        hs.control("POST", "search_lag", {"seconds": 0})


def test_seed_events_fills_the_event_store_of_existing_contacts(hs: Served) -> None:
    api = hs.client().crm.contacts.basic_api
    ids = [
        api.create(SimplePublicObjectInputForCreate(properties={"email": f"ev{n}@example.com"})).id
        for n in range(2)
    ]

    def shapes(contact_id: str) -> list[tuple[str, str]]:
        response = hs.raw(
            "GET",
            "/events/v3/events",
            params={"objectType": "contact", "objectId": contact_id, "limit": 1000},
        )
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        return sorted((e["eventType"], e["properties"].get("url", "")) for e in results)

    body: dict[str, Any] = {"per_contact": 40, "seed": 5, "ids": ids}
    assert hs.control("POST", "seed_events", body) == {"contacts": 2, "events": 80}
    first = shapes(ids[0])
    assert len(first) == 40
    assert len(shapes(ids[1])) == 40
    assert {kind for kind, _ in first} <= set(SEED_EVENT_TYPES)
    assert len({kind for kind, _ in first}) > 2
    assert all(url.startswith("https://") for kind, url in first if kind == "page_view")
    # The same seed draws the same events for the same contact again.
    hs.control("POST", "seed_events", {**body, "ids": ids[:1]})
    assert shapes(ids[0]) == sorted(first * 2)
    only = hs.control("POST", "seed_events", {**body, "ids": ids[1:], "types": ["email_open"]})
    assert only == {"contacts": 1, "events": 40}
    assert sum(kind == "email_open" for kind, _ in shapes(ids[1])) >= 40
    bad = hs.raw("POST", "/__sandbox__/hubspot/seed_events", json={"types": ["nope"]})
    assert bad.status_code == 400
