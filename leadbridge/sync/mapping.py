"""Mapping files: which HubSpot property pairs with which Salesforce field, and how values flow.

`load_mapping` reads and checks one TOML file; every mistake becomes one ConfigError naming the
file, the dotted key and the fix, and doubtful but workable choices become warnings on the
result (docs/mappings.md lists which is which).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast, get_args

from leadbridge.connectors.base import CanonicalValue, FieldType, Side
from leadbridge.sync.transforms import (
    Bands,
    Flow,
    OnUnknown,
    Pipeline,
    Translation,
    read_steps,
    reverse_table,
)
from leadbridge.validation import TableReader, dotted_key, problems_error, read_toml

Direction = Literal["both", "to_salesforce", "to_hubspot", "none"]
Rule = Literal["prefer_salesforce", "prefer_salesforce_unless_blank", "prefer_hubspot", "newest"]
DeletePolicy = Literal["unlink", "propagate", "ignore"]
DIRECTIONS: tuple[str, ...] = get_args(Direction)
RULES: tuple[str, ...] = get_args(Rule)
DELETE_POLICIES: tuple[str, ...] = get_args(DeletePolicy)
# A one-way field's natural rule lets its source win; "both" follows the newer record.
DEFAULT_RULE: dict[str, Rule] = {
    "both": "newest",
    "to_salesforce": "prefer_hubspot",
    "to_hubspot": "prefer_salesforce",
    "none": "newest",
}
PICKLISTS = (FieldType.PICKLIST, FieldType.MULTIPICKLIST)
# Salesforce fields read beside the mapped ones, to follow lead conversion.
CONVERSION_FIELDS = ("IsConverted", "ConvertedContactId")

_TOP = ("name", "hubspot", "salesforce", "match", "include", "delete", "fields")
_FIELD_KEYS = (
    "hubspot",
    "salesforce",
    "direction",
    "rule",
    "transforms",
    "translate",
    "translate_to_hubspot",
    "on_unknown",
    "bands",
    "salesforce_default",
    "hubspot_default",
    "type",
    "ignore_case",
)
_TYPES = tuple(t.value for t in FieldType)


@dataclass(frozen=True)
class Inclusion:
    """Which unlinked records of one side may be created on the other side."""

    mode: Literal["all", "none", "filter"] = "all"
    field: str | None = None
    values: frozenset[str] = frozenset()

    def allows(self, values: Mapping[str, CanonicalValue]) -> bool:
        """True when a record with these values may be created on the other side."""
        if self.mode != "filter":
            return self.mode == "all"
        value = values.get(self.field or "")
        if isinstance(value, frozenset):
            return bool(value & self.values)
        return value is not None and str(value) in self.values

    def describe(self) -> str:
        """The rule in words, for skip reasons."""
        if self.mode != "filter":
            return self.mode
        return f"{self.field} in [{', '.join(sorted(self.values))}]"


@dataclass(frozen=True)
class FieldMap:
    """One [[fields]] entry: the two field names, direction, rule and a pipeline each way."""

    index: int
    hubspot: str
    salesforce: str
    direction: Direction = "both"
    rule: Rule = "newest"
    to_salesforce: Pipeline = field(default_factory=lambda: Pipeline(flow="to_salesforce"))
    to_hubspot: Pipeline = field(default_factory=lambda: Pipeline(flow="to_hubspot"))
    salesforce_default: CanonicalValue = None
    hubspot_default: CanonicalValue = None
    ignore_case: bool = False

    @property
    def key(self) -> str:
        """Where the entry sits in the file, e.g. "fields[3]"."""
        return f"fields[{self.index}]"

    def name(self, side: Side) -> str:
        """The field's name on one side."""
        return self.hubspot if side == "hubspot" else self.salesforce

    def flows_to(self, side: Side) -> bool:
        """True when values may be written to that side."""
        return self.direction in ("both", f"to_{side}")

    def convert(self, value: CanonicalValue, *, to: Side) -> CanonicalValue:
        """The value (from the other side) as `to` should hold it; raises TransformFailed."""
        return (self.to_salesforce if to == "salesforce" else self.to_hubspot).apply(value)

    def default(self, side: Side) -> CanonicalValue:
        """The value used when creating a record on `side` and the source is blank."""
        return self.salesforce_default if side == "salesforce" else self.hubspot_default


