"""`leadbridge setup plan|apply` against the sandbox: lists, creates, is idempotent, records."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from leadbridge.config import load_config
from leadbridge.connectors.base import FieldSpec, FieldType
from leadbridge.errors import ConfigError
from leadbridge.setup.fields import hubspot_specs, salesforce_specs
from leadbridge.store.db import Store
from leadbridge.store.models import ProvisioningRecord
from tests.setup.conftest import Org

EVERY_FIELD = {
    ("salesforce", obj, spec.name) for obj in ("Lead", "Contact") for spec in salesforce_specs()
} | {("hubspot", "contacts", spec.name) for spec in hubspot_specs()}


def test_plan_on_a_fresh_org_lists_every_field_and_changes_nothing(lite_org: Org) -> None:
    code, report = lite_org.json("setup", "plan")
    assert code == 0
    assert report["applied"] is False
    created = {
        (a["system"], a["object"], a["field"]) for a in report["actions"] if a["action"] == "create"
    }
    assert created >= EVERY_FIELD
    granted = {a["field"] for a in report["actions"] if a["action"] == "grant_access"}
    assert {spec.name for spec in salesforce_specs()} <= granted
    lead = lite_org.connectors()["salesforce"].describe("Lead")
    assert lead.field("MQL_Score__c") is None
    text = lite_org.cli("setup", "plan")
    assert "BANT_Status__c" in text.output
    assert "change(s) to make" in text.output


def test_apply_creates_every_field_records_it_and_a_second_apply_changes_nothing(
    org: Org,
) -> None:
    code, first = org.json("setup", "apply")
    assert code == 0, first
    assert first["applied"] is True
    done = {(a["system"], a["object"], a["field"]) for a in first["actions"]}
    assert done >= EVERY_FIELD
    assert first["changes"] >= len(EVERY_FIELD)
    code, second = org.json("setup", "apply")
    assert code == 0
    assert second["changes"] == 0
    assert {a["action"] for a in second["actions"]} == {"ok"}
    store = Store.open(database_url=org.database_url)
    try:
        with store.session() as session:
            rows = session.exec(select(ProvisioningRecord)).all()
    finally:
        store.close()
    assert len(rows) == first["changes"]
    recorded = {(r.side, r.object_name, r.field_name) for r in rows}
    assert recorded >= EVERY_FIELD


def test_after_apply_the_fields_are_visible_through_describe_and_soql(lite_org: Org) -> None:
    assert lite_org.cli("setup", "apply").exit_code == 0
    connectors = lite_org.connectors()
    names = [spec.name for spec in salesforce_specs()]
    for obj in ("Lead", "Contact"):
        schema = connectors["salesforce"].describe(obj)
        for name in names:
            found = schema.field(name)
            assert found is not None, (obj, name)
            assert found.updateable, (obj, name)
    bant = connectors["salesforce"].describe("Lead").field("BANT_Status__c")
    assert bant is not None
    assert "Budget Confirmed" in bant.picklist_values
    pages = list(connectors["salesforce"].read_changes("Lead", cursor=None, fields=names))
    records = [r for page in pages for r in page.records]
    assert records
    assert set(names) <= set(records[0].values)
    contacts = connectors["hubspot"].describe("contacts")
    assert all(contacts.field(spec.name) for spec in hubspot_specs())


def test_a_field_of_the_wrong_type_is_a_conflict_with_a_fix_and_exit_1(lite_org: Org) -> None:
    hubspot = lite_org.connectors()["hubspot"]
    wrong = FieldSpec("leadbridge_mql_score", "Score as text", FieldType.STRING)
    hubspot.ensure_fields("contacts", [wrong], apply=True)
    result = lite_org.cli("setup", "apply", "--json")
    assert result.exit_code == 1
    assert '"conflict"' in result.stdout
    assert "never retypes" in result.stdout
    again = lite_org.connectors()["hubspot"].describe("contacts").field("leadbridge_mql_score")
    assert again is not None
    assert again.type is FieldType.STRING


def test_field_names_come_from_the_config(lite_org: Org) -> None:
    lite_org.write(
        {"fields": {"salesforce_mql_score": "Lead_Score__c", "hubspot_mql_score": "lb_score"}}
    )
    code, report = lite_org.json("setup", "plan")
    assert code == 0
    fields = {a["field"] for a in report["actions"]}
    assert {"Lead_Score__c", "lb_score"} <= fields
    assert "MQL_Score__c" not in fields


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ('salesforce_sql_flag = "SQL_Flag"', "__c"),
        ('salesforce_sql_flag = "SQL__Flag__c"', "single underscores"),
        ('hubspot_sql_flag = "Leadbridge_SQL"', "lower-case"),
        ('hubspot_sql_flag = "leadbridge_mql_score"', "used twice"),
    ],
)
def test_bad_field_names_are_config_errors(tmp_path: Path, line: str, needle: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f"[fields]\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert needle in str(caught.value)
    assert "fields" in str(caught.value)
