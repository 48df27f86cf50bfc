"""Binding a parsed SOQL query to an org schema: canonical names and type checks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from leadbridge.sandbox.salesforce.soql_ast import (
    And,
    BoolLit,
    Comparison,
    Condition,
    DateConst,
    DateLit,
    DateTimeLit,
    FieldRef,
    Not,
    NullLit,
    NumberLit,
    Or,
    Position,
    SoqlError,
    SoqlLiteral,
    SoqlQuery,
    StringLit,
    error_message,
)

# Given the canonical object name and a relationship path as written (e.g. ("owner", "name")),
# return the canonical path and the describe type of its last field, or None if unknown.
RelationshipLookup = Callable[[str, tuple[str, ...]], tuple[tuple[str, ...], str] | None]

TEXT_TYPES = frozenset(
    {
        "string",
        "picklist",
        "multipicklist",
        "combobox",
        "email",
        "phone",
        "url",
        "textarea",
        "encryptedstring",
        "base64",
    }
)
ID_TYPES = frozenset({"id", "reference"})
NUMERIC_TYPES = frozenset({"int", "long", "double", "currency", "percent"})
MAX_OFFSET = 2000

_NO_SUCH_COLUMN = (
    "No such column '{field}' on entity '{entity}'. If you are attempting to use a custom field, "
    "be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)
_BAD_RELATIONSHIP = (
    "Didn't understand relationship '{rel}' in field path. If you are attempting to use a custom "
    "relationship, be sure to append the '__r' after the custom relationship name. Please "
    "reference your WSDL or the describe call for the appropriate names."
)
_BAD_TYPE = (
    "sObject type '{name}' is not supported. If you are attempting to use a custom object, be "
    "sure to append the '__c' after the entity name. Please reference your WSDL or the describe "
    "call for the appropriate names."
)


@dataclass(frozen=True)
class BoundQuery:
    """A query whose names are canonical, with the describe type of every referenced field."""

    query: SoqlQuery
    field_types: Mapping[tuple[str, ...], str]

    @property
    def sobject(self) -> str:
        """The canonical object name."""
        return self.query.sobject

    @property
    def column_names(self) -> tuple[str, ...]:
        """Selected fields in SELECT order, dotted for relationship paths."""
        return tuple(ref.name for ref in self.query.fields)


def lookup_name(names: Mapping[str, object], wanted: str) -> str | None:
    """Find the canonical spelling of `wanted` among the keys, ignoring case."""
    if wanted in names:
        return wanted
    folded = wanted.casefold()
    for name in names:
        if name.casefold() == folded:
            return name
    return None


def bind(
    query: SoqlQuery,
    *,
    schema: Mapping[str, Mapping[str, str]],
    relationships: RelationshipLookup | None = None,
) -> BoundQuery:
    """Check a query against `schema` (object -> field -> describe type) and canonicalise names."""
    return _Binder(query, schema, relationships).bind()


class _Binder:
    def __init__(
        self,
        query: SoqlQuery,
        schema: Mapping[str, Mapping[str, str]],
        relationships: RelationshipLookup | None,
    ) -> None:
        self.query = query
        self.schema = schema
        self.relationships = relationships
        self.types: dict[tuple[str, ...], str] = {}
        self.sobject = ""
        self.fields: Mapping[str, str] = {}

    def fail(self, code: str, pos: Position | None, detail: str) -> SoqlError:
        return SoqlError(code, error_message(self.query.text, pos, detail))

    def bind(self) -> BoundQuery:
        q = self.query
        sobject = lookup_name(self.schema, q.sobject)
        if sobject is None:
            raise self.fail("INVALID_TYPE", q.sobject_pos, _BAD_TYPE.format(name=q.sobject))
        self.sobject = sobject
        self.fields = self.schema[sobject]
        fields = tuple(self.field(ref) for ref in q.fields)
        where = self.condition(q.where) if q.where is not None else None
        order = tuple(
            dataclasses.replace(item, field=self.field(item.field)) for item in q.order_by
        )
        if q.offset is not None and q.offset > MAX_OFFSET:
            raise SoqlError(
                "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
            )
        bound = dataclasses.replace(q, sobject=sobject, fields=fields, where=where, order_by=order)
        return BoundQuery(bound, dict(self.types))

    def field(self, ref: FieldRef) -> FieldRef:
        if len(ref.path) == 1:
            name = lookup_name(self.fields, ref.path[0])
            if name is None:
                detail = _NO_SUCH_COLUMN.format(field=ref.path[0], entity=self.sobject)
                raise self.fail("INVALID_FIELD", ref.pos, detail)
            path: tuple[str, ...] = (name,)
            self.types[path] = self.fields[name]
        else:
            found = self.relationships(self.sobject, ref.path) if self.relationships else None
            if found is None:
                raise self.fail("INVALID_FIELD", ref.pos, _BAD_RELATIONSHIP.format(rel=ref.path[0]))
            path, kind = found
            self.types[path] = kind
        return FieldRef(path, ref.pos)

    def condition(self, cond: Condition) -> Condition:
        if isinstance(cond, And):
            return And(tuple(self.condition(c) for c in cond.items))
        if isinstance(cond, Or):
            return Or(tuple(self.condition(c) for c in cond.items))
        if isinstance(cond, Not):
            return Not(self.condition(cond.item))
        ref = self.field(cond.field)
        kind = self.types[ref.path]
        if cond.op in ("INCLUDES", "EXCLUDES") and kind != "multipicklist":
            raise self.fail(
                "INVALID_FIELD",
                cond.pos,
                "includes or excludes operator only valid on multipicklist field",
            )
        values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
        if cond.op != "LIKE":
            for value in values:
                self.check_value(ref, kind, value)
        return Comparison(ref, cond.op, cond.value, cond.pos)

    def check_value(self, ref: FieldRef, kind: str, value: SoqlLiteral) -> None:
        if isinstance(value, NullLit):
            return
        wanted: str | None = None
        quoted = False
        if kind in TEXT_TYPES or kind in ID_TYPES:
            if not isinstance(value, StringLit):
                wanted, quoted = ("id" if kind in ID_TYPES else "string"), True
            elif kind in ID_TYPES and not _looks_like_id(value.value):
                raise self.fail(
                    "INVALID_QUERY_FILTER_OPERATOR", value.pos, f"invalid ID field: {value.value}"
                )
        elif kind in NUMERIC_TYPES:
            if not isinstance(value, NumberLit):
                wanted = "integer" if kind in ("int", "long") else "double"
        elif kind == "boolean":
            if not isinstance(value, BoolLit):
                wanted = "boolean"
        elif kind == "date":
            if not isinstance(value, DateLit | DateConst):
                wanted = "date"
        elif kind == "datetime" and not isinstance(value, DateTimeLit | DateConst):
            wanted = "dateTime"
        if wanted is not None:
            enclosed = "be enclosed" if quoted else "not be enclosed"
            detail = (
                f"value of filter criterion for field '{ref.name}' must be of type {wanted} "
                f"and should {enclosed} in quotes"
            )
            raise self.fail("INVALID_FIELD", value.pos, detail)


def _looks_like_id(value: str) -> bool:
    # An empty string is let through: it simply matches nothing.
    return value == "" or (len(value) in (15, 18) and value.isascii() and value.isalnum())
