"""Mapping files: the shipped mapping loads cleanly; each kind of mistake names file, key, fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadbridge.errors import ConfigError
from leadbridge.sync.mapping import load_mapping

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "mappings" / "contact_lead.toml"

BASE = """
name = "t"
[hubspot]
object = "contacts"
[salesforce]
object = "Lead"
[match]
hubspot_external_id = "leadbridge_salesforce_id"
salesforce_external_id = "HubSpot_Contact_Id__c"
[[fields]]
hubspot = "firstname"
salesforce = "FirstName"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_mapping_loads_cleanly_and_maps_the_funnel_fields() -> None:
    mapping = load_mapping(SHIPPED)
    assert mapping.warnings == ()
    pairs = {(f.hubspot, f.salesforce): f for f in mapping.fields}
    for pair in [
        ("email", "Email"), ("firstname", "FirstName"), ("lastname", "LastName"),
        ("company", "Company"), ("jobtitle", "Title"), ("phone", "Phone"),
        ("industry", "Industry"), ("numemployees", "NumberOfEmployees"),
        ("lifecyclestage", "Lead_Stage__c"), ("leadbridge_mql_score", "MQL_Score__c"),
        ("leadbridge_sql_flag", "SQL_Flag__c"), ("leadbridge_bant_status", "BANT_Status__c"),
        ("leadbridge_mql_date", "MQL_Date__c"),
        ("leadbridge_score_breakdown", "Score_Breakdown__c"),
    ]:  # fmt: skip
        assert pair in pairs, pair
    assert pairs[("leadbridge_sql_flag", "SQL_Flag__c")].rule == "prefer_salesforce"
    assert pairs[("leadbridge_bant_status", "BANT_Status__c")].rule == "prefer_salesforce"
    assert pairs[("leadbridge_mql_score", "MQL_Score__c")].direction == "both"
    assert mapping.salesforce_external_id == "HubSpot_Contact_Id__c"
    assert mapping.hubspot_external_id == "leadbridge_salesforce_id"
    assert mapping.include_to_salesforce.allows({"lifecyclestage": "marketingqualifiedlead"})
    assert not mapping.include_to_salesforce.allows({"lifecyclestage": "subscriber"})
    assert mapping.include_to_hubspot.allows({})
    assert mapping.delete_policy == "unlink"
    industry = pairs[("industry", "Industry")]
    assert industry.convert("INFORMATION_TECHNOLOGY_AND_SERVICES", to="salesforce") == "Technology"
    assert industry.convert("Technology", to="hubspot") == "COMPUTER_SOFTWARE"
    bant = pairs[("leadbridge_bant_status", "BANT_Status__c")]
    need = bant.convert(frozenset({"need_confirmed"}), to="salesforce")
    assert need == frozenset({"Need Confirmed"})
    assert "IsConverted" in mapping.read_fields("salesforce")


