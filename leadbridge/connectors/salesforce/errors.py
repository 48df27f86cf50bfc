"""One table from Salesforce error codes and HTTP statuses to leadbridge's error taxonomy."""

from __future__ import annotations

from typing import Any

import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
)

from leadbridge.errors import (
    AuthFailedError,
    BudgetExhaustedError,
    DataError,
    LeadbridgeError,
    SessionExpiredError,
    SetupError,
    TransientError,
)

# errorCode -> (error class, fix hint). Codes not listed fall back on the HTTP status.
_CODES: dict[str, tuple[type[LeadbridgeError], str]] = {
    "STRING_TOO_LONG": (DataError, "shorten the value, or add a truncate transform to the mapping"),
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": (
        DataError,
        "add the value to the picklist, or a translation for it to the mapping",
    ),
    "REQUIRED_FIELD_MISSING": (DataError, "fill the required field, or map a source for it"),
    "INVALID_EMAIL_ADDRESS": (DataError, "correct the e-mail address in the source system"),
    "DUPLICATE_VALUE": (DataError, "two records share a unique value; merge or correct them"),
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": (
        DataError,
        "a Salesforce validation rule rejected the record; correct the data or the rule",
    ),
    "FIELD_INTEGRITY_EXCEPTION": (DataError, "a value refers to a record that does not exist"),
    "MALFORMED_ID": (DataError, "the id is not a valid Salesforce id"),
    "NUMBER_OUTSIDE_VALID_RANGE": (DataError, "the number does not fit the field's precision"),
    "INVALID_TYPE_ON_FIELD_IN_RECORD": (DataError, "the value has the wrong type for the field"),
    "JSON_PARSER_ERROR": (DataError, "the value has the wrong type for the field"),
    "CANNOT_UPDATE_CONVERTED_LEAD": (
        DataError,
        "the lead was converted; write to its Contact (ConvertedContactId) instead",
    ),
    "ENTITY_IS_DELETED": (DataError, "the record was deleted in Salesforce"),
    "NOT_FOUND": (DataError, "the record does not exist (deleted or merged)"),
    "DUPLICATE_EXTERNAL_ID": (
        DataError,
        "several records share this external id; de-duplicate them in Salesforce",
    ),
    "UNABLE_TO_LOCK_ROW": (TransientError, "another process held the record; retried later"),
    "ALL_OR_NONE_OPERATION_ROLLED_BACK": (TransientError, "rolled back with its batch; retried"),
    "SERVER_UNAVAILABLE": (TransientError, "Salesforce was unavailable; retried later"),
    "REQUEST_RUNNING_TOO_LONG": (TransientError, "the request ran too long; retried later"),
    "QUERY_TIMEOUT": (TransientError, "the query timed out; retried later"),
    "INVALID_FIELD": (
        SetupError,
        "the field does not exist or is invisible: run `leadbridge setup apply` or grant "
        "field-level security to the integration user",
    ),
    "INVALID_FIELD_FOR_INSERT_UPDATE": (
        SetupError,
        "the field is read-only for the integration user; change the mapping's direction",
    ),
    "INSUFFICIENT_ACCESS_OR_READONLY": (
        SetupError,
        "grant the integration user edit access to the object and field",
    ),
    "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY": (
        SetupError,
        "grant the integration user access to the referenced record (owner, queue)",
    ),
    "INVALID_TYPE": (SetupError, "the object does not exist or is not visible to the user"),
    "API_DISABLED_FOR_ORG": (SetupError, "enable API access for the org and the user's profile"),
    "REQUEST_LIMIT_EXCEEDED": (
        BudgetExhaustedError,
        "the org's daily API allocation is spent; leadbridge resumes on the next run",
    ),
    "INVALID_SESSION_ID": (SessionExpiredError, "the session expired; sign in again"),
    "INVALID_AUTH_HEADER": (SessionExpiredError, "the session is invalid; sign in again"),
}

_STATUS: dict[int, tuple[type[LeadbridgeError], str]] = {
    400: (DataError, "the request was rejected; see the message"),
    401: (SessionExpiredError, "the session expired; sign in again"),
    403: (SetupError, "the integration user lacks a permission"),
    404: (DataError, "the record or resource does not exist"),
    409: (TransientError, "a conflicting operation was in progress; retried later"),
    420: (TransientError, "Salesforce is throttling; retried later"),
    429: (TransientError, "Salesforce is throttling; retried later"),
}


def classify_code(code: str, message: str, *, status: int = 400) -> LeadbridgeError:
    """Build the taxonomy error for one Salesforce error code (per-record or whole request)."""
    cls, hint = (
        _CODES.get(code)
        or _STATUS.get(status)
        or (
            (TransientError, "Salesforce failed; retried later")
            if status >= 500
            else (DataError, "see the message")
        )
    )
    return cls(message, hint=hint, code=code)


def _first_error(content: Any) -> tuple[str, str]:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        return str(first.get("errorCode", "")), str(first.get("message", ""))
    if isinstance(content, dict):
        return str(content.get("error", content.get("errorCode", ""))), str(
            content.get("error_description", content.get("message", ""))
        )
    return "", str(content)[:500]


def classify_exception(exc: BaseException) -> LeadbridgeError:
    """Translate an exception from simple-salesforce or requests into the taxonomy."""
    if isinstance(exc, LeadbridgeError):
        return exc
    if isinstance(exc, SalesforceAuthenticationFailed):
        return AuthFailedError(
            f"Salesforce sign-in failed: {exc.message}",
            hint="check client_id, username, the key or secret, and the connected app's policies",
            code=str(exc.code or ""),
        )
    if isinstance(exc, SalesforceExpiredSession):
        code, message = _first_error(exc.content)
        return SessionExpiredError(message or "session expired", hint="sign in again", code=code)
    if isinstance(exc, SalesforceError):
        code, message = _first_error(exc.content)
        return classify_code(code, message or f"HTTP {exc.status}", status=exc.status)
    if isinstance(exc, requests.Timeout | requests.ConnectionError):
        return TransientError(
            f"Salesforce did not answer: {type(exc).__name__}",
            hint="network or Salesforce trouble; retried later",
        )
    if isinstance(exc, requests.RequestException):
        return TransientError(f"HTTP failure: {type(exc).__name__}", hint="retried later")
    raise exc
