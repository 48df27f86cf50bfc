"""`WorkflowRunner`: record new trigger occurrences, then execute the due steps exactly once.

Detection (leadbridge.nurture.flow_detect) turns scores, lineage and events into execution rows
whose unique key makes it idempotent; due rows are claimed and run by the protocol described in
leadbridge.nurture.actions, with each lead read fresh (leadbridge.nurture.flow_leads). Rows with
a CRM step left run under the pair's lease (`pair:<name>`, the lease sync and scoring take),
renewed row by row: when a sync or scoring run holds it, the run reports "locked" and those
rows stay due for the next run. The scheduler's hook and `build_runner` are in
leadbridge.nurture.flow_hook.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta
from typing import Any

from leadbridge.config_setup import WorkflowSettings
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.errors import LeadbridgeError
from leadbridge.nurture.actions import ActionExecutor, Outcome, Step
from leadbridge.nurture.flow_detect import Detector
from leadbridge.nurture.flow_leads import LeadReader
from leadbridge.nurture.flow_types import FlowOptions, Planned, WorkflowReport
from leadbridge.nurture.state import ScoringState
from leadbridge.nurture.workflow_errors import WorkflowErrors
from leadbridge.nurture.workflow_model import WorkflowRules
from leadbridge.nurture.workflow_state import WorkflowState
from leadbridge.nurture.workflows import Occurrence, segment_check
from leadbridge.store.columns import utcnow
from leadbridge.store.db import Store
from leadbridge.store.models import WorkflowExecution
from leadbridge.sync.mapping import PairMapping
from leadbridge.sync.state import SyncState


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
        self.options = options or FlowOptions()
        self.state = WorkflowState(store=store, pair=mapping.name)
        self.errors = WorkflowErrors(store=store, pair=mapping.name)
        self.sync_state = SyncState(store=store, pair=mapping.name)
        self.holder = uuid.uuid4().hex[:12]
        self.lease = f"pair:{mapping.name}"
        scores = ScoringState(store=store, pair=mapping.name)
        chosen = settings or WorkflowSettings()
        self.detector = Detector(
            rules=rules,
            mapping=mapping,
            state=self.state,
            hubspot=hubspot,
            threshold=threshold,
            overlap=self.options.overlap,
            first_run_lookback=self.options.first_run_lookback,
        )
        self.leads = LeadReader(
            rules=rules,
            mapping=mapping,
            state=self.state,
            scores=scores,
            hubspot=hubspot,
            salesforce=salesforce,
            threshold=threshold,
            locale_field=chosen.locale_field,
        )
        self.executor = ActionExecutor(
            settings=chosen,
            sla_hours=sla_hours,
            hubspot=hubspot,
            salesforce=salesforce,
            mapping=mapping,
            scoring_state=scores,
            errors=self.errors,
            source=source,
        )

    # -- entry points -----------------------------------------------------------------------

    def run(self, *, now: datetime | None = None) -> WorkflowReport:
        """Detect new occurrences, then run every due step once."""
        at = now or utcnow()
        report = WorkflowReport(run_id=self.sync_state.start_run(kind="workflows", dry_run=False))
        try:
            found = self.detector.detect(now=at)
            report.detected = self.state.record(found.occurrences, now=at)
            self.detector.save(found, now=at)
            report.reopened = self.errors.reopen_retried(now=at)
            self._run_due(at, report)
            if report.locked:
                report.outcome = "locked"
                report.message = (
                    f"a sync or scoring run holds {self.lease}: {report.locked} due "
                    "execution(s) left for the next run"
                )
            else:
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
        found = self.detector.detect(now=at).occurrences
        known = self.state.known(self.state.key_of(o) for o in found)
        fresh = [o for o in found if self.state.key_of(o) not in known]
        waiting = [
            Occurrence(r.workflow, r.hubspot_id, r.salesforce_id, r.occurrence, r.due_at, r.reason)
            for r in self.state.pending()
        ]
        planned = []
        for occ in dict.fromkeys([*waiting, *fresh]):
            wf = self.rules.named(occ.workflow)
            if wf is None:
                continue
            verdict = "fires now" if occ.due_at <= at else "scheduled"
            lines: list[str] = []
            if verdict == "fires now" and wf.segments:
                lead = self.leads.lead(hubspot_id=occ.hubspot_id, salesforce_id=occ.salesforce_id)
                ok, lines = segment_check(wf.segments, lead.values, self.leads.events(wf, lead))
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

    # -- execution --------------------------------------------------------------------------

    def _run_due(self, now: datetime, report: WorkflowReport) -> None:
        due = self.state.due(now=now, stale_before=now - self.options.claim_ttl)
        crm = [row for row in due if self._touches_crm(row)]
        leased = {row.id for row in crm}
        for row in due:
            if row.id not in leased:
                self._execute(row, now, report)  # e-mail and webhook steps need no lease
        if not crm:
            return
        try:
            for n, row in enumerate(crm):
                # Taken (or renewed) per row and never waited for: a long run keeps it, and a
                # run that lost it after expiry stops instead of racing the sync.
                if not self.sync_state.acquire_lease(
                    name=self.lease, holder=self.holder, ttl=self.options.lease_ttl
                ):
                    report.locked = len(crm) - n
                    return
                self._execute(row, now, report)
        finally:
            self.sync_state.release_lease(name=self.lease, holder=self.holder)

    def _touches_crm(self, row: WorkflowExecution) -> bool:
        wf = self.rules.named(row.workflow)
        return wf is not None and any(a.touches_crm for a in wf.actions[row.progress :])

    def _execute(self, row: WorkflowExecution, now: datetime, report: WorkflowReport) -> None:
        stale = now - self.options.claim_ttl
        claimed = self.state.claim(row.id or 0, holder=self.holder, now=now, stale_before=stale)
        if claimed is None:
            return  # another runner has it, or finished it meanwhile
        wf = self.rules.named(claimed.workflow)
        result: list[dict[str, Any]] = [dict(e) for e in claimed.result]
        if wf is None:
            gone = _entry(-1, "rules", "skipped", "the workflow is gone or disabled")
            self._finish(claimed, now, report, "skipped", claimed.progress, [*result, gone])
            return
        lead = self.leads.lead(hubspot_id=claimed.hubspot_id, salesforce_id=claimed.salesforce_id)
        if claimed.progress == 0 and wf.segments and not _find(result, -1):
            ok, lines = segment_check(wf.segments, lead.values, self.leads.events(wf, lead))
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
        )
        for index in range(claimed.progress, len(wf.actions)):
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
        final = "unknown" if unknown else "done"
        self._finish(claimed, now, report, final, len(wf.actions), result)

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


__all__ = ["FlowOptions", "Planned", "WorkflowReport", "WorkflowRunner"]
