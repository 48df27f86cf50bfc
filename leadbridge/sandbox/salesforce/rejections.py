"""Emulated validation rules: records whose field matches a value are rejected on write."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leadbridge.sandbox.salesforce.errors import SalesforceError
from leadbridge.sandbox.salesforce.org import Org, UpsertResult


@dataclass
class RejectRule:
    """Reject writes of `object` whose `field` equals `value` (any record when field is None)."""

    object: str
    field: str | None = None
    value: Any = None
    message: str = "Record rejected by a validation rule"
    error_code: str = "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    operations: tuple[str, ...] = ("create", "update", "upsert")
    remaining: int | None = None

    def hits(self, object_name: str, operation: str, record: Mapping[str, Any]) -> bool:
        """Whether this rule rejects the record (after the write would apply)."""
        if self.remaining is not None and self.remaining <= 0:
            return False
        if object_name.lower() != self.object.lower() or operation not in self.operations:
            return False
        if self.field is None:
            return True
        key = next((k for k in record if k.lower() == self.field.lower()), None)
        if key is None:
            return False
        actual = record[key]
        if isinstance(actual, str) and isinstance(self.value, str):
            return actual.lower() == self.value.lower()
        return bool(actual == self.value)


def rule_from_json(data: Mapping[str, Any]) -> RejectRule:
    """Build a rule from a control-endpoint body (unknown keys are an error)."""
    allowed = set(RejectRule.__dataclass_fields__)
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"unknown reject keys: {', '.join(sorted(unknown))}")
    if not isinstance(data.get("object"), str):
        raise ValueError("reject rules need an object name")
    values = dict(data)
    if "operations" in values:
        values["operations"] = tuple(values["operations"])
    return RejectRule(**values)


class RejectRules:
    """Thread-safe list of reject rules; the first that hits raises the record error."""

    def __init__(self) -> None:
        self._rules: list[RejectRule] = []
        self._lock = threading.Lock()

    def add(self, rule: RejectRule) -> None:
        """Add a rule."""
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    def count(self) -> int:
        """How many rules are active."""
        with self._lock:
            return len(self._rules)

    def check(self, object_name: str, operation: str, record: Mapping[str, Any]) -> None:
        """Raise the rule's error if one rejects the record."""
        with self._lock:
            for rule in self._rules:
                if rule.hits(object_name, operation, record):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    fields = (
                        [rule.field] if rule.field and rule.error_code.startswith("FIELD") else []
                    )
                    raise SalesforceError(
                        status=400, error_code=rule.error_code, message=rule.message, fields=fields
                    )


class GuardedOrg:
    """An Org proxy whose create/update/upsert consult the reject rules first."""

    def __init__(self, org: Org, rules: RejectRules) -> None:
        self._org = org
        self._rules = rules

    def __getattr__(self, name: str) -> Any:
        return getattr(self._org, name)

    def create(
        self, object_name: str, values: Mapping[str, Any], *, user_id: str, csv: bool = False
    ) -> str:
        """Org.create behind the reject rules."""
        self._rules.check(object_name, "create", values)
        return self._org.create(object_name, values, user_id=user_id, csv=csv)

    def update(
        self,
        object_name: str,
        record_id: str,
        values: Mapping[str, Any],
        *,
        user_id: str,
        csv: bool = False,
    ) -> None:
        """Org.update behind the reject rules (checked against the record after the change)."""
        current = self._org.get(object_name, record_id) or {}
        self._rules.check(object_name, "update", {**current, **values})
        self._org.update(object_name, record_id, values, user_id=user_id, csv=csv)

    def upsert(
        self,
        object_name: str,
        field: str,
        value: Any,
        values: Mapping[str, Any],
        *,
        user_id: str,
        csv: bool = False,
    ) -> UpsertResult:
        """Org.upsert behind the reject rules."""
        if value is None or not isinstance(value, str | int | float):
            record: dict[str, Any] = dict(values)
        else:
            record = {**values, field: value}
        self._rules.check(object_name, "upsert", record)
        return self._org.upsert(object_name, field, value, values, user_id=user_id, csv=csv)

    def unwrap(self) -> Org:
        """The real org."""
        return self._org
