"""Compile a checked ``$filter``/``$search`` to a SQLAlchemy 2 Core boolean expression.

The expression is dialect-neutral until SQL compilation: the JSON helpers below render as ``json_each``/
``json_extract``/``json_array_length`` on SQLite and ``jsonb_array_elements``/``->>``/
``jsonb_array_length`` on PostgreSQL, so callers build it once and run it on either.

Semantics (two-valued, as Graph's own example ``companyName ne null and NOT(companyName eq 'Microsoft')``
implies: ``not(x eq v)`` keeps rows where x is null):

- a comparison with a null property is false (``eq``, ``ge``, ``startsWith``, ``in``...), ``ne v`` is
  true for null, ``eq null``/``ne null`` test for null;
- string comparisons ignore case, as the directory does (inferred from its behaviour; the docs' tokenized
  ``$search`` is case-insensitive too). A column stored lower-cased (``info={"casefolded": True}``) is
  compared without ``lower()`` so its index serves the lookup; others need an index on ``lower(column)``;
- ``collection/any(v: body)`` is an EXISTS over the JSON array or the correlated child rows;
  ``collection/$count`` counts them.

The filter must have been accepted by ``odata_catalogue.check_filter`` first: this module assumes the
properties are bound and the literals typed. It never executes SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    DateTime,
    Float,
    Integer,
    String,
    and_,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine

from posturebridge.directory.graph.odata_catalogue import (
    ChildRows,
    Edm,
    JsonArray,
    ResourceCatalogue,
    SearchMode,
    unsupported_property,
)
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
    Operand,
    Or,
)
from posturebridge.directory.graph.odata_search import (
    SearchAnd,
    SearchNode,
    SearchOr,
    SearchTerm,
    search_tokens,
)

# ------------------------------------------------------------------------------------- JSON constructs


class json_array_elements(FunctionElement[Any]):
    """The elements of a JSON array column, as a table-valued function with one column ``value``."""

    name = "json_array_elements"
    inherit_cache = True


class json_array_length(FunctionElement[int]):
    type = Integer()
    name = "json_array_length"
    inherit_cache = True


def _args(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clause_expr, **kw)).strip("()")


@compiles(json_array_elements)
@compiles(json_array_length)
def _unsupported_dialect(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    raise CompileError(f"{element.name} is implemented for SQLite and PostgreSQL only")


@compiles(json_array_elements, "sqlite")
def _elements_sqlite(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_each({_args(element, compiler, **kw)})"


@compiles(json_array_elements, "postgresql")
def _elements_pg(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return f"jsonb_array_elements(CAST({_args(element, compiler, **kw)} AS JSONB))"


@compiles(json_array_length, "sqlite")
def _length_sqlite(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_array_length({_args(element, compiler, **kw)})"


@compiles(json_array_length, "postgresql")
def _length_pg(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return f"jsonb_array_length(CAST({_args(element, compiler, **kw)} AS JSONB))"


def _sa_type(edm: Edm) -> TypeEngine[Any]:
    if edm is Edm.BOOLEAN:
        return Boolean()
    if edm in (Edm.INT32, Edm.INT64):
        return BigInteger()
    if edm is Edm.DOUBLE:
        return Float()
    return String()


class JsonElementValue(ColumnElement[Any]):
    """One JSON array element (or a member of an object element), as a typed SQL value."""

    inherit_cache = False  # carries plain attributes; statements using it are simply not cached

    def __init__(self, element: ColumnElement[Any], member: str | None, edm: Edm) -> None:
        self.element = element
        self.member = member
        self.edm = edm
        self.type = _sa_type(edm)


@compiles(JsonElementValue)
def _element_unsupported(element: JsonElementValue, compiler: SQLCompiler, **kw: Any) -> str:
    raise CompileError("JSON collections are implemented for SQLite and PostgreSQL only")


@compiles(JsonElementValue, "sqlite")
def _element_sqlite(element: JsonElementValue, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.element, **kw)
    if element.member is None:
        return str(value)  # json_each.value is already the SQL value of a scalar element
    path = compiler.process(literal(f'$."{element.member}"'), **kw)
    return f"json_extract({value}, {path})"


_PG_CASTS = {Edm.BOOLEAN: "BOOLEAN", Edm.INT32: "BIGINT", Edm.INT64: "BIGINT", Edm.DOUBLE: "DOUBLE PRECISION"}


@compiles(JsonElementValue, "postgresql")
def _element_pg(element: JsonElementValue, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.element, **kw)
    if element.member is None:
        text = f"({value} #>> '{{}}')"
    else:
        text = f"({value} ->> {compiler.process(literal(element.member), **kw)})"
    cast = _PG_CASTS.get(element.edm)
    return f"CAST({text} AS {cast})" if cast else text


# --------------------------------------------------------------------------------------------- filters

Accessor = Callable[[str | None], ColumnElement[Any]]


@dataclass(frozen=True, slots=True)
class _Scope:
    variable: str
    element: Accessor  # member name (None for the element itself) -> SQL value
    members: dict[str, Edm]
    element_type: Edm


def _is_text(edm: Edm) -> bool:
    return edm in (Edm.STRING, Edm.GUID)


def _bind_value(lit: Literal, column: ColumnElement[Any], edm: Edm) -> Any:
    value = lit.value
    if _is_text(edm) and isinstance(value, str):
        return value.lower()
    if isinstance(value, datetime):
        col_type = column.type
        if isinstance(col_type, DateTime) and not col_type.timezone:
            return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _casefolded(column: ColumnElement[Any]) -> bool:
    """A column whose values are stored lower-cased (``info={"casefolded": True}``, e.g. generated GUIDs) is
    compared as it is, so its index serves ``eq``/``in`` lookups."""
    info = getattr(column, "info", None)
    return bool(info and info.get("casefolded"))


def _text_lhs(column: ColumnElement[Any], edm: Edm) -> ColumnElement[Any]:
    return func.lower(column) if _is_text(edm) and not _casefolded(column) else column


class FilterCompiler:
    """Turns a checked filter AST into a boolean expression over the catalogue's columns."""

    def __init__(self, catalogue: ResourceCatalogue) -> None:
        self.cat = catalogue

    def compile(self, node: Node) -> ColumnElement[bool]:
        return self.node(node, None)

    def node(self, node: Node, scope: _Scope | None) -> ColumnElement[bool]:
        if isinstance(node, And):
            return and_(self.node(node.left, scope), self.node(node.right, scope))
        if isinstance(node, Or):
            return or_(self.node(node.left, scope), self.node(node.right, scope))
        if isinstance(node, Not):
            return not_(self.node(node.operand, scope))
        if isinstance(node, Compare):
            return self.compare(node, scope)
        if isinstance(node, In):
            column, edm = self.operand(node.left, scope)
            values = [_bind_value(v, column, edm) for v in node.values]
            return and_(column.is_not(None), _text_lhs(column, edm).in_(values))
        if isinstance(node, Call):
            column, edm = self.operand(node.operand, scope)
            arg = node.argument.value
            assert isinstance(arg, str)
            lowered = func.lower(column)
            match = (
                lowered.startswith(arg.lower(), autoescape=True)
                if node.func is FuncName.STARTS_WITH
                else lowered.endswith(arg.lower(), autoescape=True)
            )
            return and_(column.is_not(None), match)
        return self.any_of(node, scope)

    # -- operands
    def column_of(self, member: Member) -> tuple[ColumnElement[Any], Edm]:
        prop = self.cat.property(member.name)
        where = self.cat.storage_of(prop) if prop else None
        if prop is None or where is None or isinstance(where, JsonArray | ChildRows):
            raise unsupported_property(member.name, self.cat.name)
        return where, prop.type

    def operand(self, operand: Operand, scope: _Scope | None) -> tuple[ColumnElement[Any], Edm]:
        if isinstance(operand, Member):
            return self.column_of(operand)
        if isinstance(operand, LambdaMember):
            assert scope is not None
            if operand.member is None:
                return scope.element(None), scope.element_type
            canonical = {k.lower(): k for k in scope.members}[operand.member.lower()]
            return scope.element(canonical), scope.members[canonical]
        raise unsupported_property(operand.collection.name, self.cat.name)

    # -- comparisons
    def compare(self, node: Compare, scope: _Scope | None) -> ColumnElement[bool]:
        if isinstance(node.left, CountOf):
            count = self.count_of(node.left.collection)
            return count == node.right.value if node.op is CmpOp.EQ else count != node.right.value
        column, edm = self.operand(node.left, scope)
        if node.right.kind is LiteralKind.NULL:
            return column.is_(None) if node.op is CmpOp.EQ else column.is_not(None)
        value = _bind_value(node.right, column, edm)
        lhs = _text_lhs(column, edm)
        if node.op is CmpOp.NE:
            return or_(column.is_(None), lhs != value)
        ops: dict[CmpOp, Callable[[ColumnElement[Any], Any], ColumnElement[bool]]] = {
            CmpOp.EQ: lambda a, b: a == b,
            CmpOp.GE: lambda a, b: a >= b,
            CmpOp.LE: lambda a, b: a <= b,
            CmpOp.GT: lambda a, b: a > b,
            CmpOp.LT: lambda a, b: a < b,
        }
        return and_(column.is_not(None), ops[node.op](lhs, value))

    # -- collections
    def collection(self, member: Member) -> tuple[JsonArray | ChildRows, Edm, dict[str, Edm]]:
        prop = self.cat.property(member.name)
        where = self.cat.storage_of(prop) if prop else None
        if prop is None or not isinstance(where, JsonArray | ChildRows):
            raise unsupported_property(member.name, self.cat.name)
        return where, prop.type, dict(prop.members)

    def count_of(self, member: Member) -> ColumnElement[Any]:
        where, _, _ = self.collection(member)
        if isinstance(where, JsonArray):
            return func.coalesce(json_array_length(where.column), 0)
        return select(func.count()).select_from(where.table).where(where.join).scalar_subquery()

    def any_of(self, node: AnyOf, outer: _Scope | None) -> ColumnElement[bool]:
        where, element_type, members = self.collection(node.collection)
        if isinstance(where, JsonArray):
            elements = json_array_elements(where.column).table_valued("value")
            value_col = elements.c.value

            def json_access(member: str | None) -> ColumnElement[Any]:
                edm = element_type if member is None else members[member]
                return JsonElementValue(value_col, member, edm)

            body = self._body(node, json_access, members, element_type)
            return exists(select(literal(1)).select_from(elements).where(body))
        rows = where

        def row_access(member: str | None) -> ColumnElement[Any]:
            if member is None:
                if rows.value is None:
                    raise unsupported_property(node.collection.name, self.cat.name)
                return rows.value
            return {k.lower(): v for k, v in rows.members.items()}[member.lower()]

        body = self._body(node, row_access, members, element_type)
        return exists(select(literal(1)).select_from(rows.table).where(rows.join, body))

    def _body(self, node: AnyOf, access: Accessor, members: dict[str, Edm], element_type: Edm) -> ColumnElement[bool]:
        if node.body is None or node.variable is None:
            return true()
        return self.node(node.body, _Scope(node.variable, access, members, element_type))


