"""Search over HTTP with plain hubspot-api-client: every operator, limits, paging, sorts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hubspot.crm.contacts import (
    ApiException,
    BatchInputSimplePublicObjectBatchInputForCreate,
    CollectionResponseWithTotalSimplePublicObjectForwardPaging,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputForCreate,
)
from hubspot.crm.properties import PropertyCreate

from .hubspot_http_fixtures import Served, conformance_server, error_body


@pytest.fixture(scope="module")
def hs() -> Iterator[Served]:
    """The conformance server of this module."""
    yield from conformance_server()


TAG = "searchtag"
# firstname -> (score, jobtitle or None)
PEOPLE = {
    "Ann": ("10", "Engineer"),
    "Bob": ("20", None),
    "Cid": ("30", "Sales Manager"),
    "Dee": ("40", None),
    "Eve": ("50", "Engineer"),
}


@pytest.fixture(scope="module")
def people(hs: Served) -> dict[str, str]:
    """Five tagged contacts with a numeric score; firstname -> id."""
    client = hs.client()
    client.crm.properties.core_api.create(
        "contacts",
        PropertyCreate(
            name="score",
            label="Score",
            type="number",
            field_type="number",
            group_name="contactinformation",
        ),
    )
    inputs = [
        SimplePublicObjectBatchInputForCreate(
            properties={
                "email": f"{name.lower()}@search.example",
                "firstname": name,
                "lastname": TAG,
                "score": score,
                **({"jobtitle": title} if title else {}),
            }
        )
        for name, (score, title) in PEOPLE.items()
    ]
    created = client.crm.contacts.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)
    )
    return {item.properties["firstname"]: item.id for item in created.results}


def _search(hs: Served, *filters: dict[str, Any], **request: Any) -> Any:
    tagged = {"propertyName": "lastname", "operator": "EQ", "value": TAG}
    body = PublicObjectSearchRequest(
        filter_groups=[FilterGroup(filters=[Filter(**_snake(tagged)), *map(_filter, filters)])],
        properties=["firstname", "score"],
        limit=request.pop("limit", 100),
        **request,
    )
    result = hs.client().crm.contacts.search_api.do_search(body)
    assert isinstance(result, CollectionResponseWithTotalSimplePublicObjectForwardPaging)
    return result


def _snake(raw: dict[str, Any]) -> dict[str, Any]:
    names = {"propertyName": "property_name", "highValue": "high_value"}
    return {names.get(k, k): v for k, v in raw.items()}


def _filter(raw: dict[str, Any]) -> Filter:
    return Filter(**_snake(raw))


def _names(result: Any) -> list[str]:
    return sorted(item.properties["firstname"] for item in result.results)


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"operator": "EQ", "value": "30"}, ["Cid"]),
        ({"operator": "NEQ", "value": "30"}, ["Ann", "Bob", "Dee", "Eve"]),
        ({"operator": "LT", "value": "30"}, ["Ann", "Bob"]),
        ({"operator": "LTE", "value": "30"}, ["Ann", "Bob", "Cid"]),
        ({"operator": "GT", "value": "30"}, ["Dee", "Eve"]),
        ({"operator": "GTE", "value": "30"}, ["Cid", "Dee", "Eve"]),
        ({"operator": "BETWEEN", "value": "20", "highValue": "40"}, ["Bob", "Cid", "Dee"]),
        ({"operator": "IN", "values": ["10", "50"]}, ["Ann", "Eve"]),
        ({"operator": "NOT_IN", "values": ["10", "50"]}, ["Bob", "Cid", "Dee"]),
    ],
)
def test_score_operators(
    hs: Served, people: dict[str, str], flt: dict[str, Any], expected: list[str]
) -> None:
    result = _search(hs, {"propertyName": "score", **flt})
    assert _names(result) == expected
    assert result.total == len(expected)


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"operator": "HAS_PROPERTY"}, ["Ann", "Cid", "Eve"]),
        ({"operator": "NOT_HAS_PROPERTY"}, ["Bob", "Dee"]),
        ({"operator": "CONTAINS_TOKEN", "value": "engineer"}, ["Ann", "Eve"]),
        ({"operator": "CONTAINS_TOKEN", "value": "manag*"}, ["Cid"]),
        ({"operator": "NOT_CONTAINS_TOKEN", "value": "engineer"}, ["Bob", "Cid", "Dee"]),
    ],
)
def test_text_operators(
    hs: Served, people: dict[str, str], flt: dict[str, Any], expected: list[str]
) -> None:
    assert _names(_search(hs, {"propertyName": "jobtitle", **flt})) == expected


def test_filter_groups_are_or_ed(hs: Served, people: dict[str, str]) -> None:
    groups = [
        FilterGroup(filters=[Filter(property_name="firstname", operator="EQ", value=n)])
        for n in ("Ann", "Eve")
    ]
    result = hs.client().crm.contacts.search_api.do_search(
        PublicObjectSearchRequest(filter_groups=groups, properties=["firstname"], limit=10)
    )
    assert _names(result) == ["Ann", "Eve"]


def test_sorts_as_dicts_and_strings_and_paging(hs: Served, people: dict[str, str]) -> None:
    sorts: Any = [{"propertyName": "score", "direction": "DESCENDING"}]
    first = _search(hs, sorts=sorts, limit=2)
    assert [r.properties["firstname"] for r in first.results] == ["Eve", "Dee"]
    assert first.total == 5
    assert first.paging.next.after == "2"
    second = _search(hs, sorts=sorts, limit=2, after=first.paging.next.after)
    assert [r.properties["firstname"] for r in second.results] == ["Cid", "Bob"]
    last = _search(hs, sorts=sorts, limit=2, after=second.paging.next.after)
    assert [r.properties["firstname"] for r in last.results] == ["Ann"]
    assert last.paging is None
    ascending = _search(hs, sorts=["score"], limit=1)
    assert ascending.results[0].properties["firstname"] == "Ann"


def test_query_text_search(hs: Served, people: dict[str, str]) -> None:
    result = _search(hs, query="cid")
    assert _names(result) == ["Cid"]


def _expect_400(hs: Served, request: PublicObjectSearchRequest) -> dict[str, Any]:
    with pytest.raises(ApiException) as caught:
        hs.client().crm.contacts.search_api.do_search(request)
    assert caught.value.status == 400
    body = error_body(caught.value)
    assert body["category"] == "VALIDATION_ERROR"
    return body


def _groups(count: int, per_group: int) -> list[FilterGroup]:
    one = Filter(property_name="email", operator="HAS_PROPERTY")
    return [FilterGroup(filters=[one] * per_group) for _ in range(count)]


def test_limits_on_groups_and_filters(hs: Served, people: dict[str, str]) -> None:
    ok = hs.client().crm.contacts.search_api.do_search(
        PublicObjectSearchRequest(filter_groups=_groups(5, 5), limit=1)
    )
    assert ok.total >= 5
    _expect_400(hs, PublicObjectSearchRequest(filter_groups=_groups(6, 1)))
    _expect_400(hs, PublicObjectSearchRequest(filter_groups=_groups(1, 11)))
    _expect_400(hs, PublicObjectSearchRequest(filter_groups=_groups(3, 9)))  # 27 > 25 in all


def test_page_size_and_ten_thousand_limit(hs: Served, people: dict[str, str]) -> None:
    _expect_400(hs, PublicObjectSearchRequest(limit=201))
    body = _expect_400(hs, PublicObjectSearchRequest(limit=100, after="9950"))
    assert "10000" in body["message"]
    near = hs.client().crm.contacts.search_api.do_search(
        PublicObjectSearchRequest(limit=100, after="9900")
    )
    assert near.results == []


def test_unknown_filter_property_and_operator(hs: Served, people: dict[str, str]) -> None:
    _expect_400(
        hs,
        PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(filters=[Filter(property_name="nope", operator="EQ", value="1")])
            ]
        ),
    )
    response = hs.raw(
        "POST",
        "/crm/v3/objects/contacts/search",
        json={"filterGroups": [{"filters": [{"propertyName": "email", "operator": "LIKE"}]}]},
    )
    assert response.status_code == 400
