"""SOQL engine of the Salesforce emulator: parse, bind to a schema, evaluate over in-memory records.

Records are mappings from canonical field name to a canonical Python value (str, int, float,
Decimal, bool, date, tz-aware UTC datetime, None; multipicklists as a ';'-joined str).
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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
    OrderItem,
    SoqlError,
    SoqlLiteral,
    SoqlQuery,
    StringLit,
)
from leadbridge.sandbox.salesforce.soql_bind import (
    ID_TYPES,
    TEXT_TYPES,
    BoundQuery,
    RelationshipLookup,
    bind,
    lookup_name,
)
from leadbridge.sandbox.salesforce.soql_grammar import STRING_ESCAPES, parse_soql

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]
# Resolves a relationship path such as ("Owner", "Name") against a record.
PathResolver = Callable[[Record, tuple[str, ...]], Any]
# (value, inclusive)
Bound = tuple[Any, bool]

__all__ = [
    "And",
    "BoolLit",
    "Bound",
    "BoundQuery",
    "Comparison",
    "Condition",
    "DateConst",
    "DateLit",
    "DateTimeLit",
    "FieldRef",
    "Not",
    "NullLit",
    "NumberLit",
    "Or",
    "OrderItem",
    "PathResolver",
    "Predicate",
    "QueryResult",
    "RelationshipLookup",
    "SoqlError",
    "SoqlLiteral",
    "SoqlQuery",
    "StringLit",
    "bind",
    "compile_predicate",
    "date_constant_range",
    "execute",
    "follows_index_order",
    "lookup_name",
    "nested_resolver",
    "parse_soql",
    "range_bounds",
    "sort_key",
]


def nested_resolver(record: Record, path: tuple[str, ...]) -> Any:
    """Default path resolver: walk nested mappings (record["Owner"]["Name"]), None when absent."""
    value: Any = record
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _getter(ref: FieldRef, resolver: PathResolver | None) -> Callable[[Record], Any]:
    if len(ref.path) == 1:
        name = ref.path[0]
        return lambda record: record.get(name)
    path = ref.path
    resolve = resolver or nested_resolver
    return lambda record: resolve(record, path)


def _utc_now(now: dt.datetime | None) -> dt.datetime:
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def date_constant_range(
    const: DateConst, *, now: dt.datetime | None = None
) -> tuple[dt.date, dt.date]:
    """The [start, end) day range a relative date constant covers, in UTC (the org's zone)."""
    today = _utc_now(now).date()
    day = dt.timedelta(days=1)
    n = const.n or 0
    name = const.name
    if name == "TODAY":
        return today, today + day
    if name == "YESTERDAY":
        return today - day, today
    if name == "TOMORROW":
        return today + day, today + 2 * day
    if name in ("LAST_N_DAYS", "LAST_90_DAYS"):
        # Salesforce counts the current day in, on top of the n past days.
        n = 90 if name == "LAST_90_DAYS" else n
        return today - n * day, today + day
    if name in ("NEXT_N_DAYS", "NEXT_90_DAYS"):
        n = 90 if name == "NEXT_90_DAYS" else n
        return today + day, today + (n + 1) * day
    if name == "N_DAYS_AGO":
        return today - n * day, today - (n - 1) * day
    period, _, unit = name.partition("_")
    shift = {"LAST": -1, "THIS": 0, "NEXT": 1}[period]
    if unit == "WEEK":
        # Weeks start on Sunday, the default (en_US) locale's rule.
        start = today - dt.timedelta(days=(today.weekday() + 1) % 7) + 7 * shift * day
        return start, start + 7 * day
    if unit == "MONTH":
        start = _add_months(today.replace(day=1), shift)
        return start, _add_months(start, 1)
    start = dt.date(today.year + shift, 1, 1)
    return start, dt.date(start.year + 1, 1, 1)


def _literal_value(lit: SoqlLiteral) -> Any:
    if isinstance(lit, NullLit | DateConst):
        return None
    return lit.value


def _eq_norm(kind: str) -> Callable[[Any], Any]:
    if kind == "multipicklist":
        # 'a;b' and 'B;a' select the same values.
        return _picklist_set
    if kind in TEXT_TYPES:
        return lambda v: str(v).casefold()
    if kind in ID_TYPES:
        # A 15-character id and its 18-character form name the same record.
        return lambda v: str(v)[:15]
    return lambda v: v


def _order_norm(kind: str) -> Callable[[Any], Any]:
    if kind in TEXT_TYPES:
        return lambda v: str(v).casefold()
    return lambda v: v


def _as_day(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date()
    return value  # type: ignore[no-any-return]


def _range_test(op: str, start: dt.date, end: dt.date) -> Callable[[Any], bool]:
    def test(value: Any) -> bool:
        if value is None:
            return op == "!="
        day = _as_day(value)
        if op == "=":
            return start <= day < end
        if op == "!=":
            return not start <= day < end
        if op == "<":
            return day < start
        if op == "<=":
            return day < end
        if op == ">":
            return day >= end
        return day >= start

    return test


_ORDER_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def _value_test(
    op: str, lit: SoqlLiteral, kind: str, now: dt.datetime | None
) -> Callable[[Any], bool]:
    if isinstance(lit, DateConst):
        start, end = date_constant_range(lit, now=now)
        return _range_test(op, start, end)
    if isinstance(lit, NullLit):
        if op == "=":
            return lambda v: v is None
        if op == "!=":
            return lambda v: v is not None
        return lambda v: False
    if op in ("=", "!="):
        norm = _eq_norm(kind)
        target = norm(lit.value)
        if op == "=":
            return lambda v: v is not None and norm(v) == target
        # SOQL's != keeps the rows whose field is null, unlike SQL.
        return lambda v: v is None or norm(v) != target
    order_norm = _order_norm(kind)
    bound = order_norm(lit.value)
    compare = _ORDER_OPS[op]

    def ordered(v: Any) -> bool:
        if v is None:
            return False
        try:
            return compare(order_norm(v), bound)
        except TypeError:
            return False

    return ordered


def _like_regex(raw: str) -> re.Pattern[str]:
    parts: list[str] = []
    chars = iter(raw)
    for ch in chars:
        if ch == "%":
            parts.append(".*")
        elif ch == "_":
            parts.append(".")
        elif ch == "\\":
            nxt = next(chars, "")
            # The parser already rejected unknown escapes.
            escaped = STRING_ESCAPES.get(nxt, nxt)
            parts.append(re.escape(escaped))
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _picklist_set(value: Any) -> frozenset[str]:
    return frozenset(p.strip().casefold() for p in str(value).split(";") if p.strip())


def _membership_test(cond: Comparison, kind: str, now: dt.datetime | None) -> Callable[[Any], bool]:
    values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
    if cond.op in ("INCLUDES", "EXCLUDES"):
        wanted = [_picklist_set(_literal_value(v)) for v in values if not isinstance(v, NullLit)]
        includes = cond.op == "INCLUDES"

        def picklist(v: Any) -> bool:
            if v is None:
                return not includes
            have = _picklist_set(v)
            hit = any(w <= have for w in wanted if w)
            return hit if includes else not hit

        return picklist
    negate = cond.op == "NOT IN"
    if any(isinstance(v, DateConst) for v in values):
        tests = [_value_test("=", v, kind, now) for v in values]

        def any_test(v: Any) -> bool:
            return any(t(v) for t in tests) != negate

        return any_test
    norm = _eq_norm(kind)
    has_null = any(isinstance(v, NullLit) for v in values)
    members = {norm(_literal_value(v)) for v in values if not isinstance(v, NullLit)}

    def member(v: Any) -> bool:
        found = has_null if v is None else norm(v) in members
        return found != negate

    return member


def _compile(
    cond: Condition, bound: BoundQuery, resolver: PathResolver | None, now: dt.datetime | None
) -> Predicate:
    if isinstance(cond, And):
        parts = [_compile(c, bound, resolver, now) for c in cond.items]
        return lambda r: all(p(r) for p in parts)
    if isinstance(cond, Or):
        parts = [_compile(c, bound, resolver, now) for c in cond.items]
        return lambda r: any(p(r) for p in parts)
    if isinstance(cond, Not):
        inner = _compile(cond.item, bound, resolver, now)
        return lambda r: not inner(r)
    get = _getter(cond.field, resolver)
    kind = bound.field_types.get(cond.field.path, "string")
    test: Callable[[Any], bool]
    if cond.op == "LIKE":
        assert isinstance(cond.value, StringLit)
        pattern = _like_regex(cond.value.raw)
        test = lambda v: v is not None and pattern.fullmatch(str(v)) is not None  # noqa: E731
    elif isinstance(cond.value, tuple):
        test = _membership_test(cond, kind, now)
    else:
        test = _value_test(cond.op, cond.value, kind, now)
    return lambda r: test(get(r))


def compile_predicate(
    bound: BoundQuery, *, resolver: PathResolver | None = None, now: dt.datetime | None = None
) -> Predicate:
    """Compile the WHERE clause to a record test; `now` fixes TODAY and friends (default: now)."""
    if bound.query.where is None:
        return lambda record: True
    return _compile(bound.query.where, bound, resolver, now)


class _Descending:
    """Inverts the ordering of the wrapped value so one tuple key can mix ASC and DESC."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and bool(self.value == other.value)

    def __hash__(self) -> int:
        return hash(self.value)


def sort_key(
    bound: BoundQuery, *, resolver: PathResolver | None = None
) -> Callable[[Record], tuple[Any, ...]]:
    """A key function that sorts records in ORDER BY order (text case-insensitively)."""
    terms: list[tuple[Callable[[Record], Any], Callable[[Any], Any], bool, bool]] = []
    for item in bound.query.order_by:
        kind = bound.field_types.get(item.field.path, "string")
        terms.append(
            (_getter(item.field, resolver), _order_norm(kind), item.descending, item.nulls_last)
        )

    def key(record: Record) -> tuple[Any, ...]:
        parts: list[Any] = []
        for get, norm, descending, nulls_last in terms:
            value = get(record)
            if value is None:
                # Nulls only ever meet nulls at the second position, so None is safe there.
                parts.append((1 if nulls_last else 0, None))
                continue
            normed = norm(value)
            parts.append((0 if nulls_last else 1, _Descending(normed) if descending else normed))
        return tuple(parts)

    return key


def _conjuncts(cond: Condition | None) -> Iterable[Condition]:
    if isinstance(cond, And):
        for item in cond.items:
            yield from _conjuncts(item)
    elif cond is not None:
        yield cond


def _tighter(current: Bound | None, candidate: Bound, *, lower: bool) -> Bound:
    if current is None:
        return candidate
    (cur_value, cur_incl), (new_value, new_incl) = current, candidate
    if cur_value == new_value:
        return (cur_value, cur_incl and new_incl)
    if (new_value > cur_value) == lower:
        return candidate
    return current


def range_bounds(
    bound: BoundQuery, *, field: str, now: dt.datetime | None = None
) -> tuple[Bound | None, Bound | None]:
    """Lower and upper (value, inclusive) bounds on `field` implied by the top-level AND conjuncts.

    Only numeric, date and datetime literals (and date constants) give bounds; conditions under
    OR or NOT never do. A caller bisects an index sorted by raw `field` values, then still applies
    the full predicate.
    """
    wanted = field.casefold()
    lower: Bound | None = None
    upper: Bound | None = None
    for cond in _conjuncts(bound.query.where):
        if not isinstance(cond, Comparison) or len(cond.field.path) != 1:
            continue
        if cond.field.path[0].casefold() != wanted or cond.op not in ("=", "<", "<=", ">", ">="):
            continue
        lit = cond.value
        kind = bound.field_types.get(cond.field.path, "")
        if isinstance(lit, DateConst) and kind in ("date", "datetime"):
            start_day, end_day = date_constant_range(lit, now=now)
            start: Any = start_day
            end: Any = end_day
            if kind == "datetime":
                start = dt.datetime.combine(start_day, dt.time(), dt.UTC)
                end = dt.datetime.combine(end_day, dt.time(), dt.UTC)
            lows = {"=": (start, True), ">": (end, True), ">=": (start, True)}
            highs = {"=": (end, False), "<": (start, False), "<=": (end, False)}
        elif isinstance(lit, NumberLit | DateLit | DateTimeLit):
            lows = {"=": (lit.value, True), ">": (lit.value, False), ">=": (lit.value, True)}
            highs = {"=": (lit.value, True), "<": (lit.value, False), "<=": (lit.value, True)}
        else:
            continue
        if cond.op in lows:
            lower = _tighter(lower, lows[cond.op], lower=True)
        if cond.op in highs:
            upper = _tighter(upper, highs[cond.op], lower=False)
    return lower, upper


def follows_index_order(query: SoqlQuery | BoundQuery, *, field: str) -> bool:
    """Whether an index sorted by (field, Id), ascending with nulls first, meets the ORDER BY.

    True for no ORDER BY, `field ASC`, or `field ASC, Id ASC` (NULLS FIRST, the ASC default).
    """
    q = query.query if isinstance(query, BoundQuery) else query
    wanted = (field.casefold(), "id")
    if len(q.order_by) > 2:
        return False
    for item, name in zip(q.order_by, wanted, strict=False):
        if item.descending or item.nulls_last or item.field.name.casefold() != name:
            return False
    return True


@dataclass(frozen=True)
class QueryResult:
    """Rows (canonical dotted names, SELECT order) or, for COUNT(), only `total_size`."""

    total_size: int
    rows: list[dict[str, Any]] = field(default_factory=list)


def execute(
    bound: BoundQuery,
    records: Iterable[Record],
    *,
    presorted: bool = False,
    resolver: PathResolver | None = None,
    now: dt.datetime | None = None,
) -> QueryResult:
    """Filter, sort, page and project `records` (or a pre-narrowed candidate iterable).

    With `presorted=True` the caller vouches that `records` already come in ORDER BY order, so
    evaluation stops as soon as OFFSET + LIMIT rows have matched.
    """
    q = bound.query
    predicate = compile_predicate(bound, resolver=resolver, now=now)
    matched: Iterable[Record] = (r for r in records if predicate(r))
    offset = q.offset or 0
    stop = None if q.limit is None else offset + q.limit
    if q.is_count:
        # COUNT() with LIMIT/OFFSET counts the rows the same query would have returned.
        total = sum(1 for _ in itertools.islice(matched, stop))
        return QueryResult(max(0, total - offset))
    if q.order_by and not presorted:
        key = sort_key(bound, resolver=resolver)
        if stop is not None:
            matched = heapq.nsmallest(stop, matched, key=key)
        else:
            matched = sorted(matched, key=key)
    page = itertools.islice(matched, offset, stop)
    getters = [(ref.name, _getter(ref, resolver)) for ref in q.fields]
    rows = [{name: get(record) for name, get in getters} for record in page]
    return QueryResult(len(rows), rows)
