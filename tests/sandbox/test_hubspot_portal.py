"""The in-memory HubSpot portal: records, validation, batches, merge, properties, events, lists."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import hubspot.crm.contacts
import hubspot.crm.lists
import hubspot.crm.properties
import hubspot.events
import pytest

from leadbridge.sandbox.hubspot import HubSpotError, HubSpotPortal

T0 = datetime(2024, 1, 31, 10, 0, tzinfo=UTC)


class FakeClock:
    """A settable clock."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class _Raw:
    def __init__(self, body: Any) -> None:
        self.data = json.dumps(body)


def sdk(module: Any, model: str, body: Any) -> Any:
    """Deserialize a body into an SDK model with client-side validation on."""
    config = module.Configuration()
    config.client_side_validation = True
    return module.ApiClient(configuration=config).deserialize(_Raw(body), model)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def portal(clock: FakeClock) -> HubSpotPortal:
    p = HubSpotPortal(clock=clock)
    p.create_property(
        object_type="contacts",
        body={
            "name": "score",
            "label": "Score",
            "type": "number",
            "fieldType": "number",
            "groupName": "contactinformation",
        },
    )
    p.create_property(
        object_type="contacts",
        body={
            "name": "opted_in",
            "label": "Opted in",
            "type": "bool",
            "fieldType": "booleancheckbox",
            "groupName": "contactinformation",
        },
    )
    p.create_property(
        object_type="contacts",
        body={
            "name": "topics",
            "label": "Topics",
            "type": "enumeration",
            "fieldType": "checkbox",
            "groupName": "contactinformation",
            "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}],
        },
    )
    p.create_property(
        object_type="contacts",
        body={
            "name": "renewal",
            "label": "Renewal",
            "type": "date",
            "fieldType": "date",
            "groupName": "contactinformation",
        },
    )
    p.create_property(
        object_type="contacts",
        body={
            "name": "last_touch",
            "label": "Last touch",
            "type": "datetime",
            "fieldType": "date",
            "groupName": "contactinformation",
        },
    )
    return p


def create(portal: HubSpotPortal, **props: Any) -> dict[str, Any]:
    return portal.create_object(object_type="contacts", body={"properties": props})


def raises(fn: Any, **kwargs: Any) -> HubSpotError:
    with pytest.raises(HubSpotError) as caught:
        fn(**kwargs)
    return caught.value


# --- records -------------------------------------------------------------------------------


def test_create_returns_the_sdk_shape_with_server_properties(portal: HubSpotPortal) -> None:
    body = create(portal, email="Ann@Example.com", firstname="Ann")
    model = sdk(hubspot.crm.contacts, "SimplePublicObject", body)
    assert model.id == body["id"]
    assert body["id"].isdigit()
    props = body["properties"]
    assert props["email"] == "ann@example.com"
    assert props["hs_object_id"] == body["id"]
    assert props["createdate"] == props["lastmodifieddate"] == "2024-01-31T10:00:00.000Z"
    assert body["createdAt"] == "2024-01-31T10:00:00.000Z"
    assert body["archived"] is False
    assert props["lastname"] is None


@pytest.mark.parametrize(
    ("name", "written", "stored"),
    [
        ("score", 17, "17"),
        ("score", 12.50, "12.5"),
        ("score", "3", "3"),
        ("score", 4.0, "4"),
        ("opted_in", True, "true"),
        ("opted_in", "FALSE", "false"),
        ("topics", "a;b", "a;b"),
        ("renewal", "2024-01-31", "2024-01-31"),
        ("renewal", 1706659200000, "2024-01-31"),
        ("last_touch", 1706695200000, "2024-01-31T10:00:00.000Z"),
        ("last_touch", "2024-01-31T10:00:00Z", "2024-01-31T10:00:00.000Z"),
        ("last_touch", "2024-01-31T11:00:00.250+01:00", "2024-01-31T10:00:00.250Z"),
        ("firstname", 42, "42"),
        ("lifecyclestage", "marketingqualifiedlead", "marketingqualifiedlead"),
        ("numemployees", "25-50", "25-50"),
    ],
)
def test_values_are_stored_as_hubspot_writes_them(
    portal: HubSpotPortal, name: str, written: object, stored: str
) -> None:
    body = create(portal, **{name: written})
    got = portal.get_object(object_type="contacts", object_id=body["id"], properties=[name])
    assert got["properties"] == {name: stored}


