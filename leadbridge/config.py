"""Typed settings: one TOML file plus LEADBRIDGE_* environment overrides, validated by pydantic.

Every mistake becomes a ConfigError naming the file (or environment variable), the dotted key
and the fix; secret values are never echoed. Secrets are references (environment variable or
keyring entry), resolved only when a connector needs them (see leadbridge.secrets).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from leadbridge.config_setup import (
    DashboardSettings,
    FieldSettings,
    KpiSettings,
    ScoringSettings,
    SlaSettings,
    WorkflowSettings,
)
from leadbridge.errors import ConfigError
from leadbridge.validation import did_you_mean, dotted_key, problems_error, read_toml

ENV_PREFIX = "LEADBRIDGE_"
CONFIG_ENV = "LEADBRIDGE_CONFIG"
DEFAULT_CONFIG_FILE = Path("leadbridge.toml")
DEFAULT_DATABASE_URL = "sqlite:///.leadbridge/state.db"

_INLINE_SECRET = "inline_secret"  # noqa: S105  (an error type name, not a password)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Section):
    """Where a secret lives: an environment variable or an OS keyring entry, never the file."""

    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    keyring: str | None = None
    username: str | None = None

    @model_validator(mode="after")
    def _one_place(self) -> SecretRef:
        if (self.env is None) == (self.keyring is None):
            raise PydanticCustomError(
                "secret_ref",
                'give exactly one of env = "VAR_NAME" or keyring = "service" (with username)',
            )
        if self.keyring is not None and not self.username:
            raise PydanticCustomError(
                "secret_ref", 'a keyring reference needs username = "..." beside keyring'
            )
        return self

    def describe(self) -> str:
        """Say where the secret is looked up, without revealing it."""
        if self.env is not None:
            return f"environment variable {self.env}"
        return f"keyring entry {self.keyring}/{self.username}"


def _reject_inline_secret(value: Any) -> Any:
    if isinstance(value, str):
        raise PydanticCustomError(_INLINE_SECRET, "an inline secret is not allowed here")
    return value


Secret = Annotated[SecretRef, BeforeValidator(_reject_inline_secret)]


class StateSettings(_Section):
    """Where the state store lives."""

    database_url: str = DEFAULT_DATABASE_URL

    @field_validator("database_url")
    @classmethod
    def _no_inline_password(cls, value: str) -> str:
        if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
            raise PydanticCustomError(
                "database_url",
                "must start with sqlite:/// or postgresql+psycopg://",
            )
        if re.match(r"^postgresql(\+\w+)?://[^/@]*:[^/@]*@", value):
            raise PydanticCustomError(_INLINE_SECRET, "the URL holds an inline password")
        return value


class LoggingSettings(_Section):
    """Log level and line format."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class SalesforceSettings(_Section):
    """How to reach one Salesforce org."""

    instance_url: str = Field(pattern=r"^https://[^\s/]+/?$")
    login_url: str = Field(default="https://login.salesforce.com", pattern=r"^https://\S+$")
    api_version: str = Field(default="60.0", pattern=r"^\d{2}\.0$")
    auth: Literal["jwt", "client_credentials", "token"] = "jwt"
    client_id: str | None = None
    username: str | None = None
    private_key: Secret | None = None
    client_secret: Secret | None = None
    access_token: Secret | None = None
    ca_file: Path | None = None
    timeout_seconds: float = Field(default=30.0, gt=0)
    daily_api_share: float = Field(default=0.5, gt=0, le=1)

    @model_validator(mode="after")
    def _auth_needs(self) -> SalesforceSettings:
        needed = {
            "jwt": ("client_id", "username", "private_key"),
            "client_credentials": ("client_id", "client_secret"),
            "token": ("access_token",),
        }[self.auth]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise PydanticCustomError(
                "auth_needs",
                "auth = '{auth}' also needs: {missing}",
                {"auth": self.auth, "missing": ", ".join(missing)},
            )
        return self


class HubSpotSettings(_Section):
    """How to reach one HubSpot portal."""

    base_url: str = Field(default="https://api.hubapi.com", pattern=r"^https?://\S+$")
    access_token: Secret
    tier: Literal["free", "starter", "professional", "enterprise"] = "professional"
    rate_share: float = Field(default=0.8, gt=0, le=1)
    daily_api_share: float = Field(default=0.5, gt=0, le=1)
    timeout_seconds: float = Field(default=30.0, gt=0)


