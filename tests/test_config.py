"""Configuration: the example is valid, and every kind of mistake gives one clear message."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from leadbridge.config import SecretRef, load_config
from leadbridge.config_check import check_config
from leadbridge.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config.example.toml"

MINIMAL_HUBSPOT = '[hubspot]\naccess_token = { env = "HS_TOKEN" }\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "leadbridge.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid_and_complete() -> None:
    loaded = load_config(EXAMPLE)
    settings = loaded.settings
    assert settings.salesforce is not None
    assert settings.salesforce.auth == "jwt"
    assert settings.salesforce.private_key == SecretRef(env="LEADBRIDGE_SALESFORCE_PRIVATE_KEY")
    assert settings.hubspot is not None
    assert settings.hubspot.tier == "professional"
    assert [pair.name for pair in settings.sync.pairs] == ["contact_lead"]
    assert loaded.resolve(settings.sync.pairs[0].mapping) == ROOT / "mappings/contact_lead.toml"


def test_every_settings_key_is_documented_in_the_example() -> None:
    """The example is the reference: each key of each section appears in it."""
    from leadbridge.config import (
        HubSpotSettings,
        LoggingSettings,
        PairSettings,
        SalesforceSettings,
        StateSettings,
        SyncSettings,
    )

    text = EXAMPLE.read_text(encoding="utf-8")
    for model in (
        StateSettings,
        LoggingSettings,
        SalesforceSettings,
        HubSpotSettings,
        SyncSettings,
        PairSettings,
    ):
        for name in model.model_fields:
            documented = f"{name} =" in text or f".{name}]]" in text
            assert documented, f"{model.__name__}.{name} missing from the example"


def test_no_file_means_defaults() -> None:
    loaded = load_config(None)
    assert loaded.settings.state.database_url == "sqlite:///.leadbridge/state.db"
    assert loaded.settings.salesforce is None


@pytest.mark.parametrize(
    ("text", "expected_parts", "hint_part"),
    [
        pytest.param(
            "[state\ndatabase_url = 'x'\n",
            ["leadbridge.toml", "not valid TOML", "line 1"],
            "syntax",
            id="broken-toml",
        ),
        pytest.param(
            "[logging]\nlevle = 'INFO'\n",
            ["leadbridge.toml", "logging.levle", "unknown key"],
            "did you mean 'level'?",
            id="unknown-key-nested",
        ),
        pytest.param(
            "[sincc]\noverlap_seconds = 3\n",
            ["sincc", "unknown key"],
            "did you mean 'sync'?",
            id="unknown-section",
        ),
        pytest.param(
            "[sync]\noverlap_seconds = 'five'\n",
            ["leadbridge.toml", "sync.overlap_seconds", "expected an integer", "'five'"],
            "as an integer",
            id="wrong-type",
        ),
        pytest.param(
            "[[sync.pairs]]\nname = 'p'\nmapping = 'm.toml'\ninterval_minutes = 'often'\n",
            ["sync.pairs[0].interval_minutes", "expected an integer"],
            "integer",
            id="wrong-type-in-list",
        ),
        pytest.param(
            "[logging]\nformat = 'xml'\n",
            ["logging.format", "must be one of", "'text'", "'json'"],
            "listed values",
            id="bad-choice",
        ),
        pytest.param(
            "[hubspot]\n",
            ["hubspot.access_token", "required"],
            "add access_token",
            id="missing-required",
        ),
        pytest.param(
            "[salesforce]\ninstance_url = 'https://x.my.salesforce.com'\n"
            "auth = 'client_credentials'\n",
            ["salesforce", "client_credentials", "client_id, client_secret"],
            "config.example.toml",
            id="auth-mode-needs",
        ),
        pytest.param(
            "[salesforce]\ninstance_url = 'http://x.my.salesforce.com'\nauth = 'token'\n"
            "access_token = { env = 'T' }\n",
            ["salesforce.instance_url", "wrong form"],
            "https URL",
            id="http-instance-url",
        ),
        pytest.param(
            "[workflows.smtp]\nhost = 'mail.example.com'\nsender = 'a@example.com'\n"
            "starttls = false\nusername = 'leadbridge'\npassword = { env = 'SMTP_PASSWORD' }\n",
            ["workflows.smtp", "starttls = true", "in clear"],
            "config.example.toml",
            id="smtp-login-in-clear",
        ),
        pytest.param(
            "[[sync.pairs]]\nname = 'a'\nmapping = 'a.toml'\n[[sync.pairs]]\nname = 'a'\n"
            "mapping = 'b.toml'\n",
            ["sync.pairs", "unique", "a"],
            "config.example.toml",
            id="duplicate-pair",
        ),
        pytest.param(
            "[hubspot]\naccess_token = { env = 'A', keyring = 'leadbridge' }\n",
            ["hubspot.access_token", "exactly one of env"],
            "config.example.toml",
            id="ambiguous-secret-ref",
        ),
    ],
)
def test_bad_config_names_file_key_and_fix(
    tmp_path: Path, text: str, expected_parts: list[str], hint_part: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    message = str(caught.value)
    for part in expected_parts:
        assert part in message
    assert hint_part in caught.value.hint
    assert "Traceback" not in message


def test_inline_secret_is_refused_without_echoing_it(tmp_path: Path) -> None:
    secret = "pat-na1-11111111-2222-3333-4444-555555555555"
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, f'[hubspot]\naccess_token = "{secret}"\n'))
    text = str(caught.value)
    assert "hubspot.access_token" in text
    assert "inline secret" in text
    assert 'access_token = { env = "LEADBRIDGE_HUBSPOT_ACCESS_TOKEN" }' in caught.value.hint
    assert "keyring" in caught.value.hint
    assert secret not in text


def test_password_in_database_url_is_an_inline_secret(tmp_path: Path) -> None:
    text = "[state]\ndatabase_url = 'postgresql+psycopg://lb:hunter2secret@db:5432/lb'\n"
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert "state.database_url" in str(caught.value)
    assert "PGPASSWORD" in caught.value.hint
    assert "hunter2secret" not in str(caught.value)


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADBRIDGE_LOGGING__LEVEL", "DEBUG")
    monkeypatch.setenv("LEADBRIDGE_SYNC__OVERLAP_SECONDS", "60")
    loaded = load_config(write(tmp_path, "[logging]\nlevel = 'WARNING'\n"))
    assert loaded.settings.logging.level == "DEBUG"
    assert loaded.settings.sync.overlap_seconds == 60


def test_bad_environment_override_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADBRIDGE_SYNC__OVERLAP_SECONDS", "soon")
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, ""))
    assert "sync.overlap_seconds" in str(caught.value)
    assert "LEADBRIDGE_SYNC__OVERLAP_SECONDS" in str(caught.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.toml")
    assert "does not exist" in str(caught.value)
    assert "leadbridge init" in caught.value.hint


def test_several_problems_are_all_listed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "[logging]\nlevle = 1\nformat = 'xml'\n"))
    assert "2 problems" in str(caught.value)
    assert "logging.levle" in str(caught.value)
    assert "logging.format" in str(caught.value)


def test_missing_secret_env_var_is_reported_by_check(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, MINIMAL_HUBSPOT))
    problems = check_config(loaded)
    assert len(problems) == 1
    assert "hubspot.access_token" in str(problems[0])
    assert "HS_TOKEN, which is not set" in str(problems[0])
    assert "export HS_TOKEN=" in problems[0].hint


def test_secret_from_env_resolves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HS_TOKEN", "pat-token-value-123")
    loaded = load_config(write(tmp_path, MINIMAL_HUBSPOT))
    assert check_config(loaded) == []


def test_secret_from_keyring_resolves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            self.items = {("leadbridge", "hubspot"): "from-the-keyring-123"}

        def get_password(self, service: str, username: str) -> str | None:
            return self.items.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.items[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.items.pop((service, username), None)

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        ok = load_config(
            write(
                tmp_path,
                '[hubspot]\naccess_token = { keyring = "leadbridge", username = "hubspot" }\n',
            )
        )
        assert check_config(ok) == []
        missing = load_config(
            write(
                tmp_path,
                '[hubspot]\naccess_token = { keyring = "leadbridge", username = "nobody" }\n',
            )
        )
        problems = check_config(missing)
        assert len(problems) == 1
        assert "keyring set leadbridge nobody" in problems[0].hint
    finally:
        keyring.set_keyring(previous)


def test_relative_paths_resolve_against_the_config_file(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    shutil.copyfile(EXAMPLE, folder / "lb.toml")
    loaded = load_config(folder / "lb.toml")
    assert loaded.resolve(Path("mappings/x.toml")) == folder / "mappings/x.toml"
    assert loaded.resolve(Path("/abs/x.toml")) == Path("/abs/x.toml")
