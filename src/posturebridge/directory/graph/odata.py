"""OData query options for directory collections, as Microsoft Graph implements them. Pure: no HTTP framework.

A route turns the request's query string and ``ConsistencyLevel`` header into a ``ListQuery`` (raising
``GraphError`` exactly where Graph answers 400), applies it to a SQLAlchemy ``select`` and builds the
page and its ``@odata.nextLink``::

    catalogue = ResourceCatalogue.bind(DEVICE, id_column=devices.c.id, storage={
        "displayName": devices.c.display_name,
        "physicalIds": JsonArray(devices.c.physical_ids),          # or ChildRows(table, join, value=...)
        ...})                                                       # built once, in the app factory

    q = parse_query(request.query_params, consistency_level=request.headers.get("ConsistencyLevel"),
                    catalogue=catalogue, signing_key=settings.skiptoken_key)
    rows = session.execute(apply(select(devices), q)).all()        # at most q.top + 1 rows
    page = paginate(rows, q, signing_key=settings.skiptoken_key)   # page.rows: at most q.top rows
    body = {"@odata.context": ..., "value": [render(r, q.select) for r in page.rows]}
    if q.include_count:                                            # advanced query, first page only
        body["@odata.count"] = session.execute(count_statement(select(devices), q)).scalar_one()
    if page.skiptoken:
        body["@odata.nextLink"] = next_link(str(request.url.remove_query_params(...)), q, page.skiptoken)

``GET /devices/$count`` uses ``parse_query(..., count_segment=True)`` and ``count_statement``.

Public API: ``parse_query``, ``ListQuery``, ``apply``, ``where_clause``, ``count_statement``,
``paginate``/``Page``, ``next_link``, ``encode_skiptoken``/``decode_skiptoken``; the catalogue types
(``ResourceCatalogue``, ``JsonArray``, ``ChildRows`` and the specs ``DEVICE``, ``USER``, ``GROUP``,
``SERVICE_PRINCIPAL``, ``APPLICATION``, ``DIRECTORY_AUDIT``, ``SIGN_IN``) are re-exported from
``odata_catalogue``; ``tokens_column_value`` (for a pre-tokenized ``$search`` column) from
``odata_search``. ``apply`` adds two labelled columns, ``_pb_sort`` and ``_pb_id``, after the
caller's columns; ``paginate`` reads them.

Graph behaviour reproduced (sources in parentheses):

- ``$filter`` (odata_filter, odata_catalogue, odata_sql): operators per property; ``ne``, ``not``,
  ``endsWith``, ``/$count`` and ``null`` comparisons need advanced queries, i.e. ``ConsistencyLevel:
  eventual`` *and* ``$count=true`` (learn.microsoft.com/graph/aad-advanced-queries);
- ``$filter`` with ``$orderby`` needs advanced queries on directory objects, else 400
  ``Request_UnsupportedQuery`` "Sorting not supported for current query." (aad-advanced-queries;
  the message as the service returns it, not quoted in the docs);
- ``$count=true`` without the header is silently ignored; the ``/$count`` segment without it is 400
  ``Request_BadRequest`` "$count is not currently supported."; ``@odata.count`` only on the first page
  (aad-advanced-queries, learn.microsoft.com/graph/paging);
- ``$search`` without the header: 400 ``Request_UnsupportedQuery`` "Request with $search query parameter
  only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"
  (aad-advanced-queries); ``$search`` alone does not need ``$count=true``;
- ``$top``: 1..999 on directory objects (1..1000 on sign-ins and audits), default page 100; outside:
  400 ``Request_UnsupportedQuery`` "Invalid page size specified: '1000'. Must be between 1 and 999
  inclusive." (the service's answer, quoted in github.com/turbot/steampipe-plugin-azuread);
- ``$skip``: 400 ``Request_BadRequest`` "'$skip' is not supported by the service."
  (github.com/microsoftgraph/msgraph-metadata/issues/135);
- ``$select`` of an unknown property: 400 "Parsing OData Select and Expand failed: Could not find a
  property named 'x' on type 'microsoft.graph.device'." (the OData library's message as Graph returns
  it, e.g. microsoftgraph/microsoft-graph-docs issue 9988; ``Request_BadRequest`` is inferred);
- ``$skiptoken``: opaque, in a nextLink that keeps every other query option (learn.microsoft.com/graph/
  paging). Ours is an HMAC-signed keyset cursor ``(orderby value, id)`` bound to the filter, search and
  order of the query that issued it, so paging is constant-memory with no OFFSET; a forged or reused
  token is 400 ``Request_BadRequest`` "Invalid Skip Token" (the text Graph returned in
  microsoftgraph/microsoft-graph-docs issue 8612).

Only ``$``-prefixed options are read; other query parameters are left to the route. This module must
never execute SQL or read the clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote

from sqlalchemy import ColumnElement, Row, Select, and_, case, func, null, or_, select

from posturebridge.directory.graph.errors import GraphError, bad_request, unsupported_query
from posturebridge.directory.graph.odata_catalogue import (
    APPLICATION,
    DEVICE,
    DIRECTORY_AUDIT,
    GROUP,
    RESOURCES,
    SERVICE_PRINCIPAL,
    SIGN_IN,
    USER,
    ChildRows,
    JsonArray,
    Mode,
    PropertySpec,
    ResourceCatalogue,
    ResourceSpec,
    check_filter,
    unsupported_property,
)
from posturebridge.directory.graph.odata_filter import Node, parse_filter
from posturebridge.directory.graph.odata_search import (
    SearchAnd,
    SearchNode,
    SearchOr,
    parse_search,
    tokens_column_value,
)
from posturebridge.directory.graph.odata_sql import compile_filter, compile_search

__all__ = [
    "APPLICATION",
    "DEVICE",
    "DIRECTORY_AUDIT",
    "GROUP",
    "RESOURCES",
    "SERVICE_PRINCIPAL",
    "SIGN_IN",
    "USER",
    "ChildRows",
    "Cursor",
    "JsonArray",
    "ListQuery",
    "OrderBy",
    "Page",
    "ResourceCatalogue",
    "ResourceSpec",
    "apply",
    "count_statement",
    "decode_skiptoken",
    "encode_skiptoken",
    "next_link",
    "paginate",
    "parse_query",
    "tokens_column_value",
    "where_clause",
]

SEARCH_NEEDS_HEADER: Final = (
    "Request with $search query parameter only works through MSGraph with a special request header: "
    "'ConsistencyLevel: eventual'"
)
COUNT_NOT_SUPPORTED: Final = "$count is not currently supported."
SORTING_NOT_SUPPORTED: Final = "Sorting not supported for current query."
SKIP_NOT_SUPPORTED: Final = "'$skip' is not supported by the service."
INVALID_SKIP_TOKEN: Final = "Invalid Skip Token"
SORT_LABEL: Final = "_pb_sort"
ID_LABEL: Final = "_pb_id"

_KNOWN_OPTIONS: Final = frozenset(
    {"$filter", "$search", "$select", "$top", "$orderby", "$count", "$skiptoken", "$skip", "$expand"}
)


@dataclass(frozen=True, slots=True)
class OrderBy:
    property: PropertySpec
    column: ColumnElement[Any]
    descending: bool


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the previous page ended: the order-by value and the id of its last row."""

    sort_value: Any
    id: str


