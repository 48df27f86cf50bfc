"""`leadbridge mappings audit`: check mappings against what both systems really hold.

Every finding has a severity:
- error: the sync fails or writes wrong values for every record the field touches;
- warning: some records may fail or lose data, or the setup has drifted;
- info: worth knowing, nothing breaks (a failing record would go to the error queue).

TYPE COMPATIBILITY MATRIX (the one table; docs/setup.md shows it too). Rows are Salesforce
describe types, columns HubSpot property types (type/fieldType). ok: values carry over;
lossy: some values change or are rejected (warning); table: needs a translate or bands table
(error without one); "-" is incompatible (error).

Salesforce \\ HubSpot       string  number  bool  enumeration  checkbox  date   datetime
text (string, textarea,      ok      -       -     lossy        -         -      -
  email, phone, url)
picklist                     ok      table   -     ok           lossy     -      -
multipicklist                lossy   -       -     lossy        ok        -      -
boolean                      -       -       ok    -            -         -      -
int                          lossy   lossy   -     table        -         -      -
double/currency/percent      lossy   ok      -     table        -         -      -
date                         lossy   -       -     -            -         ok     lossy
datetime                     lossy   -       -     -            -         lossy  ok
id/reference                 ok      -       -     -            -         -      -
("enumeration" is a select or radio property, "checkbox" an enumeration/checkbox one; an
enumeration/booleancheckbox property counts as bool. int <-> number is ok with a round
transform of 0 places towards Salesforce.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from leadbridge.connectors.base import (
    FieldSchema,
    FieldSpec,
    FieldType,
    ObjectSchema,
    Side,
)
from leadbridge.setup.audit_cross import drift, two_writers
from leadbridge.setup.audit_values import value_findings
from leadbridge.setup.findings import SEVERITIES, Finding, Severity
from leadbridge.setup.provisioning import Connectors
from leadbridge.store.models import ProvisioningRecord
from leadbridge.sync.mapping import FieldMap, PairMapping

Compat = Literal["ok", "lossy", "table"]

_SF_KINDS = {
    **dict.fromkeys(("string", "textarea", "email", "phone", "url", "combobox"), "text"),
    **dict.fromkeys(("double", "currency", "percent"), "number"),
    **dict.fromkeys(("id", "reference"), "id"),
    "int": "int",
    "picklist": "picklist",
    "multipicklist": "multipicklist",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}
MATRIX: dict[tuple[str, str], Compat] = {
    ("text", "string"): "ok",
    ("text", "enumeration"): "lossy",
    ("picklist", "string"): "ok",
    ("picklist", "number"): "table",
    ("picklist", "enumeration"): "ok",
    ("picklist", "checkbox"): "lossy",
    ("multipicklist", "string"): "lossy",
    ("multipicklist", "enumeration"): "lossy",
    ("multipicklist", "checkbox"): "ok",
    ("boolean", "bool"): "ok",
    ("int", "string"): "lossy",
    ("int", "number"): "lossy",
    ("int", "enumeration"): "table",
    ("number", "string"): "lossy",
    ("number", "number"): "ok",
    ("number", "enumeration"): "table",
    ("date", "string"): "lossy",
    ("date", "date"): "ok",
    ("date", "datetime"): "lossy",
    ("datetime", "string"): "lossy",
    ("datetime", "date"): "lossy",
    ("datetime", "datetime"): "ok",
    ("id", "string"): "ok",
}


def salesforce_kind(field: FieldSchema) -> str:
    """The matrix row of a Salesforce field."""
    return _SF_KINDS.get(field.native_type, field.native_type)


def hubspot_kind(field: FieldSchema) -> str:
    """The matrix column of a HubSpot property."""
    prop_type, _, field_type = field.native_type.partition("/")
    if prop_type == "enumeration":
        return {"checkbox": "checkbox", "booleancheckbox": "bool"}.get(field_type, "enumeration")
    return prop_type


def compatibility(salesforce: FieldSchema, hubspot: FieldSchema) -> Compat | None:
    """The matrix cell for two fields (None: incompatible)."""
    return MATRIX.get((salesforce_kind(salesforce), hubspot_kind(hubspot)))


@dataclass
class _Schemas:
    """Describes fetched once per object, and custom fields that exist but are hidden."""

    connectors: Connectors

    def __post_init__(self) -> None:
        self.cache: dict[tuple[Side, str], ObjectSchema] = {}

    def get(self, side: Side, object_name: str) -> ObjectSchema:
        key = (side, object_name)
        if key not in self.cache:
            self.cache[key] = self.connectors[side].describe(object_name)
        return self.cache[key]

    def hidden(self, object_name: str, names: Sequence[str]) -> set[str]:
        """Salesforce custom fields that exist but the integration user cannot see."""
        custom = [n for n in dict.fromkeys(names) if n.endswith("__c")]
        if not custom:
            return set()
        specs = [FieldSpec(n, n, FieldType.OTHER) for n in custom]
        plan = self.connectors["salesforce"].ensure_fields(object_name, specs, apply=False)
        created = {a.field_name for a in plan.actions if a.kind == "create"}
        return {a.field_name for a in plan.actions if a.kind == "grant_access"} - created


def audit(
    *,
    mappings: Sequence[PairMapping],
    connectors: Connectors,
    provisioned: Sequence[ProvisioningRecord] = (),
    only: str | None = None,
) -> list[Finding]:
    """Every finding for the mappings (or only the pair named), drift included, worst first."""
    schemas = _Schemas(connectors)
    findings: list[Finding] = []
    for mapping in mappings:
        if only is None or mapping.name == only:
            findings += _pair(mapping, schemas)
    findings += two_writers(mappings, only=only)
    findings += drift(provisioned, connectors)
    rank = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    return sorted(findings, key=lambda f: (rank[f.severity], f.pair, f.entry))


class _Collector:
    """Findings of one pair, with the pair name filled in."""

    def __init__(self, pair: str) -> None:
        self.pair = pair
        self.found: list[Finding] = []

    def add(
        self,
        kind: str,
        severity: Severity,
        message: str,
        fix: str,
        *,
        entry: str = "",
        side: str = "",
        obj: str = "",
        field: str = "",
    ) -> None:
        """Record one finding."""
        self.found.append(Finding(self.pair, kind, severity, entry, side, obj, field, message, fix))


def _pair(mapping: PairMapping, schemas: _Schemas) -> list[Finding]:
    out = _Collector(mapping.name)
    for warning in mapping.warnings:
        out.add("direction_conflict", "warning", warning, "see the Fix in the message")
    sf_obj, hs_obj = mapping.salesforce_object, mapping.hubspot_object
    sf, hs = schemas.get("salesforce", sf_obj), schemas.get("hubspot", hs_obj)
    used = mapping.synced_fields()
    _presence(mapping, schemas, out)
    for f in used:
        sf_field, hs_field = sf.field(f.salesforce), hs.field(f.hubspot)
        if sf_field is not None and hs_field is not None:
            _types(f, sf_field, hs_field, out, obj=sf_obj)
            if f.flows_to("salesforce"):
                _target(f, "salesforce", sf_obj, hs_field, sf_field, out)
            if f.flows_to("hubspot"):
                _target(f, "hubspot", hs_obj, sf_field, hs_field, out)
    _required(mapping, sf, out)
    return out.found


def _presence(mapping: PairMapping, schemas: _Schemas, out: _Collector) -> None:
    sf_obj, hs_obj = mapping.salesforce_object, mapping.hubspot_object
    sf, hs = schemas.get("salesforce", sf_obj), schemas.get("hubspot", hs_obj)
    names: list[tuple[str, Side, str]] = [
        ("match.salesforce_external_id", "salesforce", mapping.salesforce_external_id),
        ("match.hubspot_external_id", "hubspot", mapping.hubspot_external_id),
    ]
    if mapping.salesforce_email and mapping.hubspot_email:
        names.append(("match.email", "salesforce", mapping.salesforce_email))
        names.append(("match.email", "hubspot", mapping.hubspot_email))
    if mapping.include_to_salesforce.field:
        names.append(("include.to_salesforce", "hubspot", mapping.include_to_salesforce.field))
    if mapping.include_to_hubspot.field:
        names.append(("include.to_hubspot", "salesforce", mapping.include_to_hubspot.field))
    for f in mapping.synced_fields():
        names += [(f.key, "salesforce", f.salesforce), (f.key, "hubspot", f.hubspot)]
    absent_sf = [n for _, s, n in names if s == "salesforce" and sf.field(n) is None]
    hidden = schemas.hidden(sf_obj, absent_sf)
    for entry, side, name in names:
        schema, obj = (sf, sf_obj) if side == "salesforce" else (hs, hs_obj)
        if schema.field(name) is not None:
            continue
        if side == "salesforce" and name in hidden:
            out.add(
                "invisible_field",
                "error",
                f"{obj}.{name} exists but the integration user cannot see it",
                "grant read/edit on it to the integration user (`leadbridge setup apply` "
                "does this for leadbridge's own fields)",
                entry=entry, side=side, obj=obj, field=name,
            )  # fmt: skip
        else:
            out.add(
                "missing_field",
                "error",
                f"{side} {obj} has no field {name}",
                "create it (`leadbridge setup apply` for leadbridge's fields) or correct "
                "the name in the mapping",
                entry=entry, side=side, obj=obj, field=name,
            )  # fmt: skip
    if mapping.converted_object:
        _converted(mapping, sf, schemas.get("salesforce", mapping.converted_object), out)


def _converted(mapping: PairMapping, sf: ObjectSchema, conv: ObjectSchema, out: _Collector) -> None:
    names = [(f.key, f.salesforce) for f in mapping.synced_fields()]
    names.append(("match.salesforce_external_id", mapping.salesforce_external_id))
    for entry, name in names:
        if sf.field(name) is None or conv.field(name) is not None:
            continue
        custom = name.endswith("__c")
        out.add(
            "missing_field",
            "warning" if custom else "info",
            f"{conv.name or mapping.converted_object} has no {name}: after conversion its "
            "values stop flowing",
            "run `leadbridge setup apply`" if custom else "nothing to do unless the value "
            "matters after conversion",
            entry=entry, side="salesforce", obj=str(mapping.converted_object), field=name,
        )  # fmt: skip


def _types(f: FieldMap, sf: FieldSchema, hs: FieldSchema, out: _Collector, *, obj: str) -> None:
    cell = compatibility(sf, hs)
    tables = any(p.translation or p.bands for p in (f.to_salesforce, f.to_hubspot))
    rounded = any(s.kind == "round" and s.places == 0 for s in f.to_salesforce.steps)
    types = f"Salesforce {sf.native_type} and HubSpot {hs.native_type}"
    where = {"entry": f.key, "side": "salesforce", "obj": obj, "field": f.salesforce}
    if cell is None:
        out.add("type_incompatible", "error", f"{types} are incompatible",
                "map fields of compatible types (docs/setup.md, compatibility matrix)",
                **where)  # fmt: skip
    elif cell == "table" and not tables:
        out.add("type_incompatible", "error",
                f"{types} need a translate or bands table between them",
                "add bands = { ... } (numbers) or translate = { ... } (values)",
                **where)  # fmt: skip
    elif cell == "lossy" and not (rounded and salesforce_kind(sf) == "int"):
        out.add("type_incompatible", "warning",
                f"{types} convert with loss: some values change or are rejected",
                "add a transform (round, truncate, datetime_to_date, translate) or map "
                "other fields", **where)  # fmt: skip


def _target(
    f: FieldMap, side: Side, obj: str, src: FieldSchema, dst: FieldSchema, out: _Collector
) -> None:
    where = {"entry": f.key, "side": side, "obj": obj, "field": dst.name}
    if not dst.updateable:
        other = "hubspot" if side == "salesforce" else "salesforce"
        out.add("read_only_target", "error",
                f"{obj}.{dst.name} is read-only for the integration user, but the mapping "
                f"writes it (direction {f.direction})",
                f"set direction = 'to_{other}' or 'none', or make the field editable",
                **where)  # fmt: skip
    pipeline = f.to_salesforce if side == "salesforce" else f.to_hubspot
    for severity, kind, message, fix in value_findings(src, dst, pipeline, side=side):
        out.add(kind, _severity(severity), message, fix, **where)


def _severity(text: str) -> Severity:
    return "error" if text == "error" else "warning" if text == "warning" else "info"


def _required(mapping: PairMapping, sf: ObjectSchema, out: _Collector) -> None:
    if mapping.include_to_salesforce.mode == "none":
        return
    obj = mapping.salesforce_object
    for field in sf.fields.values():
        if not field.required_on_create or field.name == mapping.salesforce_external_id:
            continue
        entry = next(
            (f for f in mapping.synced_fields()
             if f.salesforce.lower() == field.name.lower() and f.flows_to("salesforce")),
            None,
        )  # fmt: skip
        if entry is None:
            out.add("required_unmapped", "error",
                    f"{obj}.{field.name} is required on create but nothing maps to it, so "
                    "every new record is rejected",
                    f'add [[fields]] with salesforce = "{field.name}", a direction that '
                    'writes Salesforce and salesforce_default = "..."',
                    side="salesforce", obj=obj, field=field.name)  # fmt: skip
        elif entry.salesforce_default is None:
            out.add("required_unmapped", "warning",
                    f"{field.name} is required on create; a record whose {entry.hubspot} is "
                    "blank is rejected",
                    f'add salesforce_default = "..." to {entry.key}',
                    entry=entry.key, side="salesforce", obj=obj, field=field.name)  # fmt: skip
