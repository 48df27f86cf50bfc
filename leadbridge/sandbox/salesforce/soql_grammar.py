"""Lark grammar for the SOQL subset the emulator understands, and the parse tree -> AST step."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from leadbridge.sandbox.salesforce.soql_ast import (
    And,
    BoolLit,
    Comparison,
    ComparisonOp,
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
    Position,
    SoqlError,
    SoqlLiteral,
    SoqlQuery,
    StringLit,
    error_message,
)

# AND and OR only chain with their own kind; mixing them without parentheses is a
# syntax error in Salesforce, which this shape reproduces (the parser stops at the other word).
_GRAMMAR = r"""
start: _SELECT select_list _FROM IDENT where_clause? order_clause? limit_clause? offset_clause?

select_list: _COUNT "(" ")"                -> count_select
           | field_ref ("," field_ref)*     -> field_select

field_ref: IDENT ("." IDENT)*

where_clause: _WHERE condition

?condition: unary
          | unary (_AND unary)+            -> and_cond
          | unary (_OR unary)+             -> or_cond

?unary: _NOT unary                         -> not_cond
      | "(" condition ")"
      | comparison

comparison: field_ref COMP_OP value         -> compare
          | field_ref LIKE STRING           -> like
          | field_ref IN value_list         -> in_list
          | field_ref _NOT IN value_list    -> not_in_list
          | field_ref INCLUDES value_list   -> includes
          | field_ref EXCLUDES value_list   -> excludes

value_list: "(" value ("," value)* ")"

value: STRING | NUMBER | DATE | DATETIME | DATE_CONST | TRUE | FALSE | NULL

order_clause: _ORDER _BY order_item ("," order_item)*
order_item: field_ref direction? nulls?
direction: ASC | DESC
nulls: _NULLS (FIRST | LAST)

limit_clause: _LIMIT NUMBER
offset_clause: _OFFSET NUMBER

_SELECT: "SELECT"i
_FROM: "FROM"i
_WHERE: "WHERE"i
_COUNT: "COUNT"i
_AND: "AND"i
_OR: "OR"i
_NOT: "NOT"i
_ORDER: "ORDER"i
_BY: "BY"i
_NULLS: "NULLS"i
_LIMIT: "LIMIT"i
_OFFSET: "OFFSET"i
LIKE: "LIKE"i
IN: "IN"i
INCLUDES: "INCLUDES"i
EXCLUDES: "EXCLUDES"i
ASC: "ASC"i
DESC: "DESC"i
FIRST: "FIRST"i
LAST: "LAST"i
TRUE: "TRUE"i
FALSE: "FALSE"i
NULL: "NULL"i

COMP_OP: /!=|<>|<=|>=|=|<|>/
IDENT: /[a-z][a-z0-9_]*/i
STRING: /'(?:[^'\\]|\\.)*'/s
NUMBER: /[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/
DATE.2: /\d{4}-\d{2}-\d{2}(?![\dT])/
DATETIME.3: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})/
DATE_CONST.2: _DAYS_N | _DAY | _PERIOD | _NINETY
_DAYS_N: /(LAST_N_DAYS|NEXT_N_DAYS|N_DAYS_AGO):\d+(?![a-z0-9_])/i
_DAY: /(YESTERDAY|TODAY|TOMORROW)(?![a-z0-9_])/i
_PERIOD: /(LAST|THIS|NEXT)_(WEEK|MONTH|YEAR)(?![a-z0-9_])/i
_NINETY: /(LAST|NEXT)_90_DAYS(?![a-z0-9_])/i

