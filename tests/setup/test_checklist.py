"""`leadbridge setup checklist|attest`: 16 items with evidence; attestations persist and expire."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from leadbridge.config import load_config
from leadbridge.setup.checklist import attest, run_checklist
from leadbridge.setup.checklist_items import ITEMS
from leadbridge.setup.provisioning import connectors_from_config
from leadbridge.store.columns import utcnow
from leadbridge.store.db import Store
from tests.setup.conftest import Org

ATTESTED = (
    "kpi-agreement",
    "weekly-review",
    "pdca",
    "inside-sales",
    "bant-manual",
    "quarterly-review",
)


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/dashboard" else 404)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def dashboard() -> Iterator[str]:
    """A local web server standing in for the shared dashboard."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def configure_everything(org: Org, dashboard: str) -> None:
    rules = org.config.parent / "scoring.toml"
    rules.write_text(
        '[[behaviour]]\nevent = "download"\npoints = 10\n'
        '[[behaviour]]\nevent = "webinar"\npoints = 15\n'
        '[[attribute]]\nfield = "industry"\npoints = 20\n',
        encoding="utf-8",
    )
    org.write(
        {
            "scoring": {"threshold": 55, "rules_file": str(rules)},
            "sla": {"first_contact_hours": 24},
            "kpi": {"target_mql_to_sql_rate": 0.3, "target_sql_win_rate": 0.2},
            "workflows": {
                "notify_inside_sales": True,
                "inside_sales_recipients": ["is@example.com"],
                "handover_to_field_sales": True,
                "nurture_list": "MQL nurturing",
            },
            "dashboard": {"url": f"{dashboard}/dashboard"},
        }
    )


def test_checklist_json_lists_16_items_with_status_and_evidence(lite_org: Org) -> None:
    code, report = lite_org.json("setup", "checklist")
    assert code == 1
    items = report["items"]
    assert [i["item"] for i in items] == list(range(1, 17))
    assert all(i["status"] in ("ok", "missing", "attested", "expired") for i in items)
    assert all(i["evidence"] and i["title"] for i in items)
    by = {i["item"]: i for i in items}
    assert by[3]["status"] == "missing"
    assert any("salesforce Lead" in e and "to create" in e for e in by[3]["evidence"])
    assert "setup apply" in by[3]["fix"]
    assert by[2]["status"] == "missing"
    assert "default 50" in by[2]["evidence"][0]
    assert by[9]["evidence"] == ["no attestation recorded in the state store"]
    assert by[10]["status"] == "missing"
    assert report["open"] == 16


def test_everything_configured_applied_and_attested_passes(lite_org: Org, dashboard: str) -> None:
    configure_everything(lite_org, dashboard)
    assert lite_org.cli("setup", "apply").exit_code == 0
    for slug in ATTESTED:
        done = lite_org.cli("setup", "attest", slug, "--by", "Sato", "--note", "wiki/p1")
        assert done.exit_code == 0, done.output
    code, report = lite_org.json("setup", "checklist")
    statuses = {i["item"]: i["status"] for i in report["items"]}
    assert code == 0, report
    assert {statuses[i.number] for i in ITEMS if i.kind == "verified"} == {"ok"}
    assert {statuses[i.number] for i in ITEMS if i.kind != "verified"} == {"attested"}
    by = {i["item"]: i for i in report["items"]}
    assert any("HTTP 200" in e for e in by[10]["evidence"])
    assert any("2 behaviour and 1 attribute" in e for e in by[1]["evidence"])
    assert any("0 to create" in e for e in by[3]["evidence"])
    assert by[16]["attested_by"] == "Sato"
    japanese = lite_org.cli("setup", "checklist", "--lang", "ja", "--json")
    assert "確認済み" in japanese.stdout
    assert "四半期" in japanese.stdout
    assert japanese.exit_code == 0


def test_an_unreachable_dashboard_is_missing(lite_org: Org, dashboard: str) -> None:
    lite_org.write({"dashboard": {"url": f"{dashboard}/gone"}})
    _, report = lite_org.json("setup", "checklist")
    item = report["items"][9]
    assert item["status"] == "missing"
    assert "HTTP 404" in item["evidence"][0]


def test_attestations_persist_across_runs(org: Org) -> None:
    first = org.cli("setup", "attest", "9", "--by", "Tanaka", "--note", "Mondays 10:00")
    assert first.exit_code == 0, first.output
    _, report = org.json("setup", "checklist")
    weekly = report["items"][8]
    assert weekly["status"] == "attested"
    assert weekly["attested_by"] == "Tanaka"
    assert "Mondays 10:00" in weekly["evidence"][0]
    store = Store.open(database_url=org.database_url)
    try:
        results = run_checklist(
            loaded=load_config(org.config),
            store=store,
            connect=lambda: connectors_from_config(load_config(org.config)),
        )
    finally:
        store.close()
    assert results[8].status == "attested"


def test_an_old_quarterly_review_is_expired(org: Org) -> None:
    store = Store.open(database_url=org.database_url)
    try:
        attest(store=store, ref="quarterly-review", by="Suzuki", at=utcnow() - timedelta(days=91))
        attest(store=store, ref="pdca", by="Suzuki", at=utcnow() - timedelta(days=400))
    finally:
        store.close()
    _, report = org.json("setup", "checklist")
    by = {i["item"]: i for i in report["items"]}
    assert by[16]["status"] == "expired"
    assert "more than 90 days ago" in by[16]["evidence"][0]
    assert by[13]["status"] == "attested"  # only the quarterly review expires
    assert org.cli("setup", "attest", "16", "--by", "Suzuki").exit_code == 0
    _, again = org.json("setup", "checklist")
    assert again["items"][15]["status"] == "attested"


def test_attest_refuses_verified_and_unknown_items(lite_org: Org) -> None:
    verified = lite_org.cli("setup", "attest", "3", "--by", "Sato")
    assert verified.exit_code == 1
    assert "verified by leadbridge" in verified.output
    unknown = lite_org.cli("setup", "attest", "weekly", "--by", "Sato")
    assert unknown.exit_code == 1
    assert "weekly-review" in unknown.output


def test_kpi_agreement_needs_targets_as_well_as_the_attestation(lite_org: Org) -> None:
    assert lite_org.cli("setup", "attest", "kpi-agreement", "--by", "Sato").exit_code == 0
    _, report = lite_org.json("setup", "checklist")
    kpi = report["items"][6]
    assert kpi["status"] == "missing"
    assert "kpi.target_mql_to_sql_rate is not set" in kpi["evidence"][0]
