"""Batch endpoints: read, create, update, upsert, archive, with HubSpot's status rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import HubSpotError, JsonDict, batch_error_item, not_found, validation_error
from .properties import names_in
from .records import Records, WriteStamp, render
from .store import RecordVersion
from .values import iso_ms

MAX_INPUTS = 100


@dataclass(frozen=True, slots=True)
class BatchResult:
    """A batch answer: the exact HTTP status (200, 201 or 207) and its JSON body."""

    status: int
    body: JsonDict


def _inputs(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    raw = body.get("inputs")
    if not isinstance(raw, list):
        raise validation_error("The request body needs an `inputs` list")
    if len(raw) > MAX_INPUTS:
        raise validation_error(
            f"Batch input too large: {len(raw)} inputs. The maximum is {MAX_INPUTS}."
        )
    if not all(isinstance(item, Mapping) for item in raw):
        raise validation_error("Every batch input must be an object")
    return raw


def _traced(inputs: Sequence[Mapping[str, Any]]) -> bool:
    # HubSpot answers 207 with per-input errors only when inputs carry objectWriteTraceId;
    # otherwise the first bad input fails the whole request.
    return any(item.get("objectWriteTraceId") for item in inputs)


def _error_item(error: HubSpotError, item: Mapping[str, Any]) -> JsonDict:
    context = {k: [str(x) for x in v] for k, v in (error.body.get("context") or {}).items()}
    trace = item.get("objectWriteTraceId")
    if trace:
        context["objectWriteTraceId"] = [str(trace)]
    return batch_error_item(
        message=str(error.body["message"]), category=error.category, context=context
    )


def _envelope(
    *, results: list[JsonDict], errors: list[JsonDict], started_ms: int, ok_status: int
) -> BatchResult:
    stamp = iso_ms(started_ms)
    body: JsonDict = {
        "status": "COMPLETE",
        "results": results,
        "requestedAt": stamp,
        "startedAt": stamp,
        "completedAt": stamp,
    }
    if errors:
        body["errors"] = errors
        body["numErrors"] = len(errors)
    return BatchResult(status=207 if errors else ok_status, body=body)


def _no_duplicates(inputs: Sequence[Mapping[str, Any]], key: str = "id") -> None:
    seen: set[str] = set()
    dupes: list[str] = []
    for item in inputs:
        value = str(item.get(key, "")).lower()
        if value in seen:
            dupes.append(str(item.get(key)))
        seen.add(value)
    if dupes:
        raise validation_error(f"Duplicate IDs found in batch input: {dupes}")


def batch_read(
    records: Records, *, object_type: str, body: Mapping[str, Any], archived: bool = False
) -> BatchResult:
    """POST .../batch/read: missing ids come back as a 207 OBJECT_NOT_FOUND error."""
    inputs = _inputs(body)
    id_property = body.get("idProperty")
    names = records.returned_names(object_type, names_in(body.get("properties")))
    store = records.store(object_type)
    results: list[JsonDict] = []
    missing: list[str] = []
    seen: set[int] = set()
    for item in inputs:
        raw_id = item.get("id")
        found: RecordVersion | None
        if archived:
            text = str(raw_id)
            found = store.get_archived(int(text)) if text.isdigit() else None
        else:
            found = records.resolve(
                object_type=object_type, object_id=raw_id, id_property=id_property
            )
        if found is None:
            missing.append(str(raw_id))
        elif found.id not in seen:
            seen.add(found.id)
            results.append(render(found, names))
    errors = []
    if missing:
        errors.append(
            batch_error_item(
                message=f"Could not get some {object_type} objects, they may be deleted or not "
                "exist. Check that ids are valid.",
                category="OBJECT_NOT_FOUND",
                context={"ids": missing},
            )
        )
    return _envelope(results=results, errors=errors, started_ms=records.now_ms(), ok_status=200)


def batch_create(records: Records, *, object_type: str, body: Mapping[str, Any]) -> BatchResult:
    """POST .../batch/create: 201, or 207 with traced inputs; an untraced failure raises."""
    inputs = _inputs(body)
    traced = _traced(inputs)
    claimed: dict[tuple[str, str], int] = {}
    planned: list[tuple[Mapping[str, Any], dict[str, str | None]]] = []
    errors: list[JsonDict] = []
    store = records.store(object_type)
    for index, item in enumerate(inputs):
        try:
            values = records.coerce(object_type=object_type, values=item.get("properties", {}))
            clash = records.unique_clash(
                object_type=object_type, values=values, self_id=None, claimed=claimed
            )
            if clash is not None:
                raise clash
        except HubSpotError as error:
            if not traced:
                raise
            errors.append(_error_item(error, item))
            continue
        for name in store.unique:
            if values.get(name):
                # A later input with the same value conflicts with this one; -index marks
                # "earlier in this batch" until the real id exists.
                claimed[(name, str(values[name]).lower())] = -(index + 1)
        planned.append((item, values))
    stamp = records.stamp()
    results = []
    for item, values in planned:
        version = records.insert(object_type=object_type, values=values, stamp=stamp)
        extra = (
            {"objectWriteTraceId": item["objectWriteTraceId"]}
            if item.get("objectWriteTraceId")
            else {}
        )
        names = records.returned_names(object_type, None, values.keys())
        results.append(render(version, names, **extra))
    return _envelope(results=results, errors=errors, started_ms=stamp.ms, ok_status=201)


def _update_plan(
    records: Records,
    *,
    object_type: str,
    item: Mapping[str, Any],
    claimed: dict[tuple[str, str], int],
) -> tuple[RecordVersion, dict[str, str | None]]:
    current = records.resolve(
        object_type=object_type, object_id=item.get("id"), id_property=item.get("idProperty")
    )
    if current is None:
        raise not_found(f"Object not found. objectId are usually numeric. ({item.get('id')})")
    values = records.coerce(object_type=object_type, values=item.get("properties", {}))
    clash = records.unique_clash(
        object_type=object_type, values=values, self_id=current.id, claimed=claimed
    )
    if clash is not None:
        raise clash
    return current, values


def batch_update(records: Records, *, object_type: str, body: Mapping[str, Any]) -> BatchResult:
    """POST .../batch/update: 200, or 207 with traced inputs; an untraced failure raises."""
    inputs = _inputs(body)
    _no_duplicates(inputs)
    traced = _traced(inputs)
    claimed: dict[tuple[str, str], int] = {}
    planned: list[tuple[Mapping[str, Any], RecordVersion, dict[str, str | None]]] = []
    errors: list[JsonDict] = []
    for item in inputs:
        try:
            current, values = _update_plan(
                records, object_type=object_type, item=item, claimed=claimed
            )
        except HubSpotError as error:
            if not traced:
                raise
            errors.append(_error_item(error, item))
            continue
        _claim(records, object_type, values, current.id, claimed)
        planned.append((item, current, values))
    stamp = records.stamp()
    results = [
        _apply_update(records, object_type, item, current, values, stamp)
        for item, current, values in planned
    ]
    return _envelope(results=results, errors=errors, started_ms=stamp.ms, ok_status=200)


def _claim(
    records: Records,
    object_type: str,
    values: Mapping[str, str | None],
    record_id: int,
    claimed: dict[tuple[str, str], int],
) -> None:
    for name in records.store(object_type).unique:
        if values.get(name):
            claimed[(name, str(values[name]).lower())] = record_id


def _apply_update(
    records: Records,
    object_type: str,
    item: Mapping[str, Any],
    current: RecordVersion,
    values: dict[str, str | None],
    stamp: WriteStamp,
    **extra: object,
) -> JsonDict:
    # Re-read: an earlier input of the same batch may have produced a newer version.
    latest = records.store(object_type).get_active(current.id) or current
    version = records.update(object_type=object_type, current=latest, values=values, stamp=stamp)
    if item.get("objectWriteTraceId"):
        extra["objectWriteTraceId"] = item["objectWriteTraceId"]
    names = records.returned_names(object_type, None, values.keys())
    return render(version, names, **extra)


def batch_upsert(records: Records, *, object_type: str, body: Mapping[str, Any]) -> BatchResult:
    """POST .../batch/upsert by a unique idProperty: results carry `new`."""
    inputs = _inputs(body)
    _no_duplicates(inputs)
    traced = _traced(inputs)
    claimed: dict[tuple[str, str], int] = {}
    planned: list[tuple[Mapping[str, Any], RecordVersion | None, dict[str, str | None]]] = []
    errors: list[JsonDict] = []
    for index, item in enumerate(inputs):
        id_property = item.get("idProperty")
        try:
            current = records.resolve(
                object_type=object_type, object_id=item.get("id"), id_property=id_property
            )
            values = records.coerce(object_type=object_type, values=item.get("properties", {}))
            if current is None:
                if id_property in (None, "", "hs_object_id"):
                    raise not_found(
                        f"Object not found. objectId are usually numeric. ({item.get('id')})"
                    )
                values = {
                    **values,
                    **records.coerce(
                        object_type=object_type, values={str(id_property): item.get("id")}
                    ),
                }
            clash = records.unique_clash(
                object_type=object_type,
                values=values,
                self_id=None if current is None else current.id,
                claimed=claimed,
            )
            if clash is not None:
                raise clash
        except HubSpotError as error:
            if not traced:
                raise
            errors.append(_error_item(error, item))
            continue
        _claim(
            records, object_type, values, -(index + 1) if current is None else current.id, claimed
        )
        planned.append((item, current, values))
    stamp = records.stamp()
    results = []
    for item, current, values in planned:
        if current is None:
            version = records.insert(object_type=object_type, values=values, stamp=stamp)
            names = records.returned_names(object_type, None, values.keys())
            extra: dict[str, object] = {"new": True}
            if item.get("objectWriteTraceId"):
                extra["objectWriteTraceId"] = item["objectWriteTraceId"]
            results.append(render(version, names, **extra))
        else:
            results.append(
                _apply_update(records, object_type, item, current, values, stamp, new=False)
            )
    return _envelope(results=results, errors=errors, started_ms=stamp.ms, ok_status=200)


def batch_archive(records: Records, *, object_type: str, body: Mapping[str, Any]) -> list[int]:
    """POST .../batch/archive (HTTP 204): unknown ids are ignored; returns archived ids."""
    inputs = _inputs(body)
    stamp = records.stamp()
    done: list[int] = []
    for item in inputs:
        found = records.resolve(
            object_type=object_type, object_id=item.get("id"), follow_merges=False
        )
        if found is not None:
            records.archive(object_type=object_type, record_id=found.id, stamp=stamp)
            done.append(found.id)
    return done
