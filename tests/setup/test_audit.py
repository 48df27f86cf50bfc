"""`leadbridge mappings audit|show`: one purposely broken mapping per kind of finding."""

from __future__ import annotations

import csv
import io
import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leadbridge.config_setup import FieldSettings
from leadbridge.connectors.base import Connector, Side
from leadbridge.connectors.factory import hubspot_from_sandbox, salesforce_from_sandbox
from leadbridge.sandbox.runtime import RunningSandbox, SandboxOptions
from leadbridge.setup.audit import MATRIX, audit
from leadbridge.setup.findings import Finding
from leadbridge.setup.provisioning import apply_setup, provisioned_fields
from leadbridge.store.db import Store
from leadbridge.sync.mapping import PairMapping, parse_mapping
from tests.setup.conftest import Org

SHIPPED = Path(__file__).resolve().parents[2] / "mappings" / "contact_lead.toml"
BASE_FIELDS = [
    {"hubspot": "email", "salesforce": "Email", "transforms": [{"kind": "truncate", "length": 80}]},
    {
        "hubspot": "lastname",
        "salesforce": "LastName",
        "salesforce_default": "-",
        "transforms": [{"kind": "truncate", "length": 80}],
    },
    {
        "hubspot": "company",
        "salesforce": "Company",
        "salesforce_default": "-",
        "transforms": [{"kind": "truncate", "length": 255}],
    },
]


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[Side, Connector]]:
    """One sandbox with `setup apply` done; the audits below only read it."""
    folder = tmp_path_factory.mktemp("audit")
    with RunningSandbox(options=SandboxOptions(folder=folder / "sbx", leads=5)) as sandbox:
        info = sandbox.info()
        connectors: dict[Side, Connector] = {
            "salesforce": salesforce_from_sandbox(info),
            "hubspot": hubspot_from_sandbox(info),
        }
        store = Store.open(database_url=f"sqlite:///{folder / 'state.db'}")
        apply_setup(connectors=connectors, fields=FieldSettings(), store=store)
        store.close()
        sandbox.salesforce.org.create_custom_field(
            {
                "FullName": "Lead.Hidden_Score__c",
                "Metadata": {"type": "Number", "label": "Hidden", "precision": 6, "scale": 0},
            },
            user_id="005000000000001AAA",
        )
        yield connectors


def mapping(*fields: dict[str, Any], name: str = "broken", base: bool = True) -> PairMapping:
    """The shipped mapping's header with these [[fields]] (after the three basic ones)."""
    data = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    data["name"] = name
    data["fields"] = [*(BASE_FIELDS if base else []), *fields]
    return parse_mapping(data, source=f"{name}.toml")


def run(connectors: dict[Side, Connector], *mappings: PairMapping) -> list[Finding]:
    return audit(mappings=list(mappings), connectors=connectors)


def kinds(findings: list[Finding], kind: str) -> list[Finding]:
    return [f for f in findings if f.kind == kind]


def test_the_shipped_mapping_is_clean_after_setup_apply(applied: dict[Side, Connector]) -> None:
    shipped = parse_mapping(tomllib.loads(SHIPPED.read_text(encoding="utf-8")), source="x")
    findings = run(applied, shipped)
    assert [f for f in findings if f.severity != "info"] == []


def test_the_basic_mapping_has_no_findings(applied: dict[Side, Connector]) -> None:
    assert [f for f in run(applied, mapping()) if f.severity != "info"] == []


def test_missing_field(applied: dict[Side, Connector]) -> None:
    found = kinds(
        run(applied, mapping({"hubspot": "no_such_prop", "salesforce": "Title"})), "missing_field"
    )
    found = [f for f in found if f.severity != "info"]  # Contact has no Company: only info
    assert [(f.severity, f.side, f.field, f.entry) for f in found] == [
        ("error", "hubspot", "no_such_prop", "fields[3]")
    ]
    assert "setup apply" in found[0].fix


def test_invisible_field(applied: dict[Side, Connector]) -> None:
    found = run(
        applied, mapping({"hubspot": "leadbridge_mql_score", "salesforce": "Hidden_Score__c"})
    )
    invisible = kinds(found, "invisible_field")
    assert [(f.severity, f.field) for f in invisible] == [("error", "Hidden_Score__c")]
    assert "grant" in invisible[0].fix
    assert [f for f in kinds(found, "missing_field") if f.severity != "info"] == []


