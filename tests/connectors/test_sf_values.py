"""Salesforce value conversion and error classification (pure functions)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from leadbridge.connectors.base import FieldSchema, FieldType
from leadbridge.connectors.salesforce.errors import classify_code
from leadbridge.connectors.salesforce.values import (
    format_datetime,
    parse_datetime,
    schema_from_describe,
    to_canonical,
    to_json,
)
from leadbridge.errors import (
    BudgetExhaustedError,
    DataError,
    Recovery,
    SessionExpiredError,
    SetupError,
    TransientError,
)


def field(kind: FieldType, native: str = "string") -> FieldSchema:
    return FieldSchema(name="F", label="F", type=kind, native_type=native)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2013-05-20T20:49:32.000+0000", datetime(2013, 5, 20, 20, 49, 32, tzinfo=UTC)),
        ("2013-05-20T20:49:32.123Z", datetime(2013, 5, 20, 20, 49, 32, 123000, tzinfo=UTC)),
        ("2013-05-21T05:49:32.000+0900", datetime(2013, 5, 20, 20, 49, 32, tzinfo=UTC)),
        ("2013-05-20T20:49:32+00:00", datetime(2013, 5, 20, 20, 49, 32, tzinfo=UTC)),
    ],
)
def test_parse_datetime_forms(text: str, expected: datetime) -> None:
    assert parse_datetime(text) == expected


@pytest.mark.parametrize(
    ("raw", "kind", "canonical"),
    [
        ("x", FieldType.STRING, "x"),
        (True, FieldType.BOOLEAN, True),
        (42, FieldType.INTEGER, 42),
        (55.5, FieldType.NUMBER, Decimal("55.5")),
        ("2024-01-31", FieldType.DATE, date(2024, 1, 31)),
        ("a;b", FieldType.MULTIPICKLIST, frozenset({"a", "b"})),
        (None, FieldType.STRING, None),
    ],
)
def test_to_canonical_and_back(raw: object, kind: FieldType, canonical: object) -> None:
    value = to_canonical(raw, field(kind))
    assert value == canonical
    assert to_json(value) == raw  # type: ignore[arg-type]


def test_datetimes_go_out_in_utc_with_milliseconds() -> None:
    moment = datetime(2024, 1, 31, 10, 0, 0, 5000, tzinfo=UTC)
    assert format_datetime(moment) == "2024-01-31T10:00:00.005Z"
    assert to_json(Decimal("50")) == 50
    assert to_json(Decimal("50.25")) == 50.25


def test_schema_from_describe_maps_types_and_requiredness() -> None:
    schema = schema_from_describe(
        {
            "name": "Lead",
            "fields": [
                {
                    "name": "LastName",
                    "type": "string",
                    "length": 80,
                    "nillable": False,
                    "createable": True,
                    "updateable": True,
                    "defaultedOnCreate": False,
                },
                {
                    "name": "Status",
                    "type": "picklist",
                    "nillable": False,
                    "createable": True,
                    "updateable": True,
                    "defaultedOnCreate": True,
                    "restrictedPicklist": True,
                    "picklistValues": [
                        {"value": "Open", "active": True},
                        {"value": "Old", "active": False},
                    ],
                },
                {
                    "name": "MQL_Score__c",
                    "type": "double",
                    "precision": 18,
                    "scale": 0,
                    "nillable": True,
                    "createable": True,
                    "updateable": True,
                    "custom": True,
                },
            ],
        }
    )
    assert schema.fields["LastName"].required_on_create
    assert not schema.fields["Status"].required_on_create
    assert schema.fields["Status"].picklist_values == ("Open",)
    assert schema.fields["Status"].restricted
    assert schema.fields["MQL_Score__c"].type is FieldType.NUMBER
    assert schema.field("mql_score__c") is schema.fields["MQL_Score__c"]


@pytest.mark.parametrize(
    ("code", "status", "cls", "recovery"),
    [
        ("STRING_TOO_LONG", 400, DataError, Recovery.FIX_DATA),
        ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", 400, DataError, Recovery.FIX_DATA),
        ("UNABLE_TO_LOCK_ROW", 400, TransientError, Recovery.RETRY_LATER),
        ("INVALID_FIELD", 400, SetupError, Recovery.FIX_SETUP),
        ("REQUEST_LIMIT_EXCEEDED", 403, BudgetExhaustedError, Recovery.STOP),
        ("INVALID_SESSION_ID", 401, SessionExpiredError, Recovery.REAUTHENTICATE),
        ("SOMETHING_NEW", 503, TransientError, Recovery.RETRY_LATER),
        ("SOMETHING_NEW", 400, DataError, Recovery.FIX_DATA),
    ],
)
def test_error_table(code: str, status: int, cls: type, recovery: Recovery) -> None:
    error = classify_code(code, "message", status=status)
    assert isinstance(error, cls)
    assert error.recovery is recovery
    assert error.code == code
    assert error.hint
