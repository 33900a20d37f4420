"""The filter rule language: parser errors with positions, and a property test against a plain reference."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posturebridge.conditional_access.rules import (
    APPLICATION_FILTER,
    DEVICE_FILTER,
    MAX_RULE_LENGTH,
    And,
    Comparison,
    Node,
    Not,
    Operator,
    Or,
    RuleSyntaxError,
    parse_rule,
    render,
)


@pytest.mark.parametrize(
    ("rule", "position", "fragment"),
    [
        ("device.trustType -eq", 20, "expected a value"),
        ('device.trustType -equals "x"', 17, "unknown operator"),
        ('device.colour -eq "red"', 7, "unknown device attribute"),
        ('device.isCompliant -startsWith "T"', 19, "not supported for isCompliant"),
        ('device.physicalIds -eq "x"', 19, "not supported for physicalIds"),
        ('(device.model -eq "A"', 21, "expected ')'"),
        ('device.model -eq "A" -and', 25, "expected an attribute"),
        ('device.model -eq "unterminated', 17, "unterminated string"),
        ('device.deviceId -in ["a" "b"]', 25, "expected ']' or ','"),
        ('user.model -eq "A"', 0, "expected device.<attribute>"),
        ("", 0, "empty"),
        ('device.model -eq "A" device.model', 21, "unexpected"),
    ],
    ids=[
        "missing_value",
        "unknown_operator",
        "unknown_attribute",
        "operator_not_allowed_for_boolean",
        "collection_only_supports_contains",
        "unclosed_parenthesis",
        "dangling_and",
        "unterminated_string",
        "list_without_comma",
        "wrong_object_prefix",
        "empty_rule",
        "trailing_tokens",
    ],
)
def test_syntax_errors_name_the_position(rule: str, position: int, fragment: str) -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_rule(rule)
    assert info.value.position == position
    assert fragment in info.value.message
    assert info.value.pointer().endswith("^")


def test_rule_longer_than_3072_characters_is_rejected_at_the_limit() -> None:
    clause = 'device.model -eq "A" -or '
    rule = clause * (MAX_RULE_LENGTH // len(clause) + 1) + 'device.model -eq "B"'
    with pytest.raises(RuleSyntaxError) as info:
        parse_rule(rule)
    assert info.value.position == MAX_RULE_LENGTH
    parse_rule(rule[: rule.rfind(" -or ", 0, MAX_RULE_LENGTH)])


def test_keywords_and_operators_are_case_insensitive() -> None:
    node = parse_rule('DEVICE.TRUSTTYPE -EQ "AzureAD" -OR device.model -STARTSWITH "x"')
    assert isinstance(node, Or)


def test_application_filter_requires_set_and_attribute() -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_rule('CustomSecurityAttribute.NoUnderscore -eq "x"', APPLICATION_FILTER)
    assert info.value.position == len("CustomSecurityAttribute.")


def test_and_binds_tighter_than_or() -> None:
    node = parse_rule('device.model -eq "A" -or device.model -eq "B" -and device.model -eq "C"')
    assert isinstance(node, Or) and isinstance(node.operands[1], And)


# ------------------------------------------------------------ property test against a reference

STRING_ATTRS = ["displayName", "model", "manufacturer", "extensionAttribute1"]
VALUES = ["a", "A", "ab", "b", "Company", ""]


def reference(node: Node, device: dict[str, Any] | None) -> bool:
    """Plain reading of the documented semantics, written independently of rules._compare."""
    if isinstance(node, And):
        return all(reference(o, device) for o in node.operands)
    if isinstance(node, Or):
        return any(reference(o, device) for o in node.operands)
    if isinstance(node, Not):
        return not reference(node.operand, device)
    actual = None if device is None else device.get(node.attribute)
    op = node.operator
    if actual is None:
        return op.spelling in ("-ne", "-notStartsWith", "-notEndsWith", "-notContains", "-notIn")
    a = actual.lower()
    if op in (Operator.IN, Operator.NOT_IN):
        hit = a in [v.lower() for v in node.value]
    else:
        v = str(node.value).lower()
        hit = {
            "-eq": a == v,
            "-ne": a == v,
            "-startswith": a.startswith(v),
            "-notstartswith": a.startswith(v),
            "-endswith": a.endswith(v),
            "-notendswith": a.endswith(v),
            "-contains": v in a,
            "-notcontains": v in a,
        }[op.spelling.lower()]
    positive = op.spelling in ("-eq", "-startsWith", "-endsWith", "-contains", "-in")
    return hit if positive else not hit


def comparisons() -> st.SearchStrategy[Node]:
    scalar_ops = [o for o in Operator if o not in (Operator.IN, Operator.NOT_IN)]
    scalar = st.builds(Comparison, st.sampled_from(STRING_ATTRS), st.sampled_from(scalar_ops), st.sampled_from(VALUES))
    listed = st.builds(
        Comparison,
        st.sampled_from(STRING_ATTRS),
        st.sampled_from([Operator.IN, Operator.NOT_IN]),
        st.lists(st.sampled_from(VALUES), min_size=1, max_size=3).map(tuple),
    )
    return st.one_of(scalar, listed)


nodes: st.SearchStrategy[Node] = st.recursive(
    comparisons(),
    lambda children: st.one_of(
        st.builds(Not, children),
        st.lists(children, min_size=2, max_size=3).map(lambda ops: And(tuple(ops))),
        st.lists(children, min_size=2, max_size=3).map(lambda ops: Or(tuple(ops))),
    ),
    max_leaves=8,
)
devices = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(STRING_ATTRS), st.sampled_from(["a", "AB", "b", "Company", "xyz"])),
)


@settings(max_examples=300, deadline=None)
@given(node=nodes, device=devices)
def test_parsed_rule_evaluates_like_the_reference(node: Node, device: dict[str, Any] | None) -> None:
    text = render(node)
    parsed = parse_rule(text) if len(text) <= MAX_RULE_LENGTH else None
    if parsed is None:
        return
    assert parsed == node
    assert parsed.evaluate(device or {}) == reference(node, device)


def test_device_filter_dialect_knows_every_documented_attribute() -> None:
    assert DEVICE_FILTER.attributes is not None
    names = {spec.name for spec in DEVICE_FILTER.attributes.values()}
    assert {"deviceId", "trustType", "physicalIds", "systemLabels", "extensionAttribute15"} <= names
    assert len(names) == 29
