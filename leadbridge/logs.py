"""Logging set-up: human-readable or JSON lines, with a redaction filter on every handler.

Redaction has two layers: exact values of every secret leadbridge resolved (registered by
leadbridge.secrets), and patterns for credentials that reach log lines from elsewhere (HTTP
headers, URLs, token responses) before leadbridge ever saw them as secrets.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

REDACTED = "[REDACTED]"

_registry_lock = threading.Lock()
_registered: set[str] = set()

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization headers and bearer tokens in any rendering.
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/!=-]+"), r"\1" + REDACTED),
    (
        re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(?!bearer)[^'\",\s}]+"),
        r"\1" + REDACTED,
    ),
    # key=value and "key": "value" forms for credential-like names.
    (
        re.compile(
            r"(?i)((?:access_token|refresh_token|client_secret|password|passwd|secret|api_key|"
            r"apikey|private_key|assertion|session_id|sessionid|token)['\"]?\s*[:=]\s*['\"]?)"
            r"[^'\"&,\s}]+"
        ),
        r"\1" + REDACTED,
    ),
    # Passwords inside URLs (scheme://user:password@host).
    (re.compile(r"(://[^/\s:@]+:)[^/\s@]+@"), r"\1" + REDACTED + "@"),
    # Salesforce session ids (orgId!token) and HubSpot private-app tokens.
    (re.compile(r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]+"), REDACTED),
    (re.compile(r"\bpat-[a-z]{2,4}\d?-[0-9a-f-]{20,}"), REDACTED),
)

# Shorter values would redact ordinary words; such secrets are refused elsewhere anyway.
_MIN_REGISTERED_LENGTH = 6


def register_secret(value: str) -> None:
    """Make an exact secret value disappear from every later log line."""
    if len(value) >= _MIN_REGISTERED_LENGTH:
        with _registry_lock:
            _registered.add(value)


def redact(text: str) -> str:
    """Remove registered secrets and credential patterns from a string."""
    with _registry_lock:
        values = sorted(_registered, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message (and exception text) through redact()."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, redact it, and freeze it on the record."""
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any `extra` fields."""

    _STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        """Serialise the record as a JSON line."""
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_text:
            payload["exception"] = record.exc_text
        return redact(json.dumps(payload, default=str, ensure_ascii=False))


def configure_logging(
    *,
    level: str = "INFO",
    fmt: Literal["text", "json"] = "text",
    stream: TextIO | None = None,
) -> logging.Handler:
    """Install one redacting handler on the root logger (replacing ours) and return it."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    # On the root logger so that records of every library (urllib3, simple_salesforce,
    # hubspot, uvicorn) pass the same redacting filter.
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_leadbridge", False):
            root.removeHandler(old)
    handler._leadbridge = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    quiet = logging.DEBUG if level == "DEBUG" else logging.WARNING
    for name in ("urllib3", "simple_salesforce", "hubspot", "uvicorn.access", "alembic"):
        logging.getLogger(name).setLevel(quiet)
    return handler
