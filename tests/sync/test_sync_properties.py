"""Property tests of the sync promises against both sandbox emulators (hypothesis, SQLite).

Interleaved edits on both sides and sync runs in between; after a final run both sides agree
field by field as the mapping says, no edit is lost (a field changed on one side only ends up
with that value on both), conflicts end with one of the two edited values (the rule's pick),
and one more run writes nothing: no echo, no flip-flop.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from leadbridge.connectors.base import CanonicalValue, Side
from leadbridge.sync.mapping import FieldMap
from leadbridge.sync.merge import convert_for, same
from leadbridge.sync.snapshot import is_blank
from tests.sync.world import SharedClock, World, open_world, quiet, sqlite_store

# (HubSpot property, Salesforce field) pairs people edit by hand.
PERSON: tuple[tuple[str, str], ...] = (
    ("firstname", "FirstName"),
    ("lastname", "LastName"),
    ("jobtitle", "Title"),
    ("company", "Company"),
    ("phone", "Phone"),
)
STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
# Latin, Japanese, a space (trimmed by the mapping) and the empty string.
TEXT = st.text(alphabet="aZ 山田太郎ア-", max_size=5)


@dataclass(frozen=True)
class Edit:
    """A person edits one field of the `who`-th linked pair on one side."""

    side: Side
    who: int
    field: int
    value: str


@dataclass(frozen=True)
class Both:
    """The same field of one pair is edited on both sides before the next run (a conflict)."""

    who: int
    field: int
    hubspot: str
    salesforce: str
    salesforce_first: bool


@dataclass(frozen=True)
class Stage:
    """A marketer moves the `who`-th HubSpot contact (linked or not) to a lifecycle stage."""

    who: int
    stage: str


@dataclass(frozen=True)
class NewLead:
    """A sales rep creates a Lead in Salesforce (to_hubspot = "all": it gets a contact)."""

    firstname: str
    title: str


@dataclass(frozen=True)
class Run:
    """A sync run between edits."""


Step = Edit | Both | Stage | NewLead | Run

STEPS = st.lists(
    st.one_of(
        st.builds(
            Edit,
            side=st.sampled_from(("hubspot", "salesforce")),
            who=st.integers(0, 30),
            field=st.integers(0, len(PERSON) - 1),
            value=TEXT,
        ),
        st.builds(
            Both,
            who=st.integers(0, 30),
            field=st.integers(0, len(PERSON) - 1),
            hubspot=TEXT,
            salesforce=TEXT,
            salesforce_first=st.booleans(),
        ),
        st.builds(Stage, who=st.integers(0, 30), stage=st.sampled_from(STAGES)),
        st.builds(NewLead, firstname=TEXT, title=TEXT),
        st.just(Run()),
    ),
    max_size=10,
)


@dataclass
class Expected:
    """What the last window of edits of one (pair, field) leaves: each side's last value."""

    values: dict[Side, str]