class PairSettings(_Section):
    """One object pair to keep in step, and its mapping file."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    mapping: Path
    interval_minutes: int = Field(default=5, ge=1)
    enabled: bool = True


def _default_pairs() -> list[PairSettings]:
    return [PairSettings(name="contact_lead", mapping=Path("mappings/contact_lead.toml"))]


class SyncSettings(_Section):
    """Sync engine knobs shared by every pair."""

    overlap_seconds: int = Field(default=300, ge=0)
    pairs: list[PairSettings] = Field(default_factory=_default_pairs)

    @field_validator("pairs")
    @classmethod
    def _unique_names(cls, pairs: list[PairSettings]) -> list[PairSettings]:
        names = [pair.name for pair in pairs]
        dupes = sorted({name for name in names if names.count(name) > 1})
        if dupes:
            raise PydanticCustomError(
                "unique_pairs", "pair names must be unique; repeated: {dupes}", {"dupes": dupes}
            )
        return pairs


class Settings(BaseSettings):
    """The whole configuration: file values, overridden by LEADBRIDGE_SECTION__KEY variables."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    state: StateSettings = Field(default_factory=StateSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    salesforce: SalesforceSettings | None = None
    hubspot: HubSpotSettings | None = None
    sync: SyncSettings = Field(default_factory=SyncSettings)
    fields: FieldSettings = Field(default_factory=FieldSettings)
    scoring: ScoringSettings = Field(default_factory=ScoringSettings)
    sla: SlaSettings = Field(default_factory=SlaSettings)
    kpi: KpiSettings = Field(default_factory=KpiSettings)
    workflows: WorkflowSettings = Field(default_factory=WorkflowSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first so that it overrides the file (passed as init values); no .env
        # files and no secrets directories: secrets come only from env or keyring references.
        return (env_settings, init_settings)


class LoadedConfig(BaseModel):
    """Validated settings plus where they came from (for messages and relative paths)."""

    model_config = ConfigDict(frozen=True)

    settings: Settings
    source: str

    @property
    def base_dir(self) -> Path:
        """Directory that relative paths in the file are resolved against."""
        path = Path(self.source)
        return path.parent if path.suffix == ".toml" else Path.cwd()

    def resolve(self, path: Path) -> Path:
        """Resolve a path from the file relative to the file's own directory."""
        return path if path.is_absolute() else self.base_dir / path


def config_path(explicit: Path | None) -> Path | None:
    """Pick the config file: --config, then LEADBRIDGE_CONFIG, then ./leadbridge.toml if present."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.exists() else None


def load_config(path: Path | None) -> LoadedConfig:
    """Read, merge and validate the configuration; raise ConfigError with file, key and fix."""
    data: dict[str, Any] = {}
    source = "(built-in defaults)"
    if path is not None:
        source = str(path)
        data = _read_toml(path)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise _to_config_error(exc, source=source) from None
    return LoadedConfig(settings=settings, source=source)


def _read_toml(path: Path) -> dict[str, Any]:
    return read_toml(
        path,
        missing_hint="create it with `leadbridge init` or point --config / LEADBRIDGE_CONFIG at it",
    )


_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string in quotes",
    "list_type": "a list [ ... ]",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "dict_type": "a table",
    "path_type": "a path string",
}


def _to_config_error(exc: ValidationError, *, source: str) -> ConfigError:
    return problems_error(
        [_describe(error, source=source) for error in exc.errors()], source=source
    )


def _describe(error: Any, *, source: str) -> tuple[str, str, str]:
    loc = tuple(error["loc"])
    key = _dotted(loc)
    kind = error["type"]
    env_name = ENV_PREFIX + "__".join(str(part).upper() for part in loc if isinstance(part, str))
    origin = f" (from environment variable {env_name})" if env_name in os.environ else ""
    if kind == "extra_forbidden":
        return key, f"unknown key{origin}", _did_you_mean(loc)
    if kind == _INLINE_SECRET:
        return key, error["msg"], _secret_hint(loc)
    if kind == "missing":
        return key, "this key is required", f"add {loc[-1]} = ... under [{_dotted(loc[:-1])}]"
    if kind in _EXPECTED:
        got = type(error["input"]).__name__
        shown = "" if _is_secret_key(loc) else f" {error['input']!r}"
        return (
            key,
            f"expected {_EXPECTED[kind]}, got{shown} ({got}){origin}",
            (f"write {loc[-1]} as {_EXPECTED[kind]}"),
        )
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return key, f"must be one of {expected}{origin}", "use one of the listed values"
    if kind == "string_pattern_mismatch":
        return key, f"has the wrong form{origin}", _pattern_hint(loc)
    return key, f"{error['msg']}{origin}", "see config.example.toml for this key"


def _dotted(loc: tuple[Any, ...]) -> str:
    return dotted_key(loc)


_SECRET_FIELDS = {"private_key", "client_secret", "access_token", "database_url"}


def _is_secret_key(loc: tuple[Any, ...]) -> bool:
    return any(part in _SECRET_FIELDS for part in loc if isinstance(part, str))


def _secret_hint(loc: tuple[Any, ...]) -> str:
    name = str(loc[-1])
    if name == "database_url":
        return (
            "remove the password from the URL and export PGPASSWORD "
            "(or use a ~/.pgpass file); psycopg reads them itself"
        )
    section = str(loc[0]).upper()
    env_name = f"LEADBRIDGE_{section}_{name.upper()}"
    return (
        f'put the value in an environment variable and write {name} = {{ env = "{env_name}" }}'
        f" (or store it in the OS keyring and write {name} = "
        f'{{ keyring = "leadbridge", username = "{loc[0]}" }})'
    )


_PATTERN_HINTS = {
    "instance_url": "use the org's https URL, e.g. https://yourcompany.my.salesforce.com",
    "login_url": "use https://login.salesforce.com, https://test.salesforce.com or your My Domain",
    "api_version": 'use a version string such as "60.0"',
    "base_url": "use https://api.hubapi.com (or the sandbox URL)",
    "name": "use lower-case letters, digits and underscores, starting with a letter",
    "env": "use an environment variable name such as LEADBRIDGE_HUBSPOT_TOKEN",
    "url": "use the dashboard's http(s) URL, e.g. https://bi.yourcompany.com/leads",
}


def _pattern_hint(loc: tuple[Any, ...]) -> str:
    return _PATTERN_HINTS.get(str(loc[-1]), "see config.example.toml for the expected form")


def _did_you_mean(loc: tuple[Any, ...]) -> str:
    model = _model_at(Settings, loc[:-1])
    if model is None:
        return "remove it; see config.example.toml for the keys"
    return did_you_mean(str(loc[-1]), model.model_fields)


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int):
            continue
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = _model_in(field.annotation)
    return current


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
