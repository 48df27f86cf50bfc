"""Search on the in-memory HubSpot portal: operators, limits, paging, lag, and scale."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import hubspot.crm.contacts
import pytest

from leadbridge.sandbox.hubspot import HubSpotError, HubSpotPortal

T0 = datetime(2024, 1, 31, 10, 0, tzinfo=UTC)
T0_MS = 1706695200000


class FakeClock:
    """A settable clock."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class _Raw:
    def __init__(self, body: Any) -> None:
        self.data = json.dumps(body)


def sdk_search(body: Any) -> Any:
    config = hubspot.crm.contacts.Configuration()
    config.client_side_validation = True
    client = hubspot.crm.contacts.ApiClient(configuration=config)
    model = "CollectionResponseWithTotalSimplePublicObjectForwardPaging"
    return client.deserialize(_Raw(body), model)


ROWS = [
    # firstname, score, lifecyclestage, opted_in, last_touch (minutes after T0), topics, email
    ("Ann", "9", "lead", "true", 0, "a", "ann@acme.com"),
    ("bob", "10", "marketingqualifiedlead", "false", 30, "a;b", "bob@acme.com"),
    ("Cid", "100", "customer", None, 60, None, "cid@other.org"),
    ("dee", None, "lead", "true", None, "b", "dee.smith@acme.com"),
    ("Eve", "-1.5", None, "false", 120, None, None),
]


@pytest.fixture
def portal() -> tuple[HubSpotPortal, list[str]]:
    p = HubSpotPortal(clock=FakeClock())
    for name, type_, field_type, options in [
        ("score", "number", "number", None),
        ("opted_in", "bool", "booleancheckbox", None),
        ("last_touch", "datetime", "date", None),
        (
            "topics",
            "enumeration",
            "checkbox",
            [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}],
        ),
    ]:
        body: dict[str, Any] = {
            "name": name,
            "label": name,
            "type": type_,
            "fieldType": field_type,
            "groupName": "contactinformation",
        }
        if options:
            body["options"] = options
        p.create_property(object_type="contacts", body=body)
    ids = []
    for first, score, stage, opted, minutes, topics, email in ROWS:
        props = {
            "firstname": first,
            "score": score,
            "lifecyclestage": stage,
            "opted_in": opted,
            "last_touch": None if minutes is None else T0_MS + minutes * 60_000,
            "topics": topics,
            "email": email,
        }
        body = p.create_object(
            object_type="contacts", body={"properties": {k: v for k, v in props.items() if v}}
        )
        ids.append(body["id"])
    return p, ids


def names_for(portal: HubSpotPortal, filters: list[dict[str, Any]]) -> list[str]:
    body = portal.search(
        object_type="contacts",
        body={"filterGroups": [{"filters": filters}], "properties": ["firstname"], "limit": 100},
    )
    return [r["properties"]["firstname"] for r in body["results"]]


def f(name: str, op: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    item = {"propertyName": name, "operator": op, **extra}
    if value is not None:
        item["value"] = value
    return item


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (f("firstname", "EQ", "ANN"), ["Ann"]),
        (f("firstname", "NEQ", "ann"), ["bob", "Cid", "dee", "Eve"]),
        (f("score", "EQ", "10"), ["bob"]),
        (f("score", "EQ", 10.0), ["bob"]),
        (f("score", "LT", "10"), ["Ann", "Eve"]),
        (f("score", "LTE", "10"), ["Ann", "bob", "Eve"]),
        (f("score", "GT", "9"), ["bob", "Cid"]),
        (f("score", "GTE", "9"), ["Ann", "bob", "Cid"]),
        (f("score", "BETWEEN", "0", highValue="10"), ["Ann", "bob"]),
        (f("score", "IN", values=["9", "100"]), ["Ann", "Cid"]),
        (f("score", "NOT_IN", values=["9", "100"]), ["bob", "dee", "Eve"]),
        (f("score", "HAS_PROPERTY"), ["Ann", "bob", "Cid", "Eve"]),
        (f("score", "NOT_HAS_PROPERTY"), ["dee"]),
        (f("firstname", "LT", "c"), ["Ann", "bob"]),
        (f("lifecyclestage", "EQ", "lead"), ["Ann", "dee"]),
        (f("lifecyclestage", "IN", values=["customer", "marketingqualifiedlead"]), ["bob", "Cid"]),
        (f("opted_in", "EQ", "true"), ["Ann", "dee"]),
        (f("opted_in", "NEQ", "true"), ["bob", "Cid", "Eve"]),
        (f("last_touch", "GTE", str(T0_MS + 30 * 60_000)), ["bob", "Cid", "Eve"]),
        (f("last_touch", "GT", "2024-01-31T10:30:00.000Z"), ["Cid", "Eve"]),
        (f("last_touch", "LT", "2024-01-31T11:00:00Z"), ["Ann", "bob"]),
        (
            f("last_touch", "BETWEEN", "2024-01-31T10:15:00Z", highValue=str(T0_MS + 3_600_000)),
            ["bob", "Cid"],
        ),
        (f("last_touch", "EQ", T0_MS), ["Ann"]),
        (f("topics", "EQ", "b"), ["bob", "dee"]),
        (f("topics", "IN", values=["a"]), ["Ann", "bob"]),
        (f("email", "CONTAINS_TOKEN", "*@acme.com"), ["Ann", "bob", "dee"]),
        (f("email", "CONTAINS_TOKEN", "cid@other.org"), ["Cid"]),
        (f("email", "NOT_CONTAINS_TOKEN", "*@acme.com"), ["Cid", "Eve"]),
        (f("firstname", "CONTAINS_TOKEN", "EV*"), ["Eve"]),
        (f("createdate", "GTE", "2024-01-31"), ["Ann", "bob", "Cid", "dee", "Eve"]),
        (f("hs_object_id", "GT", "2"), ["Cid", "dee", "Eve"]),
    ],
)
def test_every_operator_with_typed_comparison(
    portal: tuple[HubSpotPortal, list[str]], flt: dict[str, Any], expected: list[str]
) -> None:
    assert names_for(portal[0], [flt]) == expected


