"""Tests of the Salesforce emulator's SOQL engine (parse, bind, evaluate, index helpers)."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simple_salesforce.format import format_soql

from leadbridge.sandbox.salesforce.soql import (
    And,
    BoolLit,
    BoundQuery,
    Comparison,
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
    StringLit,
    bind,
    compile_predicate,
    execute,
    follows_index_order,
    parse_soql,
    range_bounds,
    sort_key,
)

UTC = dt.UTC
NOW = dt.datetime(2024, 2, 15, 18, 0, tzinfo=UTC)

SCHEMA: dict[str, dict[str, str]] = {
    "Lead": {
        "Id": "id",
        "FirstName": "string",
        "LastName": "string",
        "Email": "email",
        "Status": "picklist",
        "Interests__c": "multipicklist",
        "NumberOfEmployees": "int",
        "AnnualRevenue": "currency",
        "Score__c": "double",
        "IsConverted": "boolean",
        "ConvertedDate": "date",
        "CreatedDate": "datetime",
        "SystemModstamp": "datetime",
        "OwnerId": "reference",
    },
    "User": {"Id": "id", "Name": "string"},
}

USERS = {"005000000000001AAA": {"Name": "Uma"}, "005000000000002AAA": {"Name": "Victor"}}


def _lead(n: int, last: str, **values: Any) -> dict[str, Any]:
    record: dict[str, Any] = dict.fromkeys(SCHEMA["Lead"])
    record.update(Id=f"00Q00000000000{n}AAA", LastName=last, IsConverted=False)
    record.update(values)
    record["SystemModstamp"] = record["CreatedDate"]
    return record


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


ALPHA = _lead(
    1,
    "Alpha",
    FirstName="Ann",
    Email="ann@x.com",
    Status="Open",
    Interests__c="golf;tennis",
    NumberOfEmployees=10,
    AnnualRevenue=Decimal("1000.50"),
    Score__c=1.5,
    CreatedDate=_utc(2024, 1, 1),
    OwnerId="005000000000001AAA",
)
BETA = _lead(
    2,
    "beta",
    Email="O'Brien@X.com",
    Status="Working",
    Interests__c="tennis",
    NumberOfEmployees=200,
    Score__c=2.0,
    IsConverted=True,
    ConvertedDate=dt.date(2024, 1, 31),
    CreatedDate=_utc(2024, 1, 31, 10),
    OwnerId="005000000000002AAA",
)
GAMMA = _lead(
    3,
    "Gamma",
    FirstName="Carl",
    AnnualRevenue=Decimal(5),
    CreatedDate=_utc(2024, 2, 15, 12, 30),
    OwnerId="005000000000001AAA",
)
DELTA = _lead(
    4,
    "delta_x",
    FirstName="Dee",
    Email="d%x@y.com",
    Status="open",
    Interests__c="chess;golf;tennis",
    NumberOfEmployees=10,
    AnnualRevenue=Decimal(0),
    Score__c=-3.25,
    ConvertedDate=dt.date(2023, 12, 31),
    CreatedDate=_utc(2023, 12, 31, 23, 59, 59),
)
RECORDS = [ALPHA, BETA, GAMMA, DELTA]


def owner_lookup(sobject: str, path: tuple[str, ...]) -> tuple[tuple[str, ...], str] | None:
    if sobject == "Lead" and [p.lower() for p in path] == ["owner", "name"]:
        return ("Owner", "Name"), "string"
    return None


def owner_resolver(record: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    owner = USERS.get(record.get("OwnerId") or "")
    return owner.get(path[1]) if owner and path[0] == "Owner" else None


def compile_query(text: str) -> BoundQuery:
    return bind(parse_soql(text), schema=SCHEMA, relationships=owner_lookup)


def run(text: str, records: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    result = execute(compile_query(text), records or RECORDS, resolver=owner_resolver, now=NOW)
    return result.rows


def last_names(where: str) -> set[str]:
    rows = run(f"SELECT LastName FROM Lead WHERE {where}")
    return {row["LastName"] for row in rows}


def error_of(text: str) -> SoqlError:
    with pytest.raises(SoqlError) as info:
        compile_query(text)
    return info.value


# --- parsing -----------------------------------------------------------------------------------


def cmp(name: str, op: Any, value: Any) -> Comparison:
    return Comparison(FieldRef(tuple(name.split("."))), op, value)


A1 = cmp("a", "=", NumberLit(Decimal(1)))
B2 = cmp("b", "=", NumberLit(Decimal(2)))
C3 = cmp("c", "=", NumberLit(Decimal(3)))


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("a = 1", A1),
        ("((a = 1))", A1),
        ("a = 1 AND b = 2 AND c = 3", And((A1, B2, C3))),
        ("a = 1 OR b = 2 OR c = 3", Or((A1, B2, C3))),
        ("a = 1 AND (b = 2 OR c = 3)", And((A1, Or((B2, C3))))),
        ("(a = 1 AND b = 2) OR c = 3", Or((And((A1, B2)), C3))),
        ("a = 1 or (b = 2 and c = 3)", Or((A1, And((B2, C3))))),
        ("NOT a = 1", Not(A1)),
        ("NOT a = 1 AND b = 2", And((Not(A1), B2))),
        ("NOT (a = 1 OR b = 2)", Not(Or((A1, B2)))),
        ("not not a = 1", Not(Not(A1))),
        ("(a = 1 AND b = 2) AND c = 3", And((And((A1, B2)), C3))),
    ],
)
def test_precedence_and_parentheses(where: str, expected: Any) -> None:
    assert parse_soql(f"SELECT Id FROM Lead WHERE {where}").where == expected


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("a = 1", cmp("a", "=", NumberLit(Decimal(1)))),
        ("a != 1", cmp("a", "!=", NumberLit(Decimal(1)))),
        ("a <> 1", cmp("a", "!=", NumberLit(Decimal(1)))),
        ("a < -1.5", cmp("a", "<", NumberLit(Decimal("-1.5")))),
        ("a <= +2", cmp("a", "<=", NumberLit(Decimal(2)))),
        ("a > 1e-05", cmp("a", ">", NumberLit(Decimal("0.00001")))),
        ("a >= .5", cmp("a", ">=", NumberLit(Decimal("0.5")))),
        ("a = 'x'", cmp("a", "=", StringLit("x", "x"))),
        ("a = ''", cmp("a", "=", StringLit("", ""))),
        ("a LIKE 'x%'", cmp("a", "LIKE", StringLit("x%", "x%"))),
        ("a like 'x\\_y'", cmp("a", "LIKE", StringLit("x_y", "x\\_y"))),
        ("a IN ('x', 'y')", cmp("a", "IN", (StringLit("x", "x"), StringLit("y", "y")))),
        ("a NOT IN (1)", cmp("a", "NOT IN", (NumberLit(Decimal(1)),))),
        ("a In (null, 2)", cmp("a", "IN", (NullLit(), NumberLit(Decimal(2))))),
        (
            "a INCLUDES ('x;y', 'z')",
            cmp("a", "INCLUDES", (StringLit("x;y", "x;y"), StringLit("z", "z"))),
        ),
        ("a excludes ('x')", cmp("a", "EXCLUDES", (StringLit("x", "x"),))),
        ("a = TRUE", cmp("a", "=", BoolLit(True))),
        ("a = false", cmp("a", "=", BoolLit(False))),
        ("a = NULL", cmp("a", "=", NullLit())),
        ("a != null", cmp("a", "!=", NullLit())),
        ("a = 2024-01-31", cmp("a", "=", DateLit(dt.date(2024, 1, 31)))),
        ("a > 2024-01-31T10:00:00Z", cmp("a", ">", DateTimeLit(_utc(2024, 1, 31, 10)))),
        ("a > 2024-01-31T10:00:00.000Z", cmp("a", ">", DateTimeLit(_utc(2024, 1, 31, 10)))),
        ("a > 2024-01-31T10:00:00+09:00", cmp("a", ">", DateTimeLit(_utc(2024, 1, 31, 1)))),
        ("a > 2024-01-31T10:00:00-05:30", cmp("a", ">", DateTimeLit(_utc(2024, 1, 31, 15, 30)))),
        ("a = TODAY", cmp("a", "=", DateConst("TODAY"))),
        ("a = yesterday", cmp("a", "=", DateConst("YESTERDAY"))),
        ("a = LAST_N_DAYS:30", cmp("a", "=", DateConst("LAST_N_DAYS", 30))),
        ("a > last_n_days:7", cmp("a", ">", DateConst("LAST_N_DAYS", 7))),
        ("a = THIS_MONTH", cmp("a", "=", DateConst("THIS_MONTH"))),
        ("Owner.Name = 'x'", cmp("Owner.Name", "=", StringLit("x", "x"))),
    ],
)
def test_operators_and_literals_parse(clause: str, expected: Comparison) -> None:
    assert parse_soql(f"SELECT Id FROM Lead WHERE {clause}").where == expected


@pytest.mark.parametrize(
    ("body", "value"),
    [
        ("plain", "plain"),
        ("o\\'brien", "o'brien"),
        ("back\\\\slash", "back\\slash"),
        ("a\\nb\\Nc", "a\nb\nc"),
        ("\\r\\R\\t\\T\\b\\B\\f\\F", "\r\r\t\t\b\b\f\f"),
        ('say \\"hi\\"', 'say "hi"'),
        ("100\\%", "100%"),
        ("ünïcødé ✓", "ünïcødé ✓"),
    ],
)
def test_string_escapes(body: str, value: str) -> None:
    where = parse_soql(f"SELECT Id FROM Lead WHERE LastName = '{body}'").where
    assert isinstance(where, Comparison)
    assert where.value == StringLit(value, body)


def test_select_list_order_by_limit_offset_and_count() -> None:
    q = parse_soql(
        "select Id, owner.name from lead order by LastName desc nulls first, Id limit 5 offset 2"
    )
    assert q.sobject == "lead"
    assert [f.path for f in q.fields] == [("Id",), ("owner", "name")]
    assert q.order_by == (
        OrderItem(FieldRef(("LastName",)), descending=True, nulls_last=False),
        OrderItem(FieldRef(("Id",)), descending=False, nulls_last=False),
    )
    assert (q.limit, q.offset, q.is_count) == (5, 2, False)
    count = parse_soql("SELECT COUNT() FROM Lead WHERE IsConverted = false")
    assert count.is_count
    assert count.fields == ()


@pytest.mark.parametrize(
    ("order", "descending", "nulls_last"),
    [
        ("X", False, False),
        ("X ASC", False, False),
        ("X DESC", True, True),
        ("X ASC NULLS LAST", False, True),
        ("X DESC NULLS FIRST", True, False),
        ("X nulls last", False, True),
    ],
)
def test_order_by_null_defaults(order: str, descending: bool, nulls_last: bool) -> None:
    (item,) = parse_soql(f"SELECT Id FROM Lead ORDER BY {order}").order_by
    assert (item.descending, item.nulls_last) == (descending, nulls_last)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SELECT",
        "SELECT FROM Lead",
        "SELECT Id Lead",
        "SELECT Id FROM",
        "SELECT Id, FROM Lead",
        "SELECT Id FROM Lead WHERE",
        "SELECT Id FROM Lead WHERE LastName",
        "SELECT Id FROM Lead WHERE LastName =",
        "SELECT Id FROM Lead WHERE a = 1 AND b = 2 OR c = 3",
        "SELECT Id FROM Lead WHERE a = 1 OR b = 2 AND c = 3",
        "SELECT Id FROM Lead WHERE (a = 1 AND b = 2 OR c = 3)",
        "SELECT Id FROM Lead WHERE (a = 1",
        "SELECT Id FROM Lead WHERE a = 1)",
        "SELECT Id FROM Lead WHERE NOT",
        "SELECT Id FROM Lead WHERE a == 1",
        "SELECT Id FROM Lead WHERE a IN ()",
        "SELECT Id FROM Lead WHERE a IN 'x'",
        "SELECT Id FROM Lead WHERE a LIKE 5",
        "SELECT Id FROM Lead WHERE a = 'unterminated",
        "SELECT Id FROM Lead WHERE a = 'bad \\q escape'",
        'SELECT Id FROM Lead WHERE a = "double"',
        "SELECT Id FROM Lead WHERE a = 2024-13-01",
        "SELECT Id FROM Lead WHERE a = 2024-01-01T10:00:00",
        "SELECT Id FROM Lead WHERE a = LAST_N_DAYS",
        "SELECT Id FROM Lead WHERE a = bareword",
        "SELECT Id, COUNT() FROM Lead",
        "SELECT COUNT(Id) FROM Lead",
        "SELECT Id FROM Lead ORDER BY",
        "SELECT Id FROM Lead ORDER BY Id UP",
        "SELECT Id FROM Lead LIMIT",
        "SELECT Id FROM Lead LIMIT -1",
        "SELECT Id FROM Lead LIMIT 1.5",
        "SELECT Id FROM Lead OFFSET 1 LIMIT 1",
        "SELECT Id FROM Lead LIMIT 1 WHERE a = 1",
        "SELECT Id FROM Lead GROUP BY Id",
        "SELECT Id FROM Lead; DELETE",
    ],
)
def test_malformed_queries(text: str) -> None:
    with pytest.raises(SoqlError) as info:
        parse_soql(text)
    assert info.value.error_code == "MALFORMED_QUERY"


def test_malformed_message_shape_at_eof() -> None:
    with pytest.raises(SoqlError) as info:
        parse_soql("SELECT Id FROM Lead WHERE")
    assert info.value.message == (
        "\nSELECT Id FROM Lead WHERE\n                         ^\n"
        "ERROR at Row:1:Column:26\nunexpected token: '<EOF>'"
    )


def test_mixing_and_or_points_at_the_second_operator() -> None:
    with pytest.raises(SoqlError) as info:
        parse_soql("SELECT Id FROM Lead WHERE a = 1 AND b = 2 OR c = 3")
    assert info.value.message.endswith("ERROR at Row:1:Column:43\nunexpected token: 'OR'")


def test_malformed_message_on_a_later_row() -> None:
    with pytest.raises(SoqlError) as info:
        parse_soql("SELECT Id\nFROM Lead\nWHERE Name = = 'x'")
    assert info.value.message == (
        "\nWHERE Name = = 'x'\n             ^\nERROR at Row:3:Column:14\nunexpected token: '='"
    )


# --- binding -----------------------------------------------------------------------------------


def test_names_resolve_case_insensitively_to_canonical_spelling() -> None:
    bound = compile_query(
        "select id, LASTNAME, owner.NAME from LEAD where isconverted = false "
        "order by createddate desc"
    )
    assert bound.sobject == "Lead"
    assert bound.column_names == ("Id", "LastName", "Owner.Name")
    assert bound.query.order_by[0].field.path == ("CreatedDate",)
    assert bound.field_types[("IsConverted",)] == "boolean"
    rows = execute(bound, RECORDS, resolver=owner_resolver).rows
    assert list(rows[0]) == ["Id", "LastName", "Owner.Name"]
    assert rows[0]["LastName"] == "Gamma"
    assert rows[0]["Owner.Name"] == "Uma"


def test_unknown_field_message() -> None:
    err = error_of("SELECT Foo FROM Lead")
    assert err.error_code == "INVALID_FIELD"
    assert err.message == (
        "\nSELECT Foo FROM Lead\n       ^\nERROR at Row:1:Column:8\n"
        "No such column 'Foo' on entity 'Lead'. If you are attempting to use a custom field, be "
        "sure to append the '__c' after the custom field name. Please reference your WSDL or the "
        "describe call for the appropriate names."
    )


@pytest.mark.parametrize(
    ("text", "code", "fragment"),
    [
        ("SELECT Id FROM Foo", "INVALID_TYPE", "sObject type 'Foo' is not supported."),
        ("SELECT Id FROM Lead WHERE Bar = 1", "INVALID_FIELD", "No such column 'Bar'"),
        ("SELECT Id FROM Lead ORDER BY Bar", "INVALID_FIELD", "No such column 'Bar'"),
        ("SELECT Ownr.Name FROM Lead", "INVALID_FIELD", "Didn't understand relationship 'Ownr'"),
        (
            "SELECT Id FROM Lead WHERE CreatedDate > '2024-01-01T00:00:00Z'",
            "INVALID_FIELD",
            "value of filter criterion for field 'CreatedDate' must be of type dateTime and "
            "should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Lead WHERE CreatedDate > 2024-01-01",
            "INVALID_FIELD",
            "field 'CreatedDate' must be of type dateTime",
        ),
        (
            "SELECT Id FROM Lead WHERE ConvertedDate > 2024-01-01T00:00:00Z",
            "INVALID_FIELD",
            "field 'ConvertedDate' must be of type date and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Lead WHERE IsConverted = 'true'",
            "INVALID_FIELD",
            "field 'IsConverted' must be of type boolean and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Lead WHERE NumberOfEmployees IN (1, '2')",
            "INVALID_FIELD",
            "field 'NumberOfEmployees' must be of type integer",
        ),
        (
            "SELECT Id FROM Lead WHERE AnnualRevenue > '5'",
            "INVALID_FIELD",
            "field 'AnnualRevenue' must be of type double",
        ),
        (
            "SELECT Id FROM Lead WHERE LastName = 5",
            "INVALID_FIELD",
            "field 'LastName' must be of type string and should be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Lead WHERE Email = true",
            "INVALID_FIELD",
            "field 'Email' must be of type string",
        ),
        (
            "SELECT Id FROM Lead WHERE Id = 'abc'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid ID field: abc",
        ),
        (
            "SELECT Id FROM Lead WHERE Status INCLUDES ('Open')",
            "INVALID_FIELD",
            "includes or excludes operator only valid on multipicklist field",
        ),
        (
            "SELECT Id FROM Lead OFFSET 2001",
            "NUMBER_OUTSIDE_VALID_RANGE",
            "Maximum SOQL offset allowed is 2000",
        ),
    ],
)
def test_bind_errors(text: str, code: str, fragment: str) -> None:
    err = error_of(text)
    assert err.error_code == code
    assert fragment in err.message


def test_bind_error_positions() -> None:
    err = error_of("SELECT Id\nFROM Lead\nWHERE IsConverted = 'x'")
    assert "\nWHERE IsConverted = 'x'\n                    ^\nERROR at Row:3:Column:21\n" in (
        err.message
    )
    assert "ERROR at Row:1:Column:16\n" in error_of("SELECT Id FROM Foo").message


def test_relationship_paths_need_a_lookup() -> None:
    query = parse_soql("SELECT Owner.Name FROM Lead")
    with pytest.raises(SoqlError, match="Didn't understand relationship 'Owner'"):
        bind(query, schema=SCHEMA)


def test_null_and_date_constants_bind_to_any_suitable_field() -> None:
    compile_query(
        "SELECT Id FROM Lead WHERE ConvertedDate = TODAY AND CreatedDate = LAST_N_DAYS:3 "
        "AND IsConverted != null AND OwnerId = null AND Id IN ('00Q000000000001', null)"
    )


# --- evaluation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("LastName = 'ALPHA'", {"Alpha"}),
        ("lastname = 'alpha'", {"Alpha"}),
        ("Status = 'open'", {"Alpha", "delta_x"}),
        ("Status != 'Open'", {"beta", "Gamma"}),
        ("Status <> 'Open'", {"beta", "Gamma"}),
        ("NumberOfEmployees = 10", {"Alpha", "delta_x"}),
        ("NumberOfEmployees != 10", {"beta", "Gamma"}),
        ("NumberOfEmployees > 10", {"beta"}),
        ("NumberOfEmployees >= 10", {"Alpha", "beta", "delta_x"}),
        ("NumberOfEmployees < 200", {"Alpha", "delta_x"}),
        ("NumberOfEmployees <= 200", {"Alpha", "beta", "delta_x"}),
        ("AnnualRevenue = 1000.5", {"Alpha"}),
        ("AnnualRevenue > 0", {"Alpha", "Gamma"}),
        ("Score__c < 0", {"delta_x"}),
        ("Score__c = 2", {"beta"}),
        ("Score__c >= -3.25", {"Alpha", "beta", "delta_x"}),
        ("IsConverted = true", {"beta"}),
        ("IsConverted = FALSE", {"Alpha", "Gamma", "delta_x"}),
        ("ConvertedDate = 2024-01-31", {"beta"}),
        ("ConvertedDate < 2024-01-01", {"delta_x"}),
        ("CreatedDate > 2024-01-01T00:00:00Z", {"beta", "Gamma"}),
        ("CreatedDate >= 2024-01-01T00:00:00Z", {"Alpha", "beta", "Gamma"}),
        ("CreatedDate < 2024-01-01T09:00:00+09:00", {"delta_x"}),
        ("CreatedDate <= 2024-01-01T09:00:00+09:00", {"Alpha", "delta_x"}),
        ("CreatedDate = 2024-01-31T10:00:00.000Z", {"beta"}),
        ("FirstName > 'b'", {"Gamma", "delta_x"}),
        ("FirstName > 'B'", {"Gamma", "delta_x"}),
        ("Status IN ('open', 'WORKING')", {"Alpha", "beta", "delta_x"}),
        ("Status NOT IN ('Open')", {"beta", "Gamma"}),
        ("Status IN ('Open', null)", {"Alpha", "Gamma", "delta_x"}),
        ("Status NOT IN ('Open', null)", {"beta"}),
        ("NumberOfEmployees IN (10, 20)", {"Alpha", "delta_x"}),
        ("LastName LIKE 'a%'", {"Alpha"}),
        ("LastName LIKE '%A'", {"Alpha", "beta", "Gamma"}),
        ("LastName LIKE '_eta'", {"beta"}),
        ("LastName LIKE 'delt__x'", {"delta_x"}),
        ("LastName LIKE 'delta\\_x'", {"delta_x"}),
        ("LastName LIKE 'delta\\_'", set()),
        ("Email LIKE '%\\%%'", {"delta_x"}),
        ("Email LIKE '%'", {"Alpha", "beta", "delta_x"}),
        ("Email LIKE 'o\\'brien@%'", {"beta"}),
        ("Interests__c INCLUDES ('golf')", {"Alpha", "delta_x"}),
        ("Interests__c INCLUDES ('GOLF;chess')", {"delta_x"}),
        ("Interests__c INCLUDES ('chess', 'tennis;golf')", {"Alpha", "delta_x"}),
        ("Interests__c EXCLUDES ('golf')", {"beta", "Gamma"}),
        ("Interests__c = 'tennis;golf'", {"Alpha"}),
        ("NOT Status = 'Open'", {"beta", "Gamma"}),
        ("NOT (Status = 'Open' OR IsConverted = true)", {"Gamma"}),
        (
            "(Status = 'Open' OR IsConverted = true) AND NumberOfEmployees = 10",
            {"Alpha", "delta_x"},
        ),
        (
            "Status = 'Open' OR (IsConverted = true AND NumberOfEmployees = 10)",
            {"Alpha", "delta_x"},
        ),
        ("Status = 'Open' AND (IsConverted = true OR Score__c < 0)", {"delta_x"}),
        (
            "LastName = 'Alpha' OR LastName = 'beta' OR LastName = 'Gamma'",
            {"Alpha", "beta", "Gamma"},
        ),
        ("Id = '00Q000000000001'", {"Alpha"}),
        ("Id IN ('00Q000000000002AAA', '00Q000000000003')", {"beta", "Gamma"}),
        ("OwnerId = null", {"delta_x"}),
        ("Owner.Name = 'uma'", {"Alpha", "Gamma"}),
        ("Owner.Name != 'Uma'", {"beta", "delta_x"}),
        ("Owner.Name LIKE 'V%'", {"beta"}),
    ],
)
def test_operators_evaluate(where: str, expected: set[str]) -> None:
    assert last_names(where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("FirstName = null", {"beta"}),
        ("FirstName != null", {"Alpha", "Gamma", "delta_x"}),
        ("ConvertedDate = null", {"Alpha", "Gamma"}),
        ("ConvertedDate != null", {"beta", "delta_x"}),
        # null never satisfies an ordering comparison, nor its negation through NOT IN/!= only
        ("NumberOfEmployees > 5", {"Alpha", "beta", "delta_x"}),
        ("NumberOfEmployees < 500", {"Alpha", "beta", "delta_x"}),
        ("NOT NumberOfEmployees > 5", {"Gamma"}),
        ("FirstName != 'Ann'", {"beta", "Gamma", "delta_x"}),
        ("FirstName LIKE '%'", {"Alpha", "Gamma", "delta_x"}),
        ("ConvertedDate < TODAY", {"beta", "delta_x"}),
        ("NumberOfEmployees > null", set()),
    ],
)
def test_null_semantics(where: str, expected: set[str]) -> None:
    assert last_names(where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("CreatedDate = TODAY", {"Gamma"}),
        ("CreatedDate = YESTERDAY", set()),
        ("CreatedDate < TODAY", {"Alpha", "beta", "delta_x"}),
        ("CreatedDate > YESTERDAY", {"Gamma"}),
        ("CreatedDate <= YESTERDAY", {"Alpha", "beta", "delta_x"}),
        ("CreatedDate >= TODAY", {"Gamma"}),
        ("CreatedDate != TODAY", {"Alpha", "beta", "delta_x"}),
        ("CreatedDate = LAST_N_DAYS:15", {"beta", "Gamma"}),
        ("CreatedDate = LAST_N_DAYS:14", {"Gamma"}),
        ("CreatedDate < LAST_N_DAYS:14", {"Alpha", "beta", "delta_x"}),
        ("ConvertedDate = LAST_N_DAYS:15", {"beta"}),
        ("CreatedDate = THIS_MONTH", {"Gamma"}),
        ("CreatedDate = LAST_MONTH", {"Alpha", "beta"}),
        ("CreatedDate = LAST_YEAR", {"delta_x"}),
        ("CreatedDate = THIS_YEAR", {"Alpha", "beta", "Gamma"}),
        ("CreatedDate = N_DAYS_AGO:15", {"beta"}),
        ("CreatedDate IN (TODAY, LAST_YEAR)", {"Gamma", "delta_x"}),
    ],
)
def test_date_constants(where: str, expected: set[str]) -> None:
    assert last_names(where) == expected


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("NumberOfEmployees, LastName", ["Gamma", "Alpha", "delta_x", "beta"]),
        ("NumberOfEmployees DESC, LastName", ["beta", "Alpha", "delta_x", "Gamma"]),
        (
            "NumberOfEmployees DESC NULLS FIRST, LastName DESC",
            ["Gamma", "beta", "delta_x", "Alpha"],
        ),
        ("NumberOfEmployees ASC NULLS LAST, LastName DESC", ["delta_x", "Alpha", "beta", "Gamma"]),
        ("LastName", ["Alpha", "beta", "delta_x", "Gamma"]),
        ("lastname desc", ["Gamma", "delta_x", "beta", "Alpha"]),
        ("Status, LastName", ["Gamma", "Alpha", "delta_x", "beta"]),
        ("Status DESC, LastName DESC", ["beta", "delta_x", "Alpha", "Gamma"]),
        ("CreatedDate DESC", ["Gamma", "beta", "Alpha", "delta_x"]),
        ("ConvertedDate, Score__c DESC", ["Alpha", "Gamma", "delta_x", "beta"]),
        ("IsConverted DESC, AnnualRevenue NULLS LAST", ["beta", "delta_x", "Gamma", "Alpha"]),
        ("Owner.Name DESC, LastName", ["beta", "Alpha", "Gamma", "delta_x"]),
    ],
)
def test_order_by(order_by: str, expected: list[str]) -> None:
    rows = run(f"SELECT LastName FROM Lead ORDER BY {order_by}")
    assert [row["LastName"] for row in rows] == expected
    # The sort key alone gives the same order, whatever the input order.
    key = sort_key(
        compile_query(f"SELECT Id FROM Lead ORDER BY {order_by}"), resolver=owner_resolver
    )
    assert [r["LastName"] for r in sorted(reversed(RECORDS), key=key)] == expected


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        ("LIMIT 2", ["Alpha", "beta"]),
        ("LIMIT 2 OFFSET 1", ["beta", "delta_x"]),
        ("OFFSET 3", ["Gamma"]),
        ("LIMIT 10 OFFSET 2", ["delta_x", "Gamma"]),
        ("LIMIT 0", []),
        ("OFFSET 10", []),
    ],
)
def test_limit_offset(tail: str, expected: list[str]) -> None:
    rows = run(f"SELECT LastName FROM Lead ORDER BY LastName {tail}")
    assert [row["LastName"] for row in rows] == expected


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("SELECT COUNT() FROM Lead", 4),
        ("select count() from lead where IsConverted = false", 3),
        ("SELECT COUNT() FROM Lead WHERE LastName = 'nobody'", 0),
        ("SELECT COUNT() FROM Lead LIMIT 2", 2),
        ("SELECT COUNT() FROM Lead LIMIT 10", 4),
        ("SELECT COUNT() FROM Lead LIMIT 3 OFFSET 2", 2),
        ("SELECT COUNT() FROM Lead OFFSET 5", 0),
    ],
)
def test_count(text: str, count: int) -> None:
    result = execute(compile_query(text), RECORDS)
    assert (result.total_size, result.rows) == (count, [])


def test_rows_keep_select_order_and_unordered_queries_keep_input_order() -> None:
    result = execute(compile_query("SELECT email, ID FROM Lead WHERE Email != null"), RECORDS)
    assert result.total_size == 3
    assert result.rows == [
        {"Email": "ann@x.com", "Id": ALPHA["Id"]},
        {"Email": "O'Brien@X.com", "Id": BETA["Id"]},
        {"Email": "d%x@y.com", "Id": DELTA["Id"]},
    ]


def test_compile_predicate_without_where_accepts_everything() -> None:
    predicate = compile_predicate(compile_query("SELECT Id FROM Lead"))
    assert all(predicate(r) for r in RECORDS)


# --- index helpers -----------------------------------------------------------------------------

T1 = _utc(2024, 1, 1)
T2 = _utc(2024, 2, 1)
T3 = _utc(2024, 3, 1)
STAMP = "SystemModstamp"


@pytest.mark.parametrize(
    ("where", "lower", "upper"),
    [
        ("", None, None),
        ("SystemModstamp > 2024-01-01T00:00:00Z", (T1, False), None),
        ("systemmodstamp >= 2024-01-01T00:00:00Z", (T1, True), None),
        ("SystemModstamp < 2024-02-01T00:00:00Z", None, (T2, False)),
        ("SystemModstamp <= 2024-02-01T09:00:00+09:00", None, (T2, True)),
        ("SystemModstamp = 2024-01-01T00:00:00Z", (T1, True), (T1, True)),
        (
            "SystemModstamp >= 2024-01-01T00:00:00Z AND SystemModstamp < 2024-03-01T00:00:00Z",
            (T1, True),
            (T3, False),
        ),
        (
            "SystemModstamp > 2024-01-01T00:00:00Z AND SystemModstamp > 2024-02-01T00:00:00Z",
            (T2, False),
            None,
        ),
        (
            "SystemModstamp >= 2024-01-01T00:00:00Z AND SystemModstamp > 2024-01-01T00:00:00Z",
            (T1, False),
            None,
        ),
        (
            "SystemModstamp < 2024-03-01T00:00:00Z AND SystemModstamp <= 2024-02-01T00:00:00Z",
            None,
            (T2, True),
        ),
        ("LastName = 'x' AND SystemModstamp > 2024-01-01T00:00:00Z", (T1, False), None),
        (
            "(SystemModstamp > 2024-01-01T00:00:00Z AND LastName = 'x') AND "
            "SystemModstamp < 2024-03-01T00:00:00Z",
            (T1, False),
            (T3, False),
        ),
        ("SystemModstamp > 2024-01-01T00:00:00Z OR LastName = 'x'", None, None),
        (
            "(SystemModstamp > 2024-01-01T00:00:00Z OR SystemModstamp < 2024-02-01T00:00:00Z) "
            "AND SystemModstamp < 2024-03-01T00:00:00Z",
            None,
            (T3, False),
        ),
        ("NOT SystemModstamp > 2024-01-01T00:00:00Z", None, None),
        ("NOT (SystemModstamp > 2024-01-01T00:00:00Z AND LastName = 'x')", None, None),
        ("SystemModstamp != 2024-01-01T00:00:00Z", None, None),
        ("SystemModstamp IN (2024-01-01T00:00:00Z)", None, None),
        ("SystemModstamp = null", None, None),
        ("CreatedDate > 2024-01-01T00:00:00Z", None, None),
        ("SystemModstamp = TODAY", (_utc(2024, 2, 15), True), (_utc(2024, 2, 16), False)),
        ("SystemModstamp > YESTERDAY", (_utc(2024, 2, 15), True), None),
        ("SystemModstamp < LAST_N_DAYS:2", None, (_utc(2024, 2, 13), False)),
    ],
)
def test_range_bounds(where: str, lower: Any, upper: Any) -> None:
    text = "SELECT Id FROM Lead" + (f" WHERE {where}" if where else "")
    bound = compile_query(text)
    assert range_bounds(bound, field=STAMP, now=NOW) == (lower, upper)
    # Soundness: every matching record lies within the bounds.
    predicate = compile_predicate(bound, now=NOW)
    stamps = [_utc(2024, 1, 1) + dt.timedelta(hours=h) for h in range(0, 24 * 80, 7)]
    for stamp in stamps:
        record = {**ALPHA, STAMP: stamp}
        if predicate(record):
            assert lower is None or stamp > lower[0] or (lower[1] and stamp == lower[0])
            assert upper is None or stamp < upper[0] or (upper[1] and stamp == upper[0])


def test_range_bounds_on_numbers_and_dates() -> None:
    bound = compile_query(
        "SELECT Id FROM Lead WHERE NumberOfEmployees > 5 AND NumberOfEmployees <= 10.5 "
        "AND ConvertedDate >= 2024-01-01"
    )
    assert range_bounds(bound, field="NumberOfEmployees") == (
        (Decimal(5), False),
        (Decimal("10.5"), True),
    )
    assert range_bounds(bound, field="ConvertedDate") == ((dt.date(2024, 1, 1), True), None)
    assert range_bounds(bound, field="LastName") == (None, None)


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("", True),
        ("ORDER BY SystemModstamp", True),
        ("ORDER BY systemmodstamp ASC, id ASC", True),
        ("ORDER BY SystemModstamp NULLS FIRST, Id", True),
        ("ORDER BY SystemModstamp DESC", False),
        ("ORDER BY SystemModstamp NULLS LAST, Id", False),
        ("ORDER BY SystemModstamp, Id DESC", False),
        ("ORDER BY SystemModstamp, LastName", False),
        ("ORDER BY SystemModstamp, Id, LastName", False),
        ("ORDER BY Id", False),
        ("ORDER BY Id, SystemModstamp", False),
    ],
)
def test_follows_index_order(order_by: str, expected: bool) -> None:
    query = compile_query(f"SELECT Id FROM Lead {order_by}")
    assert follows_index_order(query, field=STAMP) is expected
    assert follows_index_order(query.query, field=STAMP) is expected


def test_presorted_candidates_stop_after_the_page() -> None:
    base = _utc(2024, 1, 1)
    index = [(base + dt.timedelta(seconds=i // 3), f"00Q{i:012d}AAA") for i in range(30_000)]
    by_id = {
        rid: {"Id": rid, "LastName": f"L{n}", STAMP: stamp, "IsConverted": n % 2 == 0}
        for n, (stamp, rid) in enumerate(index)
    }
    text = format_soql(
        "SELECT Id, SystemModstamp FROM Lead WHERE SystemModstamp > {} AND IsConverted = true "
        "ORDER BY SystemModstamp, Id LIMIT 4",
        base + dt.timedelta(seconds=5000),
    )
    bound = compile_query(text)
    assert follows_index_order(bound, field=STAMP)
    lower, upper = range_bounds(bound, field=STAMP)
    assert lower is not None
    assert upper is None
    start = (bisect.bisect_left if lower[1] else bisect.bisect_right)(
        index, lower[0], key=lambda entry: entry[0]
    )
    consumed = 0

    def candidates() -> Iterator[dict[str, Any]]:
        nonlocal consumed
        for _, rid in index[start:]:
            consumed += 1
            yield by_id[rid]

    rows = execute(bound, candidates(), presorted=True).rows
    assert consumed < 20
    expected = execute(bound, by_id.values()).rows
    assert rows == expected
    assert [r["Id"] for r in rows] == [f"00Q{i:012d}AAA" for i in (15004, 15006, 15008, 15010)]


# --- simple-salesforce's format_soql -----------------------------------------------------------


def test_format_soql_string_and_literal() -> None:
    text = format_soql(
        "SELECT Id FROM Lead WHERE Email = {} AND SystemModstamp > {:literal}",
        "o'brien@x.com",
        "2024-01-01T00:00:00Z",
    )
    where = parse_soql(text).where
    assert where == And(
        (
            cmp("Email", "=", StringLit("o'brien@x.com", "o\\'brien@x.com")),
            cmp("SystemModstamp", ">", DateTimeLit(T1)),
        )
    )
    assert [r["Id"] for r in run(text)] == [BETA["Id"]]


def test_format_soql_datetime_date_and_scalars() -> None:
    tokyo = dt.timezone(dt.timedelta(hours=9))
    text = format_soql(
        "SELECT LastName FROM Lead WHERE CreatedDate >= {} AND ConvertedDate != {} "
        "AND IsConverted = {} AND AnnualRevenue != {} AND Score__c > {} AND NumberOfEmployees < {}",
        dt.datetime(2024, 1, 31, 19, 0, 0, 123456, tzinfo=tokyo),
        dt.date(2024, 1, 30),
        True,
        None,
        -3.5,
        1000,
    )
    assert "2024-01-31T10:00:00+00:00" in text
    assert not run(text)  # beta has no AnnualRevenue
    text = format_soql(
        "SELECT LastName FROM Lead WHERE CreatedDate >= {} AND ConvertedDate = {}",
        dt.datetime(2024, 1, 31, 19, 0, tzinfo=tokyo),
        dt.date(2024, 1, 31),
    )
    assert [r["LastName"] for r in run(text)] == ["beta"]


def test_format_soql_lists_for_in() -> None:
    text = format_soql(
        "SELECT LastName FROM Lead WHERE LastName IN {} AND NumberOfEmployees NOT IN {}",
        ["alpha", "O'x", "Gamma", "delta_x"],
        (10,),
    )
    assert {r["LastName"] for r in run(text)} == {"Gamma"}


def test_format_soql_like() -> None:
    text = format_soql("SELECT LastName FROM Lead WHERE Email LIKE '{:like}%'", "d%x")
    assert [r["LastName"] for r in run(text)] == ["delta_x"]
    text = format_soql("SELECT LastName FROM Lead WHERE LastName LIKE '%{:like}'", "t__x")
    assert run(text) == []
    text = format_soql("SELECT LastName FROM Lead WHERE LastName LIKE '%{:literal}'", "t__x")
    assert [r["LastName"] for r in run(text)] == ["delta_x"]


_record_text = st.text(max_size=40)


@settings(max_examples=150, deadline=None)
@given(value=_record_text)
def test_format_soql_strings_round_trip(value: str) -> None:
    text = format_soql("SELECT Id FROM Lead WHERE LastName = {}", value)
    where = parse_soql(text).where
    assert isinstance(where, Comparison)
    assert isinstance(where.value, StringLit)
    assert where.value.value == value
    record = {**ALPHA, "LastName": value}
    assert compile_predicate(compile_query(text))(record)


@settings(max_examples=150, deadline=None)
@given(value=_record_text, other=_record_text)
def test_format_soql_like_matches_exactly_the_escaped_text(value: str, other: str) -> None:
    text = format_soql("SELECT Id FROM Lead WHERE LastName LIKE '{:like}'", value)
    predicate = compile_predicate(compile_query(text))
    assert predicate({**ALPHA, "LastName": value})
    if other.casefold() != value.casefold() and len(other) != len(value):
        assert not predicate({**ALPHA, "LastName": other})
