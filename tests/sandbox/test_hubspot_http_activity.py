"""Events v3 and Lists v3 over HTTP with plain hubspot-api-client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hubspot.crm.contacts import SimplePublicObjectInputForCreate
from hubspot.crm.lists import (
    ApiCollectionResponseJoinTimeAndRecordId,
    ListCreateRequest,
    ListCreateResponse,
    ListFetchResponse,
    MembershipsUpdateResponse,
)
from hubspot.crm.lists import ApiException as ListsApiException
from hubspot.events import CollectionResponseExternalUnifiedEvent, VisibleExternalEventTypeNames

from .hubspot_http_fixtures import Served, conformance_server, error_body


@pytest.fixture(scope="module")
def hs() -> Iterator[Served]:
    """The conformance server of this module."""
    yield from conformance_server()


@pytest.fixture(scope="module")
def contact_ids(hs: Served) -> list[str]:
    """Three fresh contacts."""
    api = hs.client().crm.contacts.basic_api
    return [
        api.create(SimplePublicObjectInputForCreate(properties={"email": f"act{n}@example.com"})).id
        for n in range(3)
    ]


def test_events_for_a_contact(hs: Served, contact_ids: list[str]) -> None:
    first, second = contact_ids[0], contact_ids[1]
    for day, kind in ((1, "page_view"), (2, "form_submission"), (3, "page_view")):
        hs.control(
            "POST",
            "actions/event",
            {
                "id": first,
                "event_type": kind,
                "occurred_at": f"2024-03-0{day}T09:00:00.000Z",
                "properties": {"hs_url": f"https://example.com/{day}"},
            },
        )
    hs.control("POST", "actions/event", {"id": second, "event_type": "email_open"})
    events = hs.client().events.events_api
    page = events.get_page(object_type="contact", object_id=int(first), limit=2)
    assert isinstance(page, CollectionResponseExternalUnifiedEvent)
    assert [e.event_type for e in page.results] == ["page_view", "form_submission"]
    assert page.results[0].occurred_at == datetime(2024, 3, 3, 9, tzinfo=UTC)
    assert page.results[0].properties == {"hs_url": "https://example.com/3"}
    rest = events.get_page(
        object_type="contact", object_id=int(first), limit=2, after=page.paging.next.after
    )
    assert [e.event_type for e in rest.results] == ["page_view"]
    filtered = events.get_page(
        object_type="contact",
        event_type="form_submission",
        occurred_after=datetime(2024, 3, 1, 12, tzinfo=UTC),
        sort=["ASCENDING"],
    )
    assert [e.object_id for e in filtered.results] == [first]


def test_event_types(hs: Served) -> None:
    names = hs.client().events.events_api.get_types()
    assert isinstance(names, VisibleExternalEventTypeNames)
    assert "form_submission" in names.event_types


def test_static_list_memberships(hs: Served, contact_ids: list[str]) -> None:
    client = hs.client()
    created = client.crm.lists.lists_api.create(
        ListCreateRequest(name="Nurture", object_type_id="0-1", processing_type="MANUAL")
    )
    assert isinstance(created, ListCreateResponse)
    list_id = created.list.list_id
    fetched = client.crm.lists.lists_api.get_by_id(list_id)
    assert isinstance(fetched, ListFetchResponse)
    assert fetched.list.name == "Nurture"

    memberships = client.crm.lists.memberships_api
    added = memberships.add(list_id, [*contact_ids, "999999"])
    assert isinstance(added, MembershipsUpdateResponse)
    assert sorted(added.records_ids_added) == sorted(contact_ids)
    assert added.record_ids_missing == ["999999"]

    page = memberships.get_page(list_id, limit=2)
    assert isinstance(page, ApiCollectionResponseJoinTimeAndRecordId)
    assert len(page.results) == 2
    assert page.paging.next.after
    rest = memberships.get_page(list_id, limit=2, after=page.paging.next.after)
    seen = [m.record_id for m in [*page.results, *rest.results]]
    assert sorted(seen) == sorted(contact_ids)

    removed = memberships.remove(list_id, [contact_ids[0]])
    assert removed.record_ids_removed == [contact_ids[0]]
    assert client.crm.lists.lists_api.get_by_id(list_id).list.size == 2


def test_duplicate_list_name_is_409(hs: Served) -> None:
    lists = hs.client().crm.lists.lists_api
    lists.create(ListCreateRequest(name="Twice", object_type_id="0-1", processing_type="MANUAL"))
    with pytest.raises(ListsApiException) as caught:
        lists.create(
            ListCreateRequest(name="Twice", object_type_id="0-1", processing_type="MANUAL")
        )
    assert caught.value.status == 409
    assert error_body(caught.value)["category"] == "CONFLICT"
