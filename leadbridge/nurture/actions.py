"""Workflow actions: one executor that runs any action kind for one lead, by composition of
the delivery actions (leadbridge.nurture.action_delivery: e-mail, webhook) and the CRM actions
(leadbridge.nurture.action_crm: owner, Task, list, field).

Exactly-once protocol (one execution row per idempotency key, see leadbridge.nurture.flow):
1. Detect: insert the occurrence under a unique (pair, key); a duplicate insert is ignored.
2. Claim: a conditional UPDATE pending -> running for one holder; of racing runners one wins.
3. For each action from `progress` on:
   - not idempotent (e-mail, webhook): first commit a "started" mark for the step, then send,
     then commit "done" and progress + 1. The e-mail carries a deterministic Message-ID
     `<key.step@leadbridge>` and the webhook an `Idempotency-Key` header, so a receiver can
     also deduplicate.
   - idempotent (owner, Task, list, field): act, then commit "done" and progress + 1. Doing it
     again after a crash gives the same state (the Task is looked up by its marker first).
     These run under the pair's lease (`pair:<name>`), like sync and scoring, because they
     rewrite link snapshots.
4. A crash leaves the row running; after the claim TTL another run re-claims it. A step with a
   "started" mark but no "done" is never sent again: it becomes `unknown` (it may have gone
   out) for a person to check, and the remaining steps continue. A step that failed in a way
   that proves nothing was sent (connection refused, server rejected it) is retried later.
So each e-mail or webhook is sent at most once per key, and every idempotent step at least once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from leadbridge.config_setup import WorkflowSettings
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.errors import LeadbridgeError, Recovery
from leadbridge.nurture.action_common import Lead, Outcome, Status, Step, Texts
from leadbridge.nurture.action_crm import DEFAULT_LIST, CrmActions
from leadbridge.nurture.action_delivery import Mailer, WebhookPoster
from leadbridge.nurture.state import ScoringState
from leadbridge.nurture.workflow_errors import WorkflowErrors
from leadbridge.nurture.workflow_model import Action
from leadbridge.sync.mapping import PairMapping


class ActionExecutor:
    """Runs one action for one lead."""

    def __init__(
        self,
        *,
        settings: WorkflowSettings,
        sla_hours: float,
        hubspot: HubSpotConnector,
        salesforce: SalesforceConnector,
        mapping: PairMapping,
        scoring_state: ScoringState,
        errors: WorkflowErrors,
        source: str,
    ) -> None:
        self.settings = settings
        self.texts = Texts(settings=settings, sla_hours=sla_hours)
        self.mailer = Mailer(settings=settings, texts=self.texts, source=source)
        self.webhooks = WebhookPoster(texts=self.texts)
        self.crm = CrmActions(
            settings=settings,
            texts=self.texts,
            hubspot=hubspot,
            salesforce=salesforce,
            mapping=mapping,
            scoring_state=scoring_state,
            errors=errors,
        )

    def run(self, action: Action, *, lead: Lead, step: Step, now: datetime) -> Outcome:
        """Do the action; CRM errors become retry or failed outcomes, never exceptions."""
        try:
            if action.kind == "notify_email":
                return self.mailer.send(action, lead=lead, step=step, now=now)
            if action.kind == "webhook":
                return self.webhooks.post(action, lead=lead, step=step, now=now)
            if action.kind == "add_to_list":
                return self.crm.add_to_list(action, lead=lead, step=step)
            if not lead.salesforce_id and action.kind in ("assign_owner", "create_task"):
                return Outcome("retry", "the lead is not in Salesforce yet (retried after a sync)")
            if action.kind == "assign_owner":
                return self.crm.assign_owner(action, lead=lead, step=step)
            if action.kind == "create_task":
                return self.crm.create_task(action, lead=lead, step=step, now=now)
            return self.crm.set_field(action, lead=lead, step=step)
        except LeadbridgeError as error:
            again = error.recovery is Recovery.RETRY_LATER
            return Outcome("retry" if again else "failed", f"{error} ({error.hint})")


def describe(actions: Sequence[Action]) -> str:
    """A one-line summary of a workflow's actions."""
    parts = []
    for a in actions:
        target = a.list_name or a.queue or a.url or a.field_name or ", ".join(a.to)
        parts.append(f"{a.kind}({target})" if target else a.kind)
    return ", ".join(parts)


__all__ = ["DEFAULT_LIST", "ActionExecutor", "Lead", "Outcome", "Status", "Step", "describe"]
