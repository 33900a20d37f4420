"""``/auditLogs/directoryAudits``: every directory write, newest first, in Graph's shape.

learn.microsoft.com/graph/api/directoryaudit-list: AuditLog.Read.All; $filter on activityDateTime,
activityDisplayName, category, correlationId, initiatedBy/…, loggedByService, result…; $top; $orderby.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from sqlalchemy import select

from posturebridge.common.clock import graph_datetime
from posturebridge.directory.graph.core import GraphRequest, json_response
from posturebridge.directory.graph.errors import not_found
from posturebridge.directory.graph.listing import list_page
from posturebridge.directory.graph.odata import DIRECTORY_AUDIT, JsonArray, ResourceCatalogue
from posturebridge.directory.models import DirectoryAudit

READ = ("AuditLog.Read.All",)

_c = DirectoryAudit.__table__.c
CATALOGUE = ResourceCatalogue.bind(
    DIRECTORY_AUDIT,
    id_column=_c.id,
    storage={
        "activityDateTime": _c.activity_date_time,
        "activityDisplayName": _c.activity_display_name,
        "category": _c.category,
        "correlationId": _c.correlation_id,
        "loggedByService": _c.logged_by_service,
        "operationType": _c.operation_type,
        "result": _c.result,
        "resultReason": _c.result_reason,
        "initiatedBy/user/id": _c.initiated_by["user"]["id"].as_string(),
        "initiatedBy/user/displayName": _c.initiated_by["user"]["displayName"].as_string(),
        "initiatedBy/user/userPrincipalName": _c.initiated_by["user"]["userPrincipalName"].as_string(),
        "initiatedBy/app/appId": _c.initiated_by["app"]["appId"].as_string(),
        "initiatedBy/app/displayName": _c.initiated_by["app"]["displayName"].as_string(),
        # targetResources/any(t: t/id eq '…') and t/displayName, as the directoryAudit list page documents
        "targetResources": JsonArray(_c.target_resources),
    },
)


def render(entry: DirectoryAudit) -> dict[str, Any]:
    return {
        "id": entry.id,
        "category": entry.category,
        "correlationId": entry.correlation_id,
        "result": entry.result,
        "resultReason": entry.result_reason,
        "activityDisplayName": entry.activity_display_name,
        "activityDateTime": graph_datetime(entry.activity_date_time),
        "loggedByService": entry.logged_by_service,
        "operationType": entry.operation_type,
        "initiatedBy": entry.initiated_by,
        "targetResources": entry.target_resources,
        "additionalDetails": entry.additional_details,
    }


def register(api: APIRouter, context: Any) -> None:
    @api.get("/auditLogs/directoryAudits")
    def list_audits(ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*READ)
        statement = select(DirectoryAudit).where(DirectoryAudit.tenant_id == ctx.caller.tenant_id)
        body = list_page(ctx, CATALOGUE, statement, render, "auditLogs/directoryAudits")
        return json_response(ctx.request, body)

    @api.get("/auditLogs/directoryAudits/{entry_id}")
    def get_audit(entry_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*READ)
        entry = ctx.session.get(DirectoryAudit, entry_id)
        if entry is None or entry.tenant_id != ctx.caller.tenant_id:
            raise not_found(f"Resource '{entry_id}' does not exist.")
        context_url = ctx.context_url("auditLogs/directoryAudits/$entity")
        return json_response(ctx.request, {"@odata.context": context_url, **render(entry)})