class Model:
    """Applies steps to a world and remembers which edits must survive."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.fields = {f.hubspot: f for f in world.mapping.synced_fields()}
        # (hubspot id, field index) -> edits of the current window; `settled` keeps the last
        # window in which the field was edited at all.
        self.window: dict[tuple[str, int], Expected] = {}
        self.settled: dict[tuple[str, int], Expected] = {}
        self.stages: dict[str, str] = {}
        self.created = 0

    def apply(self, step: Step) -> None:
        match step:
            case Run():
                report = self.world.sync()
                assert report.outcome == "ok", report.as_dict()
                self.settle()
            case NewLead(firstname=firstname, title=title):
                self.created += 1
                self.world.new_lead(
                    FirstName=firstname,
                    LastName="新人",
                    Company="Prop KK",
                    Title=title,
                    Email=f"prop{self.created}@example.jp",
                )
            case Stage(who=who, stage=stage):
                ids = self.world.contact_ids()
                contact_id = ids[who % len(ids)]
                self.world.edit_contact(contact_id, lifecyclestage=stage)
                self.stages[contact_id] = stage
            case Edit(side=side, who=who, field=index, value=value):
                self.edit(self.pair(who), index, side, value)
            case Both(who=who, field=index, hubspot=hs_value, salesforce=sf_value):
                pair = self.pair(who)
                order: list[tuple[Side, str]] = [("hubspot", hs_value), ("salesforce", sf_value)]
                if step.salesforce_first:
                    order.reverse()
                for side, value in order:
                    self.edit(pair, index, side, value)

    def pair(self, who: int) -> tuple[str, str]:
        pairs = self.world.linked_pairs()
        return pairs[who % len(pairs)]

    def edit(self, pair: tuple[str, str], index: int, side: Side, value: str) -> None:
        hs_name, sf_name = PERSON[index]
        before = (
            self.world.contact(pair[0], hs_name).get(hs_name)
            if side == "hubspot"
            else self.world.lead(pair[1]).get(sf_name)
        )
        if (before or "") == value:
            # Writing what a side already holds changes nothing there: it is not an edit (and
            # a "conflict" with it is a one-sided change).
            return
        if side == "hubspot":
            self.world.edit_contact(pair[0], **{hs_name: value})
        elif not self.world.edit_lead(pair[1], **{sf_name: value}):
            return  # refused by the org (a required field left blank): nothing changed
        self.window.setdefault((pair[0], index), Expected({})).values[side] = value

    def settle(self) -> None:
        self.settled.update(self.window)
        self.window = {}

    def check_edits_survive(self) -> None:
        """One-sided edits are on both sides; conflicts end with one of the two values."""
        hs, sf = self.world.current()
        by_hubspot = dict(self.world.linked_pairs())
        problems: list[str] = []
        for (hubspot_id, index), expected in self.settled.items():
            f = self.fields[PERSON[index][0]]
            current: dict[Side, CanonicalValue] = {
                "hubspot": hs[hubspot_id].values.get(f.hubspot),
                "salesforce": sf[by_hubspot[hubspot_id]].values.get(f.salesforce),
            }
            candidates = [
                side
                for side in expected.values
                if holds_edit(f, side, expected.values[side], current)
            ]
            if len(expected.values) == 1:
                ok = bool(candidates)
            elif f.rule == "prefer_salesforce_unless_blank" and not is_blank(
                expected.values["salesforce"].strip()
            ):
                ok = "salesforce" in candidates
            else:
                ok = bool(candidates)
            if not ok:
                problems.append(f"{hubspot_id} {f.hubspot}: edits {expected.values}, now {current}")
        for hubspot_id, stage in self.stages.items():
            held = self.world.contact(hubspot_id, "lifecyclestage")["lifecyclestage"]
            if held != stage:
                problems.append(f"{hubspot_id} lifecyclestage: set {stage}, now {held}")
        assert not problems, "\n".join(problems)

    def check_inclusion(self) -> None:
        """Every Lead has a contact; every contact at MQL or later a Lead (the inclusion rules)."""
        include = self.world.mapping.inclusion(target="salesforce")
        linked = dict(self.world.linked_pairs())
        leads = self.world.sandbox.salesforce.org.records("Lead")
        assert set(leads) <= set(linked.values()), "a Lead has no contact"
        for contact_id in self.world.contact_ids():
            values = self.world.contact(contact_id, "lifecyclestage")
            if include.allows(values):
                assert contact_id in linked, f"MQL contact {contact_id} has no Lead"


def holds_edit(f: FieldMap, side: Side, value: str, current: dict[Side, CanonicalValue]) -> bool:
    """Both sides hold the edited value (each as the mapping converts it)."""
    other: Side = "salesforce" if side == "hubspot" else "hubspot"
    mine = current[side]
    edited: CanonicalValue = value if value.strip() else None
    mine_ok = same(
        convert_for(f, mine, to=other), convert_for(f, edited, to=other), ignore_case=f.ignore_case
    )
    theirs_ok = same(current[other], convert_for(f, edited, to=other), ignore_case=f.ignore_case)
    return mine_ok and theirs_ok


@pytest.mark.slow
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # The same examples on every CI run, so a red build always means a change broke something;
    # run with a fresh seed by hand (HYPOTHESIS_SEED / --hypothesis-seed) to explore further.
    derandomize=True,
)
@example(
    steps=[
        Both(who=12, field=3, hubspot="", salesforce="ZZ", salesforce_first=False),
        Run(),
        Both(who=12, field=3, hubspot="", salesforce="ZZ", salesforce_first=False),
    ]
)
@given(steps=STEPS)
def test_interleaved_edits_converge_and_the_next_run_is_quiet(
    tmp_path: Path, steps: list[Step]
) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        store = sqlite_store(Path(folder))
        try:
            with open_world(store=store, folder=tmp_path / "sbx", clock=SharedClock()) as world:
                first = world.sync()
                assert first.outcome == "ok", first.as_dict()
                model = Model(world)
                for step in steps:
                    model.apply(step)
                final = world.sync()
                assert final.outcome == "ok", final.as_dict()
                model.settle()
                world.assert_converged()
                model.check_edits_survive()
                model.check_inclusion()
                world.assert_no_duplicates()
                again = world.sync()
                assert quiet(again), again.as_dict()
        finally:
            store.close()


def test_newest_is_decided_by_the_emulators_own_timestamps(tmp_path: Path) -> None:
    """Edits made back to back (no sleeps) get distinct, ordered stamps; the later one wins."""
    store = sqlite_store(tmp_path / "state")
    try:
        with open_world(store=store, folder=tmp_path / "sbx", clock=SharedClock()) as world:
            assert world.sync().outcome == "ok"
            (first_hs, first_lead), (second_hs, second_lead) = world.linked_pairs()[:2]
            # Salesforce last on the first pair, HubSpot last on the second.
            world.edit_contact(first_hs, firstname="HubSpotEarlier")
            assert world.edit_lead(first_lead, FirstName="SalesforceLater")
            assert world.edit_lead(second_lead, FirstName="SalesforceEarlier")
            world.edit_contact(second_hs, firstname="HubSpotLater")
            hs, sf = world.current()
            assert sf[first_lead].modified_at > hs[first_hs].modified_at
            assert hs[second_hs].modified_at > sf[second_lead].modified_at
            report = world.sync()
            assert report.outcome == "ok", report.message
            assert report.sides["hubspot"].conflicts + report.sides["salesforce"].conflicts == 2
            assert world.lead(first_lead)["FirstName"] == "SalesforceLater"
            assert world.contact(first_hs, "firstname")["firstname"] == "SalesforceLater"
            assert world.lead(second_lead)["FirstName"] == "HubSpotLater"
            assert world.contact(second_hs, "firstname")["firstname"] == "HubSpotLater"
            assert quiet(world.sync())
    finally:
        store.close()
