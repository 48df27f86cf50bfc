"""`make demo`: the main job against the built-in sandbox on an embedded SQLite state store.

Starts both emulators in-process (seeded demo data), provisions leadbridge's fields through the
connectors, syncs, then acts as marketing and sales (one edit each way, one conflict), syncs
again to show the values crossing and the conflict resolved by its rule, and a third time to
show that nothing echoes back. What is not built yet is listed, honestly.
"""

from __future__ import annotations

from collections.abc import Callable
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from leadbridge.config_setup import SmtpSettings, WorkflowSettings
from leadbridge.connectors.base import Connector, ProvisionPlan
from leadbridge.connectors.factory import hubspot_from_sandbox, salesforce_from_sandbox
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.nurture.flow import WorkflowRunner
from leadbridge.nurture.rules import load_rules
from leadbridge.nurture.runner import ScoringRunner
from leadbridge.nurture.workflow_rules import load_workflows
from leadbridge.sandbox.mail import MailSink
from leadbridge.sandbox.runtime import RunningSandbox, SandboxOptions
from leadbridge.setup.fields import hubspot_specs, salesforce_specs
from leadbridge.store.columns import utcnow
from leadbridge.store.db import Store
from leadbridge.store.models import Lineage, Link, Run
from leadbridge.store.summary import summarize
from leadbridge.sync.mapping import PairMapping, load_mapping
from leadbridge.sync.runner import SyncReport, run_pair
from leadbridge.sync.state import SyncState

SHIPPED_MAPPING = Path(__file__).resolve().parents[1] / "mappings" / "contact_lead.toml"
SHIPPED_RULES = Path(__file__).resolve().parents[1] / "rules" / "scoring.toml"
SHIPPED_WORKFLOWS = Path(__file__).resolve().parents[1] / "rules" / "workflows.toml"
DEMO_INSIDE_SALES = "inside-sales@leadbridge-demo.example"
DEMO_SENDER = "leadbridge@leadbridge-demo.example"

Say = Callable[[str], None]


def _provision(connector: Connector, object_name: str, specs: Any, say: Say) -> ProvisionPlan:
    plan = connector.ensure_fields(object_name, specs, apply=False)
    say(
        f"{connector.side}: plan for {object_name} has {len(plan.changes)} change(s) "
        f"({', '.join(sorted({a.kind for a in plan.changes})) or 'none'})"
    )
    connector.ensure_fields(object_name, specs, apply=True)
    again = connector.ensure_fields(object_name, specs, apply=False)
    say(f"{connector.side}: applied; a second plan has {len(again.changes)} change(s)")
    return plan


def _read_all(connector: Connector, object_name: str, fields: list[str]) -> int:
    return sum(
        len(page.records)
        for page in connector.read_changes(object_name, cursor=None, fields=fields)
    )


def _summary(report: SyncReport) -> str:
    parts = []
    for side, counts in report.sides.items():
        parts.append(
            f"{side} read {counts.read}, created {counts.created}, updated {counts.updated}, "
            f"conflicts {counts.conflicts}, failed {counts.failed}, calls {counts.api_calls}"
        )
    return f"{report.outcome}; " + "; ".join(parts)


def _edit_both_sides(sandbox: RunningSandbox, state: SyncState) -> dict[str, tuple[str, str]]:
    """Act as marketing and sales: one edit each way and one edit of the same field on both."""
    with state.store.session() as session:
        links = session.exec(select(Link).order_by(col(Link.id)).limit(3)).all()
        pairs = [(link.hubspot_id, link.salesforce_id) for link in links]
    portal = sandbox.hubspot.portal
    org = sandbox.salesforce.org
    (hs_a, _sf_a), (_hs_b, sf_b), (hs_c, sf_c) = pairs
    portal.update_object(
        object_type="contacts", object_id=hs_a, body={"properties": {"firstname": "Hanako"}}
    )
    with sandbox.salesforce.lock:
        org.update("Lead", sf_b, {"Title": "営業部長"}, user_id=org.integration_user_id)
        org.update("Lead", sf_c, {"Company": "Salesforce KK"}, user_id=org.integration_user_id)
    portal.update_object(
        object_type="contacts", object_id=hs_c, body={"properties": {"company": "HubSpot Inc"}}
    )
    return {"firstname": pairs[0], "jobtitle": pairs[1], "company": pairs[2]}