def test_filters_in_a_group_and_groups_or(portal: tuple[HubSpotPortal, list[str]]) -> None:
    p, _ = portal
    assert names_for(
        p,
        [
            f("lifecyclestage", "EQ", "lead"),
            f("opted_in", "EQ", "true"),
            f("score", "HAS_PROPERTY"),
        ],
    ) == ["Ann"]
    body = p.search(
        object_type="contacts",
        body={
            "filterGroups": [
                {"filters": [f("firstname", "EQ", "eve")]},
                {"filters": [f("score", "GTE", "100")]},
            ],
            "properties": ["firstname"],
        },
    )
    assert [r["properties"]["firstname"] for r in body["results"]] == ["Cid", "Eve"]


def test_query_text(portal: tuple[HubSpotPortal, list[str]]) -> None:
    body = portal[0].search(object_type="contacts", body={"query": "acme", "limit": 10})
    assert body["total"] == 3


@pytest.mark.parametrize(
    ("sorts", "expected"),
    [
        (None, ["Ann", "bob", "Cid", "dee", "Eve"]),
        (["-score"], ["Cid", "bob", "Ann", "Eve", "dee"]),
        (["score"], ["Eve", "Ann", "bob", "Cid", "dee"]),
        (
            [{"propertyName": "firstname", "direction": "ASCENDING"}],
            ["Ann", "bob", "Cid", "dee", "Eve"],
        ),
        (
            [{"propertyName": "last_touch", "direction": "DESCENDING"}],
            ["Eve", "Cid", "bob", "Ann", "dee"],
        ),
        (["-hs_object_id"], ["Eve", "dee", "Cid", "bob", "Ann"]),
    ],
)
def test_sorts(portal: tuple[HubSpotPortal, list[str]], sorts: Any, expected: list[str]) -> None:
    body = portal[0].search(
        object_type="contacts", body={"sorts": sorts, "properties": ["firstname"]}
    )
    assert [r["properties"]["firstname"] for r in body["results"]] == expected


def _groups(n_groups: int, per_group: int) -> list[dict[str, Any]]:
    return [{"filters": [f("score", "HAS_PROPERTY")] * per_group} for _ in range(n_groups)]


@pytest.mark.parametrize(
    "body",
    [
        {"filterGroups": _groups(6, 1)},
        {"filterGroups": _groups(1, 11)},
        {"filterGroups": _groups(3, 9)},
        {"limit": 201},
        {"limit": -1},
        {"after": "9901", "limit": 100},
        {"after": "10000", "limit": 1},
        {"after": "abc"},
        {"filterGroups": [{"filters": [f("score", "LIKE", "1")]}]},
        {"filterGroups": [{"filters": [f("nope", "EQ", "1")]}]},
        {"filterGroups": [{"filters": [f("score", "EQ", "abc")]}]},
        {"filterGroups": [{"filters": [f("last_touch", "GT", "yesterday")]}]},
        {"filterGroups": [{"filters": [f("score", "IN")]}]},
        {"filterGroups": [{"filters": [f("score", "BETWEEN", "1")]}]},
        {"sorts": ["-nope"]},
        {"sorts": [{"propertyName": "score", "direction": "UP"}]},
    ],
)
def test_search_limits_are_400(portal: tuple[HubSpotPortal, list[str]], body: Any) -> None:
    with pytest.raises(HubSpotError) as caught:
        portal[0].search(object_type="contacts", body=body)
    assert caught.value.status == 400
    assert caught.value.category == "VALIDATION_ERROR"


