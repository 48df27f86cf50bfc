"""The scheduler's nurture step end to end: `leadbridge run` syncs a pair, then its hook scores
the leads and fires the due workflows, here an MQL e-mail through STARTTLS and a login.

Everything comes from a config file, as in production: the sandbox connectors, the state store,
[scoring] rules, [workflows] rules and [workflows.smtp] with a CA path relative to the file and
the password as {env = ...}.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w
from sqlmodel import col, select
from typer.testing import CliRunner

from leadbridge.cli import app
from leadbridge.cli_sandbox import sandbox_config
from leadbridge.config import load_config
from leadbridge.connectors.factory import hubspot_from_sandbox, salesforce_from_sandbox
from leadbridge.nurture.workflow_state import WorkflowState
from leadbridge.sandbox.runtime import RunningSandbox, SandboxOptions
from leadbridge.setup.fields import hubspot_specs, salesforce_specs
from leadbridge.store.db import Store
from leadbridge.store.models import LeadScore, Link, Run
from leadbridge.sync.jobs import SyncJobs
from leadbridge.sync.scheduler import EmbeddedScheduler
from tests.nurture import workflow_world as ww
from tests.nurture.test_runner_sandbox import ROOT

PAIR = "contact_lead"
MQL_FLOW = {
    "name": "mql handover",
    "trigger": {"kind": "score_crossed"},
    "action": [
        {"kind": "notify_email", "subject_en": "New MQL {company} ({score})", "body_en": "{email}"},
        {"kind": "add_to_list", "list": "MQL nurturing"},
    ],
}


@pytest.fixture
def jobs(
    store: Store, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SyncJobs, RunningSandbox, ww.SecureMailbox]]:
    monkeypatch.setenv(ww.SMTP_PASSWORD_ENV, ww.SMTP_PASSWORD)
    options = SandboxOptions(folder=tmp_path / "sbx", leads=6)
    with (
        RunningSandbox(options=options) as sandbox,
        ww.SecureMailbox(folder=tmp_path / "mail-tls") as box,
    ):
        info = sandbox.info()
        salesforce_from_sandbox(info).ensure_fields("Lead", salesforce_specs(), apply=True)
        hubspot_from_sandbox(info).ensure_fields("contacts", hubspot_specs(), apply=True)
        settings, environment = sandbox_config(info)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        (tmp_path / "certs").mkdir()
        shutil.copy(box.ca_file, tmp_path / "certs" / "mail-ca.pem")
        (tmp_path / "workflows.toml").write_text(
            tomli_w.dumps({"workflow": [MQL_FLOW]}), encoding="utf-8"
        )
        settings["state"] = {"database_url": database_url}
        settings["scoring"] = {"rules_file": str(ROOT / "rules" / "scoring.toml")}
        settings["workflows"] = {
            "rules_file": "workflows.toml",
            "inside_sales_recipients": [ww.RECIPIENT],
            "smtp": {
                "host": "127.0.0.1",
                "port": box.port,
                "sender": "leadbridge@example.com",
                "starttls": True,
                "ca_file": "certs/mail-ca.pem",  # relative to the config file
                "username": ww.SMTP_USER,
                "password": {"env": ww.SMTP_PASSWORD_ENV},
            },
        }
        config = tmp_path / "leadbridge.toml"
        config.write_text(tomli_w.dumps(settings), encoding="utf-8")
        yield SyncJobs.from_config(load_config(config), store=store), sandbox, box


def test_run_syncs_scores_and_sends_the_mql_email_once(
    jobs: tuple[SyncJobs, RunningSandbox, ww.SecureMailbox],
) -> None:
    sync_jobs, sandbox, box = jobs
    assert sync_jobs.run(PAIR).outcome == "ok"  # a first sync links the seeded leads
    with sync_jobs.store.session() as session:
        hot = session.exec(select(Link.hubspot_id).order_by(col(Link.id))).first()
    assert hot is not None
    portal = sandbox.hubspot.portal
    portal.update_object(
        object_type="contacts",
        object_id=hot,
        body={"properties": {"jobtitle": "CTO", "industry": "COMPUTER_SOFTWARE"}},
    )
    for kind, props in [
        ("form_submission", {}),
        ("webinar_attended", {}),
        ("page_view", {"url": "https://example.com/pricing"}),
    ]:
        portal.record_event(object_id=hot, event_type=kind, properties=props)

    scheduler = EmbeddedScheduler(jobs=sync_jobs, holder="test-run")
    scheduler.start()  # the pair's first sync runs at once, then the hook
    try:
        for _ in range(600):  # a bounded wait for the background job, not a timing check
            if box.messages:
                break
            scheduler.wait(seconds=0.1)
    finally:
        scheduler.stop()

    assert len(box.messages) == 1
    message = box.messages[0]
    assert message["To"] == ww.RECIPIENT
    assert message["Subject"].startswith("New MQL ")
    assert box.sessions == [{"tls": True, "authenticated": True}]
    with sync_jobs.store.session() as session:
        score = session.exec(select(LeadScore).where(col(LeadScore.hubspot_id) == hot)).first()
    assert score is not None
    assert score.is_mql, score.breakdown
    history = WorkflowState(store=sync_jobs.store, pair=PAIR).history(lead=hot)
    assert [(r.workflow, r.status) for r in history] == [("mql handover", "done")]
    assert [s["status"] for s in history[0].result] == ["done", "done"]
    # The scheduler calls the same hook after every sync: nothing fires twice.
    assert sync_jobs.run(PAIR).outcome == "ok"
    scheduler.after_sync(PAIR)
    assert len(box.messages) == 1
    # The daily decay pass ran with the first hook only.
    with sync_jobs.store.session() as session:
        kinds = [r.kind for r in session.exec(select(Run).where(col(Run.pair) == PAIR)).all()]
    assert kinds.count("scoring_decay") == 1
    assert kinds.count("scoring") == 2


def test_the_cli_scores_then_fires_due_steps_once(
    jobs: tuple[SyncJobs, RunningSandbox, ww.SecureMailbox], tmp_path: Path
) -> None:
    sync_jobs, sandbox, box = jobs
    config = str(tmp_path / "leadbridge.toml")
    assert sync_jobs.run(PAIR).outcome == "ok"
    with sync_jobs.store.session() as session:
        hot = session.exec(select(Link.hubspot_id).order_by(col(Link.id))).first()
    assert hot is not None
    portal = sandbox.hubspot.portal
    portal.update_object(
        object_type="contacts", object_id=hot, body={"properties": {"jobtitle": "CTO"}}
    )
    for kind in ("form_submission", "webinar_attended", "webinar_attended", "form_submission"):
        portal.record_event(object_id=hot, event_type=kind, properties={})
    scored = CliRunner().invoke(app, ["--config", config, "score", "--json"])
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.stdout)["run"]["new_mqls"] >= 1

    fired = CliRunner().invoke(app, ["--config", config, "workflows", "run", "--json"])
    assert fired.exit_code == 0, fired.output
    report = json.loads(fired.stdout)
    assert (report["outcome"], report["failed"], report["unknown"]) == ("ok", 0, 0)
    assert report["done"] >= 1
    assert len(box.messages) == 1
    again = CliRunner().invoke(app, ["--config", config, "workflows", "run"])
    assert again.exit_code == 0, again.output
    assert "0 step(s) done" in again.stdout
    assert len(box.messages) == 1
