"""Scoring runs: find leads whose inputs moved, score them, write the results to both systems.

Candidates are contacts with events since the events cursor (minus an overlap), links whose
snapshot moved in a field the rules read, leads whose last write failed, and every lead when
the rules file changed. `decay_pass` rescores the leads holding decaying points (daily).
Each lead's events come from its saved hits plus the events since the cursor (hit_source.py);
leads are scored, written back (writeback.py) and committed in chunks, which bounds memory.
The run holds the pair's sync lease: scoring and sync both rewrite snapshots.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from leadbridge.config_setup import FieldSettings, ScoringSettings
from leadbridge.connectors.base import Connector
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.errors import LeadbridgeError, Recovery
from leadbridge.nurture.event_index import EventIndex, encode_hits, hits_digest, micros
from leadbridge.nurture.hit_source import HitSource
from leadbridge.nurture.rules import Rules
from leadbridge.nurture.scoring import Score, score_hits
from leadbridge.nurture.state import LinkInfo, ScoreRow, ScoringCommit, ScoringState
from leadbridge.nurture.writeback import STAGE_FIELD, PlannedWrite, ScoredLead, WriteBack
from leadbridge.store.columns import utcnow
from leadbridge.store.db import Store
from leadbridge.sync.mapping import PairMapping
from leadbridge.sync.snapshot import encode_value
from leadbridge.sync.state import SyncState

DECAY_KIND = "scoring_decay"  # the runs table's kind for decay passes
DECAY_EVERY = timedelta(days=1)
BULK_EVENTS_AT = 200  # above this many leads, one read of all events beats one read per lead


@dataclass(frozen=True)
class ScoringOptions:
    """How a scoring run behaves."""

    overlap: timedelta = timedelta(minutes=5)
    lease_ttl: timedelta = timedelta(minutes=30)
    # Leads read, scored, written and committed together: bounds memory, and above the
    # Salesforce connector's Bulk threshold (10,000) a chunk's write-back is one Bulk job.
    chunk: int = 20_000
    # Keep every Score in the report (the CLI prints them); the scheduler needs only counts.
    keep_scores: bool = True

    @classmethod
    def from_settings(
        cls, settings: ScoringSettings, *, keep_scores: bool = True
    ) -> ScoringOptions:
        """Options from the [scoring] section."""
        return cls(
            overlap=timedelta(minutes=settings.events_overlap_minutes),
            chunk=settings.batch_leads,
            keep_scores=keep_scores,
        )


@dataclass
class ScoringReport:
    """What one scoring run did."""

    run_id: int | None = None
    outcome: str = "running"
    scored: int = 0
    changed: int = 0
    mqls: int = 0
    new_mqls: int = 0
    written: dict[str, int] = field(default_factory=lambda: {"hubspot": 0, "salesforce": 0})
    failed: int = 0
    api_calls: int = 0
    message: str = ""
    scores: dict[str, Score] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the per-lead scores)."""
        return {k: v for k, v in vars(self).items() if k != "scores"}

    def absorb(self, other: ScoringReport) -> None:
        """Add a later run of the same command (the decay pass after `score`) to this report."""
        for name in ("scored", "changed", "mqls", "new_mqls", "failed", "api_calls"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.written = {side: n + other.written.get(side, 0) for side, n in self.written.items()}
        self.scores.update(other.scores)
        if other.outcome != "ok":  # the worse outcome stands: the command exits 1 on it
            self.outcome = other.outcome
        self.message = "; ".join(m for m in (self.message, other.message) if m)


class ScoringRunner:
    """Scores one pair's leads from HubSpot events and synced attributes."""

    def __init__(
        self,
        *,
        mapping: PairMapping,
        rules: Rules,
        store: Store,
        hubspot: HubSpotConnector,
        salesforce: Connector,
        fields: FieldSettings | None = None,
        options: ScoringOptions | None = None,
    ) -> None:
        self.mapping = mapping
        self.rules = rules
        self.state = ScoringState(store=store, pair=mapping.name)
        self.sync_state = SyncState(store=store, pair=mapping.name)
        self.hubspot = hubspot
        self.salesforce = salesforce
        self.fields = fields or FieldSettings()
        self.options = options or ScoringOptions()
        self.holder = uuid.uuid4().hex[:12]
        self.writeback = WriteBack(
            mapping=mapping, fields=self.fields, hubspot=hubspot, salesforce=salesforce
        )
        self.digest = hits_digest(rules)

    # -- entry points -----------------------------------------------------------------------

    def run(self, *, now: datetime | None = None) -> ScoringReport:
        """Rescore leads with new events or changed attributes; write what changed."""
        return self._guarded(lambda report, at: self._incremental(report, at), now)

    def decay_pass(self, *, now: datetime | None = None) -> ScoringReport:
        """Rescore every lead holding decaying points (run it daily)."""
        return self._guarded(
            lambda report, at: self._score(set(self.state.decaying()), report, at),
            now,
            kind=DECAY_KIND,
        )

    def decay_due(self, *, now: datetime | None = None) -> bool:
        """Whether a day has passed since the last decay pass that ended ok (or partly ok)."""
        last = self.state.last_run_start(kind=DECAY_KIND)
        return last is None or (now or utcnow()) - last >= DECAY_EVERY

    def score_one(self, record_id: str, *, now: datetime | None = None) -> ScoringReport:
        """Rescore one lead, by HubSpot or Salesforce id, and write what changed."""

        def one(report: ScoringReport, at: datetime) -> None:
            link = self.state.link_by_salesforce(record_id)
            wanted = {link.hubspot_id if link else record_id}
            # One lead asked for by name: its whole history, not what the last run saw.
            self._score(wanted, report, at, hits=self._hit_source(wanted, reread_all=True))

        return self._guarded(one, now)

    # -- the run ----------------------------------------------------------------------------

    def _guarded(self, body: Any, now: datetime | None, *, kind: str = "scoring") -> ScoringReport:
        report = ScoringReport()
        lease = f"pair:{self.mapping.name}"
        if not self.sync_state.acquire_lease(
            name=lease, holder=self.holder, ttl=self.options.lease_ttl
        ):
            report.outcome = "locked"
            report.message = "a sync or scoring run holds this pair; try again later"
            return report
        before = {"hubspot": self._calls(self.hubspot), "salesforce": self._calls(self.salesforce)}
        report.run_id = self.sync_state.start_run(kind=kind, dry_run=False)
        try:
            body(report, now or utcnow())
            report.outcome = "partial" if report.failed else "ok"
        except LeadbridgeError as error:
            report.outcome = "failed" if error.recovery is Recovery.RETRY_LATER else "stopped"
            report.message = str(error)
        finally:
            calls_hubspot = self._calls(self.hubspot) - before["hubspot"]
            calls_salesforce = self._calls(self.salesforce) - before["salesforce"]
            report.api_calls = calls_hubspot + calls_salesforce
            self.sync_state.finish_run(
                report.run_id,
                outcome=report.outcome,
                counts=report.as_dict(),
                calls_salesforce=calls_salesforce,
                calls_hubspot=calls_hubspot,
                message=report.message,
            )
            self.sync_state.release_lease(name=lease, holder=self.holder)
        return report

    @staticmethod
    def _calls(connector: Connector) -> int:
        return connector.budget().calls_made

    def _incremental(self, report: ScoringReport, now: datetime) -> None:
        cursor = self.state.events_cursor()
        since = cursor - self.options.overlap if cursor is not None else None
        recent = self._read_events(since=since)
        wanted = set(recent.seen)
        moved: dict[str, str] = {}
        for link, saved in self.state.stale_links(rules_digest=self.rules.digest):
            same_inputs = (
                saved is not None
                and saved.rules_digest == self.rules.digest
                and saved.link_hash != ""
                and saved.attributes_hash == self._attributes_hash(self._linked_values(link))
            )
            if same_inputs:
                moved[link.hubspot_id] = link.snapshot_hash  # an unrelated field changed
            else:
                wanted.add(link.hubspot_id)
        wanted.update(self.state.unsettled(rules_digest=self.rules.digest))
        for hubspot_id in wanted:
            moved.pop(hubspot_id, None)
        self.state.touch_links(moved)
        if cursor is None:
            # A first run read every event there is: no lead needs its history read again.
            hits = HitSource(digest=self.digest, history=recent)
        else:
            start = micros(since) // 1000 * 1000 if since is not None else 0  # ms, as sent
            hits = self._hit_source(wanted, recent=recent, window_start=start)
        self._score(wanted, report, now, hits=hits, events_cursor=recent.newest or cursor)

    def _read_events(self, *, since: datetime | None, only: set[str] | None = None) -> EventIndex:
        index = EventIndex(rules=self.rules, only=only)
        for page in self.hubspot.read_events(since=since):
            index.add(page.events)
            if page.newest is not None and (index.newest is None or page.newest > index.newest):
                index.newest = page.newest
        return index

    def _hit_source(
        self,
        ids: set[str],
        *,
        recent: EventIndex | None = None,
        window_start: int = 0,
        reread_all: bool = False,
    ) -> HitSource:
        """Saved hits where they are usable; whole histories read for the other leads."""
        wanted = sorted(i for i in ids if i)
        known = set() if reread_all else self.state.with_hits(wanted, digest=self.digest)
        reread = [i for i in wanted if i not in known]
        history: EventIndex | None = None
        if len(reread) > BULK_EVENTS_AT:
            history = self._read_events(since=None, only=set(reread))
        elif reread:
            history = EventIndex(rules=self.rules)
            for hubspot_id in reread:
                for page in self.hubspot.read_events(contact_id=hubspot_id):
                    history.add(page.events)
        return HitSource(
            digest=self.digest,
            history=history,
            reread=frozenset(reread),
            recent=recent,
            window_start=window_start,
        )

    def _score(
        self,
        ids: set[str],
        report: ScoringReport,
        now: datetime,
        *,
        hits: HitSource | None = None,
        events_cursor: datetime | None = None,
    ) -> None:
        ordered = sorted(i for i in ids if i)
        source = hits if hits is not None else self._hit_source(set(ordered))
        size = max(1, self.options.chunk)
        for start in range(0, len(ordered), size):
            last = start + size >= len(ordered)
            # The cursor moves with the last chunk only: after a crash the next run reads the
            # same events again and the chunks already written find nothing left to write.
            cursor = events_cursor if last else None
            self._score_chunk(ordered[start : start + size], source, report, now, cursor)
        if not ordered and events_cursor is not None:
            self.state.commit(ScoringCommit(events_cursor=events_cursor))

    def _score_chunk(
        self,
        ids: list[str],
        source: HitSource,
        report: ScoringReport,
        now: datetime,
        events_cursor: datetime | None,
    ) -> None:
        leads = self._leads(ids)
        saved = self.state.scores(lead.hubspot_id for lead in leads)
        commit = ScoringCommit(events_cursor=events_cursor)
        writes: list[PlannedWrite] = []
        rows: dict[str, ScoreRow] = {}
        for lead in leads:
            previous = saved.get(lead.hubspot_id)
            hits = source.hits(lead.hubspot_id, previous)
            result = score_hits(lead.attributes, hits, self.rules, now)
            report.scored += 1
            report.mqls += result.is_mql
            if self.options.keep_scores:
                report.scores[lead.hubspot_id] = result
            mql_since = previous.mql_since if previous is not None else None
            held = lead.current.get(self.fields.hubspot_mql_date)
            if mql_since is None and isinstance(held, datetime):
                mql_since = held
            if mql_since is None and result.is_mql:
                mql_since = now.astimezone(UTC).replace(microsecond=0)
                report.new_mqls += 1
            if previous is None or previous.total != result.total:
                report.changed += 1
            rows[lead.hubspot_id] = ScoreRow(
                hubspot_id=lead.hubspot_id,
                salesforce_id=lead.link.salesforce_id if lead.link else "",
                total=result.total,
                is_mql=result.is_mql,
                breakdown=[line.as_dict() for line in result.breakdown],
                decaying=result.decaying,
                attributes_hash=self._attributes_hash(self._inputs(lead)),
                rules_digest=self.rules.digest,
                computed_at=now,
                mql_since=mql_since,
                hits=encode_hits(hits),
                hits_digest=self.digest,
            )
            writes.extend(self.writeback.plan(lead, result, mql_since))
        outcomes = self.writeback.send(writes)
        for write, outcome in zip(writes, outcomes, strict=True):
            self.writeback.record(write, outcome, commit, report.run_id)
            if outcome.ok:
                report.written[write.side] += 1
            else:
                report.failed += 1
                rows[write.lead.hubspot_id].settled = False  # rescored and written next run
        self.writeback.adopt(leads, commit)
        commit.scores = list(rows.values())
        self.state.commit(commit)

    # -- inputs -----------------------------------------------------------------------------

    def _leads(self, ids: Iterable[str]) -> list[ScoredLead]:
        wanted = sorted(set(ids))
        if not wanted:
            return []
        schema = self.hubspot.describe(self.mapping.hubspot_object)
        own = (self.fields.hubspot_mql_score, self.fields.hubspot_mql_date,
               self.fields.hubspot_score_breakdown, STAGE_FIELD)  # fmt: skip
        names = [n for n in (*self.rules.fields(), *own) if schema.field(n) is not None]
        records = self.hubspot.read_by_keys(
            self.mapping.hubspot_object, key_field="hs_object_id", keys=wanted, fields=names
        )
        links = self.state.links([r.id for r in records])
        leads = []
        for record in records:
            link = links.get(record.id)
            attributes: dict[str, Any] = self._linked_values(link) if link else {}
            attributes.update(record.values)
            leads.append(ScoredLead(record.id, link, dict(record.values), attributes))
        return leads

    def _linked_values(self, link: LinkInfo) -> dict[str, Any]:
        # Both sides' last-synced values, by their own names (e.g. numemployees and
        # NumberOfEmployees), so rules may name either.
        return {**link.snapshot.salesforce, **link.snapshot.hubspot}

    def _inputs(self, lead: ScoredLead) -> dict[str, Any]:
        return self._linked_values(lead.link) if lead.link else lead.attributes

    def _attributes_hash(self, values: Mapping[str, Any]) -> str:
        chosen = {name: encode_value(values.get(name)) for name in sorted(self.rules.fields())}
        text = json.dumps(chosen, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
