"""Actions that change the CRMs: owner assignment, the SLA Task, list enrolment, set a field.

They go through the connectors' normal `write` and `lists`. Each successful field write commits
its lineage (rule `workflow:<name>`) and, for mapped fields of a linked lead, the link snapshot
in one transaction, so the next sync reads the new values as its own (an echo, not a change).
A rejected write goes to the error queue under pair "workflows" (`leadbridge errors list --pair
workflows`); the next successful write of the same record resolves it. All of them are safe to
repeat, which is what lets the protocol in leadbridge.nurture.actions redo them after a crash.

Owner assignment checks before it writes: a queue must exist and list the record's object among
its supported objects (QueueSobject), else Salesforce refuses the owner; that is a setup error.
The round-robin rotation counts only the assignments that succeeded (executions of the workflow
past the step, in the state store), so leads a segment skips or writes that failed do not use up
a user's turn.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from simple_salesforce.format import format_soql

from leadbridge.config_setup import WorkflowSettings
from leadbridge.connectors.base import CanonicalValue, Side, WriteOp
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.errors import DataError, LeadbridgeError, Recovery, SetupError
from leadbridge.nurture.action_common import Lead, Outcome, Step, Texts
from leadbridge.nurture.state import ScoringCommit, ScoringState
from leadbridge.nurture.workflow_errors import WorkflowErrors
from leadbridge.nurture.workflow_model import Action
from leadbridge.nurture.workflow_state import WorkflowState
from leadbridge.nurture.workflows import pick_template, render, round_robin
from leadbridge.sync.mapping import PairMapping
from leadbridge.sync.snapshot import encode_value
from leadbridge.sync.state import lineage_row

DEFAULT_LIST = "MQL nurturing"
_USER_ID = re.compile(r"^005[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")


class CrmActions:
    """Runs the CRM actions of one pair's workflows."""

    def __init__(
        self,
        *,
        settings: WorkflowSettings,
        texts: Texts,
        hubspot: HubSpotConnector,
        salesforce: SalesforceConnector,
        mapping: PairMapping,
        scoring_state: ScoringState,
        errors: WorkflowErrors,
    ) -> None:
        self.settings = settings
        self.texts = texts
        self.hubspot = hubspot
        self.salesforce = salesforce
        self.mapping = mapping
        self.snapshots = scoring_state  # its commit merges link snapshots and lineage at once
        self.errors = errors
        # Queue name -> (Group id, supported objects), as Salesforce answered during one run.
        # Salesforce setup read once per run (a new run asks again: Setup may have changed).
        self._queues: dict[str, tuple[str, frozenset[str]] | None] = {}
        self._users: list[tuple[str, str]] | None = None
        self._setup_run: int | None = None

    def add_to_list(self, action: Action, *, lead: Lead, step: Step) -> Outcome:
        """Enrol the lead in a HubSpot list (found or created by name)."""
        if not lead.hubspot_id:
            return Outcome("retry", "the lead is not in HubSpot yet (retried after a sync)")
        name = action.list_name or self.settings.nurture_list or DEFAULT_LIST
        list_id = self.hubspot.lists.list_id(name, create=True)
        assert list_id is not None  # create=True finds or makes it
        missing = self.hubspot.lists.add(list_id, [lead.hubspot_id])
        if missing:
            gone = DataError(
                f"HubSpot has no contact {lead.hubspot_id}",
                hint="the contact was deleted or merged; nothing to enrol",
            )
            return self._rejected(action, step, "hubspot", lead.hubspot_id, gone)
        self.errors.resolve_errors(side="hubspot", record_id=lead.hubspot_id)
        return Outcome("done", f"added to list {name!r} ({list_id})")

    def assign_owner(self, action: Action, *, lead: Lead, step: Step) -> Outcome:
        """Give the Salesforce record to a queue, or to the next field-sales user in turn."""
        if action.queue is not None:
            obj = lead.salesforce_type
            found = self._queue(action.queue, run_id=step.run_id)
            if found is None:
                missing = SetupError(
                    f"no Salesforce queue named {action.queue!r}",
                    hint=f"create the queue with {obj} as a supported object, or fix the name",
                )
                return self._rejected(action, step, "salesforce", lead.salesforce_id, missing)
            owner, supported = found
            if obj not in supported:
                refused = SetupError(
                    f"Salesforce queue {action.queue!r} does not accept {obj} records",
                    hint=_unsupported_hint(action.queue, obj),
                )
                return self._rejected(action, step, "salesforce", lead.salesforce_id, refused)
            shown = f"queue {action.queue}"
        else:
            users = self._active_users(run_id=step.run_id)
            if not users:
                nobody = SetupError(
                    "no active user in [workflows] field_sales_users",
                    hint="list the usernames (or User ids) of active field-sales users",
                )
                return self._rejected(action, step, "salesforce", lead.salesforce_id, nobody)
            owner = round_robin([u for u, _ in users], turn=self._assigned_before(step)) or ""
            shown = f"user {dict(users)[owner]}"
        failed = self._write(
            action,
            lead,
            step,
            "salesforce",
            lead.salesforce_type,
            lead.salesforce_id,
            {"OwnerId": owner},
        )
        return failed or Outcome("done", f"owner set to {shown} ({owner})")

    def _queue(self, name: str, *, run_id: int) -> tuple[str, frozenset[str]] | None:
        """The queue's Group id and supported objects (None: no such queue), once per run."""
        self._new_run(run_id)
        if name not in self._queues:
            soql = format_soql(
                "SELECT Id, Name, SystemModstamp FROM Group WHERE Type = 'Queue' AND Name = {}",
                name,
            )
            found = self.salesforce.query_records("Group", soql)
            if not found:
                self._queues[name] = None
            else:
                rows = self.salesforce.query_records(
                    "QueueSobject",
                    format_soql(
                        "SELECT Id, SobjectType, SystemModstamp FROM QueueSobject "
                        "WHERE QueueId = {}",
                        found[0].id,
                    ),
                )
                types = frozenset(str(r.values.get("SobjectType")) for r in rows)
                self._queues[name] = (found[0].id, types)
        return self._queues[name]

    def _assigned_before(self, step: Step) -> int:
        state = WorkflowState(store=self.errors.store, pair=self.mapping.name)
        return state.assigned_before(workflow=step.workflow, step_index=step.index, key=step.key)

    def _new_run(self, run_id: int) -> None:
        if run_id != self._setup_run:
            self._queues, self._users, self._setup_run = {}, None, run_id

    def _active_users(self, *, run_id: int) -> list[tuple[str, str]]:
        """Active field-sales users as (id, username), in the configured order, once per run."""
        self._new_run(run_id)
        if self._users is None:
            self._users = self._query_users()
        return self._users

    def _query_users(self) -> list[tuple[str, str]]:
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

    def create_task(self, action: Action, *, lead: Lead, step: Step, now: datetime) -> Outcome:
        """A first-contact Task for the record's owner, due at the SLA deadline."""
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
        due = self.texts.due(now)
        context = self.texts.context(lead, step=step, now=now)
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
            return self._rejected(action, step, "salesforce", lead.salesforce_id, result.error)
        self.errors.resolve_errors(side="salesforce", record_id=lead.salesforce_id)
        return Outcome(
            "done",
            f"Task {result.record_id} for {owner or 'the integration user'}, "
            f"due {due.isoformat(timespec='minutes')}",
        )

    def set_field(self, action: Action, *, lead: Lead, step: Step) -> Outcome:
        """Write one field; a mapped field of a linked lead is written on both sides."""
        side: Side = "salesforce" if action.side == "salesforce" else "hubspot"
        if not (lead.salesforce_id if side == "salesforce" else lead.hubspot_id):
            # Reporting "done" here would drop the value: wait until the sync created it.
            return Outcome("retry", f"the lead is not in {side} yet (retried after a sync)")
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
                continue  # the other side does not exist yet: the sync carries the value later
            obj = self.mapping.hubspot_object if target == "hubspot" else lead.salesforce_type
            failed = self._write(action, lead, step, target, obj, record, {name: values[target]})
            if failed is not None:
                return failed
        return Outcome("done", f"{side} {action.field_name} = {action.value!r}")

    def _write(
        self,
        action: Action,
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
            return self._rejected(action, step, side, record_id, result.error, tried=values)
        # Resolved before the commit: a crash in between redoes the step, never the reverse
        # (an entry left open for a step that is already done).
        self.errors.resolve_errors(side=side, record_id=record_id)
        commit = ScoringCommit()
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
        self.snapshots.commit(commit)
        return None

    def _rejected(
        self,
        action: Action,
        step: Step,
        side: Side,
        record_id: str,
        error: LeadbridgeError | None,
        *,
        tried: Mapping[str, CanonicalValue] | None = None,
    ) -> Outcome:
        """Queue a refused write as a workflow error; retry it only if it may pass later."""
        self.errors.queue_error(
            run_id=step.run_id,
            side=side,
            record_id=record_id,
            operation=action.kind,
            category=str(error.recovery) if error else str(Recovery.RETRY_LATER),
            code=error.code if error else "",
            message=str(error) if error else "the write failed without a reason",
            hint=error.hint if error else "retried by the next workflows run",
            # No __source_side/__source_id: nothing for a sync to re-read; the workflows run
            # itself redoes the step (`leadbridge errors retry` reopens the execution).
            payload={
                "__workflow": step.workflow,
                "__execution": step.key,
                "__step": step.index,
                "__pair": self.mapping.name,
                **{name: encode_value(value) for name, value in (tried or {}).items()},
            },
        )
        again = error is None or error.recovery is Recovery.RETRY_LATER
        return Outcome("retry" if again else "failed", str(error) if error else "write failed")


def _unsupported_hint(queue: str, obj: str) -> str:
    if obj == "Lead":
        return f"in Salesforce Setup > Queues, edit {queue!r} and add Lead to its Supported Objects"
    # Setup offers leads, cases and custom objects, never contacts or accounts.
    return (
        f"Salesforce queues cannot own {obj} records (Setup > Queues offers Lead, Case and "
        f"custom objects, not {obj}): assign converted leads with round_robin instead"
    )
