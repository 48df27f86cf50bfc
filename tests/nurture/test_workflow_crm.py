"""Workflow CRM steps end to end: queue and round-robin owners, set_field on either side,
and workflow write errors in the error queue (`leadbridge errors` shows and retries them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from sqlmodel import select
from typer.testing import CliRunner

from leadbridge.cli import app
from leadbridge.cli_sandbox import sandbox_config
from leadbridge.nurture.workflow_state import WorkflowState
from leadbridge.sandbox.salesforce import queues
from leadbridge.sandbox.salesforce.rejections import RejectRule
from leadbridge.store.db import Store
from leadbridge.store.models import Lineage
from leadbridge.sync.queue import list_errors
from leadbridge.sync.snapshot import Snapshot
from tests.nurture import workflow_world as ww
from tests.nurture.test_runner_sandbox import World, quiet

SQL_FLAG = {"kind": "field_changed", "field": "SQL_Flag__c", "equals": True}
FORM = {"kind": "event", "event": "form_submission"}
cli = CliRunner()


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[World]:
    yield from ww.sandbox_world(store, tmp_path, leads=16)


@pytest.fixture
def mailbox() -> Iterator[tuple[ww.Mailbox, int]]:
    yield from ww.smtp_server()


def field_sales(world: World) -> tuple[list[str], list[str]]:
    """(User ids, usernames) of the seeded field-sales users, in seed order."""
    users = world.sandbox.seeded.user_ids
    keys = [k for k in users if k.startswith("field_sales")]
    org = world.sandbox.salesforce.org
    with world.sandbox.salesforce.lock:
        names = [str(org.get("User", users[k])["Username"]) for k in keys]
    return [users[k] for k in keys], names


def owner(world: World, lead_id: str) -> str:
    """The Lead's owner as the Salesforce connector reads it."""
    found = world.salesforce.read_by_keys(
        "Lead", key_field="Id", keys=[lead_id], fields=["OwnerId"]
    )
    return str(found[0].values["OwnerId"])


def test_sql_handover_to_a_queue_gives_the_task_to_a_user(
    world: World, mailbox: tuple[ww.Mailbox, int]
) -> None:
    _, port = mailbox
    assert world.sync().outcome == "ok"
    _, lead_id = world.linked()[0]
    ww.set_sql_flag(world, lead_id)
    assert world.sync().outcome == "ok"
    flow = {
        "name": "sql to queue",
        "trigger": SQL_FLAG,
        "action": [
            {"kind": "assign_owner", "queue": "Field Sales Queue"},
            {"kind": "create_task", "subject": "First contact"},
        ],
    }
    report = ww.runner(world, ww.rules(flow), ww.settings(port)).run()
    assert (report.outcome, report.done) == ("ok", 1), report.executions
    queue_id = world.sandbox.seeded.queue_ids["field_sales_queue"]
    assert owner(world, lead_id) == queue_id
    org = world.sandbox.salesforce.org
    with world.sandbox.salesforce.lock:
        assert org.get("Group", queue_id)["Type"] == "Queue"
        tasks = [t for t in org.iter_records("Task") if t.get("WhoId") == lead_id]
    # A queue cannot own a Task: it stays with the integration user for the queue to pick up.
    assert [t["OwnerId"] for t in tasks] == [org.integration_user_id]
    assert "queue Field Sales Queue" in report.executions[0]["steps"][0]["detail"]
    assert quiet(world.sync())


