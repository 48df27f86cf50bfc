"""Value-level audit checks for one field flowing one way: picklist translations and lengths."""

from __future__ import annotations

from collections.abc import Iterable

from leadbridge.connectors.base import CanonicalValue, FieldSchema, FieldType, Side
from leadbridge.sync.transforms import OnUnknown, Pipeline, TransformFailed, apply_step

ValueFinding = tuple[str, str, str, str]
"""(severity, kind, message, fix)."""

PICKLISTS = (FieldType.PICKLIST, FieldType.MULTIPICKLIST)
TEXT_TYPES = ("string", "textarea", "email", "phone", "url", "encryptedstring")
# HubSpot documents 65,536 characters as the limit of a string property's value.
HUBSPOT_TEXT_LIMIT = 65_536


def value_findings(
    source: FieldSchema, target: FieldSchema, pipeline: Pipeline, *, side: Side
) -> list[ValueFinding]:
    """Untranslated picklist values and truncation risks for values flowing into `target`."""
    return [*_picklist(source, target, pipeline), *_length(source, target, pipeline, side=side)]


def _options(field: FieldSchema) -> tuple[str, ...]:
    # Booleans come back as a two-option enumeration from HubSpot; they are not picklists.
    return field.picklist_values if field.type in PICKLISTS else ()


def _after_steps(pipeline: Pipeline, value: str) -> str | None:
    current: CanonicalValue = value
    for step in pipeline.steps:
        try:
            current = apply_step(step, current)
        except TransformFailed:
            return None
    return current if isinstance(current, str) else None


def _unknown(values: list[str], on_unknown: OnUnknown, *, what: str, where: str) -> ValueFinding:
    listed = ", ".join(repr(v) for v in values)
    if on_unknown == "blank":
        return (
            "warning",
            "untranslated_value",
            f"{len(values)} {what} value(s) have no translation and are blanked: {listed}",
            f"add them to the table of {where}",
        )
    return (
        "error",
        "untranslated_value",
        f"{len(values)} {what} value(s) have no translation; records holding them fail: {listed}",
        f'add them to the table of {where} (or on_unknown = "blank")',
    )


def _picklist(source: FieldSchema, target: FieldSchema, pipeline: Pipeline) -> list[ValueFinding]:
    found: list[ValueFinding] = []
    src_values = _options(source)
    dst_values = set(_options(target))
    closed = target.restricted and bool(dst_values)
    where = pipeline.where or "the field"
    produced: Iterable[str] = ()
    if pipeline.translation is not None:
        table = pipeline.translation.table
        keys = [(v, _after_steps(pipeline, v)) for v in src_values]
        missing = [v for v, key in keys if key not in table]
        on_unknown = pipeline.translation.on_unknown
        if missing and on_unknown != "pass":
            found.append(_unknown(missing, on_unknown, what=source.name, where=where))
        elif missing and closed:
            produced = [v for v in missing if v not in dst_values]
        produced = [*produced, *table.values()]
    elif pipeline.bands is not None:
        labels = pipeline.bands.lower_bounds
        if pipeline.bands_to_number:
            missing = [v for v in src_values if v not in labels]
            if missing and pipeline.bands.on_unknown != "pass":
                found.append(
                    _unknown(missing, pipeline.bands.on_unknown, what=source.name, where=where)
                )
        else:
            produced = list(labels)
    elif src_values and closed:
        produced = [v for v in src_values if _after_steps(pipeline, v) not in dst_values]
    lacking = sorted({v for v in produced if v not in dst_values}) if closed else []
    if lacking:
        listed = ", ".join(repr(v) for v in lacking)
        found.append(
            (
                "error",
                "untranslated_value",
                f"{target.name} accepts none of these values that would be written to it: {listed}",
                f"add the values to {target.name}'s picklist, or translate them in {where}",
            )
        )
    return found


def _limit(pipeline: Pipeline) -> int | None:
    lengths = [
        s.length for s in pipeline.steps if s.kind in ("truncate", "max_length") and s.length
    ]
    return min(lengths) if lengths else None


def _length(
    source: FieldSchema, target: FieldSchema, pipeline: Pipeline, *, side: Side
) -> list[ValueFinding]:
    if side == "salesforce":
        if target.native_type not in TEXT_TYPES or not target.length:
            return []
        room = target.length
        # A Salesforce source knows its own length; a HubSpot string is unbounded in practice.
        longest = source.length if source.native_type in TEXT_TYPES else None
    else:
        if target.type not in (FieldType.STRING, FieldType.TEXT, FieldType.PHONE):
            return []
        room, longest = HUBSPOT_TEXT_LIMIT, source.length
    limit = _limit(pipeline)
    if limit is not None and limit > room:
        return [
            (
                "warning",
                "truncation_risk",
                f"the transform allows {limit} characters but {target.name} holds {room}",
                f"set the truncate/max_length length to {room} or less",
            )
        ]
    if limit is not None or (longest is not None and longest <= room):
        return []
    if longest is not None:
        return [
            (
                "warning",
                "truncation_risk",
                f"{source.name} holds up to {longest} characters, {target.name} only {room}",
                f'add transforms = [{{ kind = "truncate", length = {room} }}] (or max_length)',
            )
        ]
    return [
        (
            "info",
            "truncation_risk",
            f"{target.name} holds {room} characters and {source.name} has no limit: longer "
            "values are rejected to the error queue",
            f'add {{ kind = "truncate", length = {room}, direction = "to_{side}" }} to '
            "accept cutting them",
        )
    ]
