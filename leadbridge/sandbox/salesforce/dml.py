"""Record DML of the emulated org: create, update, upsert, delete and the audit stamps they set."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from leadbridge.sandbox.salesforce import queues, rules, tooling
from leadbridge.sandbox.salesforce.dml_checks import (
    READONLY_HINT,
    check_unique,
    coerce_values,
    existing_record,
)
from leadbridge.sandbox.salesforce.errors import MultipleMatchesError, bad_request, not_found
from leadbridge.sandbox.salesforce.ids import IdAllocator, is_valid_id, to_18
from leadbridge.sandbox.salesforce.schema import ObjectDef
from leadbridge.sandbox.salesforce.store import Record, RecordStore
from leadbridge.sandbox.salesforce.values import from_json, record_url
from leadbridge.sandbox.salesforce.visibility import VisibilityCache


@dataclass(frozen=True)
class UpsertResult:
    """Outcome of an upsert: the record id and whether it was created."""

    id: str
    created: bool

    def body(self) -> dict[str, Any]:
        """The REST body of an upsert (201 when created, 200 otherwise)."""
        return {"id": self.id, "success": True, "errors": [], "created": self.created}


def save_result(record_id: str) -> dict[str, Any]:
    """The REST body of a successful create."""
    return {"id": record_id, "success": True, "errors": []}


class RecordWriter:
    """Writes one org's records under Salesforce's DML rules (the Org delegates its DML here)."""

    def __init__(
        self,
        *,
        resolve: Callable[[str], ObjectDef],
        objects: Mapping[str, ObjectDef],
        store: RecordStore,
        ids: IdAllocator,
        visibility: VisibilityCache,
        api_version: str,
    ) -> None:
        # The org's own schema lookup and shared state: the writer keeps no copy of either.
        self._resolve = resolve
        self._objects = objects
        self._store = store
        self._ids = ids
        self._visibility = visibility
        self._api_version = api_version

    def create(
        self, object_name: str, values: Mapping[str, Any], *, user_id: str, csv: bool = False
    ) -> str:
        """Insert one record from JSON (or Bulk CSV) values; returns its 18-character id."""
        obj = self._resolve(object_name)
        if not obj.createable:
            raise bad_request(
                "INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support insert"
            )
        return self.insert(obj, values, user_id=user_id, csv=csv)

    def update(
        self,
        object_name: str,
        record_id: str,
        values: Mapping[str, Any],
        *,
        user_id: str,
        csv: bool = False,
    ) -> None:
        """Update one record; converted leads and deleted records refuse."""
        obj = self._resolve(object_name)
        rec = existing_record(self._store, obj, record_id, allow_deleted=True)
        if rec.get("IsDeleted"):
            raise bad_request("ENTITY_IS_DELETED", "entity is deleted")
        if obj.name == "Lead" and rec.get("IsConverted"):
            raise bad_request("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
        values = dict(values)
        given_id = next((k for k in values if k.lower() == "id"), None)
        if given_id is not None:
            # Collections carry the Id in the body; it must name the record being updated.
            raw = values.pop(given_id)
            if not isinstance(raw, str) or not is_valid_id(raw) or to_18(raw) != rec["Id"]:
                raise bad_request(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: Id. {READONLY_HINT}",
                    ["Id"],
                )
        view = self._visibility.view(obj, user_id)
        changes = coerce_values(self._store, obj, view, values, creating=False, csv=csv)
        self._write(obj, rec["Id"], {**rec, **changes}, changes, user_id=user_id)

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
        """Upsert by external id: created, updated, or 300 when several records match."""
        obj = self._resolve(object_name)
        view = self._visibility.view(obj, user_id)
        name = view.lookup(field)
        if name is None or not (view.fields[name].external_id or name == "Id"):
            raise not_found(
                f"Provided external ID field does not exist or is not accessible: {field}"
            )
        fdef = view.fields[name]
        values = dict(values)
        wanted = name.lower()
        in_body = next((k for k in values if k.lower() == wanted), None)
        key = from_json(fdef, value) if value not in (None, "") else None
        if in_body is not None:
            # The key goes in the URL only (API-FACTS A3), even with the same value; the
            # Collections and Bulk paths take it out of each record before calling this.
            raise bad_request(
                "INVALID_FIELD",
                f"{name}: the external id field belongs in the URL, not in the request body",
                [name],
            )
        if key is None:
            if name == "Id":
                return UpsertResult(self.create(obj.name, values, user_id=user_id, csv=csv), True)
            raise not_found()
        if name == "Id":
            self.update(obj.name, key, values, user_id=user_id, csv=csv)
            return UpsertResult(key, False)
        matches = sorted(self._store.lookup(obj.name, name, key))
        if len(matches) > 1:
            urls = [record_url(obj.name, rid, self._api_version) for rid in matches]
            raise MultipleMatchesError(field=name, value=str(value), urls=urls, ids=matches)
        if matches:
            self.update(obj.name, matches[0], values, user_id=user_id, csv=csv)
            return UpsertResult(matches[0], False)
        values[name] = value
        return UpsertResult(self.create(obj.name, values, user_id=user_id, csv=csv), True)

    def delete(self, object_name: str, record_id: str, *, user_id: str, hard: bool = False) -> None:
        """Delete a record: soft (IsDeleted, kept for queryAll) where the object allows it."""
        obj = self._resolve(object_name)
        if not obj.deletable:
            raise bad_request(
                "INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support delete"
            )
        rec = existing_record(self._store, obj, record_id, allow_deleted=True)
        if rec.get("IsDeleted"):
            raise bad_request("ENTITY_IS_DELETED", "entity is deleted")
        if hard or not obj.soft_delete:
            self._store.put(obj.name, rec["Id"], None)
            return
        self._stamp_write(obj, rec["Id"], {**rec, "IsDeleted": True}, user_id=user_id)

    def system_write(
        self, object_name: str, record_id: str, changes: Mapping[str, Any], *, user_id: str
    ) -> None:
        """Write canonical values bypassing field writability (server-side sales actions)."""
        obj = self._resolve(object_name)
        rec = existing_record(self._store, obj, record_id, allow_deleted=True)
        record = {**rec, **changes}
        rules.derive(obj, record, changes)
        self._stamp_write(obj, rec["Id"], record, user_id=user_id)

    def insert(
        self,
        obj: ObjectDef,
        values: Mapping[str, Any],
        *,
        user_id: str,
        csv: bool = False,
        record_id: str | None = None,
    ) -> str:
        """Insert without the createable check; a given record_id bootstraps the first user."""
        view = self._visibility.view(obj, user_id)
        changes = coerce_values(self._store, obj, view, values, creating=True, csv=csv)
        record: Record = {k: v for k, v in changes.items() if v is not None}
        rules.apply_defaults(obj, record, user_id=user_id)
        rid = record_id or self._ids.allocate(obj.key_prefix)
        record["Id"] = rid
        self._write(obj, rid, record, changes, user_id=user_id, creating=True)
        return rid

    def _write(
        self,
        obj: ObjectDef,
        record_id: str,
        record: Record,
        changes: Mapping[str, Any],
        *,
        user_id: str,
        creating: bool = False,
    ) -> None:
        rules.check_required(obj, record)
        rules.derive(obj, record, changes)
        check_unique(self._store, obj, record_id, record, changes)
        if obj.name == "FieldPermissions":
            tooling.check_field_permission(
                record=record, objects=self._objects, store=self._store, record_id=record_id
            )
        elif obj.name == "PermissionSetAssignment":
            tooling.check_assignment(record=record, store=self._store, record_id=record_id)
        elif obj.name == "QueueSobject":
            queues.check_queue_row(self._store, record, record_id)
        self._stamp_write(obj, record_id, record, user_id=user_id, creating=creating)

    def _stamp_write(
        self,
        obj: ObjectDef,
        record_id: str,
        record: Record,
        *,
        user_id: str,
        creating: bool = False,
    ) -> None:
        now = self._store.now()
        if creating:
            record["CreatedDate"] = now
            record["CreatedById"] = user_id
        record["LastModifiedDate"] = now
        record["LastModifiedById"] = user_id
        record["SystemModstamp"] = now
        self._store.put(obj.name, record_id, record)
