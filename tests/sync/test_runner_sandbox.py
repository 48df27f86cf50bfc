"""The sync runner end to end against both sandbox emulators, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from leadbridge.sandbox.salesforce.actions import convert_lead
from leadbridge.sandbox.salesforce.rejections import RejectRule
from leadbridge.store.db import Store
from leadbridge.store.models import ErrorQueueItem, Lineage
from tests.sync.world import World, open_world, quiet


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[World]:
    with open_world(store=store, folder=tmp_path / "sbx", leads=30) as opened:
        yield opened


def test_dry_run_plans_and_writes_nothing(world: World) -> None:
    report = world.sync(dry_run=True)
    assert report.outcome == "ok"
    assert report.plan_lines
    assert any("create_in_hubspot" in line for line in report.plan_lines)
    assert world.linked_pairs() == []
    assert world.state.cursor(side="hubspot", object_name="contacts") is None


def test_initial_sync_links_creates_and_then_stays_quiet(world: World) -> None:
    first = world.sync()
    assert first.outcome == "ok", first.message
    pairs = world.linked_pairs()
    matched = world.sandbox.seeded_contacts["matched"]
    # Matched by e-mail, plus every Salesforce-only lead created in HubSpot.
    assert len(pairs) == 30
    assert first.sides["hubspot"].created == 30 - matched
    # Non-MQL HubSpot-only contacts stay out of Salesforce (the inclusion rule).
    assert first.sides["salesforce"].created == 0
    assert first.sides["hubspot"].skipped == 30 - matched
    hubspot_id, lead_id = pairs[0]
    assert world.lead(lead_id)["HubSpot_Contact_Id__c"] == hubspot_id
    assert (
        world.contact(hubspot_id, "leadbridge_salesforce_id")["leadbridge_salesforce_id"] == lead_id
    )
    second = world.sync()
    assert quiet(second), second.as_dict()
    third = world.sync(full=True)
    assert quiet(third), third.as_dict()


def test_changes_cross_both_ways_and_conflicts_follow_the_rule(world: World) -> None:
    world.sync()
    hubspot_id, lead_id = world.linked_pairs()[0]
    world.edit_contact(hubspot_id, firstname="Hanako")
    world.edit_lead(lead_id, Title="営業部長")
    # Both sides change Company: prefer_salesforce_unless_blank keeps Salesforce's value.
    world.edit_contact(hubspot_id, company="HubSpot Corp")
    world.edit_lead(lead_id, Company="Salesforce KK")
    report = world.sync()
    assert report.outcome == "ok", report.message
    assert world.lead(lead_id)["FirstName"] == "Hanako"
    contact = world.contact(hubspot_id, "jobtitle", "company")
    assert contact["jobtitle"] == "営業部長"
    assert contact["company"] == "Salesforce KK"
    assert report.sides["hubspot"].conflicts + report.sides["salesforce"].conflicts >= 1
    with world.state.store.session() as session:
        fields = {row.field for row in session.exec(select(Lineage)).all()}
    assert {"FirstName", "jobtitle", "company"} <= fields
    assert quiet(world.sync())


def test_a_rejected_record_is_queued_with_a_hint_and_the_rest_syncs(world: World) -> None:
    world.sync()
    (first_hs, first_lead), (second_hs, second_lead) = world.linked_pairs()[:2]
    world.sandbox.salesforce.rejections.add(
        RejectRule(object="Lead", field="FirstName", value="Rejected", message="Name not allowed")
    )
    world.edit_contact(first_hs, firstname="Rejected")
    world.edit_contact(second_hs, firstname="Accepted")
    report = world.sync()
    assert report.outcome == "partial"
    assert report.sides["salesforce"].failed == 1
    assert world.lead(second_lead)["FirstName"] == "Accepted"
    with world.state.store.session() as session:
        item = session.exec(select(ErrorQueueItem)).one()
    assert item.record_id == first_lead
    assert item.category == "fix_data"
    assert "Name not allowed" in item.message
    assert item.hint
    # Fixed at the source: the next change goes through and resolves the queue entry.
    world.edit_contact(first_hs, firstname="Fixed")
    assert world.sync().outcome == "ok"
    assert world.lead(first_lead)["FirstName"] == "Fixed"
    with world.state.store.session() as session:
        assert session.exec(select(ErrorQueueItem)).one().status == "resolved"


def test_a_converted_lead_moves_the_link_to_its_contact(world: World) -> None:
    world.sync()
    hubspot_id, lead_id = world.linked_pairs()[0]
    org = world.sandbox.salesforce.org
    with world.sandbox.salesforce.lock:
        result = convert_lead(org, lead_id, user_id=org.integration_user_id)
    report = world.sync()
    assert report.outcome == "ok", report.message
    assert (hubspot_id, result.contact_id) in world.linked_pairs()
    world.edit_contact(hubspot_id, firstname="AfterConversion")
    assert world.sync().outcome == "ok"
    with world.sandbox.salesforce.lock:
        assert org.get("Contact", result.contact_id)["FirstName"] == "AfterConversion"


def test_a_crash_between_writes_and_commit_duplicates_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    original = world.state.commit_page

    def crash_once(page: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("power cut after the writes, before the commit")
        original(page)

    monkeypatch.setattr(world.state, "commit_page", crash_once)
    with pytest.raises(RuntimeError):
        world.sync()
    monkeypatch.setattr(world.state, "commit_page", original)
    # The lease of the crashed run is released by its finally: the rerun may start at once.
    report = world.sync()
    assert report.outcome == "ok", report.message
    portal = world.sandbox.hubspot.portal
    emails = [
        c["properties"].get("email")
        for c in portal.list_objects(object_type="contacts", limit=100, properties=["email"])[
            "results"
        ]
    ]
    assert len(emails) == len(set(emails))
    assert len(world.linked_pairs()) == 30
    assert quiet(world.sync())


def test_deletes_on_either_side_unlink_by_default(world: World) -> None:
    world.sync()
    (hubspot_a, lead_a), (hubspot_b, lead_b) = world.linked_pairs()[:2]
    world.sandbox.hubspot.portal.archive_object(object_type="contacts", object_id=hubspot_a)
    org = world.sandbox.salesforce.org
    with world.sandbox.salesforce.lock:
        org.delete("Lead", lead_b, user_id=org.integration_user_id)
    report = world.sync()
    assert report.outcome == "ok", report.message
    pairs = world.linked_pairs()
    assert (hubspot_a, lead_a) not in pairs
    assert (hubspot_b, lead_b) not in pairs
    # Unlinking deletes nothing on the other side (delete.policy = "unlink").
    assert world.lead(lead_a)["IsDeleted"] is False
    assert world.contact(hubspot_b, "email")["email"]
    assert quiet(world.sync())


def test_merges_on_either_side_move_the_link_to_the_winner(world: World) -> None:
    world.sync()
    (hubspot_a, lead_a), (hubspot_b, lead_b) = world.linked_pairs()[:2]
    from leadbridge.sandbox.salesforce.actions import merge_leads

    org = world.sandbox.salesforce.org
    with world.sandbox.salesforce.lock:
        merge_leads(org, lead_a, lead_b, user_id=org.integration_user_id)
    report = world.sync()
    assert report.outcome == "ok", report.message
    pairs = world.linked_pairs()
    assert (hubspot_b, lead_b) not in pairs
    assert (hubspot_a, lead_a) in pairs
    assert quiet(world.sync())


def test_an_email_shared_by_two_leads_is_flagged_never_guessed(world: World) -> None:
    email = world.sandbox.seeded_contacts["matched_emails"][0]
    org = world.sandbox.salesforce.org
    with world.sandbox.salesforce.lock:
        twin = org.create(
            "Lead",
            {"LastName": "Twin", "Company": "Twin KK", "Email": email},
            user_id=org.integration_user_id,
        )
    report = world.sync()
    assert report.sides["hubspot"].duplicates + report.sides["salesforce"].duplicates >= 1
    linked_leads = {lead for _contact, lead in world.linked_pairs()}
    assert twin not in linked_leads
    with world.state.store.session() as session:
        flagged = session.exec(
            select(ErrorQueueItem).where(ErrorQueueItem.code == "DUPLICATE_CANDIDATES")
        ).all()
    assert flagged
    assert any(twin in item.message for item in flagged)
    assert all(item.hint for item in flagged)
    # Nothing with that e-mail was linked: a person decides.
    with world.sandbox.salesforce.lock:
        same = [r["Id"] for r in org.iter_records("Lead") if r.get("Email") == email]
    assert not set(same) & linked_leads


def test_records_left_alone_are_not_looked_up_again_while_unchanged(world: World) -> None:
    first = world.sync()
    assert first.sides["hubspot"].skipped > 0  # HubSpot-only contacts that are not MQLs
    # The next run re-reads them (overlap window) but asks Salesforce nothing about them:
    # only the Lead and Contact queries are made.
    second = world.sync()
    assert quiet(second)
    assert second.sides["hubspot"].skipped == first.sides["hubspot"].skipped
    assert second.sides["salesforce"].api_calls == 2
    # A change makes the record count again: it is judged afresh (here: still left alone).
    contact_id = next(
        c for c in world.contact_ids() if c not in {h for h, _ in world.linked_pairs()}
    )
    world.edit_contact(contact_id, jobtitle="Changed")
    third = world.sync()
    assert third.sides["salesforce"].api_calls > 2
