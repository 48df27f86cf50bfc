"""Three-way merge: every rule x who-changed, every direction, echoes, transforms, snapshots."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadbridge.connectors.base import CanonicalValue, Record
from leadbridge.sync.mapping import PairMapping, parse_mapping
from leadbridge.sync.merge import MergeResult, merge_for_create, merge_record, side_changed
from leadbridge.sync.snapshot import Snapshot, decode_value, encode_value, same
from leadbridge.sync.transforms import TransformFailed, TransformSpec, apply_step

HEADER = """
name = "t"
hubspot = { object = "contacts" }
salesforce = { object = "Lead" }
[match]
hubspot_external_id = "sfid"
salesforce_external_id = "HsId__c"
email = { hubspot = "email", salesforce = "Email" }
"""
OLD = datetime(2024, 1, 1, tzinfo=UTC)
EARLY = datetime(2024, 2, 1, tzinfo=UTC)
LATE = datetime(2024, 3, 1, tzinfo=UTC)


def mapping_of(fields: str) -> PairMapping:
    return parse_mapping(_toml(HEADER + fields), source="test.toml")


def _toml(text: str) -> dict[str, object]:
    import tomllib

    return tomllib.loads(text)


def one_field(direction: str, rule: str, extra: str = "") -> PairMapping:
    return mapping_of(
        f'[[fields]]\nhubspot = "h"\nsalesforce = "S"\ndirection = "{direction}"\n'
        f'rule = "{rule}"\n{extra}\n'
    )


def hs(values: dict[str, CanonicalValue], at: datetime = EARLY) -> Record:
    return Record(id="101", object_name="contacts", values=values, modified_at=at)


def sf(values: dict[str, CanonicalValue], at: datetime = EARLY) -> Record:
    return Record(id="00Q1", object_name="Lead", values=values, modified_at=at)


def apply(result: MergeResult, h: Record, s: Record) -> tuple[Record, Record]:
    """Both sides after the plan's writes succeed."""
    return (
        replace(h, values={**h.values, **result.values_for("hubspot")}),
        replace(s, values={**s.values, **result.values_for("salesforce")}),
    )


def assert_quiet_after(mapping: PairMapping, result: MergeResult, h: Record, s: Record) -> None:
    h2, s2 = apply(result, h, s)
    again = merge_record(mapping=mapping, snapshot=result.snapshot, hubspot=h2, salesforce=s2)
    assert again.changes == ()
    assert again.conflicts == ()
    assert again.snapshot == result.snapshot


SNAP = Snapshot(hubspot={"h": "old"}, salesforce={"S": "old"})