MISTAKES = [
    pytest.param("[hubspot\n", "", "not valid TOML", "line", id="broken-toml"),
    pytest.param(BASE + "[delete]\npolicy = 'unlink'\n[delte]\n", "delte", "unknown key",
                 "did you mean 'delete'?", id="unknown-top-key"),
    pytest.param(BASE + 'rulee = "newest"\n', "fields[0].rulee", "unknown key",
                 "did you mean 'rule'?", id="unknown-field-key"),
    pytest.param(BASE + 'rule = "newer"\n', "fields[0].rule", "must be one of",
                 "did you mean 'newest'?", id="bad-rule"),
    pytest.param(BASE + 'direction = "sideways"\n', "fields[0].direction", "'to_hubspot'",
                 "use one of", id="bad-direction"),
    pytest.param(BASE.replace('salesforce = "FirstName"\n', ""), "fields[0].salesforce",
                 "required", 'add salesforce = "..."', id="missing-field-name"),
    pytest.param(BASE.replace('salesforce_external_id = "HubSpot_Contact_Id__c"\n', ""),
                 "match.salesforce_external_id", "required", "add salesforce_external_id",
                 id="missing-external-id"),
    pytest.param(BASE + "[delete]\npolicy = 'remove'\n", "delete.policy", "'propagate'",
                 "use one of", id="bad-delete-policy"),
    pytest.param(BASE + 'transforms = [{ kind = "trimm" }]\n', "fields[0].transforms[0].kind",
                 "must be one of", "did you mean 'trim'?", id="unknown-transform"),
    pytest.param(BASE + 'transforms = [{ kind = "truncate" }]\n',
                 "fields[0].transforms[0].length", "truncate needs length", "add length",
                 id="truncate-without-length"),
    pytest.param(BASE + 'transforms = [{ kind = "trim", places = 2 }]\n',
                 "fields[0].transforms[0].places", "takes no places", "remove places",
                 id="parameter-on-wrong-kind"),
    pytest.param(BASE + 'transforms = [{ kind = "datetime_to_date", timezone = "Tokio" }]\n',
                 "fields[0].transforms[0].timezone", "unknown time zone", "Asia/Tokyo",
                 id="bad-timezone"),
    pytest.param(BASE + '[[fields]]\nhubspot = "givenname"\nsalesforce = "FirstName"\n',
                 "fields[1].salesforce", "written by two entries", "set direction",
                 id="same-target-twice"),
    pytest.param(BASE + '[[fields]]\nhubspot = "firstname"\nsalesforce = "FirstName"\n',
                 "fields[1]", "mapped twice", "keep one", id="field-mapped-twice"),
    pytest.param(BASE + 'type = "string"\ntranslate = { a = "A" }\n', "fields[0].translate",
                 "translate table on a string field", "type = 'picklist'",
                 id="translate-on-non-picklist"),
    pytest.param(BASE + 'translate = { a = "A", b = "A" }\n', "fields[0].translate",
                 "many-to-one", "translate_to_hubspot", id="many-to-one-without-reverse"),
    pytest.param(BASE + 'translate = { a = 1 }\n', "fields[0].translate", "text to text",
                 "write {", id="translate-not-text"),
    pytest.param(BASE + '[include]\nto_salesforce = "some"\n', "include.to_salesforce",
                 "must be 'all', 'none' or a table", "in = [", id="bad-inclusion"),
    pytest.param(BASE + '[include]\nto_salesforce = { field = "x", in = ["a"] }\n',
                 "include.to_salesforce.field", "unknown key", "property",
                 id="inclusion-wrong-key"),
    pytest.param(BASE + '[[fields]]\nhubspot = "leadbridge_salesforce_id"\nsalesforce = "Id"\n',
                 "fields[1].hubspot", "match external id", "remove this", id="external-id-mapped"),
    pytest.param(BASE.split("[[fields]]")[0], "fields", "one or more [[fields]]",
                 "add [[fields]]", id="no-fields"),
    pytest.param(BASE.replace('name = "t"', 'name = "Contact Lead"'), "name", "wrong form",
                 "lower-case", id="bad-name"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "key", "problem", "fix"), MISTAKES)
def test_each_mistake_names_file_key_and_fix(
    tmp_path: Path, text: str, key: str, problem: str, fix: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_mapping(path)
    message = str(caught.value)
    assert str(path) in message
    assert key in message
    assert problem in message
    assert "Fix:" in message
    assert fix in message
    assert "Traceback" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_mapping(tmp_path / "nope.toml")


def test_several_problems_are_listed_together(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + 'rule = "x"\ndirection = "y"\n')
    with pytest.raises(ConfigError) as caught:
        load_mapping(path)
    text = str(caught.value)
    assert "2 problems" in text
    assert "fields[0].rule" in text
    assert "fields[0].direction" in text


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ('direction = "to_hubspot"\nrule = "prefer_hubspot"\n', "fields[0].rule", "contradicts"),
        ('direction = "to_salesforce"\nrule = "prefer_salesforce"\n', "fields[0].rule",
         "contradicts"),
        ('direction = "to_salesforce"\ntranslate_to_hubspot = { A = "a" }\n',
         "fields[0].translate_to_hubspot", "never used"),
        ('direction = "to_hubspot"\nsalesforce_default = "x"\n', "fields[0].salesforce_default",
         "never used"),
        ('on_unknown = "pass"\n', "fields[0].on_unknown", "never used"),
        ('direction = "to_hubspot"\n'
         'transforms = [{ kind = "trim", direction = "to_salesforce" }]\n',
         "fields[0].transforms[0].direction", "never runs"),
    ],
)  # fmt: skip
def test_doubtful_choices_are_warnings_not_errors(
    tmp_path: Path, extra: str, key: str, words: str
) -> None:
    path = write(tmp_path, BASE + extra)
    mapping = load_mapping(path)
    (warning,) = mapping.warnings
    assert str(path) in warning
    assert key in warning
    assert words in warning
    assert "Fix:" in warning


def test_defaults_by_direction() -> None:
    import tomllib

    from leadbridge.sync.mapping import parse_mapping

    text = BASE + 'direction = "to_hubspot"\n[[fields]]\nhubspot = "x"\nsalesforce = "X"\n'
    mapping = parse_mapping(tomllib.loads(text), source="m.toml")
    assert [f.rule for f in mapping.fields] == ["prefer_salesforce", "newest"]
    assert mapping.include_to_salesforce.mode == "all"
    assert mapping.delete_policy == "unlink"
