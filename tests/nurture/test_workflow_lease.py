"""Workflow CRM steps take the pair's lease (`pair:<name>`), as sync and scoring do.

They rewrite link snapshots, so a sync running at the same moment could lose an update. A held
lease leaves those steps due for the next run (outcome "locked", nothing waits); e-mail-only
executions go on; while a workflow run does CRM steps, a sync of the pair is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from leadbridge.nurture.workflow_state import WorkflowState
from leadbridge.store.db import Store
from leadbridge.sync.runner import SyncReport
from leadbridge.sync.state import SyncState
from tests.nurture import workflow_world as ww
from tests.nurture.test_runner_sandbox import World, quiet

FORM = {"kind": "event", "event": "form_submission"}
ENROL = {"name": "enrol", "trigger": FORM, "action": [{"kind": "add_to_list", "list": "Forms"}]}
NOTIFY = {
    "name": "notify",
    "trigger": FORM,
    "action": [{"kind": "notify_email", "subject_en": "Form from {company}"}],
}


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[World]:
    yield from ww.sandbox_world(store, tmp_path)


@pytest.fixture
def mailbox() -> Iterator[tuple[ww.Mailbox, int]]:
    yield from ww.smtp_server()


def test_a_held_lease_leaves_crm_steps_due_and_reports_locked(
    world: World, mailbox: tuple[ww.Mailbox, int]
) -> None:
    box, port = mailbox
    assert world.sync().outcome == "ok"
    hubspot_id, _ = world.linked()[0]
    world.event(hubspot_id, "form_submission")
    lease = f"pair:{world.mapping.name}"
    other = SyncState(store=world.store, pair=world.mapping.name)
    assert other.acquire_lease(name=lease, holder="a-sync-elsewhere", ttl=timedelta(minutes=30))
    runner = ww.runner(world, ww.rules(ENROL, NOTIFY), ww.settings(port))
    now = datetime.now(UTC)
    held = runner.run(now=now)
    assert (held.outcome, held.locked, held.done) == ("locked", 1, 1), held.executions
    assert lease in held.message
    assert len(box.messages) == 1  # the e-mail-only workflow needs no lease
    assert hubspot_id not in ww.members(world, "Forms")
    rows = WorkflowState(store=world.store, pair=world.mapping.name).history(lead=hubspot_id)
    waiting = next(r for r in rows if r.workflow == "enrol")
    assert (waiting.status, waiting.attempts, waiting.progress) == ("pending", 0, 0)
    # The other holder still has it: the locked run did not take or drop it.
    assert not other.acquire_lease(name=lease, holder="someone-else", ttl=timedelta(minutes=1))
    other.release_lease(name=lease, holder="a-sync-elsewhere")
    free = runner.run(now=now + timedelta(minutes=1))
    assert (free.outcome, free.done, free.locked) == ("ok", 1, 0), free.executions
    assert hubspot_id in ww.members(world, "Forms")
    assert len(box.messages) == 1
    # The run gave the lease back when it was done.
    assert other.acquire_lease(name=lease, holder="a-sync-elsewhere", ttl=timedelta(minutes=1))


def test_a_sync_is_refused_while_workflow_crm_steps_run(
    world: World, mailbox: tuple[ww.Mailbox, int]
) -> None:
    _, port = mailbox
    assert world.sync().outcome == "ok"
    hubspot_id, lead_id = world.linked()[0]
    world.event(hubspot_id, "form_submission")
    during: list[SyncReport] = []

    def sync_meanwhile(_body: Any) -> None:
        during.append(world.sync())  # in the receiver's thread, while the run waits on it

    receiver = contextmanager(ww.webhook_server)
    with receiver(ww.Hooks(on_post=sync_meanwhile)) as (_, url):
        flow = {
            "name": "tell, then retitle",
            "trigger": FORM,
            "action": [
                {"kind": "webhook", "url": url, "text_en": "form from {company}"},
                {"kind": "set_field", "side": "hubspot", "field": "jobtitle", "value": "Buyer"},
            ],
        }
        report = ww.runner(world, ww.rules(flow), ww.settings(port)).run()
        assert (report.outcome, report.done) == ("ok", 1), report.executions
    assert [r.outcome for r in during] == ["locked"]
    assert world.lead(lead_id)["Title"] == "Buyer"
    assert quiet(world.sync())  # after the run the sync proceeds, and finds nothing to do
