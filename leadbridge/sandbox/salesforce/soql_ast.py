"""Abstract syntax tree and error type of the emulator's SOQL engine."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal
from typing import Literal

# (row, column), both 1-based as in Salesforce's "ERROR at Row:1:Column:26".
Position = tuple[int, int]

ComparisonOp = Literal[
    "=", "!=", "<", "<=", ">", ">=", "LIKE", "IN", "NOT IN", "INCLUDES", "EXCLUDES"
]


class SoqlError(Exception):
    """A SOQL failure carrying Salesforce's errorCode and message."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


def error_message(text: str, pos: Position | None, detail: str) -> str:
    """Render a message the way Salesforce does: offending row, caret, position, detail."""
    if pos is None:
        return detail
    row, column = pos
    lines = text.split("\n")
    line = lines[row - 1] if 0 < row <= len(lines) else ""
    return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{detail}"


@dataclass(frozen=True)
class StringLit:
    """A quoted string; `raw` keeps the escaped body because LIKE treats \\% and \\_ apart."""

    value: str
    raw: str
    pos: Position | None = dc_field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class NumberLit:
    """A numeric literal, kept exact."""

    value: Decimal
    pos: Position | None = dc_field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class BoolLit:
    """TRUE or FALSE."""

    value: bool
    pos: Position | None = dc_field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class NullLit:
    """The NULL literal."""

    pos: Position | None = dc_field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class DateLit:
    """A date literal such as 2024-01-31."""

    value: dt.date
    pos: Position | None = dc_field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class DateTimeLit:
    """A datetime literal, normalised to UTC."""

    value: dt.datetime
    pos: Position | None = dc_field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class DateConst:
    """A relative date constant such as TODAY or LAST_N_DAYS:7 (`n` is None when it takes none)."""

    name: str
    n: int | None = None
    pos: Position | None = dc_field(default=None, compare=False, repr=False)


SoqlLiteral = StringLit | NumberLit | BoolLit | NullLit | DateLit | DateTimeLit | DateConst


@dataclass(frozen=True)
class FieldRef:
    """A field or a parent-relationship path such as ("Owner", "Name")."""

    path: tuple[str, ...]
    pos: Position | None = dc_field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        """The dotted spelling, e.g. "Owner.Name"."""
        return ".".join(self.path)


@dataclass(frozen=True)
class Comparison:
    """`field op value`; IN, NOT IN, INCLUDES and EXCLUDES carry a tuple of literals."""

    field: FieldRef
    op: ComparisonOp
    value: SoqlLiteral | tuple[SoqlLiteral, ...]
    pos: Position | None = dc_field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class And:
    """Conjunction of two or more conditions."""

    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    """Disjunction of two or more conditions."""

    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """Negation of a condition."""

    item: Condition


Condition = Comparison | And | Or | Not


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY term; `nulls_last` is already resolved to Salesforce's default when omitted."""

    field: FieldRef
    descending: bool = False
    nulls_last: bool = False


@dataclass(frozen=True)
class SoqlQuery:
    """A parsed SELECT statement; `fields` is empty for SELECT COUNT()."""

    sobject: str
    fields: tuple[FieldRef, ...] = ()
    is_count: bool = False
    where: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None
    text: str = dc_field(default="", compare=False, repr=False)
    sobject_pos: Position | None = dc_field(default=None, compare=False, repr=False)
