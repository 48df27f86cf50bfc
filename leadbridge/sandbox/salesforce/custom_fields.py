"""Custom fields of the emulated org: Tooling CustomField create, Setup delete and query rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from leadbridge.sandbox.salesforce import tooling
from leadbridge.sandbox.salesforce.errors import bad_request
from leadbridge.sandbox.salesforce.ids import IdAllocator
from leadbridge.sandbox.salesforce.schema import ObjectDef
from leadbridge.sandbox.salesforce.store import RecordStore


class CustomFields:
    """One org's custom fields: adds and drops them on the shared object definitions."""

    def __init__(
        self,
        *,
        resolve: Callable[[str], ObjectDef],
        objects: Mapping[str, ObjectDef],
        store: RecordStore,
        ids: IdAllocator,
    ) -> None:
        self._resolve = resolve
        self._objects = objects
        self._store = store
        self._ids = ids
        # CustomField rows by Tooling id; the Org exposes this same dict as org.custom_fields.
        self.rows: dict[str, tooling.CustomFieldRow] = {}

    def create(self, body: Mapping[str, Any], *, user_id: str) -> dict[str, Any]:
        """POST /tooling/sobjects/CustomField: add a field, invisible until FLS is granted."""
        obj, field_name = tooling.parse_full_name(body.get("FullName"), self._objects)
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
            self._store.track_unique(obj.name, field_name, case_sensitive=fdef.case_sensitive)
        if fdef.type == "boolean":
            # Existing rows read the checkbox default; store it so every reader agrees.
            for rec in self._store.records[obj.name].values():
                rec[field_name] = bool(fdef.default_value)
        field_id = self._ids.allocate("00N")
        self.rows[field_id] = tooling.CustomFieldRow(
            id=field_id,
            object_name=obj.name,
            developer_name=developer_name,
            field=fdef,
            metadata=dict(metadata),
            created=self._store.now(),
            created_by=user_id,
        )
        return {"id": field_id, "success": True, "errors": []}

    def delete(self, object_name: str, developer_name: str) -> bool:
        """Delete a custom field as an admin would in Setup (the values go with it)."""
        obj = self._resolve(object_name)
        for key, row in list(self.rows.items()):
            if row.object_name == obj.name and row.developer_name == developer_name:
                del self.rows[key]
                obj.remove(row.field.name)
                for rec in self._store.records[obj.name].values():
                    rec.pop(row.field.name, None)
                return True
        return False

    def query_rows(self) -> list[dict[str, Any]]:
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
            for row in self.rows.values()
        ]