def _score(
    sandbox: RunningSandbox,
    store: Store,
    mapping: PairMapping,
    hubspot: HubSpotConnector,
    salesforce: SalesforceConnector,
    crossed: dict[str, tuple[str, str]],
) -> list[str]:
    """Act as a prospect (download, webinar, pricing page), score, show both systems."""
    hubspot_id, lead_id = crossed["jobtitle"]
    portal = sandbox.hubspot.portal
    portal.record_event(object_id=hubspot_id, event_type="form_submission")
    portal.record_event(object_id=hubspot_id, event_type="webinar_attended")
    portal.record_event(
        object_id=hubspot_id,
        event_type="page_view",
        properties={"url": "https://example.com/pricing"},
    )
    runner = ScoringRunner(
        mapping=mapping,
        rules=load_rules(SHIPPED_RULES),
        store=store,
        hubspot=hubspot,
        salesforce=salesforce,
    )
    report = runner.run()
    score = report.scores.get(hubspot_id)
    contact = portal.get_object(
        object_type="contacts",
        object_id=hubspot_id,
        properties=["leadbridge_mql_score", "lifecyclestage", "leadbridge_score_breakdown"],
    )["properties"]
    with sandbox.salesforce.lock:
        lead = sandbox.salesforce.org.get("Lead", lead_id) or {}
    lines = [
        f"scoring: {report.outcome}; {report.scored} scored, {report.new_mqls} new MQL(s), "
        f"writes HubSpot {report.written['hubspot']}, Salesforce {report.written['salesforce']}"
    ]
    if score is not None:
        lines.append(
            f"  contact {hubspot_id}: score {score.total} (MQL: {score.is_mql}); HubSpot "
            f"score {contact.get('leadbridge_mql_score')}, stage {contact.get('lifecyclestage')}; "
            f"Salesforce score {lead.get('MQL_Score__c')}, stage {lead.get('Lead_Stage__c')}"
        )
        lines.append(f"  breakdown: {contact.get('leadbridge_score_breakdown')}")
    return lines


def _hand_over(
    store: Store,
    mapping: PairMapping,
    hubspot: HubSpotConnector,
    salesforce: SalesforceConnector,
) -> list[str]:
    """Run the shipped workflows: the new MQL is e-mailed to inside sales and enrolled."""
    with MailSink() as mail:
        settings = WorkflowSettings(
            notify_inside_sales=True,
            inside_sales_recipients=[DEMO_INSIDE_SALES],
            nurture_list="MQL nurturing",
            smtp=SmtpSettings(host=mail.host, port=mail.port, sender=DEMO_SENDER, starttls=False),
        )
        runner = WorkflowRunner(
            rules=load_workflows(SHIPPED_WORKFLOWS),
            mapping=mapping,
            store=store,
            hubspot=hubspot,
            salesforce=salesforce,
            settings=settings,
        )
        report = runner.run()
        delivered = mail.received()
    lines = [
        f"workflows: {report.outcome}; {report.detected} trigger(s), {report.done} step(s) done, "
        f"{report.failed} failed"
    ]
    for message in delivered:
        subject = str(make_header(decode_header(str(message["Subject"]))))
        lines.append(f"  e-mail delivered to {message['To']}: {subject}")
    list_id = hubspot.lists.list_id("MQL nurturing")
    if list_id is not None:
        lines.append(f"  enrolled in HubSpot list 'MQL nurturing' (id {list_id})")
    return lines


