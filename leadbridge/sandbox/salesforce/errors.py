"""Typed errors of the in-memory Salesforce org, shaped like Salesforce REST error bodies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class SalesforceError(Exception):
    """A Salesforce failure: HTTP status, errorCode, message and the fields it concerns."""

    def __init__(
        self,
        *,
        status: int,
        error_code: str,
        message: str,
        fields: Sequence[str] = (),
    ) -> None:
        super().__init__(f"{status} {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields: tuple[str, ...] = tuple(fields)

    def body(self) -> list[Any]:
        """The REST error body: a JSON array with one error object."""
        return [
            {"message": self.message, "errorCode": self.error_code, "fields": list(self.fields)}
        ]

    def record_error(self) -> dict[str, Any]:
        """The per-record error entry used by sObject Collections and composite results."""
        return {"statusCode": self.error_code, "message": self.message, "fields": list(self.fields)}


class MultipleMatchesError(SalesforceError):
    """Upsert matched several records: HTTP 300 whose body lists the matching record URLs."""

    def __init__(self, *, field: str, value: str, urls: Sequence[str], ids: Sequence[str]) -> None:
        super().__init__(
            status=300,
            error_code="MULTIPLE_CHOICES",
            message=f"{field}: more than one record found for external id field: {list(ids)}",
        )
        self.urls: tuple[str, ...] = tuple(urls)
        self.ids: tuple[str, ...] = tuple(ids)
        self.value = value

    def body(self) -> list[Any]:
        """Salesforce answers 300 with a bare JSON array of record URLs."""
        return list(self.urls)


def bad_request(error_code: str, message: str, fields: Sequence[str] = ()) -> SalesforceError:
    """A 400 error, the status of nearly every record-level rejection."""
    return SalesforceError(status=400, error_code=error_code, message=message, fields=fields)


def not_found(message: str = "The requested resource does not exist") -> SalesforceError:
    """The 404 Salesforce returns for unknown resources and records."""
    return SalesforceError(status=404, error_code="NOT_FOUND", message=message)
