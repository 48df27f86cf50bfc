"""`run_workflows`: detect trigger occurrences since the last run, then execute the due steps.

Detection reads three sources, each behind its own cursor in the state store: saved scores
(threshold crossings), sync lineage (fields leadbridge carried between the systems, e.g. the SQL
flag set in Salesforce) and HubSpot events. Occurrences become execution rows whose unique key
makes detection idempotent; due rows are claimed and run by the protocol in
leadbridge.nurture.actions. On the very first run only recent inputs count (scores of the last
day, events within the longest delay), so enabling workflows does not replay old history.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from leadbridge.config import LoadedConfig
from leadbridge.config_setup import WorkflowSettings
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.hubspot.events import Event
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.errors import LeadbridgeError
from leadbridge.nurture.actions import ActionExecutor, Lead, Outcome, Step
from leadbridge.nurture.state import ScoringState
from leadbridge.nurture.workflow_rules import Workflow, WorkflowRules, load_workflows, rules_path
from leadbridge.nurture.workflow_state import WorkflowState
from leadbridge.nurture.workflows import (
    Occurrence,
    event_occurrences,
    field_changes,
    score_crossings,
    segment_check,
)
from leadbridge.store.columns import utcnow
from leadbridge.store.db import Store
from leadbridge.store.models import WorkflowExecution
from leadbridge.sync.mapping import PairMapping
from leadbridge.sync.snapshot import Snapshot
from leadbridge.sync.state import SyncState

log = logging.getLogger(__name__)
_LEAD_FIELDS = ("firstname", "lastname", "email", "company")
_SF_FIELDS = ("FirstName", "LastName", "Email", "Company", "OwnerId")


@dataclass(frozen=True)
class FlowOptions:
    """How a workflows run behaves."""

    claim_ttl: timedelta = timedelta(minutes=15)  # a running row older than this is re-claimed
    overlap: timedelta = timedelta(minutes=5)
    first_run_lookback: timedelta = timedelta(days=1)
    retry_after: timedelta = timedelta(minutes=10)
    max_attempts: int = 8


@dataclass
class WorkflowReport:
    """What one workflows run did."""

    run_id: int | None = None
    outcome: str = "running"
    detected: int = 0
    done: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    retrying: int = 0
    message: str = ""
    executions: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(vars(self))


@dataclass(frozen=True)
class Planned:
    """What dry-run says about one occurrence."""

    workflow: str
    hubspot_id: str
    salesforce_id: str
    occurrence: str
    due_at: datetime
    verdict: str  # "fires now", "scheduled", "not in segment", "already running"
    reason: str
    conditions: tuple[str, ...] = ()


class WorkflowRunner:
    """Runs one pair's workflows against the store and both systems."""

    def __init__(
        self,
        *,
        rules: WorkflowRules,
        mapping: PairMapping,
        store: Store,
        hubspot: HubSpotConnector,
        salesforce: SalesforceConnector,
        settings: WorkflowSettings | None = None,
        sla_hours: float = 24.0,
        threshold: int = 50,
        source: str = "leadbridge.toml",
        options: FlowOptions | None = None,
    ) -> None:
        self.rules = rules
        self.mapping = mapping
        self.hubspot = hubspot
        self.salesforce = salesforce
        self.threshold = threshold
        self.options = options or FlowOptions()
        self.state = WorkflowState(store=store, pair=mapping.name)
        self.scores = ScoringState(store=store, pair=mapping.name)
        self.sync_state = SyncState(store=store, pair=mapping.name)
        self.holder = uuid.uuid4().hex[:12]
        self.executor = ActionExecutor(
            settings=settings or WorkflowSettings(),
            sla_hours=sla_hours,
            hubspot=hubspot,
            salesforce=salesforce,
            mapping=mapping,
            scoring_state=self.scores,
            source=source,
        )

    # -- entry points -----------------------------------------------------------------------

    def run(self, *, now: datetime | None = None) -> WorkflowReport:
        """Detect new occurrences, then run every due step once."""
        at = now or utcnow()
        report = WorkflowReport(run_id=self.sync_state.start_run(kind="workflows", dry_run=False))
        try:
            report.detected = self.state.record(self.detect(at, save=True), now=at)
            stale = at - self.options.claim_ttl
            for row in self.state.due(now=at, stale_before=stale):
                self._execute(row, at, report)
            report.outcome = "partial" if report.failed or report.unknown else "ok"
        except LeadbridgeError as error:
            report.outcome = "failed"
            report.message = str(error)
        finally:
            self.sync_state.finish_run(
                report.run_id or 0,
                outcome=report.outcome,
                counts={k: v for k, v in report.as_dict().items() if k != "executions"},
                calls_salesforce=0,
                calls_hubspot=0,
                message=report.message,
            )
        return report

    def dry_run(self, *, now: datetime | None = None) -> list[Planned]:
        """What would fire now and why; reads only, writes nothing."""
        at = now or utcnow()
        found = self.detect(at, save=False)
        known = self.state.known(self.state.key_of(o) for o in found)
        fresh = [o for o in found if self.state.key_of(o) not in known]
        waiting = [
            Occurrence(r.workflow, r.hubspot_id, r.salesforce_id, r.occurrence, r.due_at, r.reason)
            for r in self.state.pending()
        ]
        planned = []
        for occ in dict.fromkeys([*waiting, *fresh]):
            wf = self._workflow(occ.workflow)
            if wf is None:
                continue
            verdict = "fires now" if occ.due_at <= at else "scheduled"
            lines: list[str] = []
            if verdict == "fires now" and wf.segments:
                lead = self._lead(occ.hubspot_id, occ.salesforce_id)
                ok, lines = segment_check(wf.segments, lead.values, self._events(wf, lead))
                verdict = verdict if ok else "not in segment"
            planned.append(
                Planned(
                    wf.name,
                    occ.hubspot_id,
                    occ.salesforce_id,
                    occ.occurrence,
                    occ.due_at,
                    verdict,
                    occ.reason,
                    tuple(lines),
                )
            )
        return planned

    # -- detection --------------------------------------------------------------------------

    def detect(self, now: datetime, *, save: bool) -> list[Occurrence]:
        """Occurrences since the cursors (moved forward only when `save`)."""
        flows = self.rules.enabled()
        found: list[Occurrence] = []
        scored = [w for w in flows if w.trigger.kind == "score_crossed"]
        if scored:
            since = self._since("scores", now, self.options.first_run_lookback)
            lowest = min(w.trigger.threshold or self.threshold for w in scored)
            seen = self.state.scores_since(since, minimum=lowest)
            found += score_crossings(scored, seen, default_threshold=self.threshold)
            newest = max((s.computed_at for s in seen), default=None)
            if save and newest is not None:
                self.state.save_cursor("scores", newest.isoformat(), now=now)
        watched = [w for w in flows if w.trigger.kind == "field_changed"]
        if watched:
            aliases = {w.trigger.field: self._aliases(w.trigger.field) for w in watched}
            names = {n for group in aliases.values() for n in group}
            last = int(self.state.cursor("lineage") or 0)
            changes, newest_id = self.state.changes_since(last, fields=names)
            found += field_changes(watched, changes, aliases=aliases, at=now)
            if save and newest_id != last:
                self.state.save_cursor("lineage", f"{newest_id:020d}", now=now)
        timed = [w for w in flows if w.trigger.kind == "event"]
        if timed:
            longest = max(w.trigger.delay for w in timed) + self.options.first_run_lookback
            since = self._since("events", now, longest)
            events = [e for page in self.hubspot.read_events(since=since) for e in page.events]
            links = self.state.links({e.contact_id for e in events})
            found += event_occurrences(
                timed, events, links={k: v.salesforce_id for k, v in links.items()}
            )
            newest_event = max((e.occurred_at for e in events), default=None)
            if save and newest_event is not None:
                self.state.save_cursor("events", newest_event.isoformat(), now=now)
        return found

    def _since(self, name: str, now: datetime, lookback: timedelta) -> datetime:
        saved = self.state.cursor(name)
        if saved is None:
            return now - lookback
        return datetime.fromisoformat(saved) - self.options.overlap

    def _aliases(self, name: str) -> frozenset[str]:
        for entry in self.mapping.fields:
            if name in (entry.hubspot, entry.salesforce):
                return frozenset({entry.hubspot, entry.salesforce})
        return frozenset({name})

    def _workflow(self, name: str) -> Workflow | None:
        return next((w for w in self.rules.enabled() if w.name == name), None)

    # -- execution --------------------------------------------------------------------------

    def _execute(self, row: WorkflowExecution, now: datetime, report: WorkflowReport) -> None:
        stale = now - self.options.claim_ttl
        claimed = self.state.claim(row.id or 0, holder=self.holder, now=now, stale_before=stale)
        if claimed is None:
            return  # another runner has it, or finished it meanwhile
        wf = self._workflow(claimed.workflow)
        result: list[dict[str, Any]] = [dict(e) for e in claimed.result]
        if wf is None:
            self._finish(
                claimed,
                now,
                report,
                "skipped",
                claimed.progress,
                [*result, _entry(-1, "rules", "skipped", "the workflow is gone or disabled")],
            )
            return
        lead = self._lead(claimed.hubspot_id, claimed.salesforce_id)
        if claimed.progress == 0 and wf.segments and not _find(result, -1):
            ok, lines = segment_check(wf.segments, lead.values, self._events(wf, lead))
            result.append(_entry(-1, "conditions", "met" if ok else "not met", "; ".join(lines)))
            if not ok:
                self._finish(claimed, now, report, "skipped", 0, result)
                return
        base = Step(
            key=claimed.idempotency_key,
            index=0,
            workflow=wf.name,
            reason=claimed.reason,
            run_id=report.run_id or 0,
            resumed=claimed.attempts > 1,
            turn=self.state.turn(claimed),
        )
        progress = claimed.progress
        for index in range(progress, len(wf.actions)):
            action = wf.actions[index]
            previous = _find(result, index)
            if previous is not None and previous["status"] == "started" and not action.idempotent:
                # Began sending before a crash: it may have gone out. Never resend by itself.
                outcome = Outcome(
                    "unknown",
                    "interrupted after sending began; it may have been "
                    f"sent (look for Message-ID <{base.key[:40]}.{index}@leadbridge>)",
                )
            else:
                if not action.idempotent:
                    _put(result, _entry(index, action.kind, "started", ""))
                    if not self._save(claimed, now, index, result):
                        return  # the claim was taken over: that runner owns the row now
                step = dataclasses.replace(base, index=index)
                outcome = self.executor.run(action, lead=lead, step=step, now=now)
            _put(result, _entry(index, action.kind, outcome.status, outcome.detail))
            if outcome.status == "retry":
                self._retry(claimed, now, report, index, result)
                return
            if outcome.status == "failed":
                self._finish(claimed, now, report, "failed", index, result)
                return
            if not self._save(claimed, now, index + 1, result):
                return
        unknown = any(e["status"] == "unknown" for e in result)
        self._finish(
            claimed, now, report, "unknown" if unknown else "done", len(wf.actions), result
        )

    def _save(
        self, row: WorkflowExecution, now: datetime, progress: int, result: list[Any]
    ) -> bool:
        return self.state.save(
            row.id or 0, holder=self.holder, now=now, progress=progress, result=result
        )

    def _retry(
        self,
        row: WorkflowExecution,
        now: datetime,
        report: WorkflowReport,
        progress: int,
        result: list[Any],
    ) -> None:
        if row.attempts >= self.options.max_attempts:
            self._finish(row, now, report, "failed", progress, result)
            return
        wait = min(self.options.retry_after * 2 ** (row.attempts - 1), timedelta(hours=6))
        self.state.save(
            row.id or 0,
            holder=self.holder,
            now=now,
            progress=progress,
            result=result,
            status="pending",
            due_at=now + wait,
        )
        report.retrying += 1
        report.executions.append(_summary(row, "retrying", result))

    def _finish(
        self,
        row: WorkflowExecution,
        now: datetime,
        report: WorkflowReport,
        status: str,
        progress: int,
        result: list[Any],
    ) -> None:
        if not self.state.save(
            row.id or 0,
            holder=self.holder,
            now=now,
            progress=progress,
            result=result,
            status=status,
        ):
            return
        counts = {"done": "done", "failed": "failed", "unknown": "unknown", "skipped": "skipped"}
        setattr(report, counts[status], getattr(report, counts[status]) + 1)
        report.executions.append(_summary(row, status, result))

    # -- lead values ------------------------------------------------------------------------

    def _lead(self, hubspot_id: str, salesforce_id: str) -> Lead:
        link = self.state.links([hubspot_id]).get(hubspot_id) if hubspot_id else None
        lead = Lead(
            hubspot_id=hubspot_id,
            salesforce_id=salesforce_id or (link.salesforce_id if link else ""),
            salesforce_type=link.salesforce_type if link else "Lead",
            threshold=self.threshold,
            linked=link is not None,
        )
        if link is not None and link.snapshot:
            snap = Snapshot.from_data(link.snapshot)
            lead.values.update(snap.salesforce)
            lead.values.update(snap.hubspot)
        wanted = {
            n
            for w in self.rules.enabled()
            for s in w.segments
            if s.attribute
            for n in (s.attribute.field,)
        }
        locale = self.executor.settings.locale_field
        if lead.salesforce_id:
            names = [
                n
                for n in (*_SF_FIELDS, *wanted)
                if self.salesforce.describe(lead.salesforce_type).field(n) is not None
            ]
            for record in self.salesforce.read_by_keys(
                lead.salesforce_type, key_field="Id", keys=[lead.salesforce_id], fields=names
            ):
                lead.values.update(record.values)
        if hubspot_id:
            schema = self.hubspot.describe(self.mapping.hubspot_object)
            names = [
                n
                for n in (*_LEAD_FIELDS, *wanted, *([locale] if locale else []))
                if schema.field(n) is not None
            ]
            for record in self.hubspot.read_by_keys(
                self.mapping.hubspot_object,
                key_field="hs_object_id",
                keys=[hubspot_id],
                fields=names,
            ):
                lead.values.update({k: v for k, v in record.values.items() if v not in (None, "")})
            saved = self.scores.scores([hubspot_id]).get(hubspot_id)
            lead.score = saved.total if saved is not None else None
        return lead

    def _events(self, wf: Workflow, lead: Lead) -> list[Event]:
        if not lead.hubspot_id or not any(s.attribute is None for s in wf.segments):
            return []
        return [e for p in self.hubspot.read_events(contact_id=lead.hubspot_id) for e in p.events]