# (direction, rule, hubspot value, salesforce value, hs time, sf time, expected writes, conflict)
# expected writes: {"hubspot": value} / {"salesforce": value}; "old" is the snapshot on both sides.
CASES = [
    # nobody changed
    *[(d, r, "old", "old", EARLY, LATE, {}, None)
      for d in ("both", "to_salesforce", "to_hubspot")
      for r in ("newest", "prefer_hubspot", "prefer_salesforce", "prefer_salesforce_unless_blank")],
    # only HubSpot changed: copied when the direction allows, whatever the rule
    *[("both", r, "hs", "old", EARLY, LATE, {"salesforce": "hs"}, None)
      for r in ("newest", "prefer_hubspot", "prefer_salesforce", "prefer_salesforce_unless_blank")],
    ("to_salesforce", "prefer_hubspot", "hs", "old", EARLY, LATE, {"salesforce": "hs"}, None),
    ("to_hubspot", "prefer_salesforce", "hs", "old", EARLY, LATE, {}, None),
    # only Salesforce changed
    *[("both", r, "old", "sf", LATE, EARLY, {"hubspot": "sf"}, None)
      for r in ("newest", "prefer_hubspot", "prefer_salesforce", "prefer_salesforce_unless_blank")],
    ("to_hubspot", "prefer_salesforce", "old", "sf", EARLY, LATE, {"hubspot": "sf"}, None),
    ("to_salesforce", "prefer_hubspot", "old", "sf", EARLY, LATE, {}, None),
    # only Salesforce changed, to blank: a one-sided change copies even a blank
    ("both", "prefer_salesforce_unless_blank", "old", None, EARLY, LATE, {"hubspot": None}, None),
    # both changed to the same value: no write, no conflict
    *[("both", r, "same", "same", EARLY, LATE, {}, None)
      for r in ("newest", "prefer_hubspot", "prefer_salesforce", "prefer_salesforce_unless_blank")],
    # both changed and disagree: the rule decides
    ("both", "prefer_salesforce", "hs", "sf", LATE, EARLY, {"hubspot": "sf"}, "salesforce"),
    ("both", "prefer_hubspot", "hs", "sf", EARLY, LATE, {"salesforce": "hs"}, "hubspot"),
    ("both", "newest", "hs", "sf", LATE, EARLY, {"salesforce": "hs"}, "hubspot"),
    ("both", "newest", "hs", "sf", EARLY, LATE, {"hubspot": "sf"}, "salesforce"),
    ("both", "newest", "hs", "sf", EARLY, EARLY, {"hubspot": "sf"}, "salesforce"),
    ("both", "prefer_salesforce_unless_blank", "hs", "sf", LATE, EARLY, {"hubspot": "sf"},
     "salesforce"),
    ("both", "prefer_salesforce_unless_blank", "hs", None, EARLY, LATE, {"salesforce": "hs"},
     "hubspot"),
    ("both", "prefer_salesforce_unless_blank", "hs", "  ", EARLY, LATE, {"salesforce": "hs"},
     "hubspot"),
    # one-way fields: the winner is copied only when the direction allows it
    ("to_salesforce", "prefer_hubspot", "hs", "sf", EARLY, LATE, {"salesforce": "hs"}, "hubspot"),
    ("to_salesforce", "prefer_salesforce", "hs", "sf", EARLY, LATE, {}, "salesforce"),
    ("to_salesforce", "newest", "hs", "sf", LATE, EARLY, {"salesforce": "hs"}, "hubspot"),
    ("to_hubspot", "prefer_salesforce", "hs", "sf", LATE, EARLY, {"hubspot": "sf"}, "salesforce"),
    ("to_hubspot", "prefer_hubspot", "hs", "sf", LATE, EARLY, {}, "hubspot"),
    ("to_hubspot", "newest", "hs", "sf", LATE, EARLY, {}, "hubspot"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("direction", "rule", "h_value", "s_value", "h_at", "s_at", "writes", "winner"), CASES
)
def test_rule_by_who_changed(
    direction: str,
    rule: str,
    h_value: CanonicalValue,
    s_value: CanonicalValue,
    h_at: datetime,
    s_at: datetime,
    writes: dict[str, CanonicalValue],
    winner: str | None,
) -> None:
    mapping = one_field(direction, rule)
    h, s = hs({"h": h_value}, h_at), sf({"S": s_value}, s_at)
    result = merge_record(mapping=mapping, snapshot=SNAP, hubspot=h, salesforce=s)
    got = {c.target_side: c.new for c in result.changes}
    assert got == writes
    assert [c.winner for c in result.conflicts] == ([winner] if winner else [])
    for change in result.changes:
        assert change.rule == rule
        assert change.direction == f"to_{change.target_side}"
    assert_quiet_after(mapping, result, h, s)


def test_conflict_reports_both_values_winner_and_rule() -> None:
    mapping = one_field("both", "prefer_salesforce")
    result = merge_record(
        mapping=mapping, snapshot=SNAP, hubspot=hs({"h": "A"}), salesforce=sf({"S": "B"})
    )
    (conflict,) = result.conflicts
    assert (conflict.hubspot_value, conflict.salesforce_value) == ("A", "B")
    assert (conflict.winner, conflict.rule, conflict.written) == (
        "salesforce",
        "prefer_salesforce",
        True,
    )
    assert result.changes[0].cause == "conflict"


def test_direction_none_is_never_written_nor_snapshotted() -> None:
    mapping = one_field("none", "newest")
    result = merge_record(
        mapping=mapping, snapshot=None, hubspot=hs({"h": "a"}), salesforce=sf({"S": "b"})
    )
    assert result.changes == ()
    assert result.conflicts == ()
    assert result.snapshot == Snapshot()


@pytest.mark.parametrize(
    ("h_value", "s_value", "rule", "writes"),
    [
        ("a", "a", "newest", {}),
        ("a", None, "newest", {"salesforce": "a"}),  # HubSpot record is newer (LATE)
        ("a", "b", "prefer_salesforce", {"hubspot": "b"}),
        (None, None, "newest", {}),
    ],
)
def test_first_link_treats_both_sides_as_changed(
    h_value: CanonicalValue, s_value: CanonicalValue, rule: str, writes: dict[str, object]
) -> None:
    mapping = one_field("both", rule)
    h, s = hs({"h": h_value}, LATE), sf({"S": s_value}, EARLY)
    result = merge_record(mapping=mapping, snapshot=None, hubspot=h, salesforce=s)
    assert {c.target_side: c.new for c in result.changes} == writes
    assert all(c.cause == "first_link" for c in result.changes)
    assert_quiet_after(mapping, result, h, s)


def test_field_new_in_the_mapping_is_a_first_link_for_that_field() -> None:
    mapping = one_field("both", "prefer_hubspot")
    old = Snapshot(hubspot={"other": 1}, salesforce={"Other": 1})
    result = merge_record(
        mapping=mapping, snapshot=old, hubspot=hs({"h": "x"}), salesforce=sf({"S": "y"})
    )
    assert result.values_for("salesforce") == {"S": "x"}


INDUSTRY = """
[[fields]]
hubspot = "h"
salesforce = "S"
rule = "prefer_salesforce"
translate = { SOFTWARE = "Technology", IT_SERVICES = "Technology", BANKING = "Finance" }
translate_to_hubspot = { Technology = "SOFTWARE", Finance = "BANKING" }
"""


def test_many_to_one_translation_both_ways_without_echo() -> None:
    mapping = mapping_of(INDUSTRY)
    h, s = hs({"h": "IT_SERVICES"}), sf({"S": None})
    first = merge_record(
        mapping=mapping, snapshot=None, hubspot=h, salesforce=sf({"S": "Technology"})
    )
    assert first.changes == ()  # IT_SERVICES already means Technology
    assert first.snapshot == Snapshot(hubspot={"h": "IT_SERVICES"}, salesforce={"S": "Technology"})
    snap = Snapshot(hubspot={"h": None}, salesforce={"S": None})
    out = merge_record(mapping=mapping, snapshot=snap, hubspot=h, salesforce=s)
    assert out.values_for("salesforce") == {"S": "Technology"}
    assert_quiet_after(mapping, out, h, s)
    back = merge_record(
        mapping=mapping, snapshot=out.snapshot, hubspot=h, salesforce=sf({"S": "Finance"})
    )
    assert back.values_for("hubspot") == {"h": "BANKING"}
    # HubSpot moves between two values that share one Salesforce value: nothing to write.
    moved = merge_record(
        mapping=mapping,
        snapshot=out.snapshot,
        hubspot=hs({"h": "SOFTWARE"}),
        salesforce=sf({"S": "Technology"}),
    )
    assert moved.changes == ()
    assert moved.snapshot.hubspot == {"h": "SOFTWARE"}


@pytest.mark.parametrize(
    ("on_unknown", "written", "problem"),
    [("error", None, True), ("pass", "NEW_THING", False), ("blank", "", False)],
)
def test_unknown_picklist_value(on_unknown: str, written: str | None, problem: bool) -> None:
    mapping = mapping_of(
        INDUSTRY + f'on_unknown = "{on_unknown}"\n'
        '[[fields]]\nhubspot = "firstname"\nsalesforce = "FirstName"\n'
    )
    snap = Snapshot(hubspot={"h": "SOFTWARE", "firstname": "A"},
                    salesforce={"S": "Technology", "FirstName": "A"})  # fmt: skip
    h = hs({"h": "NEW_THING", "firstname": "B"})
    s = sf({"S": "Technology", "FirstName": "A"})
    result = merge_record(mapping=mapping, snapshot=snap, hubspot=h, salesforce=s)
    values = result.values_for("salesforce")
    assert values["FirstName"] == "B"  # the other field still flows
    if problem:
        assert "S" not in values
        (p,) = result.problems
        assert "NEW_THING" in p.message
        assert "translate" in p.hint
        assert "fields[0]" in p.hint
        assert result.snapshot.hubspot["h"] == "SOFTWARE"  # kept: the next run retries
    else:
        assert result.problems == ()
        assert values["S"] == (written or None)


def test_multi_select_translates_element_wise() -> None:
    mapping = one_field(
        "both",
        "prefer_salesforce",
        'translate = { budget = "Budget Confirmed", need = "Need Confirmed" }',
    )
    h = hs({"h": frozenset({"budget", "need"})})
    s = sf({"S": frozenset()})
    result = merge_record(
        mapping=mapping, snapshot=Snapshot({"h": None}, {"S": None}), hubspot=h, salesforce=s
    )
    assert result.values_for("salesforce") == {
        "S": frozenset({"Budget Confirmed", "Need Confirmed"})
    }
    back = merge_record(
        mapping=mapping,
        snapshot=result.snapshot,
        hubspot=h,
        salesforce=sf({"S": frozenset({"Need Confirmed"})}),
    )
    assert back.values_for("hubspot") == {"h": frozenset({"need"})}


def test_bands_both_ways() -> None:
    mapping = one_field(
        "both", "prefer_salesforce", 'bands = { "1-5" = 1, "5-25" = 5, "25-50" = 25 }'
    )
    snap = Snapshot({"h": None}, {"S": None})
    to_sf = merge_record(
        mapping=mapping, snapshot=snap, hubspot=hs({"h": "5-25"}), salesforce=sf({"S": None})
    )
    assert to_sf.values_for("salesforce") == {"S": 5}
    to_hs = merge_record(
        mapping=mapping,
        snapshot=to_sf.snapshot,
        hubspot=hs({"h": "5-25"}),
        salesforce=sf({"S": 30}),
    )
    assert to_hs.values_for("hubspot") == {"h": "25-50"}
    same_band = merge_record(
        mapping=mapping, snapshot=to_sf.snapshot, hubspot=hs({"h": "5-25"}), salesforce=sf({"S": 7})
    )
    assert same_band.changes == ()


def test_trim_runs_per_direction_and_does_not_echo() -> None:
    mapping = one_field(
        "both",
        "newest",
        'transforms = [{ kind = "trim" }, { kind = "upper", direction = "to_salesforce" }]',
    )
    h, s = hs({"h": "  abc "}), sf({"S": "x"})
    result = merge_record(
        mapping=mapping, snapshot=Snapshot({"h": "x"}, {"S": "x"}), hubspot=h, salesforce=s
    )
    assert result.values_for("salesforce") == {"S": "ABC"}
    assert_quiet_after(mapping, result, h, s)


def test_normalised_comparison() -> None:
    assert same(Decimal("12.50"), Decimal("12.5"))
    assert same(12, Decimal("12.0"))
    assert same("", None)
    assert same(frozenset(), None)
    assert not same(True, 1)
    assert not same("A@x.com", "a@x.com")
    assert same("A@x.com", " a@x.com", ignore_case=True)
    assert same(
        datetime(2024, 1, 1, 9, tzinfo=UTC), datetime.fromisoformat("2024-01-01T18:00:00+09:00")
    )


def test_email_field_compares_ignoring_case() -> None:
    mapping = mapping_of('[[fields]]\nhubspot = "email"\nsalesforce = "Email"\n')
    assert mapping.fields[0].ignore_case
    snap = Snapshot({"email": "a@x.com"}, {"Email": "A@x.com"})
    result = merge_record(
        mapping=mapping,
        snapshot=snap,
        hubspot=hs({"email": "a@x.com"}),
        salesforce=sf({"Email": "a@X.com"}),
    )
    assert result.changes == ()


def test_defaults_fill_blank_values_on_create() -> None:
    mapping = mapping_of(
        '[[fields]]\nhubspot = "company"\nsalesforce = "Company"\n'
        'salesforce_default = "[not provided]"\n'
        '[[fields]]\nhubspot = "n"\nsalesforce = "N"\ndirection = "to_hubspot"\n'
    )
    result = merge_for_create(mapping=mapping, source=hs({"company": " "}), source_side="hubspot")
    assert result.values_for("salesforce") == {"Company": "[not provided]"}
    assert result.snapshot == Snapshot(
        {"company": " ", "n": None}, {"Company": "[not provided]", "N": None}
    )


def test_side_changed_lets_the_runner_drop_echoes() -> None:
    mapping = one_field("both", "newest")
    snap = Snapshot({"h": Decimal("1.50")}, {"S": 1})
    assert not side_changed(
        mapping=mapping, snapshot=snap, side="hubspot", values={"h": Decimal("1.5")}
    )
    assert side_changed(mapping=mapping, snapshot=snap, side="salesforce", values={"S": 2})
    assert side_changed(mapping=mapping, snapshot=None, side="salesforce", values={"S": 1})


def test_snapshot_json_round_trip_and_stable_hash() -> None:
    values: dict[str, CanonicalValue] = {
        "s": "部長", "i": 3, "d": Decimal("12.50"), "b": True, "day": date(2024, 4, 1),
        "at": datetime(2024, 4, 1, 9, tzinfo=UTC), "set": frozenset({"b", "a"}), "none": None,
        "f": 1.5,
    }  # fmt: skip
    snap = Snapshot(hubspot=values, salesforce={"X": 1})
    again = Snapshot.from_json(snap.to_json())
    assert again == snap
    assert again.hash == snap.hash
    assert Snapshot(hubspot=dict(reversed(values.items())), salesforce={"X": 1}).hash == snap.hash
    assert '{"$set":["a","b"]}' in snap.to_json()
    assert decode_value(encode_value(Decimal("1.10"))) == Decimal("1.10")
    with pytest.raises(ValueError, match="not an encoded"):
        decode_value({"$weird": 1})


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        (TransformSpec("trim"), "  a ", "a"),
        (TransformSpec("lower"), "AbC", "abc"),
        (TransformSpec("upper"), "abc", "ABC"),
        (TransformSpec("title"), "john smith", "John Smith"),
        (TransformSpec("truncate", length=3), "abcdef", "abc"),
        (TransformSpec("trim"), frozenset({" a", "b "}), frozenset({"a", "b"})),
        (TransformSpec("round", places=0), Decimal("49.5"), Decimal("50")),
        (TransformSpec("round", places=1), 1.25, Decimal("1.3")),
        (TransformSpec("date_to_datetime", timezone="Asia/Tokyo"), date(2024, 4, 1),
         datetime(2024, 3, 31, 15, tzinfo=UTC)),
        (TransformSpec("datetime_to_date", timezone="Asia/Tokyo"),
         datetime(2024, 3, 31, 16, tzinfo=UTC), date(2024, 4, 1)),
        (TransformSpec("datetime_to_date"), datetime(2024, 3, 31, 16, tzinfo=UTC),
         date(2024, 3, 31)),
        (TransformSpec("trim"), None, None),
    ],
)  # fmt: skip
def test_transform_steps(
    spec: TransformSpec, value: CanonicalValue, expected: CanonicalValue
) -> None:
    assert apply_step(spec, value) == expected