@dataclass(frozen=True)
class PairMapping:
    """One object pair's mapping file, checked."""

    name: str
    source: str
    hubspot_object: str
    salesforce_object: str
    converted_object: str | None
    hubspot_external_id: str
    salesforce_external_id: str
    hubspot_email: str | None
    salesforce_email: str | None
    include_to_salesforce: Inclusion
    include_to_hubspot: Inclusion
    delete_policy: DeletePolicy
    fields: tuple[FieldMap, ...]
    warnings: tuple[str, ...] = ()

    def external_id(self, side: Side) -> str:
        """The field on `side` that stores the other side's record id."""
        return self.hubspot_external_id if side == "hubspot" else self.salesforce_external_id

    def email(self, side: Side) -> str | None:
        """The e-mail field on `side` used for matching, if any."""
        return self.hubspot_email if side == "hubspot" else self.salesforce_email

    def inclusion(self, *, target: Side) -> Inclusion:
        """The rule for creating records on `target` from unlinked records of the other side."""
        return self.include_to_salesforce if target == "salesforce" else self.include_to_hubspot

    def synced_fields(self) -> tuple[FieldMap, ...]:
        """The entries that take part in the merge (direction other than none)."""
        return tuple(f for f in self.fields if f.direction != "none")

    def read_fields(self, side: Side, *, converted: bool = False) -> tuple[str, ...]:
        """Every field the runner must read on `side` (mapped, identity, inclusion, conversion)."""
        names = [f.name(side) for f in self.synced_fields()]
        names += [self.external_id(side), *(n for n in (self.email(side),) if n)]
        other: Side = "hubspot" if side == "salesforce" else "salesforce"
        rule = self.inclusion(target=other)
        names += [rule.field] if rule.field else []
        if side == "salesforce" and self.converted_object and not converted:
            names += CONVERSION_FIELDS
        return tuple(dict.fromkeys(names))


def load_mapping(path: Path) -> PairMapping:
    """Read and check a mapping file; raise ConfigError naming file, dotted key and fix."""
    data = read_toml(path, missing_hint="check [[sync.pairs]] mapping = ... in the config")
    return parse_mapping(data, source=str(path))


def parse_mapping(data: Mapping[str, Any], *, source: str) -> PairMapping:
    """Check an already-parsed mapping document (load_mapping without the file read)."""
    r = TableReader()
    top = r.table(dict(data), [], known=_TOP) or {}
    name = r.string(top, [], "name", required=True) or ""
    if name and not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        r.problem(["name"], "has the wrong form", "use lower-case letters, digits and _")

    def section(key: str, known: tuple[str, ...]) -> dict[str, Any]:
        return r.table(top.get(key, {}), [key], known=known) or {}

    hs = section("hubspot", ("object",))
    sf = section("salesforce", ("object", "converted_object"))
    match = section("match", ("hubspot_external_id", "salesforce_external_id", "email"))
    include = section("include", ("to_salesforce", "to_hubspot"))
    delete = section("delete", ("policy",))
    email: dict[str, Any] = {}
    if "email" in match:
        email = r.table(match["email"], ["match", "email"], known=("hubspot", "salesforce")) or {}
        for side in ("hubspot", "salesforce"):
            r.string(email, ["match", "email"], side, required=True)
    policy = r.choice(delete, ["delete"], "policy", allowed=DELETE_POLICIES, default="unlink")
    mapping = PairMapping(
        name=name,
        source=source,
        hubspot_object=r.string(hs, ["hubspot"], "object", required=True) or "",
        salesforce_object=r.string(sf, ["salesforce"], "object", required=True) or "",
        converted_object=r.string(sf, ["salesforce"], "converted_object"),
        hubspot_external_id=r.string(match, ["match"], "hubspot_external_id", required=True) or "",
        salesforce_external_id=r.string(match, ["match"], "salesforce_external_id", required=True)
        or "",
        hubspot_email=r.string(email, ["match", "email"], "hubspot"),
        salesforce_email=r.string(email, ["match", "email"], "salesforce"),
        include_to_salesforce=_inclusion(r, include, "to_salesforce", key="property"),
        include_to_hubspot=_inclusion(r, include, "to_hubspot", key="field"),
        delete_policy=cast(DeletePolicy, policy),
        fields=(),
    )
    raw = top.get("fields")
    if not isinstance(raw, list) or not raw:
        r.problem(
            ["fields"],
            "expected one or more [[fields]] tables",
            'add [[fields]] with hubspot = "..." and salesforce = "..."',
        )
        raw = []
    fields = tuple(f for i, item in enumerate(raw) if (f := _field(r, i, item, mapping)))
    _check_overlaps(r, fields, mapping)
    if r.problems:
        raise problems_error(r.problems, source=source)
    texts = tuple(f"{source}: {key}: {message} Fix: {hint}" for key, message, hint in r.warnings)
    return replace(mapping, fields=fields, warnings=texts)