def _entry(index: int, action: str, status: str, detail: str) -> dict[str, Any]:
    return {"step": index, "action": action, "status": status, "detail": detail[:1000]}


def _find(result: list[dict[str, Any]], index: int) -> dict[str, Any] | None:
    return next((e for e in result if e.get("step") == index), None)


def _put(result: list[dict[str, Any]], entry: dict[str, Any]) -> None:
    for n, e in enumerate(result):
        if e.get("step") == entry["step"]:
            result[n] = entry
            return
    result.append(entry)


def _summary(row: WorkflowExecution, status: str, result: list[Any]) -> dict[str, Any]:
    return {
        "workflow": row.workflow,
        "hubspot_id": row.hubspot_id,
        "salesforce_id": row.salesforce_id,
        "occurrence": row.occurrence,
        "status": status,
        "steps": result,
    }


def build_runner(
    loaded: LoadedConfig,
    *,
    store: Store,
    hubspot: HubSpotConnector,
    salesforce: SalesforceConnector,
    mapping: PairMapping,
    rules: WorkflowRules | None = None,
) -> WorkflowRunner:
    """A runner configured from the settings ([workflows], [sla], [scoring])."""
    s = loaded.settings
    return WorkflowRunner(
        rules=rules or load_workflows(rules_path(loaded)),
        mapping=mapping,
        store=store,
        hubspot=hubspot,
        salesforce=salesforce,
        settings=s.workflows,
        sla_hours=s.sla.first_contact_hours,
        threshold=s.scoring.threshold,
        source=loaded.source,
    )