def test_type_incompatibility(applied: dict[Side, Connector]) -> None:
    found = run(applied, mapping({"hubspot": "leadbridge_sql_flag", "salesforce": "MQL_Score__c"}))
    bad = kinds(found, "type_incompatible")
    assert [(f.severity, f.field) for f in bad] == [("error", "MQL_Score__c")]
    assert "double" in bad[0].message
    assert "bool" in bad[0].message
    assert MATRIX[("number", "number")] == "ok"
    lossy = run(
        applied,
        mapping(
            {
                "hubspot": "leadbridge_mql_date",
                "salesforce": "MQL_Date__c",
                "transforms": [{"kind": "trim"}],
            },
            {"hubspot": "jobtitle", "salesforce": "MQL_Score__c", "direction": "to_hubspot"},
        ),
    )
    assert [(f.severity, f.field) for f in kinds(lossy, "type_incompatible")] == [
        ("warning", "MQL_Score__c")
    ]


def test_picklist_values_with_no_translation_are_each_listed(
    applied: dict[Side, Connector],
) -> None:
    table = {
        "subscriber": "Subscriber",
        "lead": "Lead",
        "marketingqualifiedlead": "MQL",
        "salesqualifiedlead": "SQL",
        "opportunity": "Opportunity",
        "customer": "Customer",
    }
    found = run(
        applied,
        mapping(
            {
                "hubspot": "lifecyclestage",
                "salesforce": "Lead_Stage__c",
                "type": "picklist",
                "translate": table,
            }
        ),
    )
    untranslated = {f.side: f for f in kinds(found, "untranslated_value")}
    assert untranslated["salesforce"].severity == "error"
    assert "'evangelist', 'other'" in untranslated["salesforce"].message
    # The way back is the reversed table, so Salesforce's two extra stages lack one too.
    assert "'Evangelist', 'Other'" in untranslated["hubspot"].message
    bant = run(
        applied, mapping({"hubspot": "leadbridge_bant_status", "salesforce": "BANT_Status__c"})
    )
    lacking = kinds(bant, "untranslated_value")
    assert {f.side for f in lacking} == {"salesforce", "hubspot"}
    assert all(
        "'Budget Confirmed'" in f.message or "'budget_confirmed'" in f.message for f in lacking
    )


def test_length_truncation_risk(applied: dict[Side, Connector]) -> None:
    found = run(
        applied,
        mapping(
            {
                "hubspot": "jobtitle",
                "salesforce": "Title",
                "transforms": [{"kind": "truncate", "length": 500}],
            },
            {"hubspot": "firstname", "salesforce": "FirstName"},
        ),
    )
    risks = {f.field: f for f in kinds(found, "truncation_risk")}
    assert risks["Title"].severity == "warning"
    assert "500" in risks["Title"].message
    assert "128" in risks["Title"].message
    assert risks["FirstName"].severity == "info"
    assert "40" in risks["FirstName"].fix


def test_mapped_target_read_only(applied: dict[Side, Connector]) -> None:
    found = run(
        applied,
        mapping(
            {
                "hubspot": "hs_additional_emails",
                "salesforce": "Description",
                "direction": "to_hubspot",
            }
        ),
    )
    assert [(f.severity, f.side, f.field) for f in kinds(found, "read_only_target")] == [
        ("error", "hubspot", "hs_additional_emails")
    ]


def test_required_on_create_but_unmapped(applied: dict[Side, Connector]) -> None:
    found = run(
        applied,
        mapping(BASE_FIELDS[0], {"hubspot": "lastname", "salesforce": "LastName"}, base=False),
    )
    required = {(f.severity, f.field) for f in kinds(found, "required_unmapped")}
    assert required == {("error", "Company"), ("warning", "LastName")}


