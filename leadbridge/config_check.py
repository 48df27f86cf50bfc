"""Deeper configuration checks than validation: can every referenced secret be read?"""

from __future__ import annotations

from leadbridge.config import LoadedConfig, SecretRef
from leadbridge.errors import ConfigError
from leadbridge.secrets import resolve_secret


def secret_refs(loaded: LoadedConfig) -> list[tuple[str, SecretRef]]:
    """Every secret reference in the configuration, with its dotted key."""
    refs: list[tuple[str, SecretRef]] = []
    settings = loaded.settings
    for section_name, section in (
        ("salesforce", settings.salesforce),
        ("hubspot", settings.hubspot),
    ):
        if section is None:
            continue
        for name in type(section).model_fields:
            value = getattr(section, name)
            if isinstance(value, SecretRef):
                refs.append((f"{section_name}.{name}", value))
    return refs


def check_config(loaded: LoadedConfig) -> list[ConfigError]:
    """Return one ConfigError per problem found (an empty list means ready to run)."""
    problems: list[ConfigError] = []
    for key, ref in secret_refs(loaded):
        try:
            resolve_secret(ref, key=key, source=loaded.source)
        except ConfigError as exc:
            problems.append(exc)
    return problems
