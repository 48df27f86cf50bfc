"""Identity: links, external ids, e-mail, duplicates, inclusion, conversion, merges, deletes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

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
    merged_ids,
    normalise_email,
)
from leadbridge.sync.mapping import PairMapping, load_mapping

ROOT = Path(__file__).resolve().parents[2]
MAPPING = load_mapping(ROOT / "mappings" / "contact_lead.toml")
AT = datetime(2024, 5, 1, tzinfo=UTC)
LINK = Link("101", "00Q1", "Lead")


def rec(side: Side, record_id: str, **values: CanonicalValue) -> Record:
    obj = (
        "contacts" if side == "hubspot" else ("Contact" if record_id.startswith("003") else "Lead")
    )
    return Record(id=record_id, object_name=obj, values=values, modified_at=AT)


def decide(
    side: Side,
    record: Record,
    *,
    links: list[Link] | None = None,
    by_external_id: list[Record] | None = None,
    by_email: list[Record] | None = None,
    mapping: PairMapping = MAPPING,
) -> object:
    return identify(
        mapping=mapping, side=side, record=record, links=LinkIndex(links or []),
        by_external_id=by_external_id or [], by_email=by_email or [],
    )  # fmt: skip


def test_existing_link_wins() -> None:
    decision = decide("hubspot", rec("hubspot", "101"), links=[LINK])
    assert decision == Linked("hubspot", "101", LINK)
    assert decide("salesforce", rec("salesforce", "00Q1"), links=[LINK]) == Linked(
        "salesforce", "00Q1", LINK
    )


def test_link_by_external_id_before_email() -> None:
    other = rec("salesforce", "00Q7", HubSpot_Contact_Id__c="101", Email="x@y.com")
    decision = decide(
        "hubspot", rec("hubspot", "101", email="x@y.com"), by_external_id=[other],
        by_email=[rec("salesforce", "00Q8", Email="x@y.com")],
    )  # fmt: skip
    assert decision == Matched("hubspot", "101", other, "external_id")


@pytest.mark.parametrize("mine", ["  Ann@Example.COM ", "ann@example.com"])
def test_link_by_normalised_email(mine: str) -> None:
    other = rec("salesforce", "00Q7", Email="ANN@example.com")
    decision = decide("hubspot", rec("hubspot", "101", email=mine), by_email=[other])
    assert decision == Matched("hubspot", "101", other, "email")


def test_email_candidates_that_do_not_really_match_are_ignored() -> None:
    decision = decide(
        "salesforce", rec("salesforce", "00Q7", Email="a@x.com"),
        by_email=[rec("hubspot", "5", email="b@x.com")],
    )  # fmt: skip
    assert isinstance(decision, New)
    assert decision.create


def test_several_matches_are_a_duplicate_never_a_guess() -> None:
    candidates = [rec("salesforce", i, Email="a@x.com") for i in ("00Q2", "00Q3")]
    decision = decide("hubspot", rec("hubspot", "101", email="a@x.com"), by_email=candidates)
    assert isinstance(decision, Duplicate)
    assert decision.candidates == ("00Q2", "00Q3")
    assert decision.by == "email"


def test_match_already_linked_elsewhere_is_a_duplicate() -> None:
    other = rec("salesforce", "00Q1", Email="a@x.com")
    decision = decide(
        "hubspot", rec("hubspot", "202", email="a@x.com"), by_email=[other], links=[LINK]
    )
    assert isinstance(decision, Duplicate)
    assert "already linked" in decision.reason


def test_deleted_candidates_do_not_match() -> None:
    gone = replace(rec("salesforce", "00Q2", Email="a@x.com"), deleted=True)
    decision = decide("hubspot", rec("hubspot", "101", email="a@x.com"), by_email=[gone])
    assert isinstance(decision, New)


@pytest.mark.parametrize(
    ("side", "values", "create"),
    [
        ("hubspot", {"lifecyclestage": "marketingqualifiedlead"}, True),
        ("hubspot", {"lifecyclestage": "customer"}, True),
        ("hubspot", {"lifecyclestage": "subscriber"}, False),
        ("hubspot", {}, False),
        ("salesforce", {}, True),
    ],
)
def test_new_records_follow_the_inclusion_rule(
    side: Side, values: dict[str, CanonicalValue], create: bool
) -> None:
    decision = decide(side, rec(side, "101" if side == "hubspot" else "00Q9", **values))
    assert isinstance(decision, New)
    assert decision.create is create
    if not create:
        assert "include.to_salesforce" in decision.reason
        assert "lifecyclestage" in decision.reason


def test_converted_lead_relinks_to_its_contact() -> None:
    lead = rec("salesforce", "00Q1", IsConverted=True, ConvertedContactId="0031")
    decision = decide("salesforce", lead, links=[LINK])
    assert isinstance(decision, Relinked)
    assert decision.cause == "converted"
    assert decision.link == Link("101", "0031", "Contact")
    assert decision.dropped == (LINK,)


def test_converted_lead_into_an_already_linked_contact_drops_the_link() -> None:
    lead = rec("salesforce", "00Q1", IsConverted=True, ConvertedContactId="0031")
    decision = decide("salesforce", lead, links=[LINK, Link("555", "0031", "Contact")])
    assert isinstance(decision, Relinked)
    assert decision.link is None
    assert decision.dropped == (LINK,)


def test_converted_lead_never_linked_is_skipped() -> None:
    lead = rec("salesforce", "00Q1", IsConverted=True, ConvertedContactId="0031")
    assert isinstance(decide("salesforce", lead), Skip)


def test_salesforce_merge_moves_the_link_to_the_master() -> None:
    loser = replace(rec("salesforce", "00Q1"), deleted=True, merged_into="00Q2")
    decision = decide("salesforce", loser, links=[LINK])
    assert isinstance(decision, Relinked)
    assert decision.link == Link("101", "00Q2", "Lead")
    winner_linked = decide("salesforce", loser, links=[LINK, Link("303", "00Q2", "Lead")])
    assert isinstance(winner_linked, Relinked)
    assert winner_linked.link is None
    assert winner_linked.dropped == (LINK,)


def test_hubspot_merge_moves_the_loser_link_to_the_winner() -> None:
    winner = rec("hubspot", "900", hs_merged_object_ids="101;102")
    decision = decide("hubspot", winner, links=[LINK])
    assert isinstance(decision, Relinked)
    assert decision.link == Link("900", "00Q1", "Lead")
    assert decision.dropped == (LINK,)


def test_hubspot_merge_into_a_linked_winner_drops_the_loser_links() -> None:
    own = Link("900", "00Q5", "Lead")
    winner = rec("hubspot", "900", hs_merged_object_ids="101")
    decision = decide("hubspot", winner, links=[LINK, own])
    assert isinstance(decision, Relinked)
    assert decision.link == own
    assert decision.dropped == (LINK,)


def test_hubspot_merge_of_unlinked_contacts_is_an_ordinary_record() -> None:
    winner = rec("hubspot", "900", hs_merged_object_ids="7;8")
    assert isinstance(decide("hubspot", winner), New)


@pytest.mark.parametrize("policy", ["unlink", "propagate", "ignore"])
@pytest.mark.parametrize("side", ["hubspot", "salesforce"])
def test_deletes_follow_the_policy(policy: str, side: Side) -> None:
    mapping = replace(MAPPING, delete_policy=policy)
    gone = replace(rec(side, LINK.id(side)), deleted=True)
    decision = decide(side, gone, links=[LINK], mapping=mapping)
    assert decision == Deleted(side, LINK.id(side), LINK, policy)  # type: ignore[arg-type]


def test_delete_of_unlinked_record_is_skipped() -> None:
    gone = replace(rec("hubspot", "5"), deleted=True)
    assert isinstance(decide("hubspot", gone), Skip)


def test_helpers() -> None:
    assert normalise_email("  A@B.com ") == "a@b.com"
    assert normalise_email("") is None
    assert merged_ids("3; 1,2") == ("1", "2", "3")
    assert merged_ids(frozenset({"4"})) == ("4",)
    assert merged_ids(None) == ()
