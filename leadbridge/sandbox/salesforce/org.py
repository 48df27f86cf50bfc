"""The in-memory Salesforce org: schema visibility, records and DML rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from leadbridge.sandbox.salesforce import queues, rules, tooling
from leadbridge.sandbox.salesforce.errors import (
    MultipleMatchesError,
    SalesforceError,
    bad_request,
    not_found,
)
from leadbridge.sandbox.salesforce.ids import (
    IdAllocator,
    canonical_id,
    is_valid_id,
    object_for_id,
    to_18,
)
from leadbridge.sandbox.salesforce.limits import ApiLimits, Counter
from leadbridge.sandbox.salesforce.objects import standard_objects
from leadbridge.sandbox.salesforce.schema import FieldDef, ObjectDef
from leadbridge.sandbox.salesforce.store import (
    Clock,
    ModstampIndex,
    Record,
    RecordStore,
    system_clock,
)
from leadbridge.sandbox.salesforce.values import from_csv, from_json, record_url, to_json
from leadbridge.sandbox.salesforce.visibility import FieldView, VisibilityCache

_READONLY_HINT = (
    "Please check the security settings of this field and verify that it is "
    "read/write for your profile or permission set."
)


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


class Org:
    """One emulated org: standard objects, custom fields, records, FLS and API limits."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        api_version: str = "59.0",
        daily_api_max: int = 15000,
    ) -> None:
        self.clock: Clock = clock or system_clock
        self.api_version = api_version
        self.objects: dict[str, ObjectDef] = standard_objects()
        self.store = RecordStore(clock=self.clock)
        self.ids = IdAllocator()
        self.org_id = self.ids.allocate("00D")
        self.limits = ApiLimits(clock=self.clock, daily_api_requests=Counter(daily_api_max))
        self.security = tooling.FieldSecurity(self.store)
        self.visibility = VisibilityCache(self.security)
        self.custom_fields: dict[str, tooling.CustomFieldRow] = {}
        self._names: dict[str, str] = {name.lower(): name for name in self.objects}
        for obj in self.objects.values():
            self.store.add_object(obj.name)
            for f in obj.fields.values():
                if f.unique or f.external_id:
                    self.store.track_unique(obj.name, f.name, case_sensitive=f.case_sensitive)
        self.integration_user_id = self._bootstrap_user()

    def _bootstrap_user(self) -> str:
        # The first user creates itself, so its CreatedById is its own id.
        user_id = self.ids.allocate("005")
        values = {
            "Username": "integration@leadbridge.example",
            "LastName": "Integration",
            "FirstName": "LeadBridge",
            "Email": "integration@leadbridge.example",
            "Alias": "integ",
            "Title": "Integration User",
        }
        self._insert(self.objects["User"], values, user_id=user_id, record_id=user_id)
        return user_id

    # ---- schema ---------------------------------------------------------------------------

    def object_def(self, object_name: str) -> ObjectDef:
        """The definition of an object by case-insensitive name; 404 NOT_FOUND if unknown."""
        name = self._names.get(object_name.lower())
        if name is None:
            raise not_found()
        return self.objects[name]

    def field_view(self, object_name: str, *, user_id: str) -> FieldView:
        """The user's view of an object under FLS (cached until FLS or the fields change)."""
        return self.visibility.view(self.object_def(object_name), user_id)

    def visible_fields(self, object_name: str, *, user_id: str) -> Mapping[str, FieldDef]:
        """Fields the user can see, in definition order (new custom fields need FLS Read)."""
        return self.field_view(object_name, user_id=user_id).fields

    def field_types(self, object_name: str, *, user_id: str) -> Mapping[str, str]:
        """Field name -> describe type string, for SOQL binding."""
        return self.field_view(object_name, user_id=user_id).types

    def describe(self, object_name: str, *, user_id: str) -> dict[str, Any]:
        """The describe body of an object as the user sees it."""
        obj = self.object_def(object_name)
        visible = list(self.visible_fields(obj.name, user_id=user_id).values())
        return obj.describe(visible, self.api_version)

    def describe_global(self) -> dict[str, Any]:
        """The describe-global body (GET /sobjects)."""
        return {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [o.summary(self.api_version) for o in self.objects.values()],
        }

    # ---- read access for the query layer ---------------------------------------------------

    def records(self, object_name: str) -> Mapping[str, Mapping[str, Any]]:
        """All stored records of an object by id, deleted ones included; a missing key is null."""
        return self.store.records[self.object_def(object_name).name]

    def iter_records(
        self, object_name: str, *, include_deleted: bool = False
    ) -> Iterator[Mapping[str, Any]]:
        """Iterate records, skipping deleted ones unless asked (queryAll)."""
        for rec in self.records(object_name).values():
            if include_deleted or not rec.get("IsDeleted"):
                yield rec

    def get(self, object_name: str, record_id: str) -> Mapping[str, Any] | None:
        """A stored record by 15- or 18-character id (deleted ones included), or None."""
        return self._lookup(self.object_def(object_name).name, record_id)

    def find(self, record_id: str) -> tuple[str, Mapping[str, Any]] | None:
        """The object name and record for any id, using its key prefix."""
        name = object_for_id(record_id)
        if name is None or name not in self.objects:
            return None
        rec = self._lookup(name, record_id)
        return None if rec is None else (name, rec)

    def _lookup(self, object_name: str, record_id: str) -> Record | None:
        # Stored keys are canonical 18-character ids: an exact hit needs no validation.
        rec = self.store.get(object_name, record_id)
        if rec is not None:
            return rec
        canonical = canonical_id(record_id)
        return None if canonical is None else self.store.get(object_name, canonical)

    def modstamp_index(self, object_name: str) -> ModstampIndex:
        """The sorted (SystemModstamp, Id) index of an object, updated on every write."""
        return self.store.indexes[self.object_def(object_name).name]

    def retrieve(
        self, object_name: str, record_id: str, *, user_id: str, fields: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """GET /sobjects/{type}/{id}: the record with the fields the user can see."""
        obj = self.object_def(object_name)
        rec = self._existing(obj, record_id, allow_deleted=False)
        view = self.visibility.view(obj, user_id)
        names = (
            list(view.fields)
            if fields is None
            else [self._field_name(obj, view, f) for f in fields]
        )
        body: dict[str, Any] = {
            "attributes": {
                "type": obj.name,
                "url": record_url(obj.name, rec["Id"], self.api_version),
            }
        }
        for name in names:
            body[name] = to_json(rec.get(name))
        return body

    # ---- DML ------------------------------------------------------------------------------

    def create(
        self, object_name: str, values: Mapping[str, Any], *, user_id: str, csv: bool = False
    ) -> str:
        """Insert one record from JSON (or Bulk CSV) values; returns its 18-character id."""
        obj = self.object_def(object_name)
        if not obj.createable:
            raise bad_request(
                "INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support insert"
            )
        return self._insert(obj, values, user_id=user_id, csv=csv)

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
        obj = self.object_def(object_name)
        rec = self._existing(obj, record_id, allow_deleted=True)
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
                    f"Unable to create/update fields: Id. {_READONLY_HINT}",
                    ["Id"],
                )
        changes = self._coerce(obj, values, user_id=user_id, creating=False, csv=csv)
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
        obj = self.object_def(object_name)
        view = self.visibility.view(obj, user_id)
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
            body_value = values.pop(in_body)
            if name == "Id" or from_json(fdef, body_value) != key:
                raise bad_request(
                    "INVALID_FIELD",
                    f"{name}: value in the request body does not match the URL",
                    [name],
                )
        if key is None:
            if name == "Id":
                return UpsertResult(self.create(obj.name, values, user_id=user_id, csv=csv), True)
            raise not_found()
        if name == "Id":
            self.update(obj.name, key, values, user_id=user_id, csv=csv)
            return UpsertResult(key, False)
        matches = sorted(self.store.lookup(obj.name, name, key))
        if len(matches) > 1:
            urls = [record_url(obj.name, rid, self.api_version) for rid in matches]
            raise MultipleMatchesError(field=name, value=str(value), urls=urls, ids=matches)
        if matches:
            self.update(obj.name, matches[0], values, user_id=user_id, csv=csv)
            return UpsertResult(matches[0], False)
        values[name] = value
        return UpsertResult(self.create(obj.name, values, user_id=user_id, csv=csv), True)

    def delete(self, object_name: str, record_id: str, *, user_id: str, hard: bool = False) -> None:
        """Delete a record: soft (IsDeleted, kept for queryAll) where the object allows it."""
        obj = self.object_def(object_name)
        if not obj.deletable:
            raise bad_request(
                "INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support delete"
            )
        rec = self._existing(obj, record_id, allow_deleted=True)
        if rec.get("IsDeleted"):
            raise bad_request("ENTITY_IS_DELETED", "entity is deleted")
        if hard or not obj.soft_delete:
            self.store.put(obj.name, rec["Id"], None)
            return
        self._stamp_write(obj, rec["Id"], {**rec, "IsDeleted": True}, user_id=user_id)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Run writes as one unit: any exception rolls every one of them back."""
        savepoint = self.store.begin()
        try:
            yield
        except BaseException:
            self.store.rollback(savepoint)
            raise
        finally:
            self.store.end(savepoint)

    def system_write(
        self, object_name: str, record_id: str, changes: Mapping[str, Any], *, user_id: str
    ) -> None:
        """Write canonical values bypassing field writability (server-side sales actions)."""
        obj = self.object_def(object_name)
        rec = self._existing(obj, record_id, allow_deleted=True)
        record = {**rec, **changes}
        rules.derive(obj, record, changes)
        self._stamp_write(obj, rec["Id"], record, user_id=user_id)

    def bulk_load(
        self, object_name: str, rows: Iterable[Mapping[str, Any]], *, user_id: str | None = None
    ) -> list[str]:
        """Seed many records of canonical values fast: defaults and ids, no per-field checks."""
        obj = self.object_def(object_name)
        owner = user_id or self.integration_user_id
        batch: list[tuple[str, Record]] = []
        now = self.store.now()
        latest = now
        prefix = obj.key_prefix
        for row in rows:
            rec: Record = dict(row)
            rid = self.ids.allocate(prefix)
            rec["Id"] = rid
            rules.apply_defaults(obj, rec, user_id=owner)
            rules.derive(obj, rec, rec)
            created: dt.datetime = rec.get("CreatedDate") or now
            modified: dt.datetime = rec.get("LastModifiedDate") or created
            stamp: dt.datetime = rec.get("SystemModstamp") or modified
            rec["CreatedDate"], rec["LastModifiedDate"], rec["SystemModstamp"] = (
                created,
                modified,
                stamp,
            )
            rec.setdefault("CreatedById", owner)
            rec.setdefault("LastModifiedById", owner)
            latest = max(latest, stamp)
            batch.append((rid, rec))
        self.store.load(obj.name, batch)
        self.store.observe_stamp(latest)
        return [rid for rid, _ in batch]

    # ---- Tooling ------------------------------------------------------------------------------

    def create_custom_field(self, body: Mapping[str, Any], *, user_id: str) -> dict[str, Any]:
        """POST /tooling/sobjects/CustomField: add a field, invisible until FLS is granted."""
        obj, field_name = tooling.parse_full_name(body.get("FullName"), self.objects)
        metadata = body.get("Metadata") or {}
        if not isinstance(metadata, Mapping):
            raise bad_request("JSON_PARSER_ERROR", "Metadata must be an object")
        developer_name = field_name[:-3]
        if any(n.lower() == field_name.lower() for n in obj.fields):
            raise bad_request(
                "DUPLICATE_DEVELOPER_NAME",
                f"There is already a field named {developer_name} on {obj.name}.",
            )
        fdef = tooling.build_field(field_name, metadata)
        obj.add(fdef)
        if fdef.unique or fdef.external_id:
            self.store.track_unique(obj.name, field_name, case_sensitive=fdef.case_sensitive)
        if fdef.type == "boolean":
            # Existing rows read the checkbox default; store it so every reader agrees.
            for rec in self.store.records[obj.name].values():
                rec[field_name] = bool(fdef.default_value)
        field_id = self.ids.allocate("00N")
        self.custom_fields[field_id] = tooling.CustomFieldRow(
            id=field_id,
            object_name=obj.name,
            developer_name=developer_name,
            field=fdef,
            metadata=dict(metadata),
            created=self.store.now(),
            created_by=user_id,
        )
        return {"id": field_id, "success": True, "errors": []}

    def delete_custom_field(self, object_name: str, developer_name: str) -> bool:
        """Delete a custom field as an admin would in Setup (the values go with it)."""
        obj = self.object_def(object_name)
        for key, row in list(self.custom_fields.items()):
            if row.object_name == obj.name and row.developer_name == developer_name:
                del self.custom_fields[key]
                obj.remove(row.field.name)
                for rec in self.store.records[obj.name].values():
                    rec.pop(row.field.name, None)
                return True
        return False

    def custom_field_rows(self) -> list[dict[str, Any]]:
        """CustomField rows (canonical values) for Tooling queries; see CUSTOM_FIELD_SCHEMA."""
        return [
            {
                "Id": row.id,
                "DeveloperName": row.developer_name,
                "TableEnumOrId": row.object_name,
                "FullName": f"{row.object_name}.{row.field.name}",
                "NamespacePrefix": None,
                "CreatedDate": row.created,
                "LastModifiedDate": row.created,
            }
            for row in self.custom_fields.values()
        ]

    # ---- internals ------------------------------------------------------------------------

    def _field_name(self, obj: ObjectDef, view: FieldView, name: str) -> str:
        found = view.lookup(name)
        if found is None:
            raise bad_request(
                "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}", [name]
            )
        return found

    def _existing(self, obj: ObjectDef, record_id: str, *, allow_deleted: bool) -> Record:
        # Stored keys are canonical ids of this object: an exact hit needs no validation.
        rec = self.store.get(obj.name, record_id) if isinstance(record_id, str) else None
        if rec is None:
            if (
                not isinstance(record_id, str)
                or not is_valid_id(record_id)
                or record_id[:3] != obj.key_prefix
            ):
                raise bad_request(
                    "MALFORMED_ID",
                    f"{obj.label} ID: id value of incorrect type: {record_id}",
                    ["Id"],
                )
            rec = self.store.get(obj.name, to_18(record_id))
        if rec is None or (rec.get("IsDeleted") and not allow_deleted):
            raise not_found()
        return rec

    def _coerce(
        self, obj: ObjectDef, values: Mapping[str, Any], *, user_id: str, creating: bool, csv: bool
    ) -> Record:
        view = self.visibility.view(obj, user_id)
        visible = view.fields
        raw: dict[str, Any] = {}
        readonly: list[str] = []
        for key, value in values.items():
            if key == "attributes":
                continue
            name = self._field_name(obj, view, key)
            fdef = visible[name]
            writable = fdef.createable if creating else fdef.updateable
            if not writable or name not in view.editable:
                readonly.append(name)
            raw[name] = value
        if readonly:
            raise bad_request(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(readonly)}. {_READONLY_HINT}",
                readonly,
            )
        changes: Record = {}
        for name, value in raw.items():
            fdef = visible[name]
            if csv and isinstance(value, str):
                if value == "":
                    continue
                converted = from_csv(fdef, value)
            else:
                converted = from_json(fdef, value)
            if converted is None:
                if fdef.type == "boolean":
                    converted = False
                elif not fdef.nillable and not (creating and fdef.defaulted_on_create):
                    raise rules.required_missing([name])
            else:
                converted = rules.check_value(fdef, converted)
                if fdef.type == "reference":
                    self._check_reference(obj, fdef, converted)
            changes[name] = converted
        return changes

    def _check_reference(self, obj: ObjectDef, fdef: FieldDef, target_id: str) -> None:
        target = object_for_id(target_id)
        if target not in fdef.reference_to:
            raise bad_request(
                "FIELD_INTEGRITY_EXCEPTION",
                f"{fdef.label}: id value of incorrect type: {target_id}",
                [fdef.name],
            )
        rec = self.store.get(target, target_id)
        if rec is None:
            raise bad_request(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [fdef.name]
            )
        if rec.get("IsDeleted"):
            raise bad_request("ENTITY_IS_DELETED", "entity is deleted", [fdef.name])
        if target == "Group" and fdef.name == "OwnerId":
            queues.check_owner(self.store, obj.name, rec)

    def _insert(
        self,
        obj: ObjectDef,
        values: Mapping[str, Any],
        *,
        user_id: str,
        csv: bool = False,
        record_id: str | None = None,
    ) -> str:
        changes = self._coerce(obj, values, user_id=user_id, creating=True, csv=csv)
        record: Record = {k: v for k, v in changes.items() if v is not None}
        rules.apply_defaults(obj, record, user_id=user_id)
        rid = record_id or self.ids.allocate(obj.key_prefix)
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
        self._check_unique(obj, record_id, record, changes)
        if obj.name == "FieldPermissions":
            tooling.check_field_permission(
                record=record, objects=self.objects, store=self.store, record_id=record_id
            )
        elif obj.name == "PermissionSetAssignment":
            tooling.check_assignment(record=record, store=self.store, record_id=record_id)
        elif obj.name == "QueueSobject":
            queues.check_queue_row(self.store, record, record_id)
        self._stamp_write(obj, record_id, record, user_id=user_id, creating=creating)

    def _check_unique(
        self, obj: ObjectDef, record_id: str, record: Mapping[str, Any], changes: Mapping[str, Any]
    ) -> None:
        for name in changes:
            fdef = obj.fields[name]
            value = record.get(name)
            if not fdef.unique or value is None:
                continue
            others = sorted(self.store.lookup(obj.name, name, value) - {record_id})
            if others:
                raise SalesforceError(
                    status=400,
                    error_code="DUPLICATE_VALUE",
                    message=f"duplicate value found: {name} duplicates value on record with id: "
                    f"{others[0]}",
                )

    def _stamp_write(
        self,
        obj: ObjectDef,
        record_id: str,
        record: Record,
        *,
        user_id: str,
        creating: bool = False,
    ) -> None:
        now = self.store.now()
        if creating:
            record["CreatedDate"] = now
            record["CreatedById"] = user_id
        record["LastModifiedDate"] = now
        record["LastModifiedById"] = user_id
        record["SystemModstamp"] = now
        self.store.put(obj.name, record_id, record)
