"""One error taxonomy for leadbridge, grouped by what the caller does to recover.

Connectors translate every API failure into one of these classes (through one table per
connector from status/error code to class), so the sync engine, the CLI and the error queue
decide what to do from the class alone and never from an API-specific code.
"""

from __future__ import annotations

from enum import StrEnum


class Recovery(StrEnum):
    """How a caller recovers from an error; the error queue and the runners key on this."""

    RETRY_LATER = "retry_later"
    REAUTHENTICATE = "reauthenticate"
    FIX_DATA = "fix_data"
    FIX_SETUP = "fix_setup"
    STOP = "stop"


class LeadbridgeError(Exception):
    """Base of every error leadbridge raises on purpose; carries a fix hint for people."""

    recovery: Recovery = Recovery.STOP

    def __init__(self, message: str, *, hint: str = "", code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code

    def __str__(self) -> str:
        return f"{self.message} Fix: {self.hint}" if self.hint else self.message


class ConfigError(LeadbridgeError):
    """A configuration, mapping or rules file is wrong; the message names file, key and fix."""

    recovery = Recovery.FIX_SETUP

    def __init__(self, message: str, *, source: str = "", key: str = "", hint: str = "") -> None:
        where = ": ".join(part for part in (source, key) if part)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.source = source
        self.key = key


class TransientError(LeadbridgeError):
    """Retry later: a timeout, a 5xx, a lock contention; safe to try again with backoff."""

    recovery = Recovery.RETRY_LATER


class RateLimitedError(TransientError):
    """Retry later, after the server's Retry-After (or the window) has passed."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, hint: str = "", code: str = ""
    ) -> None:
        super().__init__(message, hint=hint, code=code)
        self.retry_after = retry_after


class SessionExpiredError(LeadbridgeError):
    """Re-authenticate and try again: the session or token expired."""

    recovery = Recovery.REAUTHENTICATE


class DataError(LeadbridgeError):
    """Fix the data: the other side rejected this record (validation, picklist, length)."""

    recovery = Recovery.FIX_DATA


class SetupError(LeadbridgeError):
    """Fix the setup: a permission, a missing or invisible field, a wrong field type."""

    recovery = Recovery.FIX_SETUP


class AuthFailedError(LeadbridgeError):
    """Stop: credentials are wrong; retrying cannot help."""

    recovery = Recovery.STOP


class BudgetExhaustedError(LeadbridgeError):
    """Stop cleanly: the daily API budget (or leadbridge's share of it) is spent; resume later."""

    recovery = Recovery.STOP


class StoreError(LeadbridgeError):
    """The state store cannot be opened or migrated."""

    recovery = Recovery.FIX_SETUP