def after_sync_hook(jobs: Any) -> Callable[[str], None]:
    """The scheduler's step after each sync of a contact pair: scoring, then due workflows.

    Each part runs only when its rules file exists, so a config without them just syncs.
    """
    from leadbridge.nurture.rules import rules_from_config
    from leadbridge.nurture.rules import rules_path as scoring_path
    from leadbridge.nurture.runner import ScoringRunner

    def hook(pair: str) -> None:
        mapping = jobs.mappings.get(pair)
        hubspot = jobs.hubspot
        if mapping is None or mapping.hubspot_object != "contacts":
            return
        if not isinstance(hubspot, HubSpotConnector):
            return
        if not isinstance(jobs.salesforce, SalesforceConnector):
            return
        loaded: LoadedConfig = jobs.loaded
        try:
            if scoring_path(loaded).exists():
                scored = ScoringRunner(
                    mapping=mapping,
                    rules=rules_from_config(loaded),
                    store=jobs.store,
                    hubspot=hubspot,
                    salesforce=jobs.salesforce,
                    fields=loaded.settings.fields,
                ).run()
                log.info("scoring of %s: %s", pair, scored.outcome)
            if rules_path(loaded).exists():
                runner = build_runner(
                    loaded,
                    store=jobs.store,
                    hubspot=hubspot,
                    salesforce=jobs.salesforce,
                    mapping=mapping,
                )
                report = runner.run()
                log.info("workflows of %s: %s (%d done)", pair, report.outcome, report.done)
        except LeadbridgeError as error:
            log.error("nurture step after the sync of %s failed: %s", pair, error)

    return hook
