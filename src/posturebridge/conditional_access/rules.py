"""The filter rule language of Conditional Access: lexer, parser, AST and evaluation.

Device filters (``conditions.devices.deviceFilter``) and application filters
(``conditions.applications.applicationFilter``, ``clientApplications.servicePrincipalFilter``)
share the dynamic-membership syntax: ``device.trustType -eq "AzureAD" -and (device.model
-startsWith "Surface" -or -not device.isCompliant -eq True)``.

Semantics (learn.microsoft.com/entra/identity/conditional-access/concept-condition-filters-for-devices):
values compare case-insensitively; an attribute that is null (every attribute of an unregistered
device) never satisfies a positive operator and always satisfies a negative one; ``-contains`` is a
substring test on a string and a whole-element test on a collection; a rule is at most 3,072
characters. This module does no I/O and knows nothing of Graph JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

MAX_RULE_LENGTH = 3072

AttributeValue = str | bool | Sequence[str] | None


class RuleSyntaxError(ValueError):
    """A rule that does not parse; ``position`` is the 0-based offset of the offending character."""

    def __init__(self, message: str, rule: str, position: int) -> None:
        self.message = message
        self.rule = rule
        self.position = position
        super().__init__(f"{message} at position {position}")

    def pointer(self) -> str:
        """The rule with a caret under the offending character, for humans."""
        return f"{self.rule}\n{' ' * self.position}^"


class Operator(Enum):
    EQ = ("-eq", True)
    NE = ("-ne", False)
    STARTS_WITH = ("-startsWith", True)
    NOT_STARTS_WITH = ("-notStartsWith", False)
    ENDS_WITH = ("-endsWith", True)
    NOT_ENDS_WITH = ("-notEndsWith", False)
    CONTAINS = ("-contains", True)
    NOT_CONTAINS = ("-notContains", False)
    IN = ("-in", True)
    NOT_IN = ("-notIn", False)

    def __init__(self, spelling: str, positive: bool) -> None:
        self.spelling = spelling
        self.positive = positive


_OPERATORS = {op.spelling.lower(): op for op in Operator}
_STRING_OPS = frozenset(Operator)
_EQ_NE = frozenset({Operator.EQ, Operator.NE})
_EQ_NE_IN = frozenset({Operator.EQ, Operator.NE, Operator.IN, Operator.NOT_IN})
_CONTAINS = frozenset({Operator.CONTAINS, Operator.NOT_CONTAINS})


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    name: str  # canonical spelling, e.g. "trustType"
    operators: frozenset[Operator]
    collection: bool = False


def _device_attributes() -> dict[str, AttributeSpec]:
    specs = [
        AttributeSpec("deviceId", _EQ_NE_IN),
        AttributeSpec("displayName", _STRING_OPS),
        AttributeSpec("deviceOwnership", _EQ_NE),
        AttributeSpec("enrollmentProfileName", _STRING_OPS),
        AttributeSpec("isCompliant", _EQ_NE),
        AttributeSpec("manufacturer", _STRING_OPS),
        AttributeSpec("mdmAppId", _EQ_NE_IN),
        AttributeSpec("model", _STRING_OPS),
        AttributeSpec("operatingSystem", _STRING_OPS),
        AttributeSpec("operatingSystemVersion", _STRING_OPS),
        AttributeSpec("physicalIds", _CONTAINS, collection=True),
        AttributeSpec("profileType", _EQ_NE),
        AttributeSpec("systemLabels", _CONTAINS, collection=True),
        AttributeSpec("trustType", _EQ_NE),
        *(AttributeSpec(f"extensionAttribute{i}", _STRING_OPS) for i in range(1, 16)),
    ]
    return {spec.name.lower(): spec for spec in specs}


@dataclass(frozen=True, slots=True)
class Dialect:
    """Which object a rule talks about and which attributes it may name."""

    name: str
    prefix: str  # "device" or "CustomSecurityAttribute"
    attributes: Mapping[str, AttributeSpec] | None  # None: any name (custom security attributes)


DEVICE_FILTER = Dialect("deviceFilter", "device", _device_attributes())
# Only String custom security attributes can be used (concept-filter-for-applications).
APPLICATION_FILTER = Dialect("applicationFilter", "CustomSecurityAttribute", None)


# ---------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class Comparison:
    attribute: str  # canonical attribute name
    operator: Operator
    value: str | tuple[str, ...]
    collection: bool = False

    def evaluate(self, attributes: Mapping[str, AttributeValue]) -> bool:
        return _compare(self, attributes.get(self.attribute))

    def operators(self) -> frozenset[Operator]:
        return frozenset({self.operator})


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node

    def evaluate(self, attributes: Mapping[str, AttributeValue]) -> bool:
        return not self.operand.evaluate(attributes)

    def operators(self) -> frozenset[Operator]:
        return self.operand.operators()


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]

    def evaluate(self, attributes: Mapping[str, AttributeValue]) -> bool:
        return all(operand.evaluate(attributes) for operand in self.operands)

    def operators(self) -> frozenset[Operator]:
        return frozenset().union(*(o.operators() for o in self.operands))


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]

    def evaluate(self, attributes: Mapping[str, AttributeValue]) -> bool:
        return any(operand.evaluate(attributes) for operand in self.operands)

    def operators(self) -> frozenset[Operator]:
        return frozenset().union(*(o.operators() for o in self.operands))


Node = Comparison | Not | And | Or


def _as_text(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.casefold()


def _compare(node: Comparison, actual: AttributeValue) -> bool:
    op = node.operator
    if actual is None:
        # Null attributes: positive operators never match, negative ones always do.
        return not op.positive
    items: tuple[str | bool, ...] = (actual,) if isinstance(actual, str | bool) else tuple(actual)
    value = node.value
    if isinstance(value, tuple):
        allowed = {v.casefold() for v in value}
        hit = any(_as_text(item) in allowed for item in items)
    elif node.collection or len(items) != 1:
        # On a collection, -contains is a whole-element test.
        expected = value.casefold()
        base = _BASE_TESTS[op] if not node.collection else _BASE_TESTS[Operator.EQ]
        hit = any(base(_as_text(item), expected) for item in items)
    else:
        hit = _BASE_TESTS[op](_as_text(items[0]), value.casefold())
    return hit if op.positive else not hit


_BASE_TESTS: dict[Operator, Callable[[str, str], bool]] = {
    Operator.EQ: lambda a, b: a == b,
    Operator.NE: lambda a, b: a == b,
    Operator.STARTS_WITH: lambda a, b: a.startswith(b),
    Operator.NOT_STARTS_WITH: lambda a, b: a.startswith(b),
    Operator.ENDS_WITH: lambda a, b: a.endswith(b),
    Operator.NOT_ENDS_WITH: lambda a, b: a.endswith(b),
    Operator.CONTAINS: lambda a, b: b in a,
    Operator.NOT_CONTAINS: lambda a, b: b in a,
    Operator.IN: lambda a, b: a == b,
    Operator.NOT_IN: lambda a, b: a == b,
}


# ---------------------------------------------------------------- lexer


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "op", "and", "or", "not", "lparen", "rparen", "lbracket", "rbracket", "comma",
    #            "string", "word", "end"
    text: str
    position: int


def tokenize(rule: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    n = len(rule)
    while i < n:
        ch = rule[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()[],":
            kind = {"(": "lparen", ")": "rparen", "[": "lbracket", "]": "rbracket", ",": "comma"}[ch]
            tokens.append(Token(kind, ch, i))
            i += 1
            continue
        if ch in "\"'":
            start = i
            i += 1
            chars: list[str] = []
            while i < n and rule[i] != ch:
                if rule[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(rule[i])
                i += 1
            if i >= n:
                raise RuleSyntaxError("unterminated string", rule, start)
            tokens.append(Token("string", "".join(chars), start))
            i += 1
            continue
        start = i
        while i < n and not rule[i].isspace() and rule[i] not in "()[],\"'":
            i += 1
        word = rule[start:i]
        lowered = word.lower()
        if word.startswith("-"):
            if lowered == "-and":
                tokens.append(Token("and", word, start))
            elif lowered == "-or":
                tokens.append(Token("or", word, start))
            elif lowered == "-not":
                tokens.append(Token("not", word, start))
            elif lowered in _OPERATORS:
                tokens.append(Token("op", word, start))
            else:
                raise RuleSyntaxError(f"unknown operator {word!r}", rule, start)
        else:
            tokens.append(Token("word", word, start))
    tokens.append(Token("end", "", n))
    return tokens


# ---------------------------------------------------------------- parser


class _Parser:
    def __init__(self, rule: str, dialect: Dialect) -> None:
        self.rule = rule
        self.dialect = dialect
        self.tokens = tokenize(rule)
        self.index = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self, kind: str, what: str) -> Token:
        token = self.peek()
        if token.kind != kind:
            found = "end of rule" if token.kind == "end" else repr(token.text)
            raise RuleSyntaxError(f"expected {what}, found {found}", self.rule, token.position)
        self.index += 1
        return token

    def parse(self) -> Node:
        node = self.parse_or()
        token = self.peek()
        if token.kind != "end":
            raise RuleSyntaxError(f"unexpected {token.text!r}", self.rule, token.position)
        return node

    def parse_or(self) -> Node:
        operands = [self.parse_and()]
        while self.peek().kind == "or":
            self.index += 1
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def parse_and(self) -> Node:
        operands = [self.parse_unary()]
        while self.peek().kind == "and":
            self.index += 1
            operands.append(self.parse_unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def parse_unary(self) -> Node:
        token = self.peek()
        if token.kind == "not":
            self.index += 1
            return Not(self.parse_unary())
        if token.kind == "lparen":
            self.index += 1
            node = self.parse_or()
            self.take("rparen", "')'")
            return node
        return self.parse_comparison()

    def parse_comparison(self) -> Node:
        word = self.take("word", f"an attribute such as {self.dialect.prefix}.<name>")
        spec = self.attribute(word)
        op_token = self.take("op", "an operator such as -eq")
        operator = _OPERATORS[op_token.text.lower()]
        if operator not in spec.operators:
            allowed = ", ".join(sorted(o.spelling for o in spec.operators))
            raise RuleSyntaxError(
                f"operator {operator.spelling} is not supported for {spec.name} (use {allowed})",
                self.rule,
                op_token.position,
            )
        if operator in (Operator.IN, Operator.NOT_IN):
            return Comparison(spec.name, operator, self.parse_list(), spec.collection)
        return Comparison(spec.name, operator, self.parse_scalar(), spec.collection)

    def attribute(self, word: Token) -> AttributeSpec:
        prefix, dot, name = word.text.partition(".")
        if not dot or prefix.lower() != self.dialect.prefix.lower() or not name:
            raise RuleSyntaxError(
                f"expected {self.dialect.prefix}.<attribute>, found {word.text!r}", self.rule, word.position
            )
        if self.dialect.attributes is None:
            set_name, underscore, attr = name.partition("_")
            if not underscore or not set_name or not attr:
                raise RuleSyntaxError(
                    f"custom security attribute must be <AttributeSet>_<Attribute>, found {name!r}",
                    self.rule,
                    word.position + len(prefix) + 1,
                )
            return AttributeSpec(name, _STRING_OPS)
        spec = self.dialect.attributes.get(name.lower())
        if spec is None:
            raise RuleSyntaxError(
                f"unknown {self.dialect.prefix} attribute {name!r}",
                self.rule,
                word.position + len(prefix) + 1,
            )
        return spec

    def parse_scalar(self) -> str:
        token = self.peek()
        if token.kind in ("string", "word"):
            self.index += 1
            return token.text
        raise RuleSyntaxError("expected a value", self.rule, token.position)

    def parse_list(self) -> tuple[str, ...]:
        self.take("lbracket", "'[' to start a list")
        values = [self.parse_scalar()]
        while self.peek().kind == "comma":
            self.index += 1
            values.append(self.parse_scalar())
        self.take("rbracket", "']' or ','")
        return tuple(values)


def parse_rule(rule: str, dialect: Dialect = DEVICE_FILTER) -> Node:
    """Parse a filter rule; raises RuleSyntaxError naming the position of the first problem."""
    if len(rule) > MAX_RULE_LENGTH:
        raise RuleSyntaxError(f"rule is longer than {MAX_RULE_LENGTH} characters", rule, MAX_RULE_LENGTH)
    if not rule.strip():
        raise RuleSyntaxError("rule is empty", rule, 0)
    return _Parser(rule, dialect).parse()


def render(node: Node, dialect: Dialect = DEVICE_FILTER) -> str:
    """The canonical text of a rule; parse_rule(render(n)) == n."""
    if isinstance(node, Comparison):
        if isinstance(node.value, tuple):
            value = "[" + ", ".join(_quote(v) for v in node.value) + "]"
        else:
            value = _quote(node.value)
        return f"{dialect.prefix}.{node.attribute} {node.operator.spelling} {value}"
    if isinstance(node, Not):
        return f"-not ({render(node.operand, dialect)})"
    joiner = " -and " if isinstance(node, And) else " -or "
    return "(" + joiner.join(render(o, dialect) for o in node.operands) + ")"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