%ignore /\s+/
"""

_PARSER = Lark(_GRAMMAR, parser="lalr", maybe_placeholders=False)

# Salesforce's documented quoted-string escapes; \% and \_ are only meaningful to LIKE.
STRING_ESCAPES = {
    "n": "\n",
    "N": "\n",
    "r": "\r",
    "R": "\r",
    "t": "\t",
    "T": "\t",
    "b": "\b",
    "B": "\b",
    "f": "\f",
    "F": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
    "%": "%",
    "_": "_",
}


@functools.lru_cache(maxsize=512)
def parse_soql(text: str) -> SoqlQuery:
    """Parse a SOQL SELECT statement; syntax errors raise SoqlError("MALFORMED_QUERY", ...)."""
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    return _Builder(text).query(tree)


def _eof_position(text: str) -> Position:
    stripped = text.rstrip()
    lines = stripped.split("\n")
    return len(lines), len(lines[-1]) + 1


def _syntax_error(text: str, exc: UnexpectedInput) -> SoqlError:
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            return _malformed(text, _eof_position(text), "unexpected token: '<EOF>'")
        return _malformed(text, _pos(token), f"unexpected token: '{token}'")
    if isinstance(exc, UnexpectedCharacters):
        at = exc.pos_in_stream or 0
        bad = text[at] if at < len(text) else "<EOF>"
        return _malformed(text, (exc.line, exc.column), f"unexpected token: '{bad}'")
    return _malformed(text, None, "unexpected token")


def _malformed(text: str, pos: Position | None, detail: str) -> SoqlError:
    return SoqlError("MALFORMED_QUERY", error_message(text, pos, detail))


def _pos(token: Any) -> Position:
    return (int(token.line), int(token.column))


class _Builder:
    """Turns the lark parse tree into the frozen AST; holds the text for error messages."""

    def __init__(self, text: str) -> None:
        self.text = text

    def query(self, tree: Any) -> SoqlQuery:
        children = list(tree.children)
        select = children[0]
        sobject_token = children[1]
        fields: tuple[FieldRef, ...] = ()
        is_count = select.data == "count_select"
        if not is_count:
            fields = tuple(self.field_ref(child) for child in select.children)
        where: Condition | None = None
        order: tuple[OrderItem, ...] = ()
        limit: int | None = None
        offset: int | None = None
        for clause in children[2:]:
            if clause.data == "where_clause":
                where = self.condition(clause.children[0])
            elif clause.data == "order_clause":
                order = tuple(self.order_item(item) for item in clause.children)
            elif clause.data == "limit_clause":
                limit = self.non_negative_int(clause.children[0])
            else:
                offset = self.non_negative_int(clause.children[0])
        return SoqlQuery(
            sobject=str(sobject_token),
            fields=fields,
            is_count=is_count,
            where=where,
            order_by=order,
            limit=limit,
            offset=offset,
            text=self.text,
            sobject_pos=_pos(sobject_token),
        )

    def non_negative_int(self, token: Any) -> int:
        raw = str(token)
        if not raw.isdigit():
            raise _malformed(self.text, _pos(token), f"unexpected token: '{raw}'")
        return int(raw)

    def field_ref(self, tree: Any) -> FieldRef:
        tokens = tree.children
        return FieldRef(tuple(str(t) for t in tokens), _pos(tokens[0]))

    def order_item(self, tree: Any) -> OrderItem:
        ref = self.field_ref(tree.children[0])
        descending = False
        nulls_last: bool | None = None
        for part in tree.children[1:]:
            word = str(part.children[0]).upper()
            if part.data == "direction":
                descending = word == "DESC"
            else:
                nulls_last = word == "LAST"
        if nulls_last is None:
            # Salesforce's defaults: ASC puts nulls first, DESC puts them last.
            nulls_last = descending
        return OrderItem(ref, descending, nulls_last)

    def condition(self, node: Any) -> Condition:
        kind = node.data
        if kind == "and_cond":
            return And(tuple(self.condition(c) for c in node.children))
        if kind == "or_cond":
            return Or(tuple(self.condition(c) for c in node.children))
        if kind == "not_cond":
            return Not(self.condition(node.children[0]))
        return self.comparison(node)

    def comparison(self, node: Any) -> Comparison:
        ref = self.field_ref(node.children[0])
        kind = node.data
        if kind == "compare":
            op_token = node.children[1]
            op = "!=" if str(op_token) == "<>" else str(op_token)
            value = self.literal(node.children[2].children[0])
            return Comparison(ref, cast(ComparisonOp, op), value, _pos(op_token))
        op_token = node.children[1]
        if kind == "like":
            return Comparison(ref, "LIKE", self.literal(node.children[2]), _pos(op_token))
        values = tuple(self.literal(v.children[0]) for v in node.children[2].children)
        ops: dict[str, ComparisonOp] = {
            "in_list": "IN",
            "not_in_list": "NOT IN",
            "includes": "INCLUDES",
            "excludes": "EXCLUDES",
        }
        return Comparison(ref, ops[kind], values, _pos(op_token))

    def literal(self, token: Any) -> SoqlLiteral:
        kind = token.type
        raw = str(token)
        pos = _pos(token)
        if kind == "STRING":
            body = raw[1:-1]
            return StringLit(self.unescape(body, pos), body, pos)
        if kind == "NUMBER":
            try:
                return NumberLit(Decimal(raw), pos)
            except InvalidOperation:  # pragma: no cover - the terminal only admits numbers
                raise _malformed(self.text, pos, f"unexpected token: '{raw}'") from None
        if kind in ("TRUE", "FALSE"):
            return BoolLit(kind == "TRUE", pos)
        if kind == "NULL":
            return NullLit(pos)
        if kind == "DATE_CONST":
            name, _, n = raw.upper().partition(":")
            return DateConst(name, int(n) if n else None, pos)
        try:
            if kind == "DATE":
                return DateLit(dt.date.fromisoformat(raw), pos)
            parsed = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise _malformed(self.text, pos, f"unexpected token: '{raw}'") from None
        return DateTimeLit(parsed.astimezone(dt.UTC), pos)

    def unescape(self, body: str, pos: Position) -> str:
        out: list[str] = []
        chars = iter(body)
        for ch in chars:
            if ch != "\\":
                out.append(ch)
                continue
            nxt = next(chars, "")
            if nxt not in STRING_ESCAPES:
                raise _malformed(
                    self.text,
                    pos,
                    f"Invalid string literal '{body}'. Illegal character sequence "
                    f"'\\{nxt}' in string literal.",
                )
            out.append(STRING_ESCAPES[nxt])
        return "".join(out)
