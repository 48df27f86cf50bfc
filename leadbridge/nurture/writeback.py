"""Scoring's write-back: which score fields each system should now hold, and the commit rows.

Values are written through the connectors' normal batched `write`. HubSpot is compared with
what it holds now (read this run); Salesforce with the link snapshot, its last-synced values.
What each side now holds goes into the link snapshot in the scoring commit, so the next sync
sees an echo, not a change.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadbridge.config_setup import FieldSettings
from leadbridge.connectors.base import CanonicalValue, Connector, Side, WriteOp, WriteResult
from leadbridge.nurture.scoring import Score
from leadbridge.nurture.state import LinkInfo, ScoringCommit
from leadbridge.sync.mapping import PairMapping
from leadbridge.sync.merge import same
from leadbridge.sync.snapshot import encode_value
from leadbridge.sync.state import lineage_row
from leadbridge.sync.transforms import TransformFailed

MQL_STAGE = "marketingqualifiedlead"
STAGE_FIELD = "lifecyclestage"
# Stages before MQL: crossing the threshold moves these forward, never a later stage back.
EARLY_STAGES = frozenset({"", "subscriber", "lead", "other"})


@dataclass
class ScoredLead:
    """A lead being scored: its HubSpot values now, its link, and the rules' inputs."""

    hubspot_id: str
    link: LinkInfo | None
    current: dict[str, CanonicalValue]  # HubSpot values read now
    attributes: dict[str, Any]
    adopted: dict[str, CanonicalValue] = field(default_factory=dict)  # already in HubSpot


@dataclass(frozen=True)
class PlannedWrite:
    """One update of one lead on one side."""

    lead: ScoredLead
    side: Side
    object_name: str
    op: WriteOp