@dataclass(frozen=True)
class ListQuery:
    """A validated list request: what to filter, sort, select and return, and where to resume."""

    catalogue: ResourceCatalogue
    filter: Node | None
    search: SearchNode | None
    where: ColumnElement[bool] | None
    select: tuple[str, ...] | None
    orderby: OrderBy | None
    top: int
    count: bool  # $count=true honoured (advanced query)
    advanced: bool
    cursor: Cursor | None
    expand: str | None
    options: tuple[tuple[str, str], ...]  # the request's $-options except $skiptoken, for nextLink
    fingerprint: str

    @property
    def include_count(self) -> bool:
        """Whether this response carries ``@odata.count``: only the first page of an advanced query."""
        return self.count and self.cursor is None


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Row[Any]]
    skiptoken: str | None


# ------------------------------------------------------------------------------------------ parsing


def _page_size_error(value: str, spec: ResourceSpec) -> GraphError:
    return unsupported_query(f"Invalid page size specified: '{value}'. Must be between 1 and {spec.max_top} inclusive.")


def _parse_top(raw: str | None, spec: ResourceSpec) -> int:
    if raw is None:
        return spec.default_top
    text = raw.strip()
    if not text.lstrip("-").isdigit():
        raise _page_size_error(raw, spec)
    top = int(text)
    if not 1 <= top <= spec.max_top:
        raise _page_size_error(raw, spec)
    return top


