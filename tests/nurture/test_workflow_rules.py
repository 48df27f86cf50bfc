"""The workflows rules file: shipped defaults, and one clear message per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadbridge.cli import app
from leadbridge.errors import ConfigError
from leadbridge.nurture.workflow_rules import load_workflows, parse_delay, parse_workflows

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_defaults_are_the_articles_automations() -> None:
    rules = load_workflows(ROOT / "rules" / "workflows.toml")
    by_name = {w.name: w for w in rules.workflows}
    mql = by_name["mql handover"]
    assert mql.trigger.kind == "score_crossed"
    assert [a.kind for a in mql.actions] == ["notify_email", "add_to_list"]
    assert set(mql.actions[0].subject) == {"en", "ja"}
    sql = by_name["sql handover"]
    assert (sql.trigger.field, sql.trigger.equals) == ("SQL_Flag__c", True)
    assert [a.kind for a in sql.actions] == ["assign_owner", "create_task"]
    assert by_name["webinar invitation after download"].trigger.delay == parse_delay("3d")
    assert by_name["case study after email open"].trigger.delay == parse_delay("7d")
    assert len(by_name["bant complete"].trigger.all_of) == 4
    assert len(by_name["it case study"].segments) == 3


@pytest.mark.parametrize(
    ("workflow", "key", "needle"),
    [
        ({"name": "a", "trigger": {"kind": "score_crosed"}, "action": [{"kind": "add_to_list"}]},
         "workflow[0].trigger.kind", "did you mean 'score_crossed'"),
        ({"name": "a", "trigger": {"kind": "event", "event": "download", "delay": "3d"},
          "action": [{"kind": "add_to_list"}]}, "workflow[0].trigger.event", "use one of"),
        ({"name": "a", "trigger": {"kind": "event", "event": "email_open", "delay": "3 days"},
          "action": [{"kind": "add_to_list"}]}, "workflow[0].trigger.delay", '"3d"'),
        ({"name": "a", "trigger": {"kind": "score_crossed"},
          "action": [{"kind": "notify_email", "subject_en": "Hi {frist_name}"}]},
         "workflow[0].action[0].subject_en", "did you mean 'first_name'"),
        ({"name": "a", "trigger": {"kind": "field_changed", "field": "SQL_Flag__c"},
          "action": [{"kind": "add_to_list"}]}, "workflow[0].trigger", "equals = true"),
        ({"name": "a", "trigger": {"kind": "score_crossed"},
          "action": [{"kind": "assign_owner"}]}, "workflow[0].action[0]", "queue"),
        ({"name": "a", "trigger": {"kind": "score_crossed"}, "action": [{"kind": "add_to_list",
          "lst": "x"}]}, "workflow[0].action[0].lst", "did you mean 'list'"),
    ],
)  # fmt: skip
def test_a_mistake_gives_one_message_with_key_and_fix(
    workflow: dict[str, object], key: str, needle: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_workflows({"workflow": [workflow]}, source="bad.toml")
    assert caught.value.key == key
    assert needle in str(caught.value) + (caught.value.hint or "")


def test_cli_list_and_a_bad_file(tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(app, ["workflows", "list", "--json", "--file",
                               str(ROOT / "rules" / "workflows.toml")])  # fmt: skip
    assert good.exit_code == 0, good.output
    assert "mql handover" in good.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[[workflow]]\nname = "x"\n[workflow.trigger]\nkind = "event"\n'
                   'event = "email_opne"\n[[workflow.action]]\nkind = "add_to_list"\n',
                   encoding="utf-8")  # fmt: skip
    result = runner.invoke(app, ["workflows", "list", "--file", str(bad)])
    assert result.exit_code == 2
    text = result.output + (result.stderr if result.stderr_bytes else "")
    assert "workflow[0].trigger.event" in text
    assert "email_open" in text
