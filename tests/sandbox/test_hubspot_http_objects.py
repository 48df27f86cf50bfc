"""HubSpot emulator over HTTP, driven by plain hubspot-api-client: auth, objects, batch, merge."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hubspot
import pytest
from hubspot.crm.contacts import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    BatchResponseSimplePublicObject,
    BatchResponseSimplePublicObjectWithErrors,
    BatchResponseSimplePublicUpsertObject,
    CollectionResponseSimplePublicObjectWithAssociationsForwardPaging,
    PublicMergeInput,
    SimplePublicObject,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
    SimplePublicObjectWithAssociations,
)
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException

from .hubspot_http_fixtures import Served, conformance_server, error_body


@pytest.fixture(scope="module")
def hs() -> Iterator[Served]:
    """The conformance server of this module."""
    yield from conformance_server()


COMPANIES_PAGE = "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging"


def _create(client: Any, **properties: str) -> SimplePublicObject:
    created = client.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties=properties)
    )
    assert isinstance(created, SimplePublicObject)
    return created


def test_missing_token_is_invalid_authentication(hs: Served) -> None:
    client = hubspot.Client.create(host=hs.base_url, client_side_validation=True)
    with pytest.raises(ApiException) as caught:
        client.crm.contacts.basic_api.get_page()
    assert caught.value.status == 401
    body = error_body(caught.value)
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["status"] == "error"
    assert body["message"].startswith("Authentication credentials not found")
    assert body["correlationId"]


def test_wrong_token_is_expired_authentication(hs: Served) -> None:
    client = hubspot.Client.create(
        access_token="pat-na1-00000000-0000-0000-0000-000000000000",
        host=hs.base_url,
        client_side_validation=True,
    )
    with pytest.raises(ApiException) as caught:
        client.crm.contacts.basic_api.get_page()
    assert caught.value.status == 401
    assert error_body(caught.value)["category"] == "EXPIRED_AUTHENTICATION"


def test_basic_api_round_trip(hs: Served) -> None:
    api = hs.client().crm.contacts.basic_api
    created = _create(hs.client(), email="round@trip.example", firstname="Round")
    assert created.properties["email"] == "round@trip.example"
    assert created.created_at is not None
    assert created.archived is False

    found = api.get_by_id(created.id, properties=["email", "firstname"])
    assert isinstance(found, SimplePublicObjectWithAssociations)
    assert found.properties["firstname"] == "Round"

    by_email = api.get_by_id("round@trip.example", id_property="email", properties=["email"])
    assert by_email.id == created.id

    updated = api.update(created.id, SimplePublicObjectInput(properties={"firstname": "Squared"}))
    assert isinstance(updated, SimplePublicObject)
    assert updated.properties["firstname"] == "Squared"

    assert api.archive(created.id) is None  # 204: the spec lists no body
    with pytest.raises(ApiException) as caught:
        api.get_by_id(created.id)
    assert caught.value.status == 404
    assert error_body(caught.value)["category"] == "OBJECT_NOT_FOUND"
    archived = api.get_by_id(created.id, archived=True)
    assert archived.archived is True


def test_update_by_id_property(hs: Served) -> None:
    api = hs.client().crm.contacts.basic_api
    created = _create(hs.client(), email="idprop@example.com", firstname="Before")
    updated = api.update(
        "idprop@example.com",
        SimplePublicObjectInput(properties={"firstname": "After"}),
        id_property="email",
    )
    assert updated.id == created.id
    assert updated.properties["firstname"] == "After"


def test_get_page_pages_through_every_record(hs: Served) -> None:
    client = hs.client()
    api = client.crm.companies.basic_api
    made = set()
    for n in range(12):
        company = api.create(
            hubspot.crm.companies.SimplePublicObjectInputForCreate(
                properties={"name": f"Paging {n}", "domain": f"paging{n}.example"}
            )
        )
        made.add(company.id)
    seen: list[str] = []
    after = None
    while True:
        page = api.get_page(limit=5, after=after, properties=["name", "domain"], archived=False)
        assert type(page).__name__ == COMPANIES_PAGE
        seen.extend(item.id for item in page.results)
        assert all(set(item.properties) == {"name", "domain"} for item in page.results)
        if page.paging is None:
            break
        after = page.paging.next.after
    assert made <= set(seen)
    assert len(seen) == len(set(seen))


def test_list_params_comma_joined_and_repeated(hs: Served) -> None:
    _create(hs.client(), email="params@example.com", firstname="P", lastname="Q")
    joined = hs.raw("GET", "/crm/v3/objects/contacts?limit=100&properties=firstname,lastname")
    repeated = hs.raw(
        "GET", "/crm/v3/objects/contacts?limit=100&properties=firstname&properties=lastname"
    )
    assert joined.status_code == repeated.status_code == 200
    assert joined.json()["results"] == repeated.json()["results"]
    assert set(joined.json()["results"][0]["properties"]) == {"firstname", "lastname"}
    assert hs.raw("GET", "/crm/v3/objects/contacts?archived=false").status_code == 200


def test_get_page_default_contact_properties(hs: Served) -> None:
    _create(hs.client(), email="defaults@example.com")
    page = hs.client().crm.contacts.basic_api.get_page(limit=100)
    assert isinstance(page, CollectionResponseSimplePublicObjectWithAssociationsForwardPaging)
    expected = {"createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"}
    assert set(page.results[0].properties) == expected


def test_batch_round_trip(hs: Served) -> None:
    batch = hs.client().crm.contacts.batch_api
    emails = [f"batch{n}@example.com" for n in range(3)]
    created = batch.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[SimplePublicObjectBatchInputForCreate(properties={"email": e}) for e in emails]
        )
    )
    assert isinstance(created, BatchResponseSimplePublicObject)
    assert created.status == "COMPLETE"
    ids = sorted(item.id for item in created.results)

    read = batch.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=e) for e in emails],
            properties=["email"],
            properties_with_history=[],
            id_property="email",
        ),
        archived=False,
    )
    assert isinstance(read, BatchResponseSimplePublicObject)
    assert sorted(item.id for item in read.results) == ids

    updated = batch.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=i, properties={"firstname": "Batched"}) for i in ids
            ]
        )
    )
    assert isinstance(updated, BatchResponseSimplePublicObject)
    assert {item.properties["firstname"] for item in updated.results} == {"Batched"}

    upserted = batch.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id=emails[0], id_property="email", properties={"lastname": "Old"}
                ),
                SimplePublicObjectBatchInputUpsert(
                    id="batch-new@example.com", id_property="email", properties={"lastname": "New"}
                ),
            ]
        )
    )
    assert isinstance(upserted, BatchResponseSimplePublicUpsertObject)
    flags = {item.properties.get("email") or item.id: item.new for item in upserted.results}
    assert sorted(flags.values()) == [False, True]

    gone = batch.archive(
        BatchInputSimplePublicObjectId(inputs=[SimplePublicObjectId(id=i) for i in ids])
    )
    assert gone is None  # 204
    missing = batch.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in ids],
            properties=[],
            properties_with_history=[],
        )
    )
    assert isinstance(missing, BatchResponseSimplePublicObjectWithErrors)
    assert missing.num_errors
    assert missing.num_errors >= 1


def test_batch_create_duplicate_fails_whole_batch_with_409(hs: Served) -> None:
    existing = _create(hs.client(), email="dupe@example.com")
    batch = hs.client().crm.contacts.batch_api
    with pytest.raises(ContactsApiException) as caught:
        batch.create(
            BatchInputSimplePublicObjectBatchInputForCreate(
                inputs=[
                    SimplePublicObjectBatchInputForCreate(
                        properties={"email": "fresh@example.com"}
                    ),
                    SimplePublicObjectBatchInputForCreate(properties={"email": "dupe@example.com"}),
                ]
            )
        )
    assert caught.value.status == 409
    body = error_body(caught.value)
    assert body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {existing.id}"
    assert body["correlationId"]
    after = hs.client().crm.contacts.basic_api.get_page(limit=100, properties=["email"])
    assert "fresh@example.com" not in {r.properties["email"] for r in after.results}


def test_batch_create_with_trace_ids_answers_207(hs: Served) -> None:
    _create(hs.client(), email="traced@example.com")
    result = hs.client().crm.contacts.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(
                    properties={"email": "traced-new@example.com"}, object_write_trace_id="a"
                ),
                SimplePublicObjectBatchInputForCreate(
                    properties={"email": "traced@example.com"}, object_write_trace_id="b"
                ),
            ]
        )
    )
    assert isinstance(result, BatchResponseSimplePublicObjectWithErrors)
    assert result.num_errors == 1
    assert result.errors[0].category == "CONFLICT"
    assert result.errors[0].context["objectWriteTraceId"] == ["b"]
    assert [r.properties["email"] for r in result.results] == ["traced-new@example.com"]


def test_batch_over_100_inputs_is_400(hs: Served) -> None:
    inputs = [SimplePublicObjectId(id=str(n)) for n in range(101)]
    with pytest.raises(ApiException) as caught:
        hs.client().crm.contacts.batch_api.read(
            BatchReadInputSimplePublicObjectId(
                inputs=inputs, properties=[], properties_with_history=[]
            )
        )
    assert caught.value.status == 400
    assert error_body(caught.value)["category"] == "VALIDATION_ERROR"


def test_merge_through_the_sdk(hs: Served) -> None:
    client = hs.client()
    primary = _create(client, email="keep@example.com", firstname="Keep")
    loser = _create(client, email="lose@example.com", lastname="Lose")
    merged = client.crm.contacts.basic_api.merge(
        PublicMergeInput(primary_object_id=primary.id, object_id_to_merge=loser.id)
    )
    assert isinstance(merged, SimplePublicObject)
    assert merged.id == primary.id
    assert loser.id in merged.properties["hs_merged_object_ids"].split(";")
    assert client.crm.contacts.basic_api.get_by_id(loser.id).id == primary.id


def test_unknown_id_and_unknown_route_are_404(hs: Served) -> None:
    with pytest.raises(ApiException) as caught:
        hs.client().crm.contacts.basic_api.get_by_id("987654321")
    assert caught.value.status == 404
    response = hs.raw("GET", "/crm/v3/nothing/here")
    assert response.status_code == 404
    assert response.json()["category"] == "OBJECT_NOT_FOUND"


def test_malformed_json_is_400(hs: Served) -> None:
    response = hs.raw(
        "POST",
        "/crm/v3/objects/contacts",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
