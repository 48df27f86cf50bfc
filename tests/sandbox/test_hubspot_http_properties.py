"""Properties and groups over HTTP with plain hubspot-api-client, and write validation errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hubspot.crm.contacts import ApiException as ContactsApiException
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.properties import (
    ApiException,
    CollectionResponsePropertyGroupNoPaging,
    CollectionResponsePropertyNoPaging,
    ModelProperty,
    OptionInput,
    PropertyCreate,
    PropertyGroup,
    PropertyGroupCreate,
    PropertyUpdate,
)

from .hubspot_http_fixtures import Served, conformance_server, error_body


@pytest.fixture(scope="module")
def hs() -> Iterator[Served]:
    """The conformance server of this module."""
    yield from conformance_server()


def _tier_property(name: str = "tier", group: str = "contactinformation") -> PropertyCreate:
    return PropertyCreate(
        name=name,
        label="Tier",
        type="enumeration",
        field_type="select",
        group_name=group,
        options=[
            OptionInput(label="Gold", value="gold", display_order=0, hidden=False),
            OptionInput(label="Silver", value="silver", display_order=1, hidden=False),
        ],
    )


def test_create_get_update_property(hs: Served) -> None:
    core = hs.client().crm.properties.core_api
    created = core.create("contacts", _tier_property())
    assert isinstance(created, ModelProperty)
    assert created.name == "tier"
    assert [o.value for o in created.options] == ["gold", "silver"]

    everything = core.get_all("contacts", archived=False)
    assert isinstance(everything, CollectionResponsePropertyNoPaging)
    assert "tier" in {p.name for p in everything.results}
    assert "email" in {p.name for p in everything.results}

    one = core.get_by_name("contacts", "tier")
    assert isinstance(one, ModelProperty)
    assert one.type == "enumeration"

    updated = core.update("contacts", "tier", PropertyUpdate(label="Customer tier"))
    assert isinstance(updated, ModelProperty)
    assert updated.label == "Customer tier"


def test_duplicate_property_is_409(hs: Served) -> None:
    core = hs.client().crm.properties.core_api
    core.create("companies", _tier_property("dupe_prop", "companyinformation"))
    with pytest.raises(ApiException) as caught:
        core.create("companies", _tier_property("dupe_prop", "companyinformation"))
    assert caught.value.status == 409
    assert error_body(caught.value)["category"] == "CONFLICT"


def test_unknown_property_is_404(hs: Served) -> None:
    with pytest.raises(ApiException) as caught:
        hs.client().crm.properties.core_api.get_by_name("contacts", "no_such_property")
    assert caught.value.status == 404


def test_groups(hs: Served) -> None:
    groups = hs.client().crm.properties.groups_api
    created = groups.create(
        "contacts", PropertyGroupCreate(name="leadbridge", label="LeadBridge", display_order=-1)
    )
    assert isinstance(created, PropertyGroup)
    assert created.name == "leadbridge"
    listed = groups.get_all("contacts")
    assert isinstance(listed, CollectionResponsePropertyGroupNoPaging)
    assert "leadbridge" in {g.name for g in listed.results}
    with pytest.raises(ApiException) as caught:
        groups.create("contacts", PropertyGroupCreate(name="leadbridge", label="Again"))
    assert caught.value.status == 409
    core = hs.client().crm.properties.core_api
    in_group = core.create(
        "contacts",
        PropertyCreate(
            name="lb_sf_id",
            label="Salesforce id",
            type="string",
            field_type="text",
            group_name="leadbridge",
        ),
    )
    assert in_group.group_name == "leadbridge"


def test_write_unknown_property_is_property_doesnt_exist(hs: Served) -> None:
    with pytest.raises(ContactsApiException) as caught:
        hs.client().crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"email": "x@example.com", "nope": "1"})
        )
    assert caught.value.status == 400
    body = error_body(caught.value)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: ")
    assert "PROPERTY_DOESNT_EXIST" in body["message"]


def test_write_invalid_option_is_invalid_option(hs: Served) -> None:
    core = hs.client().crm.properties.core_api
    core.create("contacts", _tier_property("plan"))
    with pytest.raises(ContactsApiException) as caught:
        hs.client().crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"email": "y@example.com", "plan": "tin"})
        )
    assert caught.value.status == 400
    assert "INVALID_OPTION" in error_body(caught.value)["message"]


def test_batch_write_with_invalid_value_fails_whole_batch(hs: Served) -> None:
    with pytest.raises(ContactsApiException) as caught:
        hs.client().crm.contacts.batch_api.create(
            BatchInputSimplePublicObjectBatchInputForCreate(
                inputs=[
                    SimplePublicObjectBatchInputForCreate(properties={"email": "ok@example.com"}),
                    SimplePublicObjectBatchInputForCreate(properties={"nope": "1"}),
                ]
            )
        )
    assert caught.value.status == 400
    assert "PROPERTY_DOESNT_EXIST" in error_body(caught.value)["message"]