def _parse_count(raw: str | None) -> bool:
    if raw is None:
        return False
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise bad_request(f"'{raw}' is not a valid count option.")
    return value == "true"


def _parse_select(raw: str | None, catalogue: ResourceCatalogue) -> tuple[str, ...] | None:
    if raw is None or not raw.strip():
        return None
    names: list[str] = []
    for item in raw.split(","):
        name = item.strip()
        if name == "*":
            continue
        prop = catalogue.property(name)
        if prop is None or not prop.selectable:
            raise bad_request(
                "Parsing OData Select and Expand failed: Could not find a property named "
                f"'{name}' on type '{catalogue.spec.entity_type}'."
            )
        if prop.name not in names:
            names.append(prop.name)
    return tuple(names) or None


def _parse_orderby(raw: str | None, catalogue: ResourceCatalogue, advanced: bool) -> OrderBy | None:
    spec = catalogue.spec
    if raw is None or not raw.strip():
        if spec.default_orderby is None:
            return None
        name, descending = spec.default_orderby
        prop = catalogue.property(name)
        column = catalogue.storage_of(prop) if prop else None
        if prop is None or not isinstance(column, ColumnElement):
            return None  # the store did not bind the default sort key: fall back to id order
        return OrderBy(prop, column, descending)
    if "," in raw:
        raise unsupported_query(SORTING_NOT_SUPPORTED)
    parts = raw.split()
    if len(parts) > 2 or (len(parts) == 2 and parts[1].lower() not in ("asc", "desc")):
        raise bad_request(f"Syntax error at position {len(parts[0]) + 1} in '{raw}'.")
    prop = catalogue.property(parts[0])
    if prop is None:
        raise bad_request(f"Could not find a property named '{parts[0]}' on type '{spec.entity_type}'.")
    column = catalogue.storage_of(prop)
    if prop.orderby is None or not isinstance(column, ColumnElement):
        raise unsupported_query(SORTING_NOT_SUPPORTED)
    if spec.directory_object and prop.orderby is Mode.ADVANCED and not advanced:
        raise unsupported_query(SORTING_NOT_SUPPORTED)
    return OrderBy(prop, column, len(parts) == 2 and parts[1].lower() == "desc")


def _check_search(node: SearchNode, catalogue: ResourceCatalogue) -> None:
    if isinstance(node, SearchAnd | SearchOr):
        _check_search(node.left, catalogue)
        _check_search(node.right, catalogue)
        return
    prop = catalogue.property(node.property)
    if prop is None or prop.search is None or not isinstance(catalogue.storage_of(prop), ColumnElement):
        raise unsupported_property(node.property, catalogue.name)


