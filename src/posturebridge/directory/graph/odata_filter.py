"""The OData ``$filter`` language as Microsoft Graph accepts it on directory objects: lexer, AST, parser.

Pure syntax: this module knows nothing of resources, columns or advanced queries (``odata_catalogue``
checks a parsed filter against a resource, ``odata_sql`` compiles it). It never touches a database.

Grammar (precedence low to high; keywords, operators and function names are case-insensitive, as Graph
takes ``NOT`` and ``OR`` in its own examples, learn.microsoft.com/graph/aad-advanced-queries)::

    or_expr    := and_expr ("or" and_expr)*
    and_expr   := unary ("and" unary)*
    unary      := "not" unary | primary
    primary    := "(" or_expr ")"
                | ("startswith" | "endswith") "(" operand "," literal ")"
                | path "/" "any" "(" [ name ":" or_expr ] ")"       -- lambda over a collection
                | operand cmp literal                                -- cmp: eq ne gt ge lt le
                | operand "in" "(" literal ("," literal)* ")"
    operand    := path | path "/$count" | lambda variable ["/" member]
    literal    := 'string' ('' escapes a quote) | null | true | false | number | GUID | DateTimeOffset

Syntax errors are Graph's 400 with the position in the message. Graph (the OData library behind it)
reports two shapes, both seen on the wire:

- ``Invalid filter clause: Syntax error at position 17 in 'jobtitle ge '!' , accountenabled eq true'.``
  (github.com/microsoftgraph/microsoft-graph-explorer-v4/issues/3227): the position is the offset just
  past the offending token (the ``,`` starts at offset 16);
- ``Syntax error: character '(' is not valid at position 10 in '...'`` for a character the lexer cannot
  start a token with (github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/8368): the offset
  of that character.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Final

from posturebridge.directory.graph.errors import GraphError, bad_request, unsupported_query

# ---------------------------------------------------------------------------------------------- tokens


class Tok(StrEnum):
    IDENT = "identifier"
    STRING = "string"
    NUMBER = "number"
    GUID = "guid"
    DATETIME = "datetime"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    COLON = ":"
    SLASH = "/"
    COUNT = "$count"
    END = "end of input"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Tok
    text: str
    start: int
    end: int
    value: object = None


_HEX: Final = "[0-9a-fA-F]"
_GUID_RE: Final = re.compile(rf"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}(?![\w-])")
_DATETIME_RE: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})?)?(?![\w:.-])"
)
_NUMBER_RE: Final = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.])")
_IDENT_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PUNCT: Final = {"(": Tok.LPAREN, ")": Tok.RPAREN, ",": Tok.COMMA, ":": Tok.COLON}


def syntax_error(text: str, position: int) -> GraphError:
    """Graph's message for a filter it cannot parse, naming where parsing stopped."""
    return bad_request(f"Invalid filter clause: Syntax error at position {position} in '{text}'.")


def _bad_character(text: str, position: int) -> GraphError:
    return bad_request(
        f"Invalid filter clause: Syntax error: character '{text[position]}' is not valid "
        f"at position {position} in '{text}'."
    )


def _datetime_value(m: re.Match[str], text: str) -> datetime:
    year, month, day, hh, mm, ss, frac, zone = m.groups()
    try:
        d = date(int(year), int(month), int(day))
        if hh is None:
            return datetime.combine(d, time(), tzinfo=UTC)
        micro = int((frac or "0").ljust(6, "0")[:6])
        t = time(int(hh), int(mm), int(ss or 0), micro)
    except ValueError as exc:
        raise syntax_error(text, m.end()) from exc
    if zone is None or zone == "Z":
        return datetime.combine(d, t, tzinfo=UTC)
    return datetime.fromisoformat(f"{d.isoformat()}T{t.isoformat()}{zone}")


