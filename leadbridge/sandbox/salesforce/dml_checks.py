"""What DML input must pass: live record ids, known and writable fields, valid values, references.

Each check raises the SalesforceError the real API answers with; none of them writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadbridge.sandbox.salesforce import queues, rules
from leadbridge.sandbox.salesforce.errors import SalesforceError, bad_request, not_found
from leadbridge.sandbox.salesforce.ids import is_valid_id, object_for_id, to_18
from leadbridge.sandbox.salesforce.schema import FieldDef, ObjectDef
from leadbridge.sandbox.salesforce.store import Record, RecordStore
from leadbridge.sandbox.salesforce.values import from_csv, from_json
from leadbridge.sandbox.salesforce.visibility import FieldView

READONLY_HINT = (
    "Please check the security settings of this field and verify that it is "
    "read/write for your profile or permission set."
)


def field_name(obj: ObjectDef, view: FieldView, name: str) -> str:
    """The canonical name of a field the user can see; 400 INVALID_FIELD otherwise."""
    found = view.lookup(name)
    if found is None:
        raise bad_request(
            "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}", [name]
        )
    return found


def existing_record(
    store: RecordStore, obj: ObjectDef, record_id: str, *, allow_deleted: bool
) -> Record:
    """The stored record an id names: 400 MALFORMED_ID for a bad id, 404 when absent."""
    # Stored keys are canonical ids of this object: an exact hit needs no validation.
    rec = store.get(obj.name, record_id) if isinstance(record_id, str) else None
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
        rec = store.get(obj.name, to_18(record_id))
    if rec is None or (rec.get("IsDeleted") and not allow_deleted):
        raise not_found()
    return rec


def coerce_values(
    store: RecordStore,
    obj: ObjectDef,
    view: FieldView,
    values: Mapping[str, Any],
    *,
    creating: bool,
    csv: bool,
) -> Record:
    """Request values as canonical field values, once every field is known, writable and valid."""
    visible = view.fields
    raw: dict[str, Any] = {}
    readonly: list[str] = []
    for key, value in values.items():
        if key == "attributes":
            continue
        name = field_name(obj, view, key)
        fdef = visible[name]
        writable = fdef.createable if creating else fdef.updateable
        if not writable or name not in view.editable:
            readonly.append(name)
        raw[name] = value
    if readonly:
        raise bad_request(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(readonly)}. {READONLY_HINT}",
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
                check_reference(store, obj, fdef, converted)
        changes[name] = converted
    return changes


def check_reference(store: RecordStore, obj: ObjectDef, fdef: FieldDef, target_id: str) -> None:
    """Reject a lookup to the wrong object type, a missing or deleted record, or a non-queue."""
    target = object_for_id(target_id)
    if target not in fdef.reference_to:
        raise bad_request(
            "FIELD_INTEGRITY_EXCEPTION",
            f"{fdef.label}: id value of incorrect type: {target_id}",
            [fdef.name],
        )
    rec = store.get(target, target_id)
    if rec is None:
        raise bad_request("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [fdef.name])
    if rec.get("IsDeleted"):
        raise bad_request("ENTITY_IS_DELETED", "entity is deleted", [fdef.name])
    if target == "Group" and fdef.name == "OwnerId":
        queues.check_owner(store, obj.name, rec)


def check_unique(
    store: RecordStore,
    obj: ObjectDef,
    record_id: str,
    record: Mapping[str, Any],
    changes: Mapping[str, Any],
) -> None:
    """Reject a changed unique field whose value another record already holds."""
    for name in changes:
        fdef = obj.fields[name]
        value = record.get(name)
        if not fdef.unique or value is None:
            continue
        others = sorted(store.lookup(obj.name, name, value) - {record_id})
        if others:
            raise SalesforceError(
                status=400,
                error_code="DUPLICATE_VALUE",
                message=f"duplicate value found: {name} duplicates value on record with id: "
                f"{others[0]}",
            )