@pytest.mark.parametrize(
    ("spec", "value", "words"),
    [
        (TransformSpec("max_length", length=3), "abcd", "longer"),
        (TransformSpec("trim"), 5, "expects text"),
        (TransformSpec("round", places=0), "x", "expects a number"),
        (TransformSpec("date_to_datetime"), "2024", "expects a date"),
    ],
)
def test_transform_failures_carry_a_hint(
    spec: TransformSpec, value: CanonicalValue, words: str
) -> None:
    with pytest.raises(TransformFailed) as caught:
        apply_step(spec, value, where="fields[2]")
    assert words in caught.value.message
    assert caught.value.hint


# -- property: random edits on both sides converge ----------------------------------------------

PROPERTY_FIELDS = """
[[fields]]
hubspot = "a"
salesforce = "A"
rule = "newest"
transforms = [{ kind = "trim" }]
[[fields]]
hubspot = "b"
salesforce = "B"
rule = "prefer_salesforce"
[[fields]]
hubspot = "c"
salesforce = "C"
rule = "prefer_hubspot"
translate = { x = "X", y = "Y", z = "Z" }
[[fields]]
hubspot = "d"
salesforce = "D"
rule = "prefer_salesforce_unless_blank"
[[fields]]
hubspot = "e"
salesforce = "E"
direction = "to_salesforce"
[[fields]]
hubspot = "f"
salesforce = "F"
direction = "to_hubspot"
"""
PROPERTY_MAPPING = mapping_of(PROPERTY_FIELDS)
TEXT = st.sampled_from([None, "", "p", "q", " p", "r "])
HS_DOMAIN = {"a": TEXT, "b": TEXT, "c": st.sampled_from([None, "x", "y", "z"]), "d": TEXT,
             "e": TEXT, "f": TEXT}  # fmt: skip
