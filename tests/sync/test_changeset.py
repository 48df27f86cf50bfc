"""The packed change set and the identity index: what goes in comes out, exactly, in order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from leadbridge.connectors.base import EPOCH, CanonicalValue, Record
from leadbridge.sync.changeset import ChangeSet, PoolIndex

AT = datetime(2024, 5, 1, 9, 30, 15, 123000, tzinfo=UTC)


def rec(record_id: str, at: datetime = AT, sort_key: str = "", **values: CanonicalValue) -> Record:
    return Record(
        id=record_id, object_name="contacts", values=values, modified_at=at, sort_key=sort_key
    )


def test_every_canonical_value_comes_back_equal_and_of_the_same_type() -> None:
    values: dict[str, CanonicalValue] = {
        "text": "鈴木 篤司 ",
        "blank": "",
        "none": None,
        "count": 529,
        "score": Decimal("12.50"),
        "ratio": 0.1,
        "flag": False,
        "day": date(2024, 4, 1),
        "moment": datetime(2024, 4, 1, 9, 0, tzinfo=UTC),
        "tokyo": datetime(2024, 4, 1, 9, 0, tzinfo=timezone(timedelta(hours=9))),
        "tags": frozenset({"a", "b"}),
    }
    original = Record(
        id="00Q1",
        object_name="Lead",
        values=values,
        modified_at=AT,
        deleted=True,
        merged_into="00Q2",
        sort_key="k",
    )
    back = ChangeSet([original])["00Q1"]
    assert back == original
    assert list(back.values) == list(values)  # field order too
    for name, value in values.items():
        assert type(back.values[name]) is type(value)
        if not isinstance(value, frozenset):  # a set's text follows its hash order
            assert str(back.values[name]) == str(value)  # Decimal("12.50") keeps its digits
    assert back.values["moment"].tzinfo == UTC  # type: ignore[union-attr]


def test_records_of_several_objects_and_field_sets_keep_their_own() -> None:
    lead = Record(id="00Q1", object_name="Lead", values={"Email": "a@x.jp"}, modified_at=AT)
    contact = Record(
        id="0031", object_name="Contact", values={"Email": "b@x.jp", "Title": "CTO"}, modified_at=AT
    )
    changes = ChangeSet([lead, contact])
    assert changes["00Q1"] == lead
    assert changes["0031"] == contact


def test_a_record_added_again_replaces_the_first_and_keeps_its_place_like_a_dict() -> None:
    changes = ChangeSet([rec("1", email="a"), rec("2"), rec("3")])
    changes.add(rec("1", at=EPOCH, email="b"))
    assert list(changes) == ["1", "2", "3"]
    assert changes["1"].modified_at == EPOCH
    assert changes["1"].values == {"email": "b"}
    assert len(changes) == 3
    assert "2" in changes
    assert "4" not in changes
    assert changes.get("4") is None


def test_cursor_order_is_a_stable_sort_by_record_cursor() -> None:
    records = [
        rec("b", AT),
        rec("a", AT),
        rec("c", AT - timedelta(seconds=1)),
        rec("z", EPOCH),
        rec("y", AT, sort_key="0001"),
    ]
    changes = ChangeSet(records)
    assert changes.in_cursor_order() == [r.id for r in sorted(records, key=lambda r: r.cursor)]


IDS = st.sampled_from(["1", "2", "3", "4", "5"])
EMAILS = st.sampled_from([None, "", "a@x.jp", " A@X.jp", "b@x.jp"])
POOL = st.lists(st.tuples(IDS, st.one_of(st.none(), IDS), EMAILS, st.booleans()), max_size=8)


@given(rows=POOL, record_id=IDS, pointer=st.one_of(st.just(""), IDS), email=EMAILS)
def test_the_index_over_a_change_set_answers_as_over_its_records(
    rows: list[tuple[str, str | None, str | None, bool]],
    record_id: str,
    pointer: str,
    email: str | None,
) -> None:
    records = [
        Record(
            id=i,
            object_name="contacts",
            values={"ext": ext, "email": mail},
            modified_at=AT,
            deleted=deleted,
        )
        for i, ext, mail, deleted in rows
    ]
    changes = ChangeSet(records)
    packed = PoolIndex(changes, ext_field="ext", email_field="email")
    plain = PoolIndex(list(changes.values()), ext_field="ext", email_field="email")
    wanted = email.strip().lower() if email and email.strip() else None
    assert packed.by_ext(record_id, pointer) == plain.by_ext(record_id, pointer)
    assert packed.by_email(wanted) == plain.by_email(wanted)


def test_an_index_over_looked_up_records_keeps_every_copy() -> None:
    first = rec("1", ext="9", email="a@x.jp")
    again = rec("1", ext="9", email="a@x.jp", phone="1")
    index = PoolIndex([first, again], ext_field="ext", email_field="email")
    assert index.by_ext("9", "") == [first, again]
    assert index.by_email("a@x.jp") == [first, again]
    assert index.by_ext("8", "1") == [again]  # by id: the last copy
    assert index.by_email(None) == []
