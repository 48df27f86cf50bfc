"""Rules-file mistakes: each gives one clear message (file, dotted key, fix), no traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from leadbridge.cli import app
from leadbridge.errors import ConfigError
from leadbridge.nurture.rules import load_rules, parse_rules

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def problem(data: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_rules(data, source="rules.toml")
    return caught.value


def rule(**keys: Any) -> dict[str, Any]:
    return {"name": "r", "event": "form_submission", "points": 10, **keys}


@pytest.mark.parametrize(
    ("data", "key", "says", "fix"),
    [
        ({"behavior": []}, "behavior", "unknown key", "did you mean 'behaviour'?"),
        ({"behaviour": [rule(evnt="x")]}, "behaviour[0].evnt", "unknown key", "'event'"),
        ({"behaviour": [rule(event="webinar")]}, "behaviour[0].event", "unknown event type",
         "webinar_attended"),
        ({"behaviour": [rule(points="10")]}, "behaviour[0].points", "whole number", "no quotes"),
        ({"behaviour": [rule(points=-5)]}, "behaviour[0].points", "above 0", "[[negative]]"),
        ({"behaviour": [rule(cap=5)]}, "behaviour[0].cap", "below one event's points",
         "cap = 10"),
        ({"behaviour": [rule(half_life_days="30")]}, "behaviour[0].half_life_days",
         "number above 0", "half_life_days = 30"),
        ({"attribute": [{"name": "a", "field": "x", "points": 5}]}, "attribute[0]",
         "no condition", "in = [...]"),
        ({"attribute": [{"name": "a", "field": "t", "pattern": ["(unclosed"], "points": 5}]},
         "attribute[0].pattern[0]", "regular expression", "escape"),
        ({"attribute": [{"name": "a", "field": "n", "min": 100, "max": 50, "points": 5}]},
         "attribute[0].max", "below min", "swap"),
        ({"attribute": [{"name": "a", "in": ["x"], "points": 5}]}, "attribute[0].field",
         "required", 'field = "..."'),
        ({"negative": [{"name": "n", "field": "email", "domain_in": ["a.b"], "points": 5}]},
         "negative[0].points", "below 0", "points = -5"),
        ({"threshold": "50"}, "threshold", "integer", "threshold = 1"),
        ({"behaviour": [rule(), rule()]}, "behaviour[1].name", "used twice", "its own name"),
    ],
)  # fmt: skip
def test_each_mistake_gives_one_clear_message(
    data: dict[str, Any], key: str, says: str, fix: str
) -> None:
    error = problem(data)
    assert error.source == "rules.toml"
    assert error.key == key, str(error)
    assert says in error.message
    assert fix in error.hint


def test_several_mistakes_are_listed_together() -> None:
    error = problem({"behaviour": [rule(points="x", cap=0)]})
    assert "2 problems" in error.message
    assert "behaviour[0].points" in error.message
    assert "behaviour[0].cap" in error.message


def test_broken_toml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("[[behaviour]\nname = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    assert "line 1" in caught.value.message


def test_the_shipped_rules_match_the_checklist_format() -> None:
    rules = load_rules(ROOT / "rules" / "scoring.toml")
    assert {r.event: r.points for r in rules.behaviour} == {
        "form_submission": 10,
        "webinar_attended": 15,
        "page_view": 20,
    }
    by_group: dict[str, list[int]] = {}
    for attr in rules.attribute:
        by_group.setdefault(attr.group or "", []).append(attr.points)
    assert {g: (min(p), max(p)) for g, p in by_group.items()} == {
        "industry": (10, 20),
        "size": (10, 20),
        "title": (5, 15),
    }
    assert all(n.points < 0 for n in rules.negative)


def test_cli_rules_check(tmp_path: Path) -> None:
    good = runner.invoke(
        app, ["score", "rules", "check", "--file", str(ROOT / "rules/scoring.toml")]
    )
    assert good.exit_code == 0, good.output
    assert "3 behaviour, 9 attribute and 4 negative" in good.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[[behaviour]]\nname = "x"\nevent = "pageview"\npoints = 5\n', encoding="utf-8")
    result = runner.invoke(app, ["score", "rules", "check", "--file", str(bad)])
    assert result.exit_code == 2
    assert "behaviour[0].event" in result.output
    assert "did you mean 'page_view'?" in result.output
    assert "Traceback" not in result.output
    missing = runner.invoke(app, ["score", "rules", "check", "--file", str(tmp_path / "no.toml")])
    assert missing.exit_code == 2
    assert "does not exist" in missing.output
