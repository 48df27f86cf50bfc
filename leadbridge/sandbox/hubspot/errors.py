"""HubSpot-shaped errors: one exception type carrying the HTTP status and the JSON body."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

JsonDict = dict[str, Any]


def new_correlation_id() -> str:
    """Return a fresh correlation id like the ones HubSpot puts in every error body."""
    return str(uuid.uuid4())


class HubSpotError(Exception):
    """An API error: `status` is the HTTP status and `body` the exact JSON body to send."""

    def __init__(self, *, status: int, body: JsonDict) -> None:
        super().__init__(f"{status} {body.get('category')}: {body.get('message')}")
        self.status = status
        self.body = body

    @property
    def category(self) -> str:
        """The error category (VALIDATION_ERROR, CONFLICT, OBJECT_NOT_FOUND...)."""
        return str(self.body.get("category", ""))


def error_body(
    *,
    message: str,
    category: str,
    sub_category: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    context: Mapping[str, list[str]] | None = None,
) -> JsonDict:
    """Build a body in HubSpot's top-level error schema."""
    body: JsonDict = {
        "status": "error",
        "message": message,
        "correlationId": new_correlation_id(),
        "category": category,
    }
    if sub_category is not None:
        body["subCategory"] = sub_category
    if errors:
        body["errors"] = [dict(e) for e in errors]
    if context:
        body["context"] = {k: list(v) for k, v in context.items()}
    return body


def batch_error_item(
    *,
    message: str,
    category: str,
    context: Mapping[str, list[str]] | None = None,
    sub_category: str | None = None,
) -> JsonDict:
    """Build one entry of a batch response's `errors` array (the SDK's StandardError shape)."""
    # StandardError in the SDK requires context, links and errors even when empty.
    item: JsonDict = {
        "status": "error",
        "category": category,
        "message": message,
        "context": {k: list(v) for k, v in (context or {}).items()},
        "links": {},
        "errors": [],
    }
    if sub_category is not None:
        item["subCategory"] = sub_category
    return item


def validation_error(message: str) -> HubSpotError:
    """A 400 VALIDATION_ERROR with a plain message."""
    return HubSpotError(status=400, body=error_body(message=message, category="VALIDATION_ERROR"))


def not_found(message: str = "resource not found") -> HubSpotError:
    """A 404 OBJECT_NOT_FOUND."""
    return HubSpotError(status=404, body=error_body(message=message, category="OBJECT_NOT_FOUND"))


def conflict(message: str, *, context: Mapping[str, list[str]] | None = None) -> HubSpotError:
    """A 409 CONFLICT."""
    return HubSpotError(
        status=409, body=error_body(message=message, category="CONFLICT", context=context)
    )


def property_value_error(*, name: str, code: str, message: str, portal_id: int) -> JsonDict:
    """One item of the list HubSpot embeds in "Property values were not valid: [...]"."""
    return {
        "isValid": False,
        "message": message,
        "error": code,
        "name": name,
        "localizedErrorMessage": message,
        "portalId": portal_id,
    }


def invalid_properties(items: Sequence[JsonDict]) -> HubSpotError:
    """The 400 HubSpot answers when one or more written property values are rejected."""
    # HubSpot serialises the item list into the message itself; `errors` repeats it in the
    # structured schema so clients need not parse JSON out of a string.
    message = "Property values were not valid: " + json.dumps(list(items), separators=(",", ":"))
    details = [
        {
            "message": str(item["message"]),
            "code": str(item["error"]),
            "context": {"propertyName": [str(item["name"])]},
        }
        for item in items
    ]
    return HubSpotError(
        status=400,
        body=error_body(message=message, category="VALIDATION_ERROR", errors=details),
    )
