"""Scoring end to end against both sandbox emulators, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from leadbridge.connectors.factory import hubspot_from_sandbox, salesforce_from_sandbox
from leadbridge.connectors.retry import RetryPolicy
from leadbridge.nurture.rules import Rules, load_rules
from leadbridge.nurture.runner import ScoringOptions, ScoringRunner
from leadbridge.sandbox.runtime import RunningSandbox, SandboxOptions
from leadbridge.sandbox.salesforce.rejections import RejectRule
from leadbridge.setup.fields import hubspot_specs, salesforce_specs
from leadbridge.store.db import Store
from leadbridge.store.models import ErrorQueueItem, LeadScore, Lineage, Run
from leadbridge.sync.mapping import load_mapping
from leadbridge.sync.runner import SyncOptions, SyncReport, run_pair
from leadbridge.sync.state import SyncState

ROOT = Path(__file__).resolve().parents[2]
FAST = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.02)


class World:
    """Both sandbox systems, the sync and the scoring runner over one store."""

    def __init__(self, sandbox: RunningSandbox, store: Store, rules: Rules) -> None:
        info = sandbox.info()
        self.sandbox = sandbox
        self.store = store
        self.salesforce = salesforce_from_sandbox(info, retry=FAST)
        self.hubspot = hubspot_from_sandbox(info, retry=FAST)
        self.salesforce.ensure_fields("Lead", salesforce_specs(), apply=True)
        self.hubspot.ensure_fields("contacts", hubspot_specs(), apply=True)
        self.mapping = load_mapping(ROOT / "mappings" / "contact_lead.toml")
        self.state = SyncState(store=store, pair=self.mapping.name)
        self.scoring = ScoringRunner(
            mapping=self.mapping,
            rules=rules,
            store=store,
            hubspot=self.hubspot,
            salesforce=self.salesforce,
        )

    def sync(self) -> SyncReport:
        return run_pair(
            mapping=self.mapping,
            state=self.state,
            hubspot=self.hubspot,
            salesforce=self.salesforce,
            options=SyncOptions(),
        )

    def contact(self, contact_id: str, *names: str) -> dict[str, Any]:
        found = self.sandbox.hubspot.portal.get_object(
            object_type="contacts", object_id=contact_id, properties=list(names)
        )
        return dict(found["properties"])

    def lead(self, lead_id: str) -> dict[str, Any]:
        with self.sandbox.salesforce.lock:
            return dict(self.sandbox.salesforce.org.get("Lead", lead_id))

    def event(self, contact_id: str, event_type: str, **properties: str) -> None:
        self.sandbox.hubspot.portal.record_event(
            object_id=contact_id, event_type=event_type, properties=properties
        )

    def linked(self) -> list[tuple[str, str]]:
        from leadbridge.store.models import Link

        with self.store.session() as session:
            return [
                (r.hubspot_id, r.salesforce_id)
                for r in session.exec(select(Link).order_by(Link.id)).all()
            ]


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[World]:
    rules = load_rules(ROOT / "rules" / "scoring.toml")
    with RunningSandbox(options=SandboxOptions(folder=tmp_path / "sbx", leads=12)) as sandbox:
        yield World(sandbox, store, rules)


def quiet(report: SyncReport) -> bool:
    return all(s.created == s.updated == s.failed == 0 for s in report.sides.values())


def test_scores_reach_both_systems_and_nothing_echoes(world: World) -> None:
    assert world.sync().outcome == "ok"
    hot, lead_id = world.linked()[0]
    cold, cold_lead = world.linked()[1]
    world.sandbox.hubspot.portal.update_object(
        object_type="contacts",
        object_id=hot,
        body={"properties": {"jobtitle": "IT Manager", "lifecyclestage": "lead"}},
    )
    assert quiet(world.sync()) is False  # the title reached Salesforce
    world.event(hot, "form_submission")
    world.event(hot, "webinar_attended")
    world.event(hot, "page_view", url="https://example.com/pricing")
    world.event(cold, "email_open")
    world.event(cold, "form_submission")

    first = world.scoring.run()
    assert first.outcome == "ok", first.message
    hot_score = first.scores[hot]
    assert hot_score.is_mql
    rules_hit = {line.rule: line.points for line in hot_score.breakdown}
    assert (rules_hit["document download"], rules_hit["webinar"], rules_hit["pricing page"]) == (
        10, 15, 20
    )  # fmt: skip
    assert first.new_mqls >= 1

    contact = world.contact(
        hot, "leadbridge_mql_score", "leadbridge_mql_date", "leadbridge_score_breakdown",
        "lifecyclestage",
    )  # fmt: skip
    assert Decimal(contact["leadbridge_mql_score"]) == hot_score.total
    assert contact["leadbridge_mql_date"]
    assert "pricing page 20" in contact["leadbridge_score_breakdown"]
    assert contact["lifecyclestage"] == "marketingqualifiedlead"
    lead = world.lead(lead_id)
    assert lead["MQL_Score__c"] == hot_score.total
    assert lead["MQL_Date__c"] is not None
    assert lead["Lead_Stage__c"] == "MQL"
    assert "webinar 15" in lead["Score_Breakdown__c"]
    cold_total = first.scores[cold].total
    assert world.lead(cold_lead)["MQL_Score__c"] == cold_total
    assert world.lead(cold_lead).get("MQL_Date__c") is None or first.scores[cold].is_mql

    with world.store.session() as session:
        rows = session.exec(select(Lineage).where(Lineage.rule == "scoring")).all()
        assert {r.source_side for r in rows} == {"leadbridge"}
        assert {r.target_side for r in rows} == {"hubspot", "salesforce"}
        saved = session.exec(select(LeadScore).where(LeadScore.hubspot_id == hot)).one()
        assert saved.total == hot_score.total
        run = session.exec(select(Run).where(Run.id == first.run_id)).one()
        assert run.calls_salesforce > 0
        assert run.calls_hubspot > 0
        assert run.calls_salesforce + run.calls_hubspot == first.api_calls
        assert saved.salesforce_id == lead_id
        assert saved.mql_since is not None

    again = world.scoring.run()
    assert again.outcome == "ok"
    assert again.written == {"hubspot": 0, "salesforce": 0}
    assert quiet(world.sync()), "scores came back from the sync as changes"
    assert world.scoring.run().written == {"hubspot": 0, "salesforce": 0}


def test_only_leads_with_new_events_or_attributes_are_rescored(world: World) -> None:
    assert world.sync().outcome == "ok"
    first = world.scoring.run()
    assert first.scored == len(world.linked())
    one, _ = world.linked()[0]
    world.event(one, "webinar_attended")
    second = world.scoring.run()
    assert set(second.scores) == {one}
    assert second.written["hubspot"] == 1
    phone_hs, lead_id = world.linked()[1]
    with world.sandbox.salesforce.lock:
        org = world.sandbox.salesforce.org
        org.update("Lead", lead_id, {"Phone": "03-0000-0000"}, user_id=org.integration_user_id)
    assert world.sync().outcome == "ok"
    third = world.scoring.run()
    assert phone_hs not in third.scores  # a phone number is no scoring input
    # The events overlap window re-reads the webinar: rescored, nothing to write.
    assert set(third.scores) <= {one}
    assert third.written == {"hubspot": 0, "salesforce": 0}


def test_an_mql_from_hubspot_alone_becomes_a_salesforce_lead(world: World) -> None:
    world.sync()
    created = world.sandbox.hubspot.portal.create_object(
        object_type="contacts",
        body={
            "properties": {
                "email": "kenji@newco.example",
                "lastname": "Sato",
                "company": "NewCo",
                "jobtitle": "CTO",
                "industry": "COMPUTER_SOFTWARE",
                "lifecyclestage": "lead",
            }
        },
    )
    unlinked = str(created["id"])
    for kind in ("form_submission", "webinar_attended"):
        world.event(unlinked, kind)
    report = world.scoring.run()
    assert report.scores[unlinked].is_mql
    assert world.contact(unlinked, "lifecyclestage")["lifecyclestage"] == MQL
    world.sync()
    assert unlinked in {h for h, _ in world.linked()}
    assert world.scoring.run().written == {"hubspot": 0, "salesforce": 0}
    assert quiet(world.sync())


def test_the_decay_pass_lowers_fading_points(store: Store, tmp_path: Path) -> None:
    text = (ROOT / "rules" / "scoring.toml").read_text(encoding="utf-8")
    text = text.replace("# half_life_days = 90", "half_life_days = 90")
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with RunningSandbox(options=SandboxOptions(folder=tmp_path / "sbx", leads=5)) as sandbox:
        world = World(sandbox, store, load_rules(path))
        world.sync()
        hubspot_id, lead_id = world.linked()[0]
        world.event(hubspot_id, "form_submission")
        now = datetime.now(UTC)
        assert world.scoring.run(now=now).scores[hubspot_id].total >= 10
        assert world.scoring.run(now=now).written == {"hubspot": 0, "salesforce": 0}
        assert world.scoring.decay_due()  # never ran
        later = world.scoring.decay_pass(now=now + timedelta(days=90))
        assert not world.scoring.decay_due()
        assert world.scoring.decay_due(now=datetime.now(UTC) + timedelta(days=1, minutes=1))
        line = next(x for x in later.scores[hubspot_id].breakdown if x.rule == "document download")
        assert line.points == 5
        assert world.lead(lead_id)["MQL_Score__c"] == later.scores[hubspot_id].total
        assert quiet(world.sync())


MQL = "marketingqualifiedlead"


class Crash(Exception):
    """Stands for the process dying."""


def test_chunks_resume_after_a_crash_between_writes_and_commit(world: World) -> None:
    assert world.sync().outcome == "ok"
    ids = sorted(h for h, _ in world.linked())
    assert len(ids) >= 11
    for hubspot_id in ids[::2]:
        world.event(hubspot_id, "webinar_attended")
    world.event(ids[0], "form_submission")
    chunk = 5
    first = scoring_with(world, world.scoring.rules, ScoringOptions(chunk=chunk))
    commits = 0
    real_commit = first.state.commit

    def dies_on_second_commit(page: Any) -> None:
        nonlocal commits
        commits += 1
        if commits == 2:  # the second chunk's writes reached both systems; its commit did not
            raise Crash
        real_commit(page)

    first.state.commit = dies_on_second_commit  # type: ignore[method-assign]
    with pytest.raises(Crash):
        first.run()

    resumed = scoring_with(world, world.scoring.rules, ScoringOptions(chunk=chunk))
    report = resumed.run()
    assert report.outcome == "ok", report.message
    # Every lead after the committed chunk is scored again (those of chunk 1 only if they
    # have events: the events cursor did not move).
    assert set(ids[chunk:]) <= set(report.scores)
    rest = len(ids) - 2 * chunk
    # Chunk 1 was committed: nothing. Chunk 2 is in HubSpot already (adopted, not rewritten);
    # Salesforce's values are compared with the snapshot, so its updates are sent once more
    # with the same values. The rest is written for the first time.
    assert report.written == {"hubspot": rest, "salesforce": chunk + rest}
    reference = world.scoring.run()  # the default chunk: one chunk; nothing left to do
    assert reference.written == {"hubspot": 0, "salesforce": 0}
    assert quiet(world.sync())
    with world.store.session() as session:
        saved = {r.hubspot_id: r.total for r in session.exec(select(LeadScore)).all()}
    assert set(saved) == set(ids)
    assert all(saved[h] == s.total for h, s in report.scores.items())
    for hubspot_id, salesforce_id in world.linked():
        held = world.contact(hubspot_id, "leadbridge_mql_score")["leadbridge_mql_score"]
        assert Decimal(held) == saved[hubspot_id]
        assert world.lead(salesforce_id)["MQL_Score__c"] == saved[hubspot_id]


def test_a_rejected_write_back_is_queued_and_resolved_by_the_next_run(world: World) -> None:
    assert world.sync().outcome == "ok"
    hot, lead_id = world.linked()[0]
    world.sandbox.salesforce.rejections.add(
        RejectRule(object="Lead", field="Lead_Stage__c", value="MQL", message="Stage locked",
                   remaining=1)
    )  # fmt: skip
    for kind in ("form_submission", "webinar_attended", "webinar_attended", "form_submission"):
        world.event(hot, kind)
    world.sandbox.hubspot.portal.update_object(
        object_type="contacts", object_id=hot,
        body={"properties": {"jobtitle": "CTO", "lifecyclestage": "lead"}},
    )  # fmt: skip
    assert world.sync().outcome == "ok"
    first = world.scoring.run()
    assert first.scores[hot].is_mql
    assert first.outcome == "partial"
    assert first.failed == 1
    with world.store.session() as session:
        item = session.exec(select(ErrorQueueItem)).one()
    assert (item.pair, item.side, item.record_id, item.status) == (
        "scoring", "salesforce", lead_id, "open"
    )  # fmt: skip
    assert "Stage locked" in item.message
    assert world.lead(lead_id)["Lead_Stage__c"] != "MQL"

    second = world.scoring.run()
    assert second.outcome == "ok", second.message
    assert second.written == {"hubspot": 0, "salesforce": 1}
    assert world.lead(lead_id)["Lead_Stage__c"] == "MQL"
    with world.store.session() as session:
        assert session.exec(select(ErrorQueueItem)).one().status == "resolved"
    assert world.scoring.run().written == {"hubspot": 0, "salesforce": 0}
    assert quiet(world.sync())


def event_calls(world: World) -> int:
    return sum(n for k, n in world.sandbox.hubspot.calls.snapshot().items() if "/events/" in k)


def test_saved_hits_spare_history_reads_and_count_each_event_once(world: World) -> None:
    assert world.sync().outcome == "ok"
    ids = [h for h, _ in world.linked()]
    one, two = ids[0], ids[1]
    world.event(one, "webinar_attended")
    world.event(two, "form_submission")
    first = world.scoring.run()
    assert first.outcome == "ok"
    assert first.scores[one].breakdown[0].detail == "1 x 15"

    # New events for two leads: only the window since the cursor is read, no lead's history,
    # and the webinar inside that window (read again) still counts once.
    world.event(one, "form_submission")
    world.event(ids[2], "webinar_attended")
    world.sandbox.hubspot.calls.reset()
    second = world.scoring.run()
    assert second.outcome == "ok"
    assert event_calls(world) == 1
    assert {one, ids[2]} <= set(second.scores)
    lines = {line.rule: line.detail for line in second.scores[one].breakdown}
    assert lines["webinar"] == "1 x 15"
    assert lines["document download"] == "1 x 10"
    # The same leads scored from their whole histories agree.
    for hubspot_id in (one, two, ids[2]):
        fresh = world.scoring.score_one(hubspot_id)
        assert fresh.scores[hubspot_id] == (
            second.scores.get(hubspot_id) or first.scores[hubspot_id]
        )
        assert fresh.written == {"hubspot": 0, "salesforce": 0}

    # The decay pass rescores from saved hits: no event read at all.
    world.sandbox.hubspot.calls.reset()
    assert world.scoring.decay_pass().outcome == "ok"
    assert event_calls(world) == 0


def test_changed_event_filters_read_the_history_again(world: World, tmp_path: Path) -> None:
    assert world.sync().outcome == "ok"
    one = world.linked()[0][0]
    world.event(one, "page_view", url="https://example.com/pricing/enterprise")
    world.event(one, "webinar_attended")
    assert world.scoring.run().scores[one].total > 0
    text = (ROOT / "rules" / "scoring.toml").read_text(encoding="utf-8")
    # Points only: the saved hits still hold, no history is read.
    points = load_rules_text(text.replace("points = 15", "points = 16", 1), tmp_path / "a.toml")
    world.sandbox.hubspot.calls.reset()
    repointed = scoring_with(world, points).run()
    assert event_calls(world) == 1  # the window since the cursor
    assert "1 x 16" in {line.detail for line in repointed.scores[one].breakdown}
    # A filter changed: which events match may differ, so the histories are read again.
    assert '"/pricing"' in text
    narrowed = load_rules_text(
        text.replace('"/pricing"', '"/pricing/enterprise"'), tmp_path / "b.toml"
    )
    world.sandbox.hubspot.calls.reset()
    rescored = scoring_with(world, narrowed).run()
    assert event_calls(world) > 1
    assert "pricing page" in {line.rule for line in rescored.scores[one].breakdown}


def load_rules_text(text: str, path: Path) -> Rules:
    path.write_text(text, encoding="utf-8")
    return load_rules(path)


def scoring_with(
    world: World, rules: Rules, options: ScoringOptions | None = None
) -> ScoringRunner:
    return ScoringRunner(
        mapping=world.mapping,
        rules=rules,
        store=world.store,
        hubspot=world.hubspot,
        salesforce=world.salesforce,
        options=options,
    )