def _show_crossings(
    store: Store,
    sandbox: RunningSandbox,
    report: SyncReport,
    crossed: dict[str, tuple[str, str]],
) -> list[str]:
    """Lineage lines of the demo's edits, as written by the second sync."""
    lines = []
    with store.session() as session:
        rows = session.exec(
            select(Lineage).where(col(Lineage.run_id) == report.run_id).order_by(col(Lineage.id))
        ).all()
    wanted = {"FirstName", "jobtitle", "company", "Company"}
    for row in rows:
        if row.field in wanted:
            lines.append(
                f"  {row.source_side} -> {row.target_side} {row.record_id}: {row.field} "
                f"{row.old_value!r} -> {row.new_value!r} (rule {row.rule})"
            )
    hubspot_id, lead_id = crossed["company"]
    in_hubspot = sandbox.hubspot.portal.get_object(
        object_type="contacts", object_id=hubspot_id, properties=["company"]
    )["properties"]["company"]
    with sandbox.salesforce.lock:
        lead = sandbox.salesforce.org.get("Lead", lead_id) or {}
    in_salesforce = lead.get("Company")
    lines.append(
        f"  conflict on Company (HubSpot said 'HubSpot Inc', Salesforce 'Salesforce KK'): "
        f"rule prefer_salesforce_unless_blank; now HubSpot {in_hubspot!r}, "
        f"Salesforce {in_salesforce!r}"
    )
    return lines


def run_demo(*, state_dir: Path, leads: int = 200, say: Say | None = None) -> dict[str, Any]:
    """Run the demo flow and return what happened, step by step."""
    steps: list[str] = []

    def note(line: str) -> None:
        steps.append(line)
        if say is not None:
            say(line)

    state_dir.mkdir(parents=True, exist_ok=True)
    store = Store.open(database_url=f"sqlite:///{state_dir / 'state.db'}")
    options = SandboxOptions(folder=state_dir / "sandbox", leads=leads)
    try:
        note(f"state store ready at {state_dir / 'state.db'} (schema at head)")
        with RunningSandbox(options=options) as sandbox:
            info = sandbox.info()
            note(
                f"sandbox up: Salesforce {info['salesforce']['instance_url']} with {leads} "
                f"leads, HubSpot {info['hubspot']['base_url']} with "
                f"{info['seed']['contacts']} contacts"
            )
            salesforce = salesforce_from_sandbox(info)
            hubspot = hubspot_from_sandbox(info)
            _provision(salesforce, "Lead", salesforce_specs(), note)
            _provision(hubspot, "contacts", hubspot_specs(), note)
            lead_count = _read_all(salesforce, "Lead", ["Email", "LastName", "Company"])
            contact_count = _read_all(hubspot, "contacts", ["email", "lastname", "company"])
            note(f"read {lead_count} Salesforce leads and {contact_count} HubSpot contacts")
            mapping = load_mapping(SHIPPED_MAPPING)
            state = SyncState(store=store, pair=mapping.name)

            def sync() -> SyncReport:
                return run_pair(
                    mapping=mapping, state=state, hubspot=hubspot, salesforce=salesforce
                )

            first = sync()
            note("first sync: " + _summary(first))
            crossed = _edit_both_sides(sandbox, state)
            second = sync()
            note("second sync: " + _summary(second))
            for line in _show_crossings(store, sandbox, second, crossed):
                note(line)
            third = sync()
            note("third sync (nothing changed): " + _summary(third))
            for line in _score(sandbox, store, mapping, hubspot, salesforce, crossed):
                note(line)
            for line in _hand_over(store, mapping, hubspot, salesforce):
                note(line)
            fourth = sync()
            note("sync after scoring (scores are not echoed back): " + _summary(fourth))
            calls = {
                "salesforce": salesforce.budget().calls_made,
                "hubspot": hubspot.budget().calls_made,
            }
            note(f"API calls in all: Salesforce {calls['salesforce']}, HubSpot {calls['hubspot']}")
        with store.session() as session:
            run = Run(
                kind="demo",
                outcome="ok",
                finished_at=utcnow(),
                counts={
                    "leads_read": lead_count,
                    "contacts_read": contact_count,
                    "sync_runs": [
                        first.as_dict(),
                        second.as_dict(),
                        third.as_dict(),
                        fourth.as_dict(),
                    ],
                },
                calls_salesforce=calls["salesforce"],
                calls_hubspot=calls["hubspot"],
            )
            session.add(run)
        note(f"recorded run {run.id} in the state store")
        summary = summarize(store)
    finally:
        store.close()
    return {
        "steps": steps,
        "not_yet": [],
        "calls": calls,
        "summary": summary,
    }