def test_two_sources_writing_one_target(applied: dict[Side, Connector]) -> None:
    one = mapping({"hubspot": "jobtitle", "salesforce": "Title"}, name="one")
    two = mapping({"hubspot": "jobtitle", "salesforce": "Title"}, name="two")
    found = kinds(run(applied, one, two), "two_writers")
    assert {(f.pair, f.side, f.field.lower()) for f in found if f.field.lower() == "title"} == {
        ("one", "salesforce", "title"),
        ("two", "salesforce", "title"),
    }
    assert all(f.severity == "error" for f in found)


def test_direction_conflict(applied: dict[Side, Connector]) -> None:
    found = run(
        applied,
        mapping(
            {
                "hubspot": "jobtitle",
                "salesforce": "Title",
                "direction": "to_salesforce",
                "rule": "prefer_salesforce",
                "transforms": [{"kind": "truncate", "length": 128}],
            }
        ),
    )
    conflict = kinds(found, "direction_conflict")
    assert len(conflict) == 1
    assert conflict[0].severity == "warning"
    assert "contradicts direction" in conflict[0].message


def test_drift_since_the_last_setup_apply(lite_org: Org) -> None:
    assert lite_org.cli("setup", "apply").exit_code == 0
    clean = lite_org.cli("mappings", "audit", "--json", "--fail-on", "warning")
    assert clean.exit_code == 0, clean.output
    org = lite_org.sandbox.salesforce.org
    with lite_org.sandbox.salesforce.lock:
        assert org.delete_custom_field("Lead", "SQL_Flag")
    result = lite_org.cli("mappings", "audit", "--json")
    assert result.exit_code == 1
    findings = json.loads(result.stdout)["findings"]
    drift = [f for f in findings if f["kind"] == "drift"]
    assert [(d["severity"], d["object_name"], d["field"]) for d in drift] == [
        ("error", "Lead", "SQL_Flag__c")
    ]
    assert "since `setup apply`" in drift[0]["message"]


def test_exit_code_follows_fail_on_and_csv_lists_findings(lite_org: Org) -> None:
    assert lite_org.cli("setup", "apply").exit_code == 0
    broken = lite_org.config.parent / "broken.toml"
    data = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    data["fields"] = [
        *BASE_FIELDS,
        {
            "hubspot": "jobtitle",
            "salesforce": "Title",
            "direction": "to_salesforce",
            "rule": "prefer_salesforce",
        },
    ]
    import tomli_w

    broken.write_text(tomli_w.dumps(data), encoding="utf-8")
    lite_org.write({"sync": {"pairs": [{"name": "contact_lead", "mapping": str(broken)}]}})
    assert lite_org.cli("mappings", "audit").exit_code == 0
    assert lite_org.cli("mappings", "audit", "--fail-on", "warning").exit_code == 1
    as_csv = lite_org.cli("mappings", "audit", "--csv", "--pair", "contact_lead")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert {"direction_conflict", "truncation_risk"} <= {r["kind"] for r in rows}
    assert lite_org.cli("mappings", "audit", "--pair", "nope").exit_code == 2


def test_mappings_show_prints_field_direction_rule_transform(lite_org: Org) -> None:
    code, shown = lite_org.json("mappings", "show")
    assert code == 0
    rows = {row["salesforce"]: row for row in shown["contact_lead"]}
    assert rows["Title"]["direction"] == "both"
    assert "truncate(128)" in rows["Title"]["transform"]
    assert rows["Lead_Stage__c"]["rule"] == "newest"
    assert "translate(8" in rows["Lead_Stage__c"]["transform"]
    assert rows["NumberOfEmployees"]["transform"].startswith("to_salesforce: bands(7)")
    text = lite_org.cli("mappings", "show", "--pair", "contact_lead")
    assert text.exit_code == 0
    assert "contact_lead" in text.output


def test_the_shipped_mapping_audit_runs_clean_through_the_cli(lite_org: Org) -> None:
    before = lite_org.cli("mappings", "audit", "--json")
    assert before.exit_code == 1
    assert any(f["kind"] == "missing_field" for f in json.loads(before.stdout)["findings"])
    assert lite_org.cli("setup", "apply").exit_code == 0
    after = lite_org.cli("mappings", "audit", "--fail-on", "warning")
    assert after.exit_code == 0, after.output
    assert provisioned_fields  # the records drift is measured against exist (see test above)