@pytest.mark.parametrize(
    ("props", "code"),
    [
        ({"nope": "x"}, "PROPERTY_DOESNT_EXIST"),
        ({"lifecyclestage": "prospect"}, "INVALID_OPTION"),
        ({"topics": "a;z"}, "INVALID_OPTION"),
        ({"numemployees": "7"}, "INVALID_OPTION"),
        ({"score": "abc"}, "INVALID_FLOAT"),
        ({"opted_in": "yes"}, "INVALID_BOOLEAN"),
        ({"renewal": 1706695200000}, "INVALID_DATE"),
        ({"last_touch": "not a date"}, "INVALID_DATE"),
        ({"email": "not-an-email"}, "INVALID_EMAIL"),
        ({"hs_object_id": "5"}, "READ_ONLY_VALUE"),
    ],
)
def test_invalid_values_give_hubspots_validation_error(
    portal: HubSpotPortal, props: dict[str, Any], code: str
) -> None:
    error = raises(portal.create_object, object_type="contacts", body={"properties": props})
    assert error.status == 400
    body = error.body
    assert body["status"] == "error"
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: [")
    embedded = json.loads(body["message"].split(": ", 1)[1])
    assert embedded[0]["error"] == code
    assert embedded[0]["isValid"] is False
    assert body["errors"][0]["code"] == code
    assert sdk(hubspot.crm.contacts, "Error", body).category == "VALIDATION_ERROR"


def test_every_bad_property_is_reported_at_once(portal: HubSpotPortal) -> None:
    error = raises(
        portal.create_object, object_type="contacts", body={"properties": {"a1": "x", "score": "y"}}
    )
    assert {e["code"] for e in error.body["errors"]} == {"PROPERTY_DOESNT_EXIST", "INVALID_FLOAT"}


def test_duplicate_email_is_a_conflict(portal: HubSpotPortal) -> None:
    first = create(portal, email="a@x.com")
    error = raises(
        portal.create_object, object_type="contacts", body={"properties": {"email": "A@X.COM"}}
    )
    assert error.status == 409
    assert error.category == "CONFLICT"
    assert error.body["message"] == f"Contact already exists. Existing ID: {first['id']}"
    other = create(portal, email="b@x.com")
    error = raises(
        portal.update_object,
        object_type="contacts",
        object_id=other["id"],
        body={"properties": {"email": "a@x.com"}},
    )
    assert error.status == 409


@pytest.mark.parametrize(("strict", "expect_equal"), [(True, False), (False, True)])
def test_timestamps_under_a_frozen_clock(strict: bool, expect_equal: bool) -> None:
    portal = HubSpotPortal(clock=FakeClock(), strict_timestamps=strict)
    a = create(portal, email="a@x.com")
    b = create(portal, email="b@x.com")
    lm_a, lm_b = a["properties"]["lastmodifieddate"], b["properties"]["lastmodifieddate"]
    assert (lm_a == lm_b) is expect_equal
    assert lm_a <= lm_b


def test_update_moves_lastmodified_and_empty_clears(
    portal: HubSpotPortal, clock: FakeClock
) -> None:
    body = create(portal, email="a@x.com", firstname="Ann")
    clock.advance(seconds=5)
    updated = portal.update_object(
        object_type="contacts", object_id=body["id"], body={"properties": {"firstname": ""}}
    )
    assert updated["properties"]["firstname"] is None
    assert updated["properties"]["lastmodifieddate"] == "2024-01-31T10:00:05.000Z"
    assert updated["properties"]["createdate"] == "2024-01-31T10:00:00.000Z"
    assert updated["updatedAt"] == "2024-01-31T10:00:05.000Z"


def test_get_by_id_and_by_unique_id_property(portal: HubSpotPortal) -> None:
    body = create(portal, email="a@x.com")
    by_email = portal.get_object(object_type="contacts", object_id="A@x.com", id_property="email")
    assert by_email["id"] == body["id"]
    for object_id, id_property, status in [
        ("999999", None, 404),
        ("abc", None, 404),
        ("z@x.com", "email", 404),
        ("Ann", "firstname", 400),
        ("x", "nope", 400),
    ]:
        error = raises(
            portal.get_object, object_type="contacts", object_id=object_id, id_property=id_property
        )
        assert error.status == status
    assert raises(portal.get_object, object_type="deals", object_id="1").status == 404


def test_requested_properties_unknown_ignored(portal: HubSpotPortal) -> None:
    body = create(portal, email="a@x.com", score=3)
    got = portal.get_object(
        object_type="contacts", object_id=body["id"], properties="score,nope,email"
    )
    assert got["properties"] == {"score": "3", "email": "a@x.com"}


def test_archive_then_read_archived_and_reuse_email(portal: HubSpotPortal) -> None:
    body = create(portal, email="a@x.com")
    portal.archive_object(object_type="contacts", object_id=body["id"])
    portal.archive_object(object_type="contacts", object_id="424242")  # unknown: still 204
    assert raises(portal.get_object, object_type="contacts", object_id=body["id"]).status == 404
    gone = portal.get_object(object_type="contacts", object_id=body["id"], archived="True")
    assert gone["archived"] is True
    assert gone["archivedAt"] == "2024-01-31T10:00:00.001Z"
    sdk(hubspot.crm.contacts, "SimplePublicObject", gone)
    listed = portal.list_objects(object_type="contacts", archived=True)
    assert [r["id"] for r in listed["results"]] == [body["id"]]
    assert create(portal, email="a@x.com")["id"] != body["id"]


def test_list_pages_by_cursor(portal: HubSpotPortal) -> None:
    ids = [create(portal, email=f"p{i}@x.com")["id"] for i in range(25)]
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = portal.list_objects(object_type="contacts", after=after, properties=["email"])
        sdk(
            hubspot.crm.contacts,
            "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging",
            page,
        )
        seen += [r["id"] for r in page["results"]]
        pages += 1
        if "paging" not in page:
            break
        after = page["paging"]["next"]["after"]
        assert page["paging"]["next"]["link"].endswith(f"after={after}")
    assert seen == ids
    assert pages == 3
    big = portal.list_objects(object_type="contacts", limit=100)
    assert len(big["results"]) == 25
    assert "paging" not in big
    for bad in ({"limit": 101}, {"limit": 0}, {"after": "xyz"}):
        assert raises(portal.list_objects, object_type="contacts", **bad).status == 400


# --- properties ----------------------------------------------------------------------------


def test_read_properties_has_the_defaults(portal: HubSpotPortal) -> None:
    body = portal.read_properties("contacts")
    parsed = sdk(hubspot.crm.properties, "CollectionResponsePropertyNoPaging", body)
    names = {p.name for p in parsed.results}
    assert {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
        "company",
        "jobtitle",
        "industry",
        "numemployees",
        "lifecyclestage",
        "hs_merged_object_ids",
        "phone",
    } <= names
    email = next(p for p in body["results"] if p["name"] == "email")
    assert email["hubspotDefined"] is True
    assert email["hasUniqueValue"] is True
    companies = {p["name"] for p in portal.read_properties("companies")["results"]}
    assert {"name", "domain", "hs_lastmodifieddate", "numberofemployees"} <= companies


def test_create_property_then_conflict(portal: HubSpotPortal) -> None:
    body = {
        "name": "mql_score",
        "label": "MQL score",
        "type": "number",
        "fieldType": "number",
        "groupName": "contactinformation",
    }
    created = portal.create_property(object_type="contacts", body=body)
    model = sdk(hubspot.crm.properties, "ModelProperty", created)
    assert model.name == "mql_score"
    assert "hubspotDefined" not in created
    error = raises(portal.create_property, object_type="contacts", body=body)
    assert error.status == 409
    assert error.category == "CONFLICT"
    error = raises(portal.create_property, object_type="contacts", body={**body, "name": "email"})
    assert error.status == 409


@pytest.mark.parametrize(
    ("type_", "field_type", "ok"),
    [
        ("string", "text", True),
        ("string", "textarea", True),
        ("string", "number", False),
        ("number", "number", True),
        ("number", "text", False),
        ("date", "date", True),
        ("datetime", "date", True),
        ("datetime", "text", False),
        ("enumeration", "select", True),
        ("enumeration", "checkbox", True),
        ("enumeration", "radio", True),
        ("enumeration", "text", False),
        ("bool", "booleancheckbox", True),
        ("bool", "select", False),
        ("color", "text", False),
    ],
)
def test_property_type_field_type_combinations(
    portal: HubSpotPortal, type_: str, field_type: str, ok: bool
) -> None:
    body = {
        "name": "combo",
        "label": "Combo",
        "type": type_,
        "fieldType": field_type,
        "groupName": "contactinformation",
    }
    if ok:
        assert portal.create_property(object_type="contacts", body=body)["type"] == type_
    else:
        assert raises(portal.create_property, object_type="contacts", body=body).status == 400


@pytest.mark.parametrize(
    "body",
    [
        {"label": "x", "type": "string", "fieldType": "text", "groupName": "contactinformation"},
        {
            "name": "Bad Name",
            "label": "x",
            "type": "string",
            "fieldType": "text",
            "groupName": "contactinformation",
        },
        {"name": "x1", "label": "x", "type": "string", "fieldType": "text", "groupName": "nogroup"},
        {
            "name": "x2",
            "label": "x",
            "type": "enumeration",
            "fieldType": "select",
            "groupName": "contactinformation",
            "options": [{"label": "A", "value": "a"}, {"label": "A2", "value": "a"}],
        },
    ],
)
def test_create_property_validation(portal: HubSpotPortal, body: dict[str, Any]) -> None:
    assert raises(portal.create_property, object_type="contacts", body=body).status == 400


def test_patch_options_replaces_them(portal: HubSpotPortal) -> None:
    patched = portal.update_property(
        object_type="contacts",
        name="topics",
        body={"options": [{"label": "A", "value": "a"}, {"label": "C", "value": "c"}]},
    )
    assert [o["value"] for o in patched["options"]] == ["a", "c"]
    sdk(hubspot.crm.properties, "ModelProperty", patched)
    assert create(portal, topics="c")["properties"]["topics"] == "c"
    error = raises(
        portal.create_object, object_type="contacts", body={"properties": {"topics": "b"}}
    )
    assert error.body["errors"][0]["code"] == "INVALID_OPTION"
    assert (
        raises(
            portal.update_property, object_type="contacts", name="hs_object_id", body={"label": "x"}
        ).status
        == 400
    )
    assert (
        raises(
            portal.update_property, object_type="contacts", name="nope", body={"label": "x"}
        ).status
        == 404
    )


def test_groups(portal: HubSpotPortal) -> None:
    created = portal.create_group(
        object_type="contacts", body={"name": "scoring", "label": "Scoring"}
    )
    sdk(hubspot.crm.properties, "PropertyGroup", created)
    error = raises(
        portal.create_group, object_type="contacts", body={"name": "scoring", "label": "Again"}
    )
    assert error.status == 409
    assert error.category == "CONFLICT"
    groups = portal.read_groups("contacts")
    sdk(hubspot.crm.properties, "CollectionResponsePropertyGroupNoPaging", groups)
    assert "scoring" in {g["name"] for g in groups["results"]}
    portal.create_property(
        object_type="contacts",
        body={
            "name": "fit",
            "label": "Fit",
            "type": "string",
            "fieldType": "text",
            "groupName": "scoring",
        },
    )


def test_unique_custom_property_as_id_property(portal: HubSpotPortal) -> None:
    portal.create_property(
        object_type="contacts",
        body={
            "name": "ext_id",
            "label": "External id",
            "type": "string",
            "fieldType": "text",
            "groupName": "contactinformation",
            "hasUniqueValue": True,
        },
    )
    body = create(portal, ext_id="E-1")
    assert (
        portal.get_object(object_type="contacts", object_id="E-1", id_property="ext_id")["id"]
        == body["id"]
    )
    assert (
        raises(
            portal.create_object, object_type="contacts", body={"properties": {"ext_id": "E-1"}}
        ).status
        == 409
    )


# --- batches -------------------------------------------------------------------------------


def batch_inputs(n: int, *, traced: bool = False) -> list[dict[str, Any]]:
    return [
        {
            "properties": {"email": f"b{i}@x.com"},
            **({"objectWriteTraceId": f"t{i}"} if traced else {}),
        }
        for i in range(n)
    ]


def test_batch_create_201_and_sdk_shape(portal: HubSpotPortal) -> None:
    result = portal.batch_create(object_type="contacts", body={"inputs": batch_inputs(3)})
    assert result.status == 201
    model = sdk(hubspot.crm.contacts, "BatchResponseSimplePublicObject", result.body)
    assert model.status == "COMPLETE"
    assert len(model.results) == 3
    stamps = {r["properties"]["lastmodifieddate"] for r in result.body["results"]}
    assert len(stamps) == 1  # one batch, one timestamp


def test_batch_create_duplicate_untraced_fails_whole_batch(portal: HubSpotPortal) -> None:
    existing = create(portal, email="b1@x.com")
    error = raises(portal.batch_create, object_type="contacts", body={"inputs": batch_inputs(3)})
    assert error.status == 409
    assert error.body["message"] == f"Contact already exists. Existing ID: {existing['id']}"
    assert len(portal.list_objects(object_type="contacts")["results"]) == 1


def test_batch_create_duplicate_traced_is_207(portal: HubSpotPortal) -> None:
    create(portal, email="b1@x.com")
    result = portal.batch_create(
        object_type="contacts", body={"inputs": batch_inputs(3, traced=True)}
    )
    assert result.status == 207
    model = sdk(hubspot.crm.contacts, "BatchResponseSimplePublicObjectWithErrors", result.body)
    assert model.num_errors == 1
    assert len(model.results) == 2
    error = result.body["errors"][0]
    assert error["category"] == "CONFLICT"
    assert error["context"]["objectWriteTraceId"] == ["t1"]
    assert {r["objectWriteTraceId"] for r in result.body["results"]} == {"t0", "t2"}


def test_batch_create_duplicate_inside_the_batch(portal: HubSpotPortal) -> None:
    inputs = [{"properties": {"email": "same@x.com"}}, {"properties": {"email": "SAME@x.com"}}]
    assert (
        raises(portal.batch_create, object_type="contacts", body={"inputs": inputs}).status == 409
    )


def test_batch_validation_error_untraced_and_traced(portal: HubSpotPortal) -> None:
    inputs = [{"properties": {"email": "ok@x.com"}}, {"properties": {"score": "x"}}]
    assert (
        raises(portal.batch_create, object_type="contacts", body={"inputs": inputs}).status == 400
    )
    traced = [{**i, "objectWriteTraceId": str(n)} for n, i in enumerate(inputs)]
    result = portal.batch_create(object_type="contacts", body={"inputs": traced})
    assert result.status == 207
    assert result.body["errors"][0]["category"] == "VALIDATION_ERROR"


@pytest.mark.parametrize(
    "method", ["batch_read", "batch_create", "batch_update", "batch_upsert", "batch_archive"]
)
def test_batches_take_at_most_100_inputs(portal: HubSpotPortal, method: str) -> None:
    inputs = [{"id": str(i), "properties": {}} for i in range(101)]
    error = raises(getattr(portal, method), object_type="contacts", body={"inputs": inputs})
    assert error.status == 400
    assert error.category == "VALIDATION_ERROR"


def test_batch_read_by_email_with_missing(portal: HubSpotPortal) -> None:
    a = create(portal, email="a@x.com", firstname="A")
    body = {
        "idProperty": "email",
        "properties": ["firstname"],
        "inputs": [{"id": "a@x.com"}, {"id": "missing@x.com"}],
    }
    result = portal.batch_read(object_type="contacts", body=body)
    assert result.status == 207
    sdk(hubspot.crm.contacts, "BatchResponseSimplePublicObjectWithErrors", result.body)
    assert result.body["results"][0]["id"] == a["id"]
    assert result.body["results"][0]["properties"] == {"firstname": "A"}
    assert result.body["errors"][0]["context"]["ids"] == ["missing@x.com"]
    ok = portal.batch_read(object_type="contacts", body={"inputs": [{"id": a["id"]}]})
    assert ok.status == 200
    assert "errors" not in ok.body


def test_batch_update(portal: HubSpotPortal) -> None:
    a, b = create(portal, email="a@x.com"), create(portal, email="b@x.com")
    result = portal.batch_update(
        object_type="contacts",
        body={
            "inputs": [
                {"id": a["id"], "properties": {"score": 5}},
                {"id": "b@x.com", "idProperty": "email", "properties": {"score": "6"}},
            ]
        },
    )
    assert result.status == 200
    sdk(hubspot.crm.contacts, "BatchResponseSimplePublicObject", result.body)
    assert [r["properties"]["score"] for r in result.body["results"]] == ["5", "6"]
    assert result.body["results"][1]["id"] == b["id"]
    missing = {"inputs": [{"id": "999999", "properties": {"score": 1}}]}
    assert raises(portal.batch_update, object_type="contacts", body=missing).status == 404
    dupes = {"inputs": [{"id": a["id"], "properties": {}}, {"id": a["id"], "properties": {}}]}
    assert raises(portal.batch_update, object_type="contacts", body=dupes).status == 400
    traced = {
        "inputs": [
            {"id": "999999", "properties": {}, "objectWriteTraceId": "x"},
            {"id": a["id"], "properties": {"score": 7}, "objectWriteTraceId": "y"},
        ]
    }
    result = portal.batch_update(object_type="contacts", body=traced)
    assert result.status == 207
    assert result.body["errors"][0]["category"] == "OBJECT_NOT_FOUND"


def test_batch_upsert_new_and_existing(portal: HubSpotPortal) -> None:
    a = create(portal, email="a@x.com")
    result = portal.batch_upsert(
        object_type="contacts",
        body={
            "inputs": [
                {"id": "a@x.com", "idProperty": "email", "properties": {"firstname": "Ann"}},
                {"id": "new@x.com", "idProperty": "email", "properties": {"firstname": "Neo"}},
            ]
        },
    )
    assert result.status == 200
    model = sdk(hubspot.crm.contacts, "BatchResponseSimplePublicUpsertObject", result.body)
    flags = {r.properties["email"]: r.new for r in model.results}
    assert flags == {"a@x.com": False, "new@x.com": True}
    assert result.body["results"][0]["id"] == a["id"]
    assert (
        portal.get_object(
            object_type="contacts",
            object_id="new@x.com",
            id_property="email",
            properties=["firstname"],
        )["properties"]["firstname"]
        == "Neo"
    )


def test_batch_archive(portal: HubSpotPortal) -> None:
    a, b = create(portal, email="a@x.com"), create(portal, email="b@x.com")
    portal.batch_archive(object_type="contacts", body={"inputs": [{"id": a["id"]}, {"id": "77"}]})
    assert [r["id"] for r in portal.list_objects(object_type="contacts")["results"]] == [b["id"]]


# --- merge ---------------------------------------------------------------------------------


def test_merge(portal: HubSpotPortal) -> None:
    winner = create(portal, email="w@x.com")
    loser = create(portal, email="l@x.com", firstname="Lou", score=9)
    portal.record_event(
        object_id=loser["id"],
        event_type="page_view",
        properties={"hs_url": "https://x.com/pricing"},
    )
    listed = portal.create_list({"name": "L", "objectTypeId": "0-1", "processingType": "MANUAL"})
    list_id = listed["list"]["listId"]
    portal.add_list_members(list_id=list_id, record_ids=[loser["id"]])
    merged = portal.merge(
        object_type="contacts",
        body={"primaryObjectId": winner["id"], "objectIdToMerge": loser["id"]},
    )
    sdk(hubspot.crm.contacts, "SimplePublicObject", merged)
    assert merged["id"] == winner["id"]
    assert merged["properties"]["hs_merged_object_ids"] == loser["id"]
    assert merged["properties"]["email"] == "w@x.com"
    assert merged["properties"]["firstname"] == "Lou"
    # The loser's id now answers with the winner; its archived record says archived.
    assert portal.get_object(object_type="contacts", object_id=loser["id"])["id"] == winner["id"]
    assert (
        portal.get_object(object_type="contacts", object_id=loser["id"], archived=True)["archived"]
        is True
    )
    events = portal.query_events(object_id=winner["id"])["results"]
    assert [e["objectId"] for e in events] == [winner["id"]]
    members = portal.list_memberships(list_id=list_id)["results"]
    assert [m["recordId"] for m in members] == [winner["id"]]
    third = create(portal, email="t@x.com")
    again = portal.merge(
        object_type="contacts",
        body={"primaryObjectId": third["id"], "objectIdToMerge": winner["id"]},
    )
    assert again["properties"]["hs_merged_object_ids"].split(";") == [winner["id"], loser["id"]]
    assert portal.get_object(object_type="contacts", object_id=loser["id"])["id"] == third["id"]
    for body, status in [
        ({"primaryObjectId": third["id"], "objectIdToMerge": third["id"]}, 400),
        ({"primaryObjectId": third["id"], "objectIdToMerge": "4242"}, 404),
        ({"primaryObjectId": third["id"]}, 400),
    ]:
        assert raises(portal.merge, object_type="contacts", body=body).status == status


# --- events --------------------------------------------------------------------------------


def test_events_query_and_paging(portal: HubSpotPortal) -> None:
    a, b = create(portal, email="a@x.com"), create(portal, email="b@x.com")
    kinds = ["form_submission", "webinar_attended", "page_view", "email_open", "email_click"]
    for minute in range(10):
        portal.record_event(
            object_id=a["id"],
            event_type=kinds[minute % 5],
            occurred_at=T0 + timedelta(minutes=minute),
            properties={"hs_url": "/pricing"} if minute % 5 == 2 else None,
        )
    portal.record_event(object_id=b["id"], event_type="email_open", occurred_at=T0)
    newest = portal.query_events(object_type="contact", object_id=a["id"], limit=3)
    parsed = sdk(hubspot.events, "CollectionResponseExternalUnifiedEvent", newest)
    assert [e.event_type for e in parsed.results] == ["email_click", "email_open", "page_view"]
    assert newest["results"][2]["properties"] == {"hs_url": "/pricing"}
    assert newest["results"][0]["occurredAt"] == "2024-01-31T10:09:00.000Z"

    def walk(**query: Any) -> list[str]:
        seen: list[str] = []
        after = None
        while True:
            page = portal.query_events(after=after, **query)
            seen += [e["occurredAt"] for e in page["results"]]
            if "paging" not in page:
                return seen
            after = page["paging"]["next"]["after"]

    asc = walk(object_id=a["id"], limit=3, sort="ASCENDING")
    assert asc == sorted(asc)
    assert len(asc) == 10
    desc = walk(object_id=a["id"], limit=4)
    assert desc == sorted(desc, reverse=True)
    assert len(desc) == 10
    assert len(walk(limit=2)) == 11
    assert len(walk(event_type="email_open", limit=1)) == 3
    window = walk(
        object_id=a["id"],
        occurred_after="2024-01-31T10:02:00Z",
        occurred_before="2024-01-31T10:05:00.000Z",
    )
    assert window == ["2024-01-31T10:04:00.000Z", "2024-01-31T10:03:00.000Z"]
    assert portal.query_events(object_id="424242")["results"] == []
    assert raises(portal.record_event, object_id=a["id"], event_type="dance").status == 400
    assert raises(portal.record_event, object_id="424242", event_type="page_view").status == 404
    assert raises(portal.query_events, limit=0).status == 400
    assert raises(portal.query_events, object_type="deal").status == 400
    assert raises(portal.query_events, after="!!").status == 400


# --- lists ---------------------------------------------------------------------------------


def test_static_list_membership(portal: HubSpotPortal) -> None:
    ids = [create(portal, email=f"m{i}@x.com")["id"] for i in range(5)]
    created = portal.create_list(
        {"name": "Webinar", "objectTypeId": "0-1", "processingType": "MANUAL"}
    )
    sdk(hubspot.crm.lists, "ListCreateResponse", created)
    list_id = created["list"]["listId"]
    added = portal.add_list_members(list_id=list_id, record_ids=[*ids[:3], "999999"])
    model = sdk(hubspot.crm.lists, "MembershipsUpdateResponse", added)
    assert added["recordIdsAdded"] == ids[:3]
    assert model.records_ids_added == ids[:3]
    assert added["recordIdsMissing"] == ["999999"]
    again = portal.add_list_members(list_id=list_id, record_ids=[ids[0], ids[3], ids[4]])
    assert again["recordIdsAdded"] == ids[3:]
    removed = portal.remove_list_members(list_id=list_id, record_ids=[ids[1], "1234567"])
    assert removed["recordIdsRemoved"] == [ids[1]]
    assert removed["recordIdsMissing"] == ["1234567"]
    portal.archive_object(object_type="contacts", object_id=ids[4])
    first = portal.list_memberships(list_id=list_id, limit=2)
    sdk(hubspot.crm.lists, "ApiCollectionResponseJoinTimeAndRecordId", first)
    rest = portal.list_memberships(list_id=list_id, after=first["paging"]["next"]["after"])
    got = [m["recordId"] for m in first["results"] + rest["results"]]
    assert got == [ids[0], ids[2], ids[3]]
    fetched = portal.get_list(list_id)
    sdk(hubspot.crm.lists, "ListFetchResponse", fetched)
    assert fetched["list"]["size"] == 3
    dup = raises(
        portal.create_list,
        body={"name": "webinar", "objectTypeId": "0-1", "processingType": "MANUAL"},
    )
    assert dup.status == 409
    dynamic = {"name": "D", "objectTypeId": "0-1", "processingType": "DYNAMIC"}
    assert raises(portal.create_list, body=dynamic).status == 400
    assert raises(portal.get_list, list_id="99").status == 404
    assert raises(portal.add_list_members, list_id=list_id, record_ids="1").status == 400


def test_companies_use_hs_lastmodifieddate(portal: HubSpotPortal, clock: FakeClock) -> None:
    created = portal.create_object(
        object_type="companies",
        body={
            "properties": {
                "name": "Acme",
                "domain": "acme.com",
                "numberofemployees": "250",
                "industry": "COMPUTER_SOFTWARE",
            }
        },
    )
    sdk(hubspot.crm.contacts, "SimplePublicObject", created)
    assert set(created["properties"]) >= {"hs_lastmodifieddate", "hs_object_id", "name"}
    assert "lastmodifieddate" not in created["properties"]
    clock.advance(seconds=1)
    found = portal.search(
        object_type="companies",
        body={
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "hs_lastmodifieddate",
                            "operator": "GTE",
                            "value": "2024-01-31T10:00:00Z",
                        }
                    ]
                }
            ],
            "sorts": ["hs_lastmodifieddate"],
        },
    )
    assert [r["id"] for r in found["results"]] == [created["id"]]
    error = raises(
        portal.create_object, object_type="companies", body={"properties": {"industry": "SPACE"}}
    )
    assert error.body["errors"][0]["code"] == "INVALID_OPTION"