def test_limits_at_the_edge_are_fine(portal: tuple[HubSpotPortal, list[str]]) -> None:
    p = portal[0]
    p.search(object_type="contacts", body={"filterGroups": _groups(5, 5), "limit": 200})
    p.search(object_type="contacts", body={"filterGroups": _groups(1, 10)})
    body = p.search(object_type="contacts", body={"after": "9900", "limit": 100})
    assert body["results"] == []
    assert body["total"] == 5


def test_paging_offsets_and_total(portal: tuple[HubSpotPortal, list[str]]) -> None:
    p, ids = portal
    seen: list[str] = []
    after: str | None = None
    while True:
        body = p.search(object_type="contacts", body={"limit": 2, "after": after})
        sdk_search(body)
        assert body["total"] == 5
        seen += [r["id"] for r in body["results"]]
        if "paging" not in body:
            break
        after = body["paging"]["next"]["after"]
        assert after.isdigit()
    assert seen == ids
    default = p.search(object_type="contacts", body={})
    assert set(default["results"][0]["properties"]) == {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    }


def test_search_lag_hides_new_writes_but_shows_the_previous_version() -> None:
    clock = FakeClock()
    p = HubSpotPortal(clock=clock, search_lag_seconds=10)
    created = p.create_object(
        object_type="contacts", body={"properties": {"email": "a@x.com", "firstname": "Old"}}
    )

    def found() -> list[str | None]:
        body = p.search(object_type="contacts", body={"properties": ["firstname"]})
        return [r["properties"]["firstname"] for r in body["results"]]

    assert found() == []
    clock.advance(seconds=10)
    assert found() == ["Old"]
    p.update_object(
        object_type="contacts", object_id=created["id"], body={"properties": {"firstname": "New"}}
    )
    clock.advance(seconds=9.999)
    assert found() == ["Old"]
    clock.advance(milliseconds=1)
    assert found() == ["New"]
    p.archive_object(object_type="contacts", object_id=created["id"])
    assert found() == ["New"]
    clock.advance(seconds=10)
    assert found() == []
    # Reads outside search never lag.
    archived = p.list_objects(object_type="contacts", archived=True)["results"]
    assert archived[0]["id"] == created["id"]


def test_index_plans_agree_with_the_scan() -> None:
    """The same request as one group (index plans) and as two identical groups (scan)."""
    rng = random.Random(7)
    p = HubSpotPortal(clock=FakeClock())
    rows = [
        {
            "email": f"r{i}@x.com",
            "firstname": rng.choice(["a", "b", "c", None]),
            "lastmodifieddate": T0_MS + rng.randrange(20),
        }
        for i in range(300)
    ]
    p.bulk_insert(object_type="contacts", rows=rows)
    ops = [("GT", 1), ("GTE", 0), ("LT", -1), ("LTE", 0), ("EQ", 0)]
    for _ in range(150):
        filters: list[dict[str, Any]] = []
        if rng.random() < 0.8:
            op, delta = rng.choice(ops)
            filters.append(f("lastmodifieddate", op, str(T0_MS + rng.randrange(20) + delta)))
        if rng.random() < 0.6:
            op, delta = rng.choice(ops)
            filters.append(f("hs_object_id", op, str(rng.randrange(300) + delta)))
        if rng.random() < 0.3:
            filters.append(f("firstname", "EQ", rng.choice("abc")))
        desc = rng.random() < 0.3
        sorts = rng.choice(
            [
                [
                    {
                        "propertyName": "lastmodifieddate",
                        "direction": "DESCENDING" if desc else "ASCENDING",
                    }
                ],
                ["-lastmodifieddate", "-hs_object_id"]
                if desc
                else ["lastmodifieddate", "hs_object_id"],
                ["-hs_object_id" if desc else "hs_object_id"],
                None,
            ]
        )
        request = {
            "sorts": sorts,
            "limit": rng.choice([1, 7, 50]),
            "after": str(rng.randrange(40)),
            "properties": ["email"],
        }
        one = p.search(
            object_type="contacts", body={**request, "filterGroups": [{"filters": filters}]}
        )
        two = p.search(
            object_type="contacts",
            body={**request, "filterGroups": [{"filters": filters}, {"filters": filters}]},
        )
        assert one == two, (filters, sorts)


# --- scale ---------------------------------------------------------------------------------

N = 200_000


