"""The in-memory Salesforce org: schema visibility and record reads, with DML delegated."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from leadbridge.sandbox.salesforce import tooling
from leadbridge.sandbox.salesforce.custom_fields import CustomFields
from leadbridge.sandbox.salesforce.dml import RecordWriter, UpsertResult, save_result
from leadbridge.sandbox.salesforce.dml_checks import existing_record, field_name
from leadbridge.sandbox.salesforce.errors import not_found
from leadbridge.sandbox.salesforce.ids import IdAllocator, canonical_id, object_for_id
from leadbridge.sandbox.salesforce.limits import ApiLimits, Counter
from leadbridge.sandbox.salesforce.loading import bulk_load
from leadbridge.sandbox.salesforce.objects import standard_objects
from leadbridge.sandbox.salesforce.schema import FieldDef, ObjectDef
from leadbridge.sandbox.salesforce.store import (
    Clock,
    ModstampIndex,
    Record,
    RecordStore,
    system_clock,
)
from leadbridge.sandbox.salesforce.values import record_url, to_json
from leadbridge.sandbox.salesforce.visibility import FieldView, VisibilityCache

# Routes and rejections import these result shapes from here; they live with the DML in dml.py.
__all__ = ["Org", "UpsertResult", "save_result"]


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
        self._names: dict[str, str] = {name.lower(): name for name in self.objects}
        self.writer = RecordWriter(
            resolve=self.object_def,
            objects=self.objects,
            store=self.store,
            ids=self.ids,
            visibility=self.visibility,
            api_version=api_version,
        )
        self.field_setup = CustomFields(
            resolve=self.object_def, objects=self.objects, store=self.store, ids=self.ids
        )
        self.custom_fields: dict[str, tooling.CustomFieldRow] = self.field_setup.rows
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
        self.writer.insert(self.objects["User"], values, user_id=user_id, record_id=user_id)
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
        rec = existing_record(self.store, obj, record_id, allow_deleted=False)
        view = self.visibility.view(obj, user_id)
        names = list(view.fields) if fields is None else [field_name(obj, view, f) for f in fields]
        body: dict[str, Any] = {
            "attributes": {
                "type": obj.name,
                "url": record_url(obj.name, rec["Id"], self.api_version),
            }
        }
        for name in names:
            body[name] = to_json(rec.get(name))
        return body

    # ---- DML (rules in dml.py) -----------------------------------------------------------

    def create(
        self, object_name: str, values: Mapping[str, Any], *, user_id: str, csv: bool = False
    ) -> str:
        """Insert one record from JSON (or Bulk CSV) values; returns its 18-character id."""
        return self.writer.create(object_name, values, user_id=user_id, csv=csv)

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
        self.writer.update(object_name, record_id, values, user_id=user_id, csv=csv)

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
        return self.writer.upsert(object_name, field, value, values, user_id=user_id, csv=csv)

    def delete(self, object_name: str, record_id: str, *, user_id: str, hard: bool = False) -> None:
        """Delete a record: soft (IsDeleted, kept for queryAll) where the object allows it."""
        self.writer.delete(object_name, record_id, user_id=user_id, hard=hard)

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
        self.writer.system_write(object_name, record_id, changes, user_id=user_id)

    def bulk_load(
        self, object_name: str, rows: Iterable[Mapping[str, Any]], *, user_id: str | None = None
    ) -> list[str]:
        """Seed many records of canonical values fast: defaults and ids, no per-field checks."""
        obj = self.object_def(object_name)
        owner = user_id or self.integration_user_id
        return bulk_load(self.store, self.ids, obj, rows, owner=owner)

    # ---- Tooling (custom fields in custom_fields.py) --------------------------------------

    def create_custom_field(self, body: Mapping[str, Any], *, user_id: str) -> dict[str, Any]:
        """POST /tooling/sobjects/CustomField: add a field, invisible until FLS is granted."""
        return self.field_setup.create(body, user_id=user_id)

    def delete_custom_field(self, object_name: str, developer_name: str) -> bool:
        """Delete a custom field as an admin would in Setup (the values go with it)."""
        return self.field_setup.delete(object_name, developer_name)

    def custom_field_rows(self) -> list[dict[str, Any]]:
        """CustomField rows (canonical values) for Tooling queries; see CUSTOM_FIELD_SCHEMA."""
        return self.field_setup.query_rows()
