"""Workflows end to end: sandbox CRMs, a real SMTP server and webhook receiver, both stores."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from leadbridge.nurture.flow import WorkflowReport
from leadbridge.nurture.workflow_state import WorkflowState
from leadbridge.nurture.workflows import execution_key
from leadbridge.store.db import Store
from tests.nurture import workflow_world as ww
from tests.nurture.test_runner_sandbox import World, quiet

MQL_FLOW = {
    "name": "mql handover",
    "trigger": {"kind": "score_crossed"},
    "action": [
        {
            "kind": "notify_email",
            "subject_en": "New MQL {company} ({score})",
            "body_en": "{first_name} {last_name} reached {score}.",
            "subject_ja": "新しい MQL {company} ({score})",
            "body_ja": "{last_name} 様",
        },
        {"kind": "add_to_list", "list": "MQL nurturing"},
    ],
}


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[World]:
    yield from ww.sandbox_world(store, tmp_path)


@pytest.fixture
def mailbox() -> Iterator[tuple[ww.Mailbox, int]]:
    yield from ww.smtp_server()


@pytest.fixture
def hooks() -> Iterator[tuple[ww.Hooks, str]]:
    yield from ww.webhook_server()


def test_crossing_50_sends_one_email_however_often_it_runs(
    world: World, mailbox: tuple[ww.Mailbox, int], hooks: tuple[ww.Hooks, str]
) -> None:
    box, port = mailbox
    received, url = hooks
    flow = {
        **MQL_FLOW,
        "action": [
            *MQL_FLOW["action"],
            {"kind": "webhook", "url": url, "text_en": "MQL {company}"},
        ],
    }
    hot, _ = ww.make_mql(world)
    runner = ww.runner(world, ww.rules(flow), ww.settings(port))
    first = runner.run()
    assert (first.outcome, first.done) == ("ok", 1), first.executions
    again = [runner.run(), ww.runner(world, ww.rules(flow), ww.settings(port)).run()]
    assert [r.done for r in again] == [0, 0]
    assert len(box.messages) == 1
    message = box.messages[0]
    assert message["To"] == ww.RECIPIENT
    assert message["Subject"].startswith("New MQL ")
    assert message["Message-ID"].endswith("@leadbridge>")
    assert hot in ww.members(world, "MQL nurturing")
    assert len(received.received) == 1
    headers, body = received.received[0]
    assert headers["Idempotency-Key"].endswith(".2")
    assert body["lead"]["hubspot_id"] == hot
    assert quiet(world.sync())


def test_a_crash_after_sending_never_sends_twice(
    world: World, mailbox: tuple[ww.Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    box, port = mailbox
    hot, _ = ww.make_mql(world)
    runner = ww.runner(world, ww.rules(MQL_FLOW), ww.settings(port))
    real_save = WorkflowState.save

    def crash(self: WorkflowState, row_id: int, **kwargs: Any) -> bool:
        if kwargs.get("progress") == 1:  # the e-mail went out; "done" is never recorded
            raise KeyboardInterrupt("power cut")
        return real_save(self, row_id, **kwargs)

    monkeypatch.setattr(WorkflowState, "save", crash)
    now = datetime.now(UTC)
    with pytest.raises(KeyboardInterrupt):
        runner.run(now=now)
    monkeypatch.setattr(WorkflowState, "save", real_save)
    assert len(box.messages) == 1
    # Another process starts at once: the row is still claimed by the crashed run.
    restarted = ww.runner(world, ww.rules(MQL_FLOW), ww.settings(port))
    assert restarted.run(now=now + timedelta(minutes=1)).done == 0
    # After the claim TTL it is taken over: the e-mail is reported unknown, not resent; the
    # idempotent list step still runs.
    later = restarted.run(now=now + timedelta(minutes=20))
    assert (later.unknown, later.outcome) == (1, "partial")
    assert len(box.messages) == 1
    history = WorkflowState(store=world.store, pair=world.mapping.name).history(lead=hot)
    steps = {s["step"]: s["status"] for s in history[0].result}
    assert steps == {0: "unknown", 1: "done"}
    assert history[0].status == "unknown"
    assert hot in ww.members(world, "MQL nurturing")
    assert restarted.run(now=now + timedelta(hours=2)).unknown == 0


def test_a_crash_before_sending_sends_once_after_restart(
    world: World, mailbox: tuple[ww.Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    box, port = mailbox
    ww.make_mql(world)
    runner = ww.runner(world, ww.rules(MQL_FLOW), ww.settings(port))
    import leadbridge.nurture.action_delivery as delivery

    def down(*_args: Any, **_kwargs: Any) -> Any:
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(delivery.smtplib, "SMTP", down)
    now = datetime.now(UTC)
    assert runner.run(now=now).retrying == 1
    monkeypatch.undo()
    assert runner.run(now=now + timedelta(minutes=1)).done == 0  # waiting for its retry time
    assert runner.run(now=now + timedelta(minutes=11)).done == 1
    assert len(box.messages) == 1


def test_concurrent_runs_send_one_email(world: World, mailbox: tuple[ww.Mailbox, int]) -> None:
    box, port = mailbox
    ww.make_mql(world)
    runners = [ww.runner(world, ww.rules(MQL_FLOW), ww.settings(port)) for _ in range(2)]
    start = threading.Barrier(2)
    reports: list[WorkflowReport] = []

    def go(index: int) -> None:
        start.wait()
        reports.append(runners[index].run())

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(r.done for r in reports) == 1
    assert len(box.messages) == 1


def test_sql_flag_true_hands_over_to_field_sales_with_a_task(
    world: World, mailbox: tuple[ww.Mailbox, int]
) -> None:
    _, port = mailbox
    assert world.sync().outcome == "ok"
    _, lead_id = world.linked()[0]
    org = world.sandbox.salesforce.org
    users = world.sandbox.seeded.user_ids
    field_sales = [k for k in users if k.startswith("field_sales")]
    with world.sandbox.salesforce.lock:
        names = [str(org.get("User", users[k])["Username"]) for k in field_sales]
        org.update("Lead", lead_id, {"SQL_Flag__c": True}, user_id=org.integration_user_id)
    assert world.sync().outcome == "ok"
    flow = {
        "name": "sql handover",
        "trigger": {"kind": "field_changed", "field": "SQL_Flag__c", "equals": True},
        "action": [
            {"kind": "assign_owner", "round_robin": True},
            {"kind": "create_task", "subject": "First contact"},
        ],
    }
    runner = ww.runner(world, ww.rules(flow), ww.settings(port, field_sales_users=names))
    now = datetime.now(UTC)
    report = runner.run(now=now)
    assert report.done == 1, report.executions
    lead = world.lead(lead_id)
    assert lead["OwnerId"] == users[field_sales[0]]
    with world.sandbox.salesforce.lock:
        tasks = [t for t in org.iter_records("Task") if t.get("WhoId") == lead_id]
    assert len(tasks) == 1
    assert tasks[0]["OwnerId"] == users[field_sales[0]]
    due = tasks[0]["ActivityDate"]
    assert (date.fromisoformat(due) if isinstance(due, str) else due) == (
        now + timedelta(hours=24)
    ).date()
    assert runner.run(now=now + timedelta(hours=1)).done == 0
    assert quiet(world.sync())
    assert runner.run(now=now + timedelta(hours=2)).detected == 0


def test_a_download_fires_the_three_day_step_once_after_the_delay(
    world: World, mailbox: tuple[ww.Mailbox, int]
) -> None:
    _, port = mailbox
    assert world.sync().outcome == "ok"
    hubspot_id, _ = world.linked()[0]
    world.event(hubspot_id, "form_submission")
    flow = {
        "name": "webinar invitation",
        "trigger": {"kind": "event", "event": "form_submission", "delay": "3d"},
        "action": [{"kind": "add_to_list", "list": "Webinar invitation"}],
    }
    runner = ww.runner(world, ww.rules(flow), ww.settings(port))
    now = datetime.now(UTC)
    assert runner.run(now=now).detected == 1
    assert runner.run(now=now + timedelta(days=2, hours=23)).done == 0
    assert hubspot_id not in ww.members(world, "Webinar invitation")
    planned = runner.dry_run(now=now + timedelta(days=3, minutes=1))
    assert [p.verdict for p in planned] == ["fires now"]
    # A restart in between: a new runner finds the step in the store.
    restarted = ww.runner(world, ww.rules(flow), ww.settings(port))
    assert restarted.run(now=now + timedelta(days=3, minutes=1)).done == 1
    assert hubspot_id in ww.members(world, "Webinar invitation")
    assert restarted.run(now=now + timedelta(days=4)).done == 0
    (row,) = WorkflowState(store=world.store, pair=world.mapping.name).history(lead=hubspot_id)
    assert row.occurrence.startswith("event:")
    assert row.idempotency_key == execution_key(
        pair=world.mapping.name, workflow="webinar invitation", lead=hubspot_id,
        occurrence=row.occurrence,
    )  # fmt: skip


def test_segments_skip_leads_outside_them(world: World, mailbox: tuple[ww.Mailbox, int]) -> None:
    _, port = mailbox
    assert world.sync().outcome == "ok"
    hubspot_id, _ = world.linked()[0]
    world.event(hubspot_id, "email_open")
    flow = {
        "name": "it case study",
        "trigger": {"kind": "event", "event": "email_open"},
        "condition": [
            {"field": "email", "pattern": "@"},  # holds: only the event condition can fail
            {"event": "form_submission"},
        ],
        "action": [{"kind": "add_to_list", "list": "IT case studies"}],
    }
    report = ww.runner(world, ww.rules(flow), ww.settings(port)).run()
    assert report.skipped == 1
    assert hubspot_id not in ww.members(world, "IT case studies")