SF_DOMAIN = {"A": TEXT, "B": TEXT, "C": st.sampled_from([None, "X", "Y", "Z"]), "D": TEXT,
             "E": TEXT, "F": TEXT}  # fmt: skip
EDITS = st.tuples(
    st.fixed_dictionaries({}, optional=HS_DOMAIN),
    st.fixed_dictionaries({}, optional=SF_DOMAIN),
    st.integers(0, 3),
    st.integers(0, 3),
)


@settings(max_examples=150, deadline=None)
@given(
    start=st.tuples(st.fixed_dictionaries(HS_DOMAIN), st.fixed_dictionaries(SF_DOMAIN)),
    rounds=st.lists(EDITS, min_size=1, max_size=5),
)
def test_random_edits_converge(start: tuple[dict, dict], rounds: list[tuple]) -> None:  # type: ignore[type-arg]
    mapping = PROPERTY_MAPPING
    h, s = hs(start[0], OLD), sf(start[1], OLD)
    snapshot: Snapshot | None = None
    for hs_edit, sf_edit, hs_day, sf_day in [*rounds, ({}, {}, 0, 0)]:
        h = replace(h, values={**h.values, **hs_edit}, modified_at=EARLY.replace(day=1 + hs_day))
        s = replace(s, values={**s.values, **sf_edit}, modified_at=EARLY.replace(day=1 + sf_day))
        result = merge_record(mapping=mapping, snapshot=snapshot, hubspot=h, salesforce=s)
        assert result.problems == ()
        h, s = apply(result, h, s)
        snapshot = result.snapshot
        again = merge_record(mapping=mapping, snapshot=snapshot, hubspot=h, salesforce=s)
        assert again.changes == ()
        assert again.conflicts == ()
    # After the quiet final round, two-way fields agree (one side is the other, converted).
    for f in mapping.fields:
        if f.direction == "both":
            hv, sv = h.values.get(f.hubspot), s.values.get(f.salesforce)
            assert same(f.convert(hv, to="salesforce"), sv) or same(f.convert(sv, to="hubspot"), hv)