def tokenize(text: str) -> list[Token]:
    """Split a filter into tokens; the last one is always END."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
            continue
        if ch in _PUNCT:
            tokens.append(Token(_PUNCT[ch], ch, i, i + 1))
            i += 1
            continue
        if ch == "/":
            if text.startswith("/$count", i):
                tokens.append(Token(Tok.COUNT, "/$count", i, i + 7))
                i += 7
            else:
                tokens.append(Token(Tok.SLASH, "/", i, i + 1))
                i += 1
            continue
        if ch == "'":
            chars: list[str] = []
            j = i + 1
            while True:
                if j >= n:  # unterminated: the lexer ran off the end
                    raise syntax_error(text, n)
                if text[j] == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        chars.append("'")
                        j += 2
                        continue
                    break
                chars.append(text[j])
                j += 1
            tokens.append(Token(Tok.STRING, text[i : j + 1], i, j + 1, "".join(chars)))
            i = j + 1
            continue
        if m := _GUID_RE.match(text, i):
            tokens.append(Token(Tok.GUID, m.group(), i, m.end(), str(uuid.UUID(m.group()))))
            i = m.end()
            continue
        if m := _DATETIME_RE.match(text, i):
            tokens.append(Token(Tok.DATETIME, m.group(), i, m.end(), _datetime_value(m, text)))
            i = m.end()
            continue
        if m := _NUMBER_RE.match(text, i):
            raw = m.group()
            num: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(Token(Tok.NUMBER, raw, i, m.end(), num))
            i = m.end()
            continue
        if m := _IDENT_RE.match(text, i):
            tokens.append(Token(Tok.IDENT, m.group(), i, m.end()))
            i = m.end()
            continue
        raise _bad_character(text, i)
    tokens.append(Token(Tok.END, "", n, n))
    return tokens


# ------------------------------------------------------------------------------------------------- AST


class LiteralKind(StrEnum):
    STRING = "string"
    GUID = "guid"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    NULL = "null"
    DATETIME = "datetime"


@dataclass(frozen=True, slots=True)
class Literal:
    kind: LiteralKind
    value: str | int | float | bool | datetime | None
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Member:
    """A property path on the resource (``displayName``, ``extensionAttributes/extensionAttribute1``)."""

    path: tuple[str, ...]
    start: int
    end: int

    @property
    def name(self) -> str:
        return "/".join(self.path)


@dataclass(frozen=True, slots=True)
class LambdaMember:
    """The lambda variable itself (``p``) or one member of it (``x/skuId``)."""

    variable: str
    member: str | None
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class CountOf:
    """``collection/$count``."""

    collection: Member
    start: int
    end: int


Operand = Member | LambdaMember | CountOf


class CmpOp(StrEnum):
    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"


class FuncName(StrEnum):
    STARTS_WITH = "startsWith"
    ENDS_WITH = "endsWith"


@dataclass(frozen=True, slots=True)
class Compare:
    op: CmpOp
    left: Operand
    right: Literal
    start: int


@dataclass(frozen=True, slots=True)
class In:
    left: Operand
    values: tuple[Literal, ...]
    start: int


@dataclass(frozen=True, slots=True)
class Call:
    func: FuncName
    operand: Operand
    argument: Literal
    start: int


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node
    start: int


@dataclass(frozen=True, slots=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class AnyOf:
    """``collection/any(v: body)``; ``any()`` (no variable, no body) means "not empty"."""

    collection: Member
    variable: str | None
    body: Node | None
    start: int


Node = Compare | In | Call | Not | And | Or | AnyOf

_CMP_OPS: Final = {op.value: op for op in CmpOp}
_FUNCS: Final = {"startswith": FuncName.STARTS_WITH, "endswith": FuncName.ENDS_WITH}
_KEYWORDS: Final = frozenset({"and", "or", "not", "in", "any", "all", *_CMP_OPS, "true", "false", "null"})


# ---------------------------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.lambda_vars: list[str] = []

    # -- token helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def advance(self) -> Token:
        t = self.tokens[self.i]
        if t.kind is not Tok.END:
            self.i += 1
        return t

    def fail(self, token: Token | None = None) -> GraphError:
        t = token or self.tok
        return syntax_error(self.text, t.end)

    def expect(self, kind: Tok) -> Token:
        if self.tok.kind is not kind:
            raise self.fail()
        return self.advance()

    def at(self, kind: Tok) -> bool:
        """Whether the current token is of ``kind`` (a call, so that type narrowing does not stick)."""
        return self.tokens[self.i].kind is kind

    def is_word(self, word: str, token: Token | None = None) -> bool:
        t = token or self.tok
        return t.kind is Tok.IDENT and t.text.lower() == word

    # -- grammar
    def parse(self) -> Node:
        if self.tok.kind is Tok.END:
            raise self.fail()
        node = self.or_expr()
        if not self.at(Tok.END):
            raise self.fail()
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.is_word("or"):
            self.advance()
            node = Or(node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.unary()
        while self.is_word("and"):
            self.advance()
            node = And(node, self.unary())
        return node

    def unary(self) -> Node:
        if self.is_word("not"):
            start = self.advance().start
            return Not(self.unary(), start)
        return self.primary()

    def primary(self) -> Node:
        t = self.tok
        if t.kind is Tok.LPAREN:
            self.advance()
            node = self.or_expr()
            self.expect(Tok.RPAREN)
            return node
        if t.kind is Tok.IDENT and t.text.lower() in _FUNCS and self.peek().kind is Tok.LPAREN:
            return self.call()
        if t.kind is Tok.IDENT and self.peek().kind is Tok.LPAREN:
            # Graph's OData parser: "An unknown function with name 'x' was found."
            raise bad_request(f"Invalid filter clause: An unknown function with name '{t.text}' was found.")
        if t.kind is not Tok.IDENT or t.text.lower() in _KEYWORDS:
            raise self.fail()
        operand_or_lambda = self.operand(allow_lambda=True)
        if isinstance(operand_or_lambda, AnyOf):
            return operand_or_lambda
        return self.comparison(operand_or_lambda)

    def call(self) -> Call:
        name = self.advance()
        self.expect(Tok.LPAREN)
        operand = self.operand(allow_lambda=False)
        assert not isinstance(operand, AnyOf)
        self.expect(Tok.COMMA)
        arg = self.literal()
        self.expect(Tok.RPAREN)
        return Call(_FUNCS[name.text.lower()], operand, arg, name.start)

    def comparison(self, left: Operand) -> Node:
        op_tok = self.tok
        word = op_tok.text.lower() if op_tok.kind is Tok.IDENT else ""
        if word in _CMP_OPS:
            self.advance()
            return Compare(_CMP_OPS[word], left, self.literal(), left.start)
        if word == "in":
            self.advance()
            self.expect(Tok.LPAREN)
            values = [self.literal()]
            while self.tok.kind is Tok.COMMA:
                self.advance()
                values.append(self.literal())
            self.expect(Tok.RPAREN)
            return In(left, tuple(values), left.start)
        raise self.fail()

    def operand(self, *, allow_lambda: bool) -> Operand | AnyOf:
        first = self.expect(Tok.IDENT)
        if first.text.lower() in _KEYWORDS:
            raise self.fail(first)
        if first.text in self.lambda_vars:
            member: str | None = None
            end = first.end
            if self.tok.kind is Tok.SLASH:
                self.advance()
                m = self.expect(Tok.IDENT)
                member, end = m.text, m.end
            return LambdaMember(first.text, member, first.start, end)
        path = [first.text]
        end = first.end
        while self.tok.kind is Tok.SLASH:
            self.advance()
            seg = self.expect(Tok.IDENT)
            if self.is_word("any", seg) or self.is_word("all", seg):
                if not allow_lambda or not self.at(Tok.LPAREN):
                    raise self.fail(seg)
                return self.lambda_(Member(tuple(path), first.start, end), seg)
            path.append(seg.text)
            end = seg.end
        member_ref = Member(tuple(path), first.start, end)
        if self.tok.kind is Tok.COUNT:
            count = self.advance()
            return CountOf(member_ref, first.start, count.end)
        return member_ref

    def lambda_(self, collection: Member, op: Token) -> AnyOf:
        if op.text.lower() == "all":
            # Directory objects offer only any(); all() is refused like any other unsupported clause.
            raise unsupported_query(
                f"Invalid filter clause: The lambda operator 'all' is not supported on '{collection.name}'."
            )
        self.expect(Tok.LPAREN)
        if self.tok.kind is Tok.RPAREN:
            self.advance()
            return AnyOf(collection, None, None, collection.start)
        var = self.expect(Tok.IDENT)
        if var.text.lower() in _KEYWORDS:
            raise self.fail(var)
        self.expect(Tok.COLON)
        self.lambda_vars.append(var.text)
        try:
            body = self.or_expr()
        finally:
            self.lambda_vars.pop()
        self.expect(Tok.RPAREN)
        return AnyOf(collection, var.text, body, collection.start)

    def literal(self) -> Literal:
        t = self.tok
        if t.kind is Tok.STRING:
            self.advance()
            assert isinstance(t.value, str)
            return Literal(LiteralKind.STRING, t.value, t.start, t.end)
        if t.kind is Tok.GUID:
            self.advance()
            assert isinstance(t.value, str)
            return Literal(LiteralKind.GUID, t.value, t.start, t.end)
        if t.kind is Tok.DATETIME:
            self.advance()
            assert isinstance(t.value, datetime)
            return Literal(LiteralKind.DATETIME, t.value, t.start, t.end)
        if t.kind is Tok.NUMBER:
            self.advance()
            assert isinstance(t.value, int | float)
            kind = LiteralKind.INT if isinstance(t.value, int) else LiteralKind.FLOAT
            return Literal(kind, t.value, t.start, t.end)
        if t.kind is Tok.IDENT:
            word = t.text.lower()
            if word in ("true", "false"):
                self.advance()
                return Literal(LiteralKind.BOOL, word == "true", t.start, t.end)
            if word == "null":
                self.advance()
                return Literal(LiteralKind.NULL, None, t.start, t.end)
        raise self.fail()


def parse_filter(text: str) -> Node:
    """Parse a ``$filter`` value; raises GraphError 400 with the failing position."""
    return _Parser(text).parse()
