"""sObject Collections semantics: up to 200 records, per-record results, allOrNone rollback."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from leadbridge.sandbox.salesforce.errors import SalesforceError, bad_request
from leadbridge.sandbox.salesforce.ids import is_valid_id, to_18
from leadbridge.sandbox.salesforce.org import Org

MAX_RECORDS = 200
_ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was "
    "using AllOrNone header",
    "fields": [],
}


def _check_size(count: int) -> None:
    if count > MAX_RECORDS:
        raise bad_request(
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        )
    if count == 0:
        raise bad_request("INVALID_FIELD", "The records or ids array is empty")


def _record_type(record: Mapping[str, Any]) -> str:
    attributes = record.get("attributes")
    kind = attributes.get("type") if isinstance(attributes, Mapping) else None
    if not isinstance(kind, str) or not kind:
        raise bad_request("INVALID_TYPE", "Must send a concrete entity type.")
    return kind


def _run(
    org: Org,
    items: Sequence[Any],
    operation: Callable[[Any], dict[str, Any]],
    *,
    all_or_none: bool,
    failed_id: Callable[[Any], str | None],
) -> list[dict[str, Any]]:
    """Apply an operation per item in order; with allOrNone one failure undoes every write."""
    savepoint = org.store.begin()
    results: list[dict[str, Any]] = []
    failed = False
    try:
        for item in items:
            try:
                results.append(operation(item))
            except SalesforceError as err:
                failed = True
                results.append(
                    {"id": failed_id(item), "success": False, "errors": [err.record_error()]}
                )
        if all_or_none and failed:
            org.store.rollback(savepoint)
            for pos, result in enumerate(results):
                if result["success"]:
                    entry: dict[str, Any] = {
                        "id": failed_id(items[pos]),
                        "success": False,
                        "errors": [dict(_ROLLED_BACK)],
                    }
                    if "created" in result:
                        entry["created"] = False
                    results[pos] = entry
    except BaseException:
        org.store.rollback(savepoint)
        raise
    finally:
        org.store.end(savepoint)
    return results


def _body_id(record: Any) -> str | None:
    if isinstance(record, Mapping):
        value = record.get("Id") or record.get("id")
        return value if isinstance(value, str) else None
    return None


def create_records(
    org: Org, records: Sequence[Mapping[str, Any]], *, all_or_none: bool, user_id: str
) -> list[dict[str, Any]]:
    """POST /composite/sobjects: create each record, results in request order."""
    _check_size(len(records))

    def create(record: Mapping[str, Any]) -> dict[str, Any]:
        if _body_id(record) is not None:
            raise bad_request("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        new_id = org.create(_record_type(record), record, user_id=user_id)
        return {"id": new_id, "success": True, "errors": []}

    return _run(org, records, create, all_or_none=all_or_none, failed_id=lambda _r: None)


def update_records(
    org: Org, records: Sequence[Mapping[str, Any]], *, all_or_none: bool, user_id: str
) -> list[dict[str, Any]]:
    """PATCH /composite/sobjects: update each record by its Id."""
    _check_size(len(records))

    def update(record: Mapping[str, Any]) -> dict[str, Any]:
        record_id = _body_id(record)
        if record_id is None:
            raise bad_request("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        kind = _record_type(record)
        org.update(kind, record_id, record, user_id=user_id)
        return {"id": _norm(record_id), "success": True, "errors": []}

    def failed(record: Any) -> str | None:
        record_id = _body_id(record)
        return None if record_id is None else _norm(record_id)

    return _run(org, records, update, all_or_none=all_or_none, failed_id=failed)


def upsert_records(
    org: Org,
    object_name: str,
    external_id_field: str,
    records: Sequence[Mapping[str, Any]],
    *,
    all_or_none: bool,
    user_id: str,
) -> list[dict[str, Any]]:
    """PATCH /composite/sobjects/{type}/{field}: upsert each record; results carry `created`."""
    _check_size(len(records))
    org.object_def(object_name)

    def upsert(record: Mapping[str, Any]) -> dict[str, Any]:
        if _record_type(record).lower() != object_name.lower():
            raise bad_request(
                "INVALID_TYPE", f"Record type {_record_type(record)} does not match {object_name}"
            )
        body = dict(record)
        key = next((k for k in body if k.lower() == external_id_field.lower()), None)
        value = body.pop(key) if key is not None else None
        try:
            result = org.upsert(object_name, external_id_field, value, body, user_id=user_id)
        except SalesforceError as err:
            if err.status == 300:
                raise bad_request(
                    "DUPLICATE_EXTERNAL_ID", err.message, [external_id_field]
                ) from None
            raise
        return {"id": result.id, "success": True, "errors": [], "created": result.created}

    def failed(record: Any) -> str | None:
        return None

    results = _run(org, records, upsert, all_or_none=all_or_none, failed_id=failed)
    for result in results:
        result.setdefault("created", False)
    return results


def delete_records(
    org: Org, ids: Sequence[str], *, all_or_none: bool, user_id: str
) -> list[dict[str, Any]]:
    """DELETE /composite/sobjects?ids=...: delete each record, whatever its type."""
    _check_size(len(ids))

    def delete(record_id: str) -> dict[str, Any]:
        found = org.find(record_id)
        if found is None:
            raise bad_request(
                "MALFORMED_ID" if not _well_formed(record_id) else "INVALID_CROSS_REFERENCE_KEY",
                f"malformed id {record_id}"
                if not _well_formed(record_id)
                else "invalid cross reference id",
            )
        org.delete(found[0], record_id, user_id=user_id)
        return {"id": _norm(record_id), "success": True, "errors": []}

    return _run(org, ids, delete, all_or_none=all_or_none, failed_id=_norm)


def _well_formed(record_id: str) -> bool:
    return is_valid_id(record_id)


def _norm(record_id: str) -> str:
    return to_18(record_id) if is_valid_id(record_id) else record_id
