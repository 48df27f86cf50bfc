"""Resolve secret references (environment variable or OS keyring) at the moment of use."""

from __future__ import annotations

import os

import keyring
import keyring.errors
from pydantic import SecretStr

from leadbridge.config import SecretRef
from leadbridge.errors import ConfigError
from leadbridge.logs import register_secret


def resolve_secret(ref: SecretRef, *, key: str, source: str) -> SecretStr:
    """Return the secret a reference points to; the value is also registered for redaction."""
    value: str | None
    if ref.env is not None:
        value = os.environ.get(ref.env)
        if not value:
            raise ConfigError(
                f"refers to environment variable {ref.env}, which is not set",
                source=source,
                key=key,
                hint=f"export {ref.env}=... in the environment that runs leadbridge",
            )
    else:
        # SecretRef guarantees both are set when env is not.
        assert ref.keyring is not None
        assert ref.username is not None
        try:
            value = keyring.get_password(ref.keyring, ref.username)
        except keyring.errors.KeyringError as exc:
            raise ConfigError(
                f"cannot read {ref.describe()}: {type(exc).__name__}",
                source=source,
                key=key,
                hint="unlock or configure the OS keyring, or use an environment variable",
            ) from None
        if not value:
            raise ConfigError(
                f"{ref.describe()} is empty or missing",
                source=source,
                key=key,
                hint=f"store it with `keyring set {ref.keyring} {ref.username}`",
            )
    register_secret(value)
    return SecretStr(value)
