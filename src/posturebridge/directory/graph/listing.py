"""Collections as Graph pages them: OData options applied in SQL, keyset paging, ``@odata.nextLink``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select

from posturebridge.directory.graph.core import GraphRequest
from posturebridge.directory.graph.odata import (
    ListQuery,
    ResourceCatalogue,
    apply,
    count_statement,
    next_link,
    paginate,
    parse_query,
)

Render = Callable[[Any], dict[str, Any]]


def parse(ctx: GraphRequest, catalogue: ResourceCatalogue, *, count_segment: bool = False) -> ListQuery:
    return parse_query(
        ctx.request.query_params,
        consistency_level=ctx.request.headers.get("ConsistencyLevel"),
        catalogue=catalogue,
        signing_key=ctx.directory.skiptoken_key,
        count_segment=count_segment,
    )


def project(item: dict[str, Any], selected: tuple[str, ...] | None, default: tuple[str, ...] | None) -> dict[str, Any]:
    """``$select`` (case-insensitive property names), or the resource's default property set."""
    names = selected if selected is not None else default
    if names is None:
        return item
    lowered = {name.lower() for name in names}
    return {key: value for key, value in item.items() if key.lower() in lowered or key.startswith("@odata")}


def list_page(
    ctx: GraphRequest,
    catalogue: ResourceCatalogue,
    statement: Select[Any],
    render: Render,
    context: str,
    *,
    default_select: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    q = parse(ctx, catalogue)
    rows = ctx.session.execute(apply(statement, q)).all()
    page = paginate(rows, q, signing_key=ctx.directory.skiptoken_key)
    body: dict[str, Any] = {"@odata.context": ctx.context_url(context)}
    if q.include_count:
        body["@odata.count"] = ctx.session.execute(count_statement(statement, q)).scalar_one()
    body["value"] = [project(render(row[0]), q.select, default_select) for row in page.rows]
    if page.skiptoken:
        body["@odata.nextLink"] = next_link(_public_url(ctx), q, page.skiptoken)
    return body


def count_only(ctx: GraphRequest, catalogue: ResourceCatalogue, statement: Select[Any]) -> int:
    q = parse(ctx, catalogue, count_segment=True)
    return int(ctx.session.execute(count_statement(statement, q)).scalar_one())


def _public_url(ctx: GraphRequest) -> str:
    return str(ctx.request.url.replace(query=""))
