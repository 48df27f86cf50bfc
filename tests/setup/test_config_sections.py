"""The setup sections of the configuration: documented, defaulted, validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadbridge.config import load_config
from leadbridge.config_setup import (
    DashboardSettings,
    FieldSettings,
    KpiSettings,
    ScoringSettings,
    SlaSettings,
    WorkflowSettings,
)
from leadbridge.errors import ConfigError
from leadbridge.setup.fields import hubspot_specs, salesforce_specs

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def test_every_setup_key_is_documented_in_the_example() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    models = (
        FieldSettings,
        ScoringSettings,
        SlaSettings,
        KpiSettings,
        WorkflowSettings,
        DashboardSettings,
    )
    for model in models:
        for name in model.model_fields:
            # A sub-table is documented by its [section.name] header.
            documented = f"{name} =" in text or f".{name}]" in text
            assert documented, f"{model.__name__}.{name} missing from the example"


def test_defaults_are_the_article_and_the_catalogue() -> None:
    settings = load_config(EXAMPLE).settings
    assert settings.scoring.threshold == 50
    assert settings.sla.first_contact_hours == 24
    assert settings.kpi.target_mql_to_sql_rate is None
    assert [s.name for s in salesforce_specs(fields=settings.fields)] == [
        s.name for s in salesforce_specs()
    ]
    assert next(s.name for s in hubspot_specs()) == "leadbridge_mql_score"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[kpi]\ntarget_sql_win_rate = 20\n", "write 0.3 for 30%"),
        ("[workflows]\nnotify_inside_sales = true\n", "inside_sales_recipients"),
        ("[workflows]\ninside_sales_recipients = ['nobody']\n", "wrong form"),
        ("[dashboard]\nurl = 'ftp://x'\n", "dashboard.url"),
        ("[scoring]\nthreshhold = 50\n", "did you mean 'threshold'?"),
        ("[sla]\nfirst_contact_hours = 0\n", "sla.first_contact_hours"),
    ],
)
def test_bad_setup_values_name_the_key(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert needle in str(caught.value) + caught.value.hint