def test_round_robin_continues_across_runs_and_restarts(
    world: World, mailbox: tuple[ww.Mailbox, int]
) -> None:
    _, port = mailbox
    assert world.sync().outcome == "ok"
    leads = [lead_id for _, lead_id in world.linked()[:4]]
    ids, names = field_sales(world)
    assert len(ids) == 3
    flow = {
        "name": "sql round robin",
        "trigger": SQL_FLAG,
        "action": [{"kind": "assign_owner", "round_robin": True}],
    }
    settings = ww.settings(port, field_sales_users=names)

    user_queries: list[str] = []
    real_query = world.salesforce.query_records

    def counted(object_name: str, soql: str) -> Any:
        if object_name == "User":
            user_queries.append(soql)
        return real_query(object_name, soql)

    world.salesforce.query_records = counted  # type: ignore[method-assign]

    def run_for(*chosen: str) -> list[str]:
        for lead_id in chosen:
            ww.set_sql_flag(world, lead_id)
        assert world.sync().outcome == "ok"
        # A new runner each time: nothing but the state store carries the rotation.
        user_queries.clear()
        report = ww.runner(world, ww.rules(flow), settings).run()
        assert report.done == len(chosen), report.executions
        assert len(user_queries) == 1  # the active users are read once a run, not per lead
        return [owner(world, lead_id) for lead_id in chosen]

    assert run_for(leads[0]) == [ids[0]]
    assert run_for(leads[1]) == [ids[1]]
    # Two in one run: the third user, then the rotation wraps to the first.
    assert sorted(run_for(leads[2], leads[3])) == sorted([ids[2], ids[0]])
    history = WorkflowState(store=world.store, pair=world.mapping.name).history()
    shown = [row.result[0]["detail"] for row in reversed(history)]
    assert [next(n for n in names if n in d) for d in shown] == [*names, names[0]]
    assert quiet(world.sync())


def test_set_field_on_either_side_reaches_both_and_the_next_sync_is_quiet(
    world: World, mailbox: tuple[ww.Mailbox, int]
) -> None:
    _, port = mailbox
    assert world.sync().outcome == "ok"
    hubspot_id, lead_id = world.linked()[0]
    world.event(hubspot_id, "form_submission")
    flow = {
        "name": "qualify on form",
        "trigger": FORM,
        "action": [
            {"kind": "set_field", "side": "hubspot", "field": "jobtitle", "value": "Head of IT"},
            {"kind": "set_field", "side": "salesforce", "field": "SQL_Flag__c", "value": True},
            # Not mapped: only Salesforce holds it, and the sync has nothing to compare.
            {
                "kind": "set_field",
                "side": "salesforce",
                "field": "Status",
                "value": "Working - Contacted",
            },
        ],
    }
    report = ww.runner(world, ww.rules(flow), ww.settings(port)).run()
    assert (report.outcome, report.done) == ("ok", 1), report.executions
    contact = world.hubspot.read_by_keys(
        "contacts",
        key_field="hs_object_id",
        keys=[hubspot_id],
        fields=["jobtitle", "leadbridge_sql_flag"],
    )[0].values
    lead = world.salesforce.read_by_keys(
        "Lead", key_field="Id", keys=[lead_id], fields=["Title", "SQL_Flag__c", "Status"]
    )[0].values
    assert (contact["jobtitle"], lead["Title"]) == ("Head of IT", "Head of IT")
    assert (contact["leadbridge_sql_flag"], lead["SQL_Flag__c"]) == (True, True)
    assert lead["Status"] == "Working - Contacted"
    link = WorkflowState(store=world.store, pair=world.mapping.name).links([hubspot_id])
    snap = Snapshot.from_data(link[hubspot_id].snapshot)
    assert (snap.hubspot["jobtitle"], snap.salesforce["Title"]) == ("Head of IT", "Head of IT")
    assert (snap.hubspot["leadbridge_sql_flag"], snap.salesforce["SQL_Flag__c"]) == (True, True)
    assert "Status" not in snap.salesforce
    with world.store.session() as session:
        written = session.exec(select(Lineage).where(Lineage.rule == "workflow:qualify on form"))
        fields = sorted(row.field for row in written)
    assert fields == sorted(["jobtitle", "Title", "SQL_Flag__c", "leadbridge_sql_flag", "Status"])
    assert quiet(world.sync())  # 0 creates, 0 updates, 0 failures on both sides
    # leadbridge's own writes are not field changes that trigger workflows.
    handover = {"name": "sql handover", "trigger": SQL_FLAG, "action": [{"kind": "add_to_list"}]}
    assert ww.runner(world, ww.rules(handover), ww.settings(port)).run().detected == 0


def config_file(world: World, database_url: str, tmp_path: Path, monkeypatch: Any) -> Path:
    """A config reaching the world's sandbox and store, for the CLI."""
    settings, environment = sandbox_config(world.sandbox.info())
    settings["state"] = {"database_url": database_url}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "250")
    path = tmp_path / "leadbridge.toml"
    path.write_text(tomli_w.dumps(settings), encoding="utf-8")
    return path


