"""One table from HubSpot error categories and statuses to leadbridge's error taxonomy."""

from __future__ import annotations

import json
from typing import Any

from leadbridge.errors import (
    AuthFailedError,
    BudgetExhaustedError,
    DataError,
    LeadbridgeError,
    RateLimitedError,
    SessionExpiredError,
    SetupError,
    TransientError,
)

_ERROR_CODES: dict[str, tuple[type[LeadbridgeError], str]] = {
    "PROPERTY_DOESNT_EXIST": (
        SetupError,
        "the property does not exist: run `leadbridge setup apply` or fix the mapping",
    ),
    "INVALID_OPTION": (
        DataError,
        "add the value as an option of the property, or a translation for it to the mapping",
    ),
    "INVALID_EMAIL": (DataError, "correct the e-mail address in the source system"),
    "INVALID_INTEGER": (DataError, "the value is not a number"),
    "INVALID_FLOAT": (DataError, "the value is not a number"),
    "INVALID_LONG": (DataError, "the value is not a number"),
    "INVALID_BOOLEAN": (DataError, "the value is not true or false"),
    "INVALID_DATE": (DataError, "the value is not a date at midnight UTC"),
    "INVALID_DATETIME": (DataError, "the value is not a date-time"),
    "READ_ONLY_VALUE": (SetupError, "the property is read-only; change the mapping's direction"),
}

_CATEGORIES: dict[str, tuple[type[LeadbridgeError], str]] = {
    "VALIDATION_ERROR": (DataError, "HubSpot rejected the values; see the message"),
    "CONFLICT": (DataError, "a record with this unique value exists; link or merge them"),
    "OBJECT_NOT_FOUND": (DataError, "the record does not exist (archived or merged)"),
    "EXPIRED_AUTHENTICATION": (SessionExpiredError, "the access token expired"),
    "INVALID_AUTHENTICATION": (AuthFailedError, "check hubspot.access_token"),
    "MISSING_SCOPES": (SetupError, "give the private app the missing scopes"),
    "RATE_LIMITS": (RateLimitedError, "HubSpot is rate limiting; retried after the window"),
}


def parse_body(body: Any) -> dict[str, Any]:
    """An error body as a dict, whatever form the SDK handed it over in."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return {"message": body[:500]}
    return body if isinstance(body, dict) else {}


def classify(
    *, status: int, body: dict[str, Any], retry_after: float | None = None
) -> LeadbridgeError:
    """Build the taxonomy error for one HubSpot error (whole request or one batch input)."""
    message = str(body.get("message") or f"HTTP {status}")
    category = str(body.get("category") or body.get("errorType") or "")
    codes = [str(e.get("code", "")) for e in body.get("errors") or [] if isinstance(e, dict)]
    if status == 429 or category in ("RATE_LIMIT", "RATE_LIMITS"):
        if body.get("policyName") == "DAILY":
            return BudgetExhaustedError(
                message,
                hint="the portal's daily API limit is spent; leadbridge resumes on the next run",
                code="DAILY",
            )
        policy = str(body.get("policyName") or "")
        window = 1.0 if policy == "SECONDLY" else 10.0
        return RateLimitedError(
            message,
            retry_after=retry_after if retry_after is not None else window,
            hint="HubSpot is rate limiting; retried after the window",
            code=str(body.get("policyName") or "RATE_LIMIT"),
        )
    for code in codes:
        if code in _ERROR_CODES:
            cls, hint = _ERROR_CODES[code]
            return cls(message, hint=hint, code=code)
    if category in _CATEGORIES:
        cls, hint = _CATEGORIES[category]
        return cls(message, hint=hint, code=category)
    if status == 401:
        return SessionExpiredError(message, hint="check hubspot.access_token", code="401")
    if status == 403:
        return SetupError(message, hint="give the private app the needed scopes", code="403")
    if status >= 500 or status in (408, 0):
        return TransientError(message, hint="HubSpot failed; retried later", code=str(status))
    return DataError(message, hint="see the message", code=category or str(status))
