"""Tooling API custom fields and the field-level security that makes them visible."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leadbridge.sandbox.salesforce.errors import SalesforceError, bad_request
from leadbridge.sandbox.salesforce.schema import FieldDef, ObjectDef, PicklistValue
from leadbridge.sandbox.salesforce.store import Record, RecordStore

_NAME_RE = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*$")
# Describe type by Metadata API field type.
_TYPES = {
    "Text": "string",
    "LongTextArea": "textarea",
    "TextArea": "textarea",
    "Number": "double",
    "Currency": "currency",
    "Percent": "percent",
    "Checkbox": "boolean",
    "Picklist": "picklist",
    "MultiselectPicklist": "multipicklist",
    "Date": "date",
    "DateTime": "datetime",
    "Email": "email",
    "Phone": "phone",
    "Url": "url",
}
_EXTERNAL_ID_TYPES = frozenset({"Text", "Number", "Email"})
# The answer the Tooling query layer binds `SELECT ... FROM CustomField` against.
CUSTOM_FIELD_SCHEMA: dict[str, str] = {
    "Id": "id",
    "DeveloperName": "string",
    "TableEnumOrId": "string",
    "FullName": "string",
    "NamespacePrefix": "string",
    "CreatedDate": "datetime",
    "LastModifiedDate": "datetime",
}


@dataclass(frozen=True)
class CustomFieldRow:
    """A Tooling CustomField record."""

    id: str
    object_name: str
    developer_name: str
    field: FieldDef
    metadata: Mapping[str, Any]
    created: dt.datetime
    created_by: str


def _integrity(message: str, fields: list[str] | None = None) -> SalesforceError:
    return bad_request("FIELD_INTEGRITY_EXCEPTION", message, fields or [])


def _int_attr(meta: Mapping[str, Any], key: str, default: int) -> int:
    value = meta.get(key, default)
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _integrity(f"{key}: invalid number: {value}", [key]) from None


def _picklist(meta: Mapping[str, Any]) -> tuple[tuple[PicklistValue, ...], bool]:
    value_set = meta.get("valueSet") or {}
    definition = value_set.get("valueSetDefinition") or {}
    entries = definition.get("value") or []
    if not entries:
        raise _integrity("Picklist values: You must enter at least one value.", ["valueSet"])
    values = tuple(
        PicklistValue(
            value=str(e["fullName"]),
            label=str(e.get("label") or e["fullName"]),
            default=bool(e.get("default", False)),
        )
        for e in entries
    )
    return values, bool(value_set.get("restricted", False))


def build_field(name: str, meta: Mapping[str, Any]) -> FieldDef:
    """Translate Tooling `Metadata` into a field definition, rejecting what Salesforce rejects."""
    kind = str(meta.get("type", ""))
    describe_type = _TYPES.get(kind)
    if describe_type is None:
        raise _integrity(f"Invalid field type: {kind or None}", ["type"])
    label = meta.get("label")
    if not label:
        raise bad_request(
            "REQUIRED_FIELD_MISSING", "Required fields are missing: [label]", ["label"]
        )
    external_id = bool(meta.get("externalId", False))
    if external_id and kind not in _EXTERNAL_ID_TYPES:
        raise _integrity(f"External ID is not available for fields of type {kind}", ["externalId"])
    required = bool(meta.get("required", False))
    attrs: dict[str, Any] = {
        "name": name,
        "type": describe_type,
        "label": str(label),
        "custom": True,
        "external_id": external_id,
        "unique": bool(meta.get("unique", False)),
        "case_sensitive": bool(meta.get("caseSensitive", False)),
        "nillable": not required,
        "required": required,
    }
    if kind == "Text" or kind in {"Email", "Phone", "Url"}:
        default_len = {"Email": 80, "Phone": 40, "Url": 255}.get(kind, 0)
        length = _int_attr(meta, "length", default_len)
        if not 1 <= length <= 255:
            raise _integrity("Length: value must be between 1 and 255", ["length"])
        attrs["length"] = length
    elif kind in {"LongTextArea", "TextArea"}:
        length = _int_attr(meta, "length", 255 if kind == "TextArea" else 32768)
        if not 256 <= length <= 131072 and kind == "LongTextArea":
            raise _integrity("Length: value must be between 256 and 131,072", ["length"])
        attrs["length"] = length
    elif kind in {"Number", "Currency", "Percent"}:
        precision = _int_attr(meta, "precision", 18)
        scale = _int_attr(meta, "scale", 0)
        if not 1 <= precision <= 18 or not 0 <= scale <= precision:
            raise _integrity(
                "Precision: value must be between 1 and 18 and at least the scale", ["precision"]
            )
        attrs.update(precision=precision, scale=scale)
    elif kind == "Checkbox":
        default = str(meta.get("defaultValue", "false")).lower() == "true"
        attrs.update(nillable=False, defaulted_on_create=True, default_value=default)
    elif kind in {"Picklist", "MultiselectPicklist"}:
        values, restricted = _picklist(meta)
        attrs.update(
            picklist=values,
            restricted_picklist=restricted,
            length=4099 if kind == "MultiselectPicklist" else 255,
        )
    return FieldDef(**attrs)


def parse_full_name(full_name: Any, objects: Mapping[str, ObjectDef]) -> tuple[ObjectDef, str]:
    """Split `Lead.MQL_Score__c` into the object and the field name, validating both."""
    if not isinstance(full_name, str) or full_name.count(".") != 1:
        raise bad_request("INVALID_FIELD", f"Invalid FullName: {full_name}", ["FullName"])
    object_name, field_name = full_name.split(".")
    obj = objects.get(object_name)
    if obj is None or not obj.accepts_custom_fields:
        raise bad_request(
            "INVALID_TYPE", f"Cannot create custom fields on {object_name}", ["FullName"]
        )
    if not field_name.endswith("__c") or not _NAME_RE.match(field_name[:-3]):
        raise bad_request(
            "INVALID_FIELD",
            f"Invalid field name: {field_name}. Custom field names end with __c "
            "and contain only letters, digits and single underscores.",
            ["FullName"],
        )
    return obj, field_name


_SECURITY_OBJECTS = frozenset({"FieldPermissions", "PermissionSetAssignment", "PermissionSet"})


class FieldSecurity:
    """Which custom fields each user can read and edit, derived from FieldPermissions rows."""

    def __init__(self, store: RecordStore) -> None:
        self._store = store
        self._cache: dict[str, dict[str, tuple[bool, bool]]] = {}
        # Bumped on every write that can change a grant; views derived from grants compare it.
        self.version = 0
        store.listeners.append(self._on_write)

    def _on_write(self, object_name: str) -> None:
        if object_name in _SECURITY_OBJECTS:
            self._cache.clear()
            self.version += 1

    def grants(self, user_id: str) -> dict[str, tuple[bool, bool]]:
        """`Object.Field` -> (read, edit) for one user, over all assigned permission sets."""
        cached = self._cache.get(user_id)
        if cached is not None:
            return cached
        assignments = self._store.records["PermissionSetAssignment"].values()
        sets = {a["PermissionSetId"] for a in assignments if a["AssigneeId"] == user_id}
        result: dict[str, tuple[bool, bool]] = {}
        for perm in self._store.records["FieldPermissions"].values():
            if perm["ParentId"] not in sets:
                continue
            read, edit = result.get(perm["Field"], (False, False))
            result[perm["Field"]] = (
                read or bool(perm["PermissionsRead"]),
                edit or bool(perm["PermissionsEdit"]),
            )
        self._cache[user_id] = result
        return result

    def can_read(self, user_id: str, object_name: str, field: FieldDef) -> bool:
        """Standard fields are always readable here; custom ones need a Read grant."""
        if not field.custom:
            return True
        return self.grants(user_id).get(f"{object_name}.{field.name}", (False, False))[0]

    def can_edit(self, user_id: str, object_name: str, field: FieldDef) -> bool:
        """Custom fields need an Edit grant (which implies Read)."""
        if not field.custom:
            return True
        return self.grants(user_id).get(f"{object_name}.{field.name}", (False, False))[1]


def check_field_permission(
    *,
    record: Record,
    objects: Mapping[str, ObjectDef],
    store: RecordStore,
    record_id: str,
) -> None:
    """Validate a FieldPermissions row: a real field, Edit needs Read, one row per set and field."""
    target = str(record.get("Field", ""))
    obj_name, _, field_name = target.partition(".")
    obj = objects.get(obj_name)
    if obj is None or field_name not in obj.fields or record.get("SobjectType") != obj_name:
        raise bad_request(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"Field Name: bad value for restricted picklist field: {target}",
            ["Field"],
        )
    if not obj.fields[field_name].custom and not obj.fields[field_name].nillable:
        raise _integrity(f"Field {target} is not permissionable", ["Field"])
    if record.get("PermissionsEdit") and not record.get("PermissionsRead"):
        raise _integrity("Permission Edit depends on permission(s): Read", ["PermissionsRead"])
    for other_id, other in store.records["FieldPermissions"].items():
        if (
            other_id != record_id
            and other["ParentId"] == record["ParentId"]
            and other["Field"] == target
        ):
            raise bad_request(
                "DUPLICATE_VALUE",
                f"duplicate value found: <unknown> duplicates value on record with id: {other_id}",
            )


def check_assignment(*, record: Record, store: RecordStore, record_id: str) -> None:
    """Reject a second assignment of the same permission set to the same user."""
    for other_id, other in store.records["PermissionSetAssignment"].items():
        if (
            other_id != record_id
            and other["AssigneeId"] == record["AssigneeId"]
            and other["PermissionSetId"] == record["PermissionSetId"]
        ):
            raise bad_request(
                "DUPLICATE_VALUE",
                f"duplicate value found: <unknown> duplicates value on record with id: {other_id}",
            )