def _inclusion(r: TableReader, include: dict[str, Any], name: str, *, key: str) -> Inclusion:
    value = include.get(name, "all")
    loc = ["include", name]
    if value in ("all", "none"):
        return Inclusion(mode=value)
    if not isinstance(value, dict):
        r.problem(
            loc,
            f"must be 'all', 'none' or a table, got {value!r}",
            f'write {name} = "all", "none" or {{ {key} = "...", in = ["..."] }}',
        )
        return Inclusion(mode="none")
    table = r.table(value, loc, known=(key, "in")) or {}
    field = r.string(table, loc, key, required=True)
    values = r.string_list(table, [*loc, "in"])
    if field is None or values is None:
        return Inclusion(mode="none")
    return Inclusion(mode="filter", field=field, values=frozenset(values))


def _field(r: TableReader, index: int, raw: Any, mapping: PairMapping) -> FieldMap | None:
    loc: list[Any] = ["fields", index]
    table = r.table(raw, loc, known=_FIELD_KEYS)
    if table is None:
        return None
    hubspot = r.string(table, loc, "hubspot", required=True)
    salesforce = r.string(table, loc, "salesforce", required=True)
    direction = cast(
        Direction, r.choice(table, loc, "direction", allowed=DIRECTIONS, default="both")
    )
    rule = cast(Rule, r.choice(table, loc, "rule", allowed=RULES, default=DEFAULT_RULE[direction]))
    unknown = r.choice(
        table, loc, "on_unknown", allowed=("error", "pass", "blank"), default="error"
    )
    on_unknown = cast(OnUnknown, unknown)
    declared = r.choice(table, loc, "type", allowed=_TYPES, default="") if "type" in table else ""
    steps = read_steps(r, table.get("transforms", []), [*loc, "transforms"], direction=direction)
    forward = r.text_table(table, [*loc, "translate"])
    backward = r.text_table(table, [*loc, "translate_to_hubspot"])
    bands = r.int_table(table, [*loc, "bands"])
    if (forward or backward) and bands:
        r.problem(
            [*loc, "bands"],
            "a field takes a translate table or bands, not both",
            "keep one of them",
        )
    if (forward or backward) and declared and FieldType(declared) not in PICKLISTS:
        r.problem(
            [*loc, "translate"],
            f"a translate table on a {declared} field",
            "translate only picklists: set type = 'picklist' or 'multipicklist', or use "
            "transforms for text",
        )
    if forward and backward is None and direction in ("both", "to_hubspot"):
        backward, why = reverse_table(forward)
        if why:
            r.problem(
                [*loc, "translate"],
                f"is many-to-one ({why}), so the way back is unclear",
                "add translate_to_hubspot = { ... } naming the HubSpot value for each "
                "Salesforce value, or set direction = 'to_salesforce'",
            )
    _warn_field(
        r, table, loc, direction=direction, rule=rule, tables=bool(forward or backward or bands)
    )
    defaults = {s: r.scalar(table, [*loc, f"{s}_default"]) for s in ("salesforce", "hubspot")}
    ignore_case = r.boolean(table, loc, "ignore_case")
    if hubspot is None or salesforce is None:
        return None
    if ignore_case is None:
        ignore_case = (hubspot, salesforce) == (mapping.hubspot_email, mapping.salesforce_email)
    where = f"{dotted_key(loc)} ({hubspot} <-> {salesforce})"

    def pipeline(flow: Flow, table_: Mapping[str, str] | None) -> Pipeline:
        return Pipeline(
            flow=flow,
            steps=tuple(s for s in steps if s.applies_to(flow)),
            translation=Translation(table_, on_unknown, _table_key(loc, flow)) if table_ else None,
            bands=Bands(bands, on_unknown, where) if bands else None,
            bands_to_number=flow == "to_salesforce",
            where=where,
        )

    return FieldMap(
        index=index,
        hubspot=hubspot,
        salesforce=salesforce,
        direction=direction,
        rule=rule,
        to_salesforce=pipeline("to_salesforce", forward),
        to_hubspot=pipeline("to_hubspot", backward),
        salesforce_default=defaults["salesforce"],
        hubspot_default=defaults["hubspot"],
        ignore_case=ignore_case,
    )


