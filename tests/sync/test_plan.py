"""Planning: actions per decision, create payloads, id fields, render lines and counts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from leadbridge.connectors.base import CanonicalValue, Record, Side
from leadbridge.sync.identity import (
    Deleted,
    Duplicate,
    Link,
    Linked,
    LinkIndex,
    Matched,
    New,
    Relinked,
    Skip,
    identify,
)
from leadbridge.sync.mapping import load_mapping
from leadbridge.sync.plan import PlanInput, plan_pair, plan_record, render_plan

ROOT = Path(__file__).resolve().parents[2]
MAPPING = load_mapping(ROOT / "mappings" / "contact_lead.toml")
EARLY = datetime(2024, 5, 1, tzinfo=UTC)
LATE = datetime(2024, 5, 2, tzinfo=UTC)


def hs(record_id: str = "101", at: datetime = EARLY, **values: CanonicalValue) -> Record:
    return Record(id=record_id, object_name="contacts", values=values, modified_at=at)


def sf(record_id: str = "00Q1", at: datetime = EARLY, **values: CanonicalValue) -> Record:
    obj = "Contact" if record_id.startswith("003") else "Lead"
    return Record(id=record_id, object_name=obj, values=values, modified_at=at)


def linked_pair() -> tuple[Link, Record, Record]:
    """A linked pair in step, with its snapshot from a first merge."""
    h = hs(email="a@x.com", jobtitle="Manager", lastname="Sato", leadbridge_salesforce_id="00Q1")
    s = sf(Email="a@x.com", Title="Manager", LastName="Sato", HubSpot_Contact_Id__c="101")
    first = plan_record(mapping=MAPPING, decision=Matched("hubspot", "101", s, "email"), hubspot=h)
    assert first.link is not None
    return first.link, h, s


def test_update_renders_the_dry_run_line() -> None:
    link, h, s = linked_pair()
    h2 = replace(h, values={**h.values, "jobtitle": "部長"}, modified_at=LATE)
    plan = plan_record(
        mapping=MAPPING, decision=Linked("hubspot", "101", link), hubspot=h2, salesforce=s
    )
    assert plan.action == "update"
    assert [(c.target_side, c.field, c.new) for c in plan.changes] == [
        ("salesforce", "Title", "部長")
    ]
    lines = render_plan(
        plan_pair(mapping=MAPPING, inputs=[PlanInput(Linked("hubspot", "101", link), h2, s)])
    )
    assert (
        "hubspot 101 -> salesforce 00Q1: Title: 'Manager' -> '部長' (to_salesforce, rule newest)"
        in lines
    )
    assert lines[-2].startswith("hubspot: created 0, updated 0, unchanged 1")
    assert lines[-1].startswith("salesforce: created 0, updated 1, unchanged 0")
    (write,) = plan.writes()
    assert (write.side, write.object_name, write.op.kind, write.op.record_id) == (
        "salesforce", "Lead", "update", "00Q1",
    )  # fmt: skip
    assert write.op.values == {"Title": "部長"}


def test_quiet_pair_after_writes_plans_nothing() -> None:
    link, h, s = linked_pair()
    plan = plan_record(
        mapping=MAPPING, decision=Linked("hubspot", "101", link), hubspot=h, salesforce=s
    )
    assert plan.changes == ()
    assert plan.writes() == []
    assert plan.snapshot == link.snapshot


def test_first_link_writes_external_ids_and_merges() -> None:
    h = hs(email="a@x.com", firstname="Ann", lastname="Sato", company="ACME")
    s = sf(at=LATE, Email="A@x.com", FirstName="Anne", LastName="Sato", Company="ACME")
    plan = plan_record(mapping=MAPPING, decision=Matched("hubspot", "101", s, "email"), hubspot=h)
    assert plan.action == "link"
    assert plan.link == Link("101", "00Q1", "Lead", plan.snapshot)
    changes = {(c.target_side, c.field): c.new for c in plan.changes}
    assert changes[("hubspot", "leadbridge_salesforce_id")] == "00Q1"
    assert changes[("salesforce", "HubSpot_Contact_Id__c")] == "101"
    assert changes[("hubspot", "firstname")] == "Anne"  # newest: the Salesforce record is newer
    assert ("hubspot", "email") not in changes  # same e-mail, other case
    assert [k.salesforce_field for k in plan.conflicts] == ["FirstName"]
    assert any(
        line.startswith("conflict hubspot 101")
        for line in render_plan(
            plan_pair(mapping=MAPPING, inputs=[PlanInput(Matched("hubspot", "101", s, "email"), h)])
        )
    )


def test_create_in_salesforce_is_an_upsert_with_defaults_and_translations() -> None:
    h = hs(email="new@x.com", lastname="Ito", lifecyclestage="marketingqualifiedlead",
           industry="COMPUTER_SOFTWARE", numemployees="25-50", leadbridge_mql_score=Decimal("55.4"),
           leadbridge_bant_status=frozenset({"budget_confirmed"}))  # fmt: skip
    decision = identify(mapping=MAPPING, side="hubspot", record=h, links=LinkIndex())
    assert decision == New("hubspot", "101", True, decision.reason)  # type: ignore[union-attr]
    plan = plan_record(mapping=MAPPING, decision=decision, hubspot=h)
    assert plan.action == "create_in_salesforce"
    (write,) = plan.writes()
    assert (write.side, write.object_name, write.op.kind) == ("salesforce", "Lead", "upsert")
    assert (write.op.key_field, write.op.key_value) == ("HubSpot_Contact_Id__c", "101")
    values = write.op.values
    assert values["Company"] == "[not provided]"
    assert values["Industry"] == "Technology"
    assert values["NumberOfEmployees"] == 25
    assert values["Lead_Stage__c"] == "MQL"
    assert values["MQL_Score__c"] == Decimal("55")
    assert values["BANT_Status__c"] == frozenset({"Budget Confirmed"})
    backlink = plan.backlink("00Q9")
    assert backlink is not None
    assert (backlink.side, backlink.op.record_id, backlink.op.values) == (
        "hubspot", "101", {"leadbridge_salesforce_id": "00Q9"},
    )  # fmt: skip
    assert plan.snapshot is not None
    assert plan.snapshot.salesforce["Company"] == "[not provided]"


def test_create_in_hubspot_from_a_lead() -> None:
    s = sf("00Q5", Email="b@x.com", LastName="Kato", Company="Foo", SQL_Flag__c=True)
    decision = identify(mapping=MAPPING, side="salesforce", record=s, links=LinkIndex())
    plan = plan_record(mapping=MAPPING, decision=decision, salesforce=s)
    assert plan.action == "create_in_hubspot"
    (write,) = plan.writes()
    assert (write.op.key_field, write.op.key_value) == ("leadbridge_salesforce_id", "00Q5")
    assert write.op.values["leadbridge_sql_flag"] is True
    assert plan.backlink_field == "HubSpot_Contact_Id__c"


def test_skip_duplicate_and_problem_actions() -> None:
    skip = plan_record(mapping=MAPPING, decision=New("hubspot", "7", False, "not an MQL"))
    assert (skip.action, skip.reason) == ("skip", "not an MQL")
    dup = plan_record(
        mapping=MAPPING,
        decision=Duplicate("hubspot", "7", ("00Q2", "00Q3"), "email", "2 salesforce records match"),
    )
    assert dup.action == "duplicate"
    assert dup.candidates == ("00Q2", "00Q3")
    lone = Linked("hubspot", "101", Link("101", "00Q1", "Lead"))
    missing = plan_record(mapping=MAPPING, decision=lone, hubspot=hs())
    assert missing.action == "problem"
    assert "not read" in missing.reason
    plan = plan_pair(mapping=MAPPING, inputs=[PlanInput(d) for d in (
        New("hubspot", "7", False, "not an MQL"),
        Duplicate("hubspot", "8", ("00Q2", "00Q3"), "email", "2 match"),
        Skip("salesforce", "00Q4", "deleted, and it was never linked"),
    )])  # fmt: skip
    counts = plan.counts()
    assert (counts["hubspot"].skipped, counts["hubspot"].duplicates) == (1, 1)
    assert counts["salesforce"].skipped == 1
    lines = render_plan(plan)
    assert "duplicate hubspot 8: 2 match (candidates: 00Q2, 00Q3)" in lines


def test_field_problem_is_listed_and_other_fields_still_write() -> None:
    link, h, s = linked_pair()
    h2 = replace(
        h, values={**h.values, "lifecyclestage": "zombie", "jobtitle": "CTO"}, modified_at=LATE
    )
    plan = plan_record(
        mapping=MAPPING, decision=Linked("hubspot", "101", link), hubspot=h2, salesforce=s
    )
    assert {c.field for c in plan.changes} == {"Title"}
    (problem,) = plan.problems
    assert problem.field == "Lead_Stage__c"
    lines = render_plan(
        plan_pair(mapping=MAPPING, inputs=[PlanInput(Linked("hubspot", "101", link), h2, s)])
    )
    assert any(
        "problem hubspot 101: salesforce.Lead_Stage__c" in line and "Fix:" in line for line in lines
    )


def test_delete_policies() -> None:
    link = Link("101", "00Q1", "Lead")
    unlink = plan_record(mapping=MAPPING, decision=Deleted("hubspot", "101", link, "unlink"))
    assert (unlink.action, unlink.dropped, unlink.writes()) == ("unlink", (link,), [])
    propagate = plan_record(mapping=MAPPING, decision=Deleted("hubspot", "101", link, "propagate"))
    assert propagate.action == "delete_other_side"
    (write,) = propagate.writes()
    assert (write.side, write.op.kind, write.op.record_id) == ("salesforce", "delete", "00Q1")
    ignore = plan_record(mapping=MAPPING, decision=Deleted("salesforce", "00Q1", link, "ignore"))
    assert ignore.action == "skip"
    assert ignore.dropped == ()
    assert (
        plan_pair(mapping=MAPPING, inputs=[PlanInput(Deleted("hubspot", "101", link, "propagate"))])
        .counts()["salesforce"]
        .deleted
        == 1
    )


def test_conversion_relinks_and_points_the_ids_at_the_contact() -> None:
    link, h, _ = linked_pair()
    moved = Link("101", "0031", "Contact", link.snapshot)
    decision = Relinked("salesforce", "00Q1", "converted", moved, (link,), "converted")
    contact = sf("0031", Email="a@x.com", Title="Manager", LastName="Sato")
    plan = plan_record(mapping=MAPPING, decision=decision, hubspot=h, salesforce=contact)
    assert plan.action == "relink"
    assert (plan.salesforce_id, plan.salesforce_object, plan.dropped) == (
        "0031",
        "Contact",
        (link,),
    )
    changes = {(c.target_side, c.field): c.new for c in plan.changes}
    assert changes == {("hubspot", "leadbridge_salesforce_id"): "0031",
                       ("salesforce", "HubSpot_Contact_Id__c"): "101"}  # fmt: skip
    objects = {w.side: w.object_name for w in plan.writes()}
    assert objects == {"hubspot": "contacts", "salesforce": "Contact"}
    # Without the records the link still moves; fields merge on the next run.
    bare = plan_record(mapping=MAPPING, decision=decision)
    assert bare.action == "relink"
    assert bare.snapshot == link.snapshot


def test_merge_into_a_linked_winner_unlinks() -> None:
    decision = Relinked(
        "salesforce", "00Q1", "merged", None, (Link("101", "00Q1", "Lead"),), "merged"
    )
    plan = plan_record(mapping=MAPPING, decision=decision)
    assert plan.action == "unlink"
    assert len(plan.dropped) == 1


def test_a_pair_changed_on_both_sides_is_planned_once() -> None:
    link, h, s = linked_pair()
    inputs = [
        PlanInput(Linked("hubspot", "101", link), h, s),
        PlanInput(Linked("salesforce", "00Q1", link), h, s),
    ]
    assert len(plan_pair(mapping=MAPPING, inputs=inputs).records) == 1


def test_echo_after_applying_a_plan() -> None:
    link, h, s = linked_pair()
    h2 = replace(
        h,
        values={
            **h.values,
            "jobtitle": "VP",
            "leadbridge_bant_status": frozenset({"need_confirmed"}),
        },
    )
    s2 = replace(s, values={**s.values, "LastName": "Satō"}, modified_at=LATE)
    plan = plan_record(
        mapping=MAPPING, decision=Linked("hubspot", "101", link), hubspot=h2, salesforce=s2
    )
    by_side: dict[Side, dict[str, CanonicalValue]] = {"hubspot": {}, "salesforce": {}}
    for c in plan.changes:
        by_side[c.target_side][c.field] = c.new
    h3 = replace(h2, values={**h2.values, **by_side["hubspot"]})
    s3 = replace(s2, values={**s2.values, **by_side["salesforce"]})
    assert plan.link is not None
    again = plan_record(
        mapping=MAPPING, decision=Linked("hubspot", "101", plan.link), hubspot=h3, salesforce=s3
    )
    assert again.changes == ()
