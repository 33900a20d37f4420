"""$filter syntax as Graph parses it (learn.microsoft.com/graph/filter-query-parameter,
learn.microsoft.com/graph/aad-advanced-queries): the tree it builds and the positions it reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from posturebridge.directory.graph.errors import GraphError
from posturebridge.directory.graph.odata_filter import (
    And,
    AnyOf,
    Call,
    CmpOp,
    Compare,
    CountOf,
    FuncName,
    In,
    LambdaMember,
    Literal,
    LiteralKind,
    Member,
    Node,
    Not,
    Or,
    parse_filter,
)


def shape(node: Node | None) -> object:
    """A position-free rendering of a tree, so expectations stay readable."""
    if node is None:
        return None
    if isinstance(node, And):
        return ("and", shape(node.left), shape(node.right))
    if isinstance(node, Or):
        return ("or", shape(node.left), shape(node.right))
    if isinstance(node, Not):
        return ("not", shape(node.operand))
    if isinstance(node, Compare):
        return (node.op.value, _operand(node.left), _lit(node.right))
    if isinstance(node, In):
        return ("in", _operand(node.left), tuple(_lit(v) for v in node.values))
    if isinstance(node, Call):
        return (node.func.value, _operand(node.operand), _lit(node.argument))
    assert isinstance(node, AnyOf)
    return ("any", node.collection.name, node.variable, shape(node.body))


def _operand(op: object) -> object:
    if isinstance(op, Member):
        return op.name
    if isinstance(op, LambdaMember):
        return f"{op.variable}/{op.member}" if op.member else op.variable
    assert isinstance(op, CountOf)
    return f"{op.collection.name}/$count"


def _lit(lit: Literal) -> object:
    return (lit.kind.value, lit.value)


GUID = "0000aaaa-11bb-cccc-dd22-eeeeee333333"

VALID = [
    ("displayName eq 'Contoso'", ("eq", "displayName", ("string", "Contoso"))),
    ("displayName eq 'O''Neil'", ("eq", "displayName", ("string", "O'Neil"))),
    ("displayName eq ''", ("eq", "displayName", ("string", ""))),
    ("displayName eq null", ("eq", "displayName", ("null", None))),
    ("isCompliant eq true", ("eq", "isCompliant", ("bool", True))),
    ("accountEnabled NE False", ("ne", "accountEnabled", ("bool", False))),
    ("deviceVersion ge -3", ("ge", "deviceVersion", ("int", -3))),
    ("score lt 1.5e3", ("lt", "score", ("float", 1500.0))),
    (f"deviceId eq {GUID}", ("eq", "deviceId", ("guid", GUID))),
    (f"deviceId eq {GUID.upper()}", ("eq", "deviceId", ("guid", GUID))),
    (
        "approximateLastSignInDateTime ge 2024-01-01T00:00:00Z",
        ("ge", "approximateLastSignInDateTime", ("datetime", datetime(2024, 1, 1, tzinfo=UTC))),
    ),
    (
        "approximateLastSignInDateTime le 2024-01-01T10:30:15.25+02:00",
        (
            "le",
            "approximateLastSignInDateTime",
            ("datetime", datetime(2024, 1, 1, 10, 30, 15, 250000, tzinfo=timezone(timedelta(hours=2)))),
        ),
    ),
    # aad-advanced-queries: groups?$filter=createdDateTime ge 2021-11-01 (a bare date)
    (
        "createdDateTime ge 2021-11-01",
        ("ge", "createdDateTime", ("datetime", datetime(2021, 11, 1, tzinfo=UTC))),
    ),
    (
        "trustType in ('AzureAd', 'Workplace')",
        ("in", "trustType", (("string", "AzureAd"), ("string", "Workplace"))),
    ),
    ("startswith(displayName,'a')", ("startsWith", "displayName", ("string", "a"))),
    ("startsWith( displayName, 'Box')", ("startsWith", "displayName", ("string", "Box"))),
    ("endsWith(mail,'@outlook.com')", ("endsWith", "mail", ("string", "@outlook.com"))),
    (
        "extensionAttributes/extensionAttribute1 eq 'BYOD-Device'",
        ("eq", "extensionAttributes/extensionAttribute1", ("string", "BYOD-Device")),
    ),
    ("physicalIds/any(p:p eq 'x')", ("any", "physicalIds", "p", ("eq", "p", ("string", "x")))),
    (
        "signInEventTypes/any(t: t eq 'nonInteractiveUser')",
        ("any", "signInEventTypes", "t", ("eq", "t", ("string", "nonInteractiveUser"))),
    ),
    (
        f"assignedLicenses/any(x:x/skuId eq {GUID})",
        ("any", "assignedLicenses", "x", ("eq", "x/skuId", ("guid", GUID))),
    ),
    (
        "proxyAddresses/any (p:endsWith(p, 'OnMicrosoft.com'))",
        ("any", "proxyAddresses", "p", ("endsWith", "p", ("string", "OnMicrosoft.com"))),
    ),
    ("physicalIds/any()", ("any", "physicalIds", None, None)),
    ("physicalIds/$count eq 0", ("eq", "physicalIds/$count", ("int", 0))),
    ("assignedLicenses/$count ne 0", ("ne", "assignedLicenses/$count", ("int", 0))),
    # Graph's own example: companyName ne null and NOT(companyName eq 'Microsoft')
    (
        "companyName ne null and NOT(companyName eq 'Microsoft')",
        (
            "and",
            ("ne", "companyName", ("null", None)),
            ("not", ("eq", "companyName", ("string", "Microsoft"))),
        ),
    ),
    ("NOT startsWith(displayName, 'Conf')", ("not", ("startsWith", "displayName", ("string", "Conf")))),
    ("not displayName eq 'a'", ("not", ("eq", "displayName", ("string", "a")))),
    (
        "a eq 1 or b eq 2 and c eq 3",
        ("or", ("eq", "a", ("int", 1)), ("and", ("eq", "b", ("int", 2)), ("eq", "c", ("int", 3)))),
    ),
    (
        "(a eq 1 or b eq 2) and c eq 3",
        ("and", ("or", ("eq", "a", ("int", 1)), ("eq", "b", ("int", 2))), ("eq", "c", ("int", 3))),
    ),
    (
        "not (a eq 1 and b eq 2) OR c eq 3",
        ("or", ("not", ("and", ("eq", "a", ("int", 1)), ("eq", "b", ("int", 2)))), ("eq", "c", ("int", 3))),
    ),
    (
        "physicalIds/any(p:startswith(p,'[ZTDId]') or p eq 'x') and isManaged eq true",
        (
            "and",
            (
                "any",
                "physicalIds",
                "p",
                ("or", ("startsWith", "p", ("string", "[ZTDId]")), ("eq", "p", ("string", "x"))),
            ),
            ("eq", "isManaged", ("bool", True)),
        ),
    ),
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[t for t, _ in VALID])
def test_valid_filters_parse_to_the_expected_tree(text: str, expected: object) -> None:
    assert shape(parse_filter(text)) == expected


def test_literal_kinds_are_typed() -> None:
    node = parse_filter("x eq 7")
    assert isinstance(node, Compare) and node.right.kind is LiteralKind.INT and node.op is CmpOp.EQ
    call = parse_filter("endswith(x,'y')")
    assert isinstance(call, Call) and call.func is FuncName.ENDS_WITH


# Positions: the offset just past the offending token, as Graph reports
# "Syntax error at position 17 in 'jobtitle ge '!' , accountenabled eq true'" (explorer issue 3227),
# or the offset of a character no token can start with.
INVALID = [
    ("jobtitle ge '!' , accountenabled eq true", "Syntax error at position 17 in"),
    ("iswhatever 12", "Syntax error at position 13 in"),
    ("displayName eq", "Syntax error at position 14 in"),
    ("displayName eq 'abc", "Syntax error at position 19 in"),
    ("displayName eq 'a' and", "Syntax error at position 22 in"),
    ("(displayName eq 'a'", "Syntax error at position 19 in"),
    ("displayName eq 'a')", "Syntax error at position 19 in"),
    ("displayName eq displayName", "Syntax error at position 26 in"),
    ("'a' eq displayName", "Syntax error at position 3 in"),
    ("displayName in ()", "Syntax error at position 17 in"),
    ("displayName foo 'a'", "Syntax error at position 15 in"),
    ("startswith(displayName 'a')", "Syntax error at position 26 in"),
    ("physicalIds/any(p p eq 'x')", "Syntax error at position 19 in"),
    ("", "Syntax error at position 0 in"),
    ("displayName eq 'a' ! ", "Syntax error: character '!' is not valid at position 19 in"),
    ("createdDateTime ge 2021-13-01", "Syntax error at position 29 in"),
]


@pytest.mark.parametrize(("text", "message"), INVALID, ids=[t or "<empty>" for t, _ in INVALID])
def test_syntax_errors_are_400_naming_the_position(text: str, message: str) -> None:
    with pytest.raises(GraphError) as caught:
        parse_filter(text)
    assert caught.value.status_code == 400
    assert caught.value.code == "Request_BadRequest"
    assert caught.value.message.startswith(f"Invalid filter clause: {message} '{text}'")


def test_unknown_function_is_named() -> None:
    with pytest.raises(GraphError) as caught:
        parse_filter("substringof('x', displayName)")
    assert caught.value.message == "Invalid filter clause: An unknown function with name 'substringof' was found."


def test_all_lambda_is_refused_as_unsupported() -> None:
    with pytest.raises(GraphError) as caught:
        parse_filter("physicalIds/all(p:p eq 'x')")
    assert caught.value.code == "Request_UnsupportedQuery"


def test_lambda_variable_is_scoped_to_its_body() -> None:
    node = parse_filter("physicalIds/any(p:p eq 'x') and p eq 'y'")
    assert isinstance(node, And) and isinstance(node.right, Compare)
    assert isinstance(node.right.left, Member)  # outside the lambda, p is a property again
