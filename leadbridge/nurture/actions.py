"""Workflow action executors: e-mail over SMTP, webhook POSTs, and CRM changes through the
connectors' normal `write` and `lists` (with lineage, error queue and link-snapshot updates).

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
4. A crash leaves the row running; after the claim TTL another run re-claims it. A step with a
   "started" mark but no "done" is never sent again: it becomes `unknown` (it may have gone
   out) for a person to check, and the remaining steps continue. A step that failed in a way
   that proves nothing was sent (connection refused, server rejected it) is retried later.
So each e-mail or webhook is sent at most once per key, and every idempotent step at least once.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Literal

import requests
from simple_salesforce.format import format_soql

from leadbridge.config_setup import WorkflowSettings
from leadbridge.connectors.base import CanonicalValue, Side, WriteOp
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.errors import ConfigError, LeadbridgeError, Recovery
from leadbridge.nurture.state import ScoringCommit, ScoringState
from leadbridge.nurture.workflow_rules import Action
from leadbridge.nurture.workflows import (
    Locale,
    choose_locale,
    pick_template,
    render,
    round_robin,
    sla_deadline,
)
from leadbridge.secrets import resolve_secret
from leadbridge.sync.mapping import PairMapping
from leadbridge.sync.snapshot import encode_value
from leadbridge.sync.state import lineage_row

Status = Literal["done", "retry", "failed", "unknown", "skipped"]
DEFAULT_LIST = "MQL nurturing"
_USER_ID = re.compile(r"^005[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")


@dataclass(frozen=True)
class Outcome:
    """What one action did: done, retry (provably not done), failed, or unknown."""

    status: Status
    detail: str


@dataclass
class Lead:
    """The lead an execution acts on, with the values its texts and conditions read."""

    hubspot_id: str
    salesforce_id: str
    salesforce_type: str = "Lead"
    values: dict[str, Any] = field(default_factory=dict)
    score: int | None = None
    threshold: int = 50
    linked: bool = False


@dataclass(frozen=True)
class Step:
    """Which step of which execution an action runs as."""

    key: str
    index: int
    workflow: str
    reason: str
    run_id: int
    resumed: bool  # the row was claimed before: look before creating anything
    turn: int = 0  # earlier executions of the workflow (the round-robin position)


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
        source: str,
    ) -> None:
        self.settings = settings
        self.sla_hours = sla_hours
        self.hubspot = hubspot
        self.salesforce = salesforce
        self.mapping = mapping
        self.state = scoring_state
        self.source = source

    def run(self, action: Action, *, lead: Lead, step: Step, now: datetime) -> Outcome:
        """Do the action; CRM errors become retry or failed outcomes, never exceptions."""
        try:
            if action.kind == "notify_email":
                return self._email(action, lead, step, now)
            if action.kind == "webhook":
                return self._webhook(action, lead, step, now)
            if action.kind == "add_to_list":
                return self._add_to_list(action, lead)
            if not lead.salesforce_id and action.kind in ("assign_owner", "create_task"):
                return Outcome("retry", "the lead is not in Salesforce yet (retried after a sync)")
            if action.kind == "assign_owner":
                return self._assign(action, lead, step)
            if action.kind == "create_task":
                return self._task(action, lead, step, now)
            return self._set_field(action, lead, step)
        except LeadbridgeError as error:
            again = error.recovery is Recovery.RETRY_LATER
            return Outcome("retry" if again else "failed", f"{error} ({error.hint})")

    # -- texts ------------------------------------------------------------------------------

    def context(self, lead: Lead, step: Step, now: datetime) -> dict[str, Any]:
        """Placeholder values for templates."""
        v = lead.values

        def first(*names: str) -> Any:
            return next((v[n] for n in names if v.get(n) not in (None, "")), "")

        return {
            "workflow": step.workflow,
            "reason": step.reason,
            "first_name": first("firstname", "FirstName"),
            "last_name": first("lastname", "LastName"),
            "email": first("email", "Email"),
            "company": first("company", "Company"),
            "score": "" if lead.score is None else lead.score,
            "threshold": lead.threshold,
            "hubspot_id": lead.hubspot_id,
            "salesforce_id": lead.salesforce_id,
            "owner": first("OwnerId"),
            "due": sla_deadline(now, hours=self.sla_hours).strftime("%Y-%m-%d %H:%M UTC"),
        }

    def locale(self, lead: Lead) -> Locale:
        """The language of the lead's texts."""
        s = self.settings
        return choose_locale(lead.values, field=s.locale_field, default=s.locale)

    # -- e-mail and webhook -----------------------------------------------------------------

    def message(self, action: Action, lead: Lead, step: Step, now: datetime) -> EmailMessage:
        """The notification e-mail (deterministic Message-ID per key and step)."""
        smtp = self._smtp()
        recipients = list(action.to) or list(self.settings.inside_sales_recipients)
        if not recipients:
            raise ConfigError(
                "a notify_email action has no recipients",
                source=self.source,
                key="workflows.inside_sales_recipients",
                hint='set inside_sales_recipients = ["name@company"] or the action\'s to',
            )
        locale = self.locale(lead)
        context = self.context(lead, step, now)
        msg = EmailMessage()
        msg["Subject"] = render(pick_template(action.subject, locale), context)
        msg["From"] = smtp.sender
        msg["To"] = ", ".join(recipients)
        msg["Message-ID"] = f"<{step.key[:40]}.{step.index}@leadbridge>"
        msg["X-Leadbridge-Workflow"] = step.workflow
        msg.set_content(render(pick_template(action.body, locale), context) or msg["Subject"])
        return msg

    def _smtp(self) -> Any:
        if self.settings.smtp is None:
            raise ConfigError(
                "notify_email needs a mail server",
                source=self.source,
                key="workflows.smtp",
                hint="add [workflows.smtp] with host, port and sender",
            )
        return self.settings.smtp

    def _email(self, action: Action, lead: Lead, step: Step, now: datetime) -> Outcome:
        smtp = self._smtp()
        msg = self.message(action, lead, step, now)
        password = None
        ref = smtp.password_ref()
        if smtp.username and ref is not None:
            password = resolve_secret(ref, key="workflows.smtp.password", source=self.source)
        try:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
        except OSError as exc:
            return Outcome("retry", f"cannot reach the mail server: {exc}")
        with client:
            try:
                if smtp.starttls:
                    client.starttls(context=ssl.create_default_context())
                if smtp.username and password is not None:
                    client.login(smtp.username, password.get_secret_value())
            except (smtplib.SMTPException, OSError) as exc:
                return Outcome("retry", f"mail server refused the session: {exc}")
            try:
                client.send_message(msg)
            except (
                smtplib.SMTPRecipientsRefused,
                smtplib.SMTPSenderRefused,
                smtplib.SMTPDataError,
            ) as exc:
                # The server said no: nothing was accepted, so a later try cannot double-send.
                return Outcome("retry", f"mail server rejected the message: {exc}")
            except (smtplib.SMTPException, OSError) as exc:
                return Outcome("unknown", f"the connection broke while sending: {exc}")
        return Outcome("done", f"e-mail {msg['Message-ID']} to {msg['To']}")

    def _webhook(self, action: Action, lead: Lead, step: Step, now: datetime) -> Outcome:
        context = self.context(lead, step, now)
        payload = {
            "text": render(pick_template(action.body, self.locale(lead)), context),
            "workflow": step.workflow,
            "reason": step.reason,
            "idempotency_key": step.key,
            "lead": {
                k: context[k]
                for k in (
                    "hubspot_id",
                    "salesforce_id",
                    "first_name",
                    "last_name",
                    "email",
                    "company",
                    "score",
                )
            },
        }
        headers = {"Idempotency-Key": f"{step.key}.{step.index}"}
        try:
            answer = requests.post(action.url, json=payload, headers=headers, timeout=10)
        except (requests.ConnectTimeout, requests.exceptions.InvalidURL) as exc:
            return Outcome("retry", f"cannot reach {action.url}: {exc}")
        except requests.ConnectionError as exc:
            if "NewConnectionError" in repr(exc) or "refused" in str(exc).lower():
                return Outcome("retry", f"cannot reach {action.url}: connection refused")
            return Outcome("unknown", f"the connection broke during the POST: {exc}")
        except requests.RequestException as exc:
            return Outcome("unknown", f"no answer to the POST: {exc}")
        if 200 <= answer.status_code < 300:
            return Outcome("done", f"POST {action.url}: {answer.status_code}")
        if answer.status_code == 429 or answer.status_code >= 500:
            return Outcome("retry", f"POST {action.url}: {answer.status_code}")
        return Outcome("failed", f"POST {action.url} refused: {answer.status_code}")

    # -- CRM actions ------------------------------------------------------------------------

    def _add_to_list(self, action: Action, lead: Lead) -> Outcome:
        name = action.list_name or self.settings.nurture_list or DEFAULT_LIST
        list_id = self.hubspot.lists.list_id(name, create=True)
        assert list_id is not None  # create=True finds or makes it
        missing = self.hubspot.lists.add(list_id, [lead.hubspot_id])
        if missing:
            return Outcome("failed", f"HubSpot has no contact {lead.hubspot_id}")
        return Outcome("done", f"added to list {name!r} ({list_id})")

    def _assign(self, action: Action, lead: Lead, step: Step) -> Outcome:
        if action.queue is not None:
            soql = format_soql(
                "SELECT Id, Name, SystemModstamp FROM Group WHERE Type = 'Queue' AND Name = {}",
                action.queue,
            )
            found = self.salesforce.query_records("Group", soql)
            if not found:
                return Outcome("failed", f"no Salesforce queue named {action.queue!r}")
            owner, shown = found[0].id, f"queue {action.queue}"
        else:
            users = self._active_users()
            if not users:
                return Outcome("failed", "no active user in [workflows] field_sales_users")
            chosen = round_robin([u for u, _ in users], turn=step.turn)
            owner = chosen or ""
            shown = f"user {dict(users)[owner]}"
        wrote = self._write(
            lead, step, "salesforce", lead.salesforce_type, lead.salesforce_id, {"OwnerId": owner}
        )
        return wrote or Outcome("done", f"owner set to {shown} ({owner})")

    def _active_users(self) -> list[tuple[str, str]]:
        wanted = list(self.settings.field_sales_users)
        ids = [w for w in wanted if _USER_ID.match(w)]
        names = [w for w in wanted if w not in ids]
        tests = [format_soql("Username IN {}", names)] if names else []
        tests += [format_soql("Id IN {}", ids)] if ids else []
        if not tests:
            return []
        where = " OR ".join(tests)  # each part built by format_soql
        soql = f"SELECT Id, Username, SystemModstamp FROM User WHERE IsActive = true AND ({where})"  # noqa: S608
        found = self.salesforce.query_records("User", soql)
        by_name = {str(r.values.get("Username")): r.id for r in found}
        by_id = {r.id[:15]: r.id for r in found}
        ordered: list[tuple[str, str]] = []
        for entry in wanted:  # the configured order is the rotation order
            user_id = by_name.get(entry) or by_id.get(entry[:15])
            if user_id and user_id not in [u for u, _ in ordered]:
                ordered.append((user_id, entry))
        return ordered

    def _task(self, action: Action, lead: Lead, step: Step, now: datetime) -> Outcome:
        marker = f"[leadbridge {step.key[:16]}.{step.index}]"
        if step.resumed:
            soql = format_soql(
                "SELECT Id, Description, SystemModstamp FROM Task WHERE WhoId = {}",
                lead.salesforce_id,
            )
            for task in self.salesforce.query_records("Task", soql):
                if marker in str(task.values.get("Description") or ""):
                    return Outcome("done", f"Task {task.id} (created before a restart)")
        current = self.salesforce.read_by_keys(
            lead.salesforce_type, key_field="Id", keys=[lead.salesforce_id], fields=["OwnerId"]
        )
        owner = str(current[0].values.get("OwnerId") or "") if current else ""
        due = sla_deadline(now, hours=self.sla_hours)
        context = self.context(lead, step, now)
        values: dict[str, CanonicalValue] = {
            "WhoId": lead.salesforce_id,
            "Subject": render(pick_template(action.subject, "en"), context)[:255],
            "ActivityDate": due.date(),
            "Status": "Not Started",
            "Description": (
                render(pick_template(action.body, "en"), context)
                + "\n"
                + marker
                + f"\nDue (SLA): {due.isoformat(timespec='minutes')}"
            ).strip(),
        }
        if owner.startswith("005"):  # a Task belongs to a user, not a queue
            values["OwnerId"] = owner
        op = WriteOp(kind="create", ref=step.key, values=values)
        result = self.salesforce.write("Task", [op])[0]
        if not result.ok:
            return self._failed(lead, step, "salesforce", "", result.error)
        return Outcome(
            "done",
            f"Task {result.record_id} for {owner or 'the integration user'}, "
            f"due {due.isoformat(timespec='minutes')}",
        )

    def _set_field(self, action: Action, lead: Lead, step: Step) -> Outcome:
        side: Side = "salesforce" if action.side == "salesforce" else "hubspot"
        writes: list[tuple[Side, str]] = [(side, action.field_name)]
        entry = next(
            (e for e in self.mapping.synced_fields() if e.name(side) == action.field_name), None
        )
        other: Side = "hubspot" if side == "salesforce" else "salesforce"
        values: dict[Side, CanonicalValue] = {side: action.value}
        if entry is not None and lead.linked and entry.flows_to(other):
            # Both sides at once, so the snapshot holds both and the next sync sees no change.
            values[other] = entry.convert(action.value, to=other)
            writes.append((other, entry.name(other)))
        for target, name in writes:
            record = lead.hubspot_id if target == "hubspot" else lead.salesforce_id
            if not record:
                continue
            obj = self.mapping.hubspot_object if target == "hubspot" else lead.salesforce_type
            failed = self._write(lead, step, target, obj, record, {name: values[target]})
            if failed is not None:
                return failed
        return Outcome("done", f"{side} {action.field_name} = {action.value!r}")

    def _write(
        self,
        lead: Lead,
        step: Step,
        side: Side,
        obj: str,
        record_id: str,
        values: Mapping[str, CanonicalValue],
    ) -> Outcome | None:
        """Update one record; lineage and the snapshot (mapped fields) in one commit."""
        op = WriteOp(kind="update", ref=step.key, values=dict(values), record_id=record_id)
        result = (self.hubspot if side == "hubspot" else self.salesforce).write(obj, [op])[0]
        if not result.ok:
            return self._failed(lead, step, side, record_id, result.error)
        commit = ScoringCommit(succeeded=[(side, record_id)])
        mapped = {e.name(side) for e in self.mapping.synced_fields()}
        held = {k: v for k, v in values.items() if k in mapped}
        if held and lead.linked:
            commit.snapshots[lead.hubspot_id] = {side: held}
        commit.lineage = [
            lineage_row(
                run_id=step.run_id,
                pair=self.mapping.name,
                record_id=record_id,
                target_side=side,
                field=name,
                old=encode_value(lead.values.get(name)),
                new=encode_value(value),
                source_side="leadbridge",
                rule=f"workflow:{step.workflow}"[:64],
            )
            for name, value in values.items()
        ]
        self.state.commit(commit)
        return None

    def _failed(
        self, lead: Lead, step: Step, side: Side, record_id: str, error: LeadbridgeError | None
    ) -> Outcome:
        commit = ScoringCommit(
            errors=[
                {
                    "run_id": step.run_id,
                    "side": side,
                    "record_id": record_id or lead.hubspot_id,
                    "operation": "workflow",
                    "category": str(error.recovery) if error else "retry_later",
                    "code": error.code if error else "",
                    "message": (str(error) or "failed")[:2000],
                    "hint": (error.hint if error else "retried by the next workflows run")[:2000],
                    "payload": {"__source_side": "leadbridge", "__workflow": step.workflow},
                }
            ]
        )
        self.state.commit(commit)
        again = error is None or error.recovery is Recovery.RETRY_LATER
        return Outcome("retry" if again else "failed", str(error) if error else "write failed")


def describe(actions: Sequence[Action]) -> str:
    """A one-line summary of a workflow's actions."""
    parts = []
    for a in actions:
        target = a.list_name or a.queue or a.url or a.field_name or ", ".join(a.to)
        parts.append(f"{a.kind}({target})" if target else a.kind)
    return ", ".join(parts)