@pytest.fixture(scope="module")
def big() -> tuple[HubSpotPortal, list[tuple[int, int]]]:
    """200k contacts; a quarter share one millisecond, as after a bulk update."""
    p = HubSpotPortal(clock=FakeClock())
    rng = random.Random(11)
    stamps = [T0_MS - (50_000 if i % 4 == 0 else rng.randrange(1_000_000)) for i in range(N)]
    rows = ({"email": f"c{i}@big.example", "lastmodifieddate": stamps[i]} for i in range(N))
    ids = p.bulk_insert(object_type="contacts", rows=rows, validate=False)
    truth = sorted((stamps[i], int(ids[i])) for i in range(N))
    return p, truth


def test_bulk_seed_and_list_pages(big: tuple[HubSpotPortal, list[tuple[int, int]]]) -> None:
    p, _ = big
    page = p.list_objects(object_type="contacts", limit=100, after=str(N - 50))
    assert [r["id"] for r in page["results"]] == [str(i) for i in range(N - 50, N + 1)]
    assert "paging" not in page
    middle = p.list_objects(object_type="contacts", limit=100, after="1000")
    assert middle["paging"]["next"]["after"] == "1100"
    total = p.search(object_type="contacts", body={"limit": 0})
    assert total["total"] == N


def test_windowed_sync_walks_every_record_once(
    big: tuple[HubSpotPortal, list[tuple[int, int]]],
) -> None:
    """lastmodifieddate GTE X AND hs_object_id GT Y sorted (lm, id): the tie-safe window."""
    p, truth = big
    start = len(truth) // 2 - 3_000  # begin inside the crowded millisecond's neighbourhood
    lm, last_id = truth[start][0], truth[start][1] - 1
    expected = [t for t in truth if t[0] > lm or (t[0] == lm and t[1] > last_id)]
    got: list[tuple[int, int]] = []
    pages = 0
    while pages < 40:
        # Two groups would force a scan; the idiom here keeps one group per request and
        # moves to the next millisecond once the current one is exhausted.
        body = p.search(
            object_type="contacts",
            body={
                "filterGroups": [
                    {
                        "filters": [
                            f("lastmodifieddate", "EQ", str(lm)),
                            f("hs_object_id", "GT", str(last_id)),
                        ]
                    }
                ],
                "sorts": ["lastmodifieddate", "hs_object_id"],
                "limit": 200,
                "properties": ["lastmodifieddate"],
            },
        )
        if not body["results"]:
            nxt = p.search(
                object_type="contacts",
                body={
                    "filterGroups": [{"filters": [f("lastmodifieddate", "GT", str(lm))]}],
                    "sorts": ["lastmodifieddate"],
                    "limit": 200,
                    "properties": ["lastmodifieddate"],
                },
            )
            if not nxt["results"]:
                break
            body = nxt
        for r in body["results"]:
            got.append(
                (
                    int(
                        datetime.fromisoformat(
                            r["properties"]["lastmodifieddate"].replace("Z", "+00:00")
                        ).timestamp()
                        * 1000
                    ),
                    int(r["id"]),
                )
            )
        lm, last_id = got[-1]
        pages += 1
    assert got == expected[: len(got)]
    assert len(got) >= 200 * 30


@pytest.mark.parametrize("offset", [0, 1, 50_000, 150_000, N - 10])
def test_indexed_window_totals_and_first_page(
    big: tuple[HubSpotPortal, list[tuple[int, int]]], offset: int
) -> None:
    p, truth = big
    lm, rid = truth[offset]
    id_floor = rid - 1
    expected = [t for t in truth if t[0] >= lm and t[1] > id_floor]
    body = p.search(
        object_type="contacts",
        body={
            "filterGroups": [
                {
                    "filters": [
                        f("lastmodifieddate", "GTE", str(lm)),
                        f("hs_object_id", "GT", str(id_floor)),
                    ]
                }
            ],
            "sorts": [
                {"propertyName": "lastmodifieddate", "direction": "ASCENDING"},
                {"propertyName": "hs_object_id", "direction": "ASCENDING"},
            ],
            "limit": 200,
        },
    )
    assert body["total"] == len(expected)
    assert [int(r["id"]) for r in body["results"]] == [t[1] for t in expected[:200]]
    plain = p.search(
        object_type="contacts",
        body={
            "filterGroups": [{"filters": [f("lastmodifieddate", "GTE", str(lm))]}],
            "sorts": ["lastmodifieddate"],
            "limit": 200,
            "after": "9800",
        },
    )
    window = [t for t in truth if t[0] >= lm]
    assert plain["total"] == len(window)
    assert [int(r["id"]) for r in plain["results"]] == [t[1] for t in window[9800:10000]]