def _fingerprint(catalogue: ResourceCatalogue, options: Mapping[str, str], orderby: OrderBy | None) -> str:
    material = json.dumps(
        [
            catalogue.spec.entity_type,
            options.get("$filter", ""),
            options.get("$search", ""),
            [orderby.property.name, orderby.descending] if orderby else None,
        ]
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def parse_query(
    params: Mapping[str, str],
    *,
    consistency_level: str | None,
    catalogue: ResourceCatalogue,
    signing_key: bytes,
    count_segment: bool = False,
) -> ListQuery:
    """Validate a list request's query options the way Graph does; raise GraphError where Graph says 400."""
    spec = catalogue.spec
    options = {k.lower(): v for k, v in params.items() if k.startswith("$")}
    for name in options:
        if name not in _KNOWN_OPTIONS:
            raise bad_request(f"The query parameter '{name}' is not supported.")
    if "$skip" in options:
        raise bad_request(SKIP_NOT_SUPPORTED)

    eventual = (consistency_level or "").strip().lower() == "eventual"
    count_requested = _parse_count(options.get("$count"))
    if count_segment and spec.directory_object and not eventual:
        raise bad_request(COUNT_NOT_SUPPORTED)
    # Without ConsistencyLevel: eventual, $count=true is silently ignored (aad-advanced-queries).
    advanced = eventual and (count_requested or count_segment) if spec.directory_object else True
    top = _parse_top(options.get("$top"), spec)
    selected = _parse_select(options.get("$select"), catalogue)

    filter_node: Node | None = None
    where: ColumnElement[bool] | None = None
    if options.get("$filter", "").strip():
        filter_node = parse_filter(options["$filter"])
        check_filter(filter_node, catalogue, advanced=advanced)
        where = compile_filter(filter_node, catalogue)

    search_node: SearchNode | None = None
    if options.get("$search", "").strip():
        if not spec.directory_object:
            raise unsupported_query(f"$search is not supported on resource '{spec.name}'.")
        if not eventual:
            raise unsupported_query(SEARCH_NEEDS_HEADER)
        search_node = parse_search(options["$search"])
        _check_search(search_node, catalogue)
        searched = compile_search(search_node, catalogue)
        where = searched if where is None else and_(where, searched)

    explicit_orderby = bool(options.get("$orderby", "").strip())
    orderby = _parse_orderby(options.get("$orderby"), catalogue, advanced)
    if spec.directory_object and explicit_orderby and filter_node is not None and not advanced:
        raise unsupported_query(SORTING_NOT_SUPPORTED)

    fingerprint = _fingerprint(catalogue, options, orderby)
    cursor = None
    if "$skiptoken" in options:
        cursor = decode_skiptoken(options["$skiptoken"], signing_key=signing_key, fingerprint=fingerprint)

    kept = tuple((k, v) for k, v in params.items() if k.startswith("$") and k.lower() != "$skiptoken")
    return ListQuery(
        catalogue=catalogue,
        filter=filter_node,
        search=search_node,
        where=where,
        select=selected,
        orderby=orderby,
        top=top,
        count=count_requested and advanced and spec.directory_object,
        advanced=advanced,
        cursor=cursor,
        expand=options.get("$expand"),
        options=kept,
        fingerprint=fingerprint,
    )


# ------------------------------------------------------------------------------------------ skiptoken


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return {"s": str(value)}


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "dt" in value:
            return datetime.fromisoformat(value["dt"])
        return str(value["s"])
    return value


def encode_skiptoken(cursor: Cursor, *, fingerprint: str, signing_key: bytes) -> str:
    """Sign a cursor for the query with this fingerprint."""
    payload = json.dumps(
        {"f": fingerprint, "v": _encode_value(cursor.sort_value), "i": cursor.id}, separators=(",", ":")
    ).encode()
    mac = hmac.new(signing_key, payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(mac)}"


def decode_skiptoken(token: str, *, signing_key: bytes, fingerprint: str) -> Cursor:
    """Verify and open a skiptoken; a forged, truncated or foreign one is Graph's 400."""
    try:
        payload_text, mac_text = token.split(".")
        payload, mac = _unb64(payload_text), _unb64(mac_text)
    except (ValueError, binascii.Error) as exc:
        raise bad_request(INVALID_SKIP_TOKEN) from exc
    expected = hmac.new(signing_key, payload, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(mac, expected):
        raise bad_request(INVALID_SKIP_TOKEN)
    data = json.loads(payload)
    if data.get("f") != fingerprint:  # issued for another filter, search or order
        raise bad_request(INVALID_SKIP_TOKEN)
    return Cursor(_decode_value(data.get("v")), str(data["i"]))


# ------------------------------------------------------------------------------------------- applying


def where_clause(q: ListQuery) -> ColumnElement[bool] | None:
    """The filter and search condition, without paging."""
    return q.where


def count_statement(stmt: Select[Any], q: ListQuery) -> Select[Any]:
    """``SELECT count(*)`` over the caller's select narrowed by the filter and search."""
    narrowed = stmt if q.where is None else stmt.where(q.where)
    return select(func.count()).select_from(narrowed.subquery())


def _null_rank(column: ColumnElement[Any]) -> ColumnElement[int]:
    # Nulls sort after every value in ascending order (and first in descending), on every dialect.
    return case((column.is_(None), 1), else_=0)


def _after_cursor(q: ListQuery, cursor: Cursor) -> ColumnElement[bool]:
    id_col = q.catalogue.id_column
    descending = q.orderby.descending if q.orderby else False

    def beyond(a: ColumnElement[Any], b: Any) -> ColumnElement[bool]:
        comparison: ColumnElement[bool] = a < b if descending else a > b
        return comparison

    if q.orderby is None:
        return beyond(id_col, cursor.id)
    column = q.orderby.column
    rank = _null_rank(column)
    if cursor.sort_value is None:
        same_rank = and_(rank == 1, beyond(id_col, cursor.id))
        return or_(beyond(rank, 1), same_rank)
    same_rank = and_(
        rank == 0,
        or_(
            beyond(column, cursor.sort_value),
            and_(column == cursor.sort_value, beyond(id_col, cursor.id)),
        ),
    )
    return or_(beyond(rank, 0), same_rank)


def apply(stmt: Select[Any], q: ListQuery) -> Select[Any]:
    """Filter, search, resume after the cursor, order by (sort key, id) and fetch ``top + 1`` rows."""
    id_col = q.catalogue.id_column
    if q.where is not None:
        stmt = stmt.where(q.where)
    if q.cursor is not None:
        stmt = stmt.where(_after_cursor(q, q.cursor))
    if q.orderby is None:
        stmt = stmt.order_by(id_col.asc())
        sort_col: ColumnElement[Any] = null()
    else:
        sort_col = q.orderby.column
        rank = _null_rank(sort_col)
        if q.orderby.descending:
            stmt = stmt.order_by(rank.desc(), sort_col.desc(), id_col.desc())
        else:
            stmt = stmt.order_by(rank.asc(), sort_col.asc(), id_col.asc())
    stmt = stmt.add_columns(sort_col.label(SORT_LABEL), id_col.label(ID_LABEL))
    return stmt.limit(q.top + 1)


def paginate(rows: Sequence[Row[Any]], q: ListQuery, *, signing_key: bytes) -> Page:
    """Cut the ``top + 1`` rows of ``apply`` to a page and sign the cursor for the next one."""
    if len(rows) <= q.top:
        return Page(list(rows), None)
    page = list(rows[: q.top])
    last = page[-1]._mapping
    cursor = Cursor(last[SORT_LABEL], str(last[ID_LABEL]))
    return Page(page, encode_skiptoken(cursor, fingerprint=q.fingerprint, signing_key=signing_key))


_SAFE: Final = "$'(),/:@!*"


def next_link(url: str, q: ListQuery, skiptoken: str) -> str:
    """``@odata.nextLink``: the request URL with every other ``$`` option kept and ``$skiptoken`` set.

    Query parameters that are not OData options (and any previous ``$skiptoken``) are dropped.
    """
    base = url.split("?", 1)[0]
    parts = [f"{quote(k, safe=_SAFE)}={quote(v, safe=_SAFE)}" for k, v in q.options]
    parts.append(f"$skiptoken={quote(skiptoken, safe=_SAFE)}")
    return f"{base}?{'&'.join(parts)}"