def test_workflow_errors_are_listed_apart_and_retried_on_request(
    world: World,
    mailbox: tuple[ww.Mailbox, int],
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, port = mailbox
    config = config_file(world, database_url, tmp_path, monkeypatch)

    def errors(*args: str) -> Any:
        return cli.invoke(app, ["--config", str(config), "errors", *args])

    assert world.sync().outcome == "ok"
    hubspot_id, lead_id = world.linked()[0]
    refuse = RejectRule(
        object="Lead", field="Status", value="Working - Contacted", message="Status is locked"
    )
    world.sandbox.salesforce.rejections.add(refuse)
    world.event(hubspot_id, "form_submission")
    flow = {
        "name": "mark contacted",
        "trigger": FORM,
        "action": [
            {
                "kind": "set_field",
                "side": "salesforce",
                "field": "Status",
                "value": "Working - Contacted",
            }
        ],
    }
    runner = ww.runner(world, ww.rules(flow), ww.settings(port))
    now = datetime.now(UTC)
    assert runner.run(now=now).failed == 1
    listed = errors("list", "--pair", "workflows", "--json")
    assert listed.exit_code == 1, listed.output  # open entries: alert
    (entry,) = json.loads(listed.stdout)
    assert (entry["pair"], entry["side"], entry["record_id"]) == (
        "workflows",
        "salesforce",
        lead_id,
    )
    assert (entry["operation"], entry["category"]) == ("set_field", "fix_data")
    assert "Status is locked" in entry["message"]
    assert entry["payload"]["__workflow"] == "mark contacted"
    assert entry["payload"]["__pair"] == world.mapping.name
    table = errors("list")
    assert "workflows" in table.stdout
    assert "set_field" in table.stdout
    # Neither the sync's pair nor scoring's holds it.
    assert errors("list", "--pair", world.mapping.name).exit_code == 0
    assert errors("list", "--pair", "scoring").exit_code == 0
    # Fixed in Salesforce, then retried on request: the failed step runs again, once.
    world.sandbox.salesforce.rejections.clear()
    assert runner.run(now=now + timedelta(minutes=1)).done == 0  # nobody asked yet
    assert errors("retry", str(entry["id"])).exit_code == 0
    again = runner.run(now=now + timedelta(minutes=2))
    assert (again.reopened, again.done) == (1, 1), again.executions
    lead = world.salesforce.read_by_keys("Lead", key_field="Id", keys=[lead_id], fields=["Status"])
    assert lead[0].values["Status"] == "Working - Contacted"
    assert errors("list", "--pair", "workflows").exit_code == 0  # resolved by the success
    assert runner.run(now=now + timedelta(minutes=3)).reopened == 0


def test_a_missing_queue_is_a_setup_error_in_the_queue(
    world: World, mailbox: tuple[ww.Mailbox, int]
) -> None:
    _, port = mailbox
    assert world.sync().outcome == "ok"
    _, lead_id = world.linked()[0]
    before = owner(world, lead_id)
    ww.set_sql_flag(world, lead_id)
    assert world.sync().outcome == "ok"
    flow = {
        "name": "sql to a typo",
        "trigger": SQL_FLAG,
        "action": [{"kind": "assign_owner", "queue": "Feild Sales Queue"}],
    }
    report = ww.runner(world, ww.rules(flow), ww.settings(port)).run()
    assert report.failed == 1
    assert owner(world, lead_id) == before
    (item,) = list_errors(world.store, pair="workflows")
    assert (item.category, item.operation, item.record_id) == ("fix_setup", "assign_owner", lead_id)
    assert "Feild Sales Queue" in item.message


def writes(world: World) -> dict[str, int]:
    """Calls the Salesforce emulator has counted so far that could change data."""
    calls = world.sandbox.salesforce.calls.snapshot()
    return {k: n for k, n in calls.items() if not k.startswith(("GET", "HEAD"))}


def test_a_queue_that_does_not_accept_leads_is_a_setup_error_and_nothing_is_sent(
    world: World, mailbox: tuple[ww.Mailbox, int]
) -> None:
    _, port = mailbox
    assert world.sync().outcome == "ok"
    (_, refused), (_, accepted) = world.linked()[:2]
    org = world.sandbox.salesforce.org
    with world.sandbox.salesforce.lock:
        partner = org.create(
            "Group", {"Name": "Partner Queue", "Type": "Queue"}, user_id=org.integration_user_id
        )
        # A queue for callbacks (Tasks) only: Salesforce would refuse it as a Lead's owner.
        org.create(
            "QueueSobject",
            {"QueueId": partner, "SobjectType": "Task"},
            user_id=org.integration_user_id,
        )
    before = owner(world, refused)
    ww.set_sql_flag(world, refused)
    assert world.sync().outcome == "ok"
    flow = {
        "name": "sql to partners",
        "trigger": SQL_FLAG,
        "action": [{"kind": "assign_owner", "queue": "Partner Queue"}],
    }
    runner = ww.runner(world, ww.rules(flow), ww.settings(port))
    sent = writes(world)
    report = runner.run()
    assert (report.failed, report.done) == (1, 0), report.executions
    assert writes(world) == sent  # the check came first: no write went out
    assert owner(world, refused) == before
    (item,) = list_errors(world.store, pair="workflows")
    assert (item.category, item.operation, item.record_id) == ("fix_setup", "assign_owner", refused)
    assert "'Partner Queue' does not accept Lead records" in item.message
    assert "'Partner Queue'" in item.hint
    assert "add Lead to its Supported Objects" in item.hint
    # Fixed in Setup: the same runner asks again on its next run (the answer is kept per run).
    with world.sandbox.salesforce.lock:
        queues.ensure_supported(org, [partner], "Lead", user_id=org.integration_user_id)
    ww.set_sql_flag(world, accepted)
    assert world.sync().outcome == "ok"
    again = runner.run()
    assert (again.done, again.failed) == (1, 0), again.executions
    assert owner(world, accepted) == partner


def test_round_robin_turns_advance_only_on_successful_assignments(
    world: World, mailbox: tuple[ww.Mailbox, int]
) -> None:
    _, port = mailbox
    assert world.sync().outcome == "ok"
    leads = [lead_id for _, lead_id in world.linked()[:7]]
    assert len(leads) == 7
    ids, names = field_sales(world)
    org = world.sandbox.salesforce.org
    flow = {
        "name": "sql round robin for the segment",
        "trigger": SQL_FLAG,
        "condition": [{"field": "Title", "in": ["Segment In"]}],
        "action": [{"kind": "assign_owner", "round_robin": True}],
    }
    settings = ww.settings(port, field_sales_users=names)
    refuse: list[RejectRule] = []

    def run_for(inside: list[str], outside: list[str]) -> Any:
        with world.sandbox.salesforce.lock:
            for lead_id in [*inside, *outside]:
                values: dict[str, Any] = {"SQL_Flag__c": True}
                if lead_id in inside:
                    values["Title"] = "Segment In"
                org.update("Lead", lead_id, values, user_id=org.integration_user_id)
        assert world.sync().outcome == "ok"
        for rule in refuse:
            world.sandbox.salesforce.rejections.add(rule)
        # A new runner each time: nothing but the state store carries the rotation.
        report = ww.runner(world, ww.rules(flow), settings).run()
        world.sandbox.salesforce.rejections.clear()
        refuse.clear()
        return report

    before = {lead_id: owner(world, lead_id) for lead_id in leads}
    first = run_for([leads[0]], [leads[1]])
    assert (first.done, first.skipped) == (1, 1), first.executions
    # In the segment, but Salesforce refuses the write (a validation rule on its e-mail).
    with world.sandbox.salesforce.lock:
        row = org.get("Lead", leads[2])
    assert row is not None
    email = row["Email"]
    refuse.append(RejectRule(object="Lead", field="Email", value=email, message="Locked"))
    second = run_for([leads[2], leads[3]], [])
    assert (second.done, second.failed) == (1, 1), second.executions
    third = run_for([leads[5]], [leads[4]])
    assert (third.done, third.skipped) == (1, 1), third.executions
    fourth = run_for([leads[6]], [])
    assert fourth.done == 1, fourth.executions
    assigned = [owner(world, leads[n]) for n in (0, 3, 5, 6)]
    assert assigned == [ids[0], ids[1], ids[2], ids[0]]
    for n in (1, 2, 4):  # skipped or refused: untouched
        assert owner(world, leads[n]) == before[leads[n]]