def _table_key(loc: list[Any], flow: Flow) -> str:
    return dotted_key([*loc, "translate" if flow == "to_salesforce" else "translate_to_hubspot"])


_POINTLESS = {
    "to_hubspot": ("prefer_hubspot",),
    "to_salesforce": ("prefer_salesforce", "prefer_salesforce_unless_blank"),
}


def _warn_field(
    r: TableReader,
    table: dict[str, Any],
    loc: list[Any],
    *,
    direction: str,
    rule: str,
    tables: bool,
) -> None:
    if "rule" in table and rule in _POINTLESS.get(direction, ()):
        r.warn(
            [*loc, "rule"],
            f"{rule} contradicts direction {direction}: when both sides "
            "change, the winning value cannot be copied, so nothing is written",
            "use the rule that favours the source side, or remove rule",
        )
    unused = {
        "translate_to_hubspot": direction in ("to_salesforce", "none"),
        "translate": direction in ("to_hubspot", "none") and "translate_to_hubspot" in table,
        "salesforce_default": direction in ("to_hubspot", "none"),
        "hubspot_default": direction in ("to_salesforce", "none"),
        "on_unknown": not tables,
    }
    for key, never in unused.items():
        if key in table and never:
            r.warn(
                [*loc, key],
                f"is never used with direction {direction}",
                f"remove {key} or change direction",
            )


def _check_overlaps(r: TableReader, fields: Sequence[FieldMap], mapping: PairMapping) -> None:
    pairs: dict[tuple[str, str], int] = {}
    writers: dict[tuple[Side, str], int] = {}
    ids = {("hubspot", mapping.hubspot_external_id), ("salesforce", mapping.salesforce_external_id)}
    sides: tuple[Side, Side] = ("hubspot", "salesforce")
    for f in fields:
        pair = (f.hubspot.lower(), f.salesforce.lower())
        if pair in pairs:
            again = f"{f.hubspot} <-> {f.salesforce} is mapped twice (also fields[{pairs[pair]}])"
            r.problem([f.key], again, "keep one [[fields]] entry for it")
            continue
        pairs[pair] = f.index
        for side in sides:
            if (side, f.name(side)) in ids:
                r.problem(
                    [f.key, side],
                    f"{f.name(side)} is the match external id, which leadbridge writes itself",
                    "remove this [[fields]] entry",
                )
            target = (side, f.name(side).lower())
            if f.flows_to(side) and target in writers:
                r.problem(
                    [f.key, side],
                    f"{side} {f.name(side)} is written by two entries "
                    f"(also fields[{writers[target]}])",
                    f"keep one writer: set direction on one entry so that only one writes {side}",
                )
            if f.flows_to(side):
                writers[target] = f.index