def compile_filter(node: Node, catalogue: ResourceCatalogue) -> ColumnElement[bool]:
    """The WHERE clause for a filter already accepted by ``check_filter``."""
    return FilterCompiler(catalogue).compile(node)


# ---------------------------------------------------------------------------------------------- search


def compile_search(node: SearchNode, catalogue: ResourceCatalogue) -> ColumnElement[bool]:
    """The WHERE clause for a parsed ``$search`` whose properties were checked by the caller."""
    if isinstance(node, SearchAnd):
        return and_(compile_search(node.left, catalogue), compile_search(node.right, catalogue))
    if isinstance(node, SearchOr):
        return or_(compile_search(node.left, catalogue), compile_search(node.right, catalogue))
    return _search_term(node, catalogue)


def _search_term(term: SearchTerm, catalogue: ResourceCatalogue) -> ColumnElement[bool]:
    prop = catalogue.property(term.property)
    where = catalogue.storage_of(prop) if prop else None
    if prop is None or prop.search is None or where is None or isinstance(where, JsonArray | ChildRows):
        raise unsupported_property(term.property, catalogue.name)
    if prop.search is SearchMode.STARTS_WITH:
        return and_(where.is_not(None), func.lower(where).startswith(term.text.lower(), autoescape=True))
    tokens = search_tokens(term.text)
    if not tokens:
        return false()
    stored = catalogue.search_tokens.get(prop.name.lower())
    # With a pre-tokenized column (" tok1 tok2 ", see odata_search.tokens_column_value) this is exact
    # token-prefix matching; without one, word starts in the lower-cased value approximate it.
    haystack = stored if stored is not None else literal(" ") + func.lower(where)
    return and_(
        haystack.is_not(None),
        *(haystack.contains(" " + token, autoescape=True) for token in tokens),
    )


__all__ = [
    "FilterCompiler",
    "JsonElementValue",
    "compile_filter",
    "compile_search",
    "json_array_elements",
    "json_array_length",
]