class WriteBack:
    """Plans, sends and records the score fields' writes to both systems."""

    def __init__(
        self,
        *,
        mapping: PairMapping,
        fields: FieldSettings,
        hubspot: Connector,
        salesforce: Connector,
    ) -> None:
        self.mapping = mapping
        self.fields = fields
        self.hubspot = hubspot
        self.salesforce = salesforce
        self._early_salesforce: frozenset[str] | None = None  # Salesforce's pre-MQL stages
        self._mapped = {
            side: frozenset(entry.name(side) for entry in mapping.synced_fields())
            for side in ("hubspot", "salesforce")
        }

    def _wanted(
        self, lead: ScoredLead, result: Score, mql_since: datetime | None
    ) -> dict[str, Any]:
        f = self.fields
        wanted: dict[str, CanonicalValue] = {
            f.hubspot_mql_score: result.total,
            f.hubspot_score_breakdown: result.text(),
        }
        if mql_since is not None:
            wanted[f.hubspot_mql_date] = mql_since
        stage = str(lead.current.get(STAGE_FIELD) or "")
        # MQL is asserted while HubSpot is at MQL too: a Salesforce write that failed after
        # HubSpot's succeeded still has to carry the stage (the sync sees no change to send).
        if result.is_mql and (stage in EARLY_STAGES or stage == MQL_STAGE):
            wanted[STAGE_FIELD] = MQL_STAGE
        return wanted

    def plan(
        self, lead: ScoredLead, result: Score, mql_since: datetime | None
    ) -> list[PlannedWrite]:
        """The updates that bring both systems to this score (none when they hold it)."""
        wanted = self._wanted(lead, result, mql_since)
        snapshot = lead.link.snapshot if lead.link else None
        to_hubspot = {
            name: value for name, value in wanted.items() if not same(lead.current.get(name), value)
        }
        if snapshot is not None:
            # HubSpot holds it already (a run that wrote and crashed before its commit): no
            # write, but the snapshot learns it so the next sync sees no change.
            lead.adopted = {
                name: value
                for name, value in wanted.items()
                if name not in to_hubspot and not same(snapshot.hubspot.get(name), value)
            }
        ops: list[PlannedWrite] = []
        if to_hubspot:
            op = WriteOp(kind="update", ref=f"hs:{lead.hubspot_id}", values=to_hubspot,
                         record_id=lead.hubspot_id)  # fmt: skip
            ops.append(PlannedWrite(lead, "hubspot", self.mapping.hubspot_object, op))
        if lead.link is None or snapshot is None:
            return ops
        to_salesforce: dict[str, CanonicalValue] = {}
        for name, value in wanted.items():
            target = self._salesforce_value(name, value)
            if target is None or same(snapshot.salesforce.get(target[0]), target[1]):
                continue
            if name == STAGE_FIELD and not self._early_in_salesforce(
                snapshot.salesforce.get(target[0])
            ):
                continue  # sales moved it on (SQL, Opportunity...): never back to MQL
            to_salesforce[target[0]] = target[1]
        if to_salesforce:
            link = lead.link
            op = WriteOp(kind="update", ref=f"sf:{link.salesforce_id}", values=to_salesforce,
                         record_id=link.salesforce_id)  # fmt: skip
            ops.append(PlannedWrite(lead, "salesforce", link.salesforce_type, op))
        return ops

    def _early_in_salesforce(self, held: CanonicalValue) -> bool:
        """Whether Salesforce's stage value is before MQL (blank counts as before)."""
        if held is None or held == "":
            return True
        if self._early_salesforce is None:
            early: set[str] = set()
            for stage in EARLY_STAGES:
                try:
                    converted = self._salesforce_value(STAGE_FIELD, stage)
                except TransformFailed:
                    continue  # a stage the mapping does not translate is never held there
                if converted is not None and converted[1]:
                    early.add(str(converted[1]).casefold())
            self._early_salesforce = frozenset(early)
        return str(held).casefold() in self._early_salesforce

    def _salesforce_value(self, name: str, value: CanonicalValue) -> tuple[str, Any] | None:
        """The Salesforce field and value for a HubSpot one: through the mapping if mapped."""
        for entry in self.mapping.fields:
            if entry.hubspot == name and entry.flows_to("salesforce"):
                return entry.salesforce, entry.convert(value, to="salesforce")
        f = self.fields
        plain = {
            f.hubspot_mql_score: f.salesforce_mql_score,
            f.hubspot_mql_date: f.salesforce_mql_date,
            f.hubspot_score_breakdown: f.salesforce_score_breakdown,
        }
        return (plain[name], value) if name in plain else None

    def send(self, writes: list[PlannedWrite]) -> list[WriteResult]:
        """Send the writes, batched per side and object; one outcome per write, in order."""
        groups: dict[tuple[Side, str], list[int]] = defaultdict(list)
        for index, write in enumerate(writes):
            groups[(write.side, write.object_name)].append(index)
        results: dict[int, WriteResult] = {}
        for (side, object_name), indexes in groups.items():
            connector = self.hubspot if side == "hubspot" else self.salesforce
            outcomes = connector.write(object_name, [writes[i].op for i in indexes])
            results.update(zip(indexes, outcomes, strict=True))
        return [results[i] for i in range(len(writes))]

    def record(
        self, write: PlannedWrite, outcome: WriteResult, commit: ScoringCommit, run_id: int | None
    ) -> None:
        """Put a write's outcome into the commit: snapshot and lineage, or a queue entry."""
        lead, side, op = write.lead, write.side, write.op
        record_id = op.record_id or ""
        if not outcome.ok:
            error = outcome.error
            commit.errors.append({
                "run_id": run_id, "side": side, "record_id": record_id,
                "operation": op.kind,
                "category": str(error.recovery) if error else "retry_later",
                "code": error.code if error else "",
                "message": (error.message if error else "failed")[:2000],
                "hint": (error.hint if error else "rescored and written on the next run")[:2000],
                "payload": {"__source_side": "leadbridge", "__source_id": lead.hubspot_id,
                            **{k: encode_value(v) for k, v in op.values.items()}},
            })  # fmt: skip
            return
        commit.succeeded.append((side, record_id))
        snapshot = lead.link.snapshot if lead.link else None
        if lead.link is not None:
            held = commit.snapshots.setdefault(lead.hubspot_id, {}).setdefault(side, {})
            # Only mapped fields live in snapshots (the sync compares nothing else).
            held.update({k: v for k, v in op.values.items() if k in self._mapped[side]})
        for name, value in op.values.items():
            old = (snapshot.side(side).get(name) if snapshot else None) or (
                lead.current.get(name) if side == "hubspot" else None
            )
            commit.lineage.append(
                lineage_row(
                    run_id=run_id or 0,
                    pair=self.mapping.name,
                    record_id=record_id,
                    target_side=side,
                    field=name,
                    old=encode_value(old),
                    new=encode_value(value),
                    source_side="leadbridge",
                    rule="scoring",
                )
            )

    def adopt(self, leads: list[ScoredLead], commit: ScoringCommit) -> None:
        """Values HubSpot already held go into the snapshots without a write."""
        for lead in leads:
            adopted = {k: v for k, v in lead.adopted.items() if k in self._mapped["hubspot"]}
            if adopted:
                held = commit.snapshots.setdefault(lead.hubspot_id, {})
                held.setdefault("hubspot", {}).update(adopted)
