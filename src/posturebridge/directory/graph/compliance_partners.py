"""``/deviceManagement/complianceManagementPartners`` and the Intune service principal's ``endPoints``.

complianceManagementPartner (learn.microsoft.com/graph/api/resources/intune-onboarding-compliancemanagementpartner,
v1.0 and beta): id, displayName, lastHeartbeatDateTime, partnerState, {macOs|android|ios}Onboarded and
{…}EnrollmentAssignments; beta adds linux (linuxOnboarded, linuxEnrollmentAssignments). windowsOnboarded and
windowsEnrollmentAssignments existed in an older beta copy of the create page (microsoftgraph/
microsoft-graph-docs-contrib api-reference/beta/api/intune-onboarding-compliancemanagementpartner-create.md)
and are kept here, beta only, as this project's extension. Permissions: DeviceManagementServiceConfig.Read.All
or .ReadWrite.All, delegated and application (…-list.md / …-create.md). Create returns 201.

Rules: one partner per platform per tenant ("You can use only one partner per platform", MicrosoftDocs/memdocs
intune/device-security/compliance/third-party-partners.md); the Graph error Intune returns for a second one
is not documented, so it is a 400 ``BadRequest`` naming the platform and the partner that holds it.
partnerState and lastHeartbeatDateTime are the partner's to change (by provisioning and by calling), so
writing them is refused. Intune's Graph errors use the codes ``BadRequest``/``ResourceNotFound`` (not the
directory's ``Request_*``). Every write leaves an audit entry (service Intune, category DeviceManagement).

``GET /servicePrincipals/{id}/endPoints``: the Intune service principal lists PartnerTenantDataSyncService and
PartnerDeviceDataSyncService with URIs on this directory (partner-compliance-wire.md §1); other principals
have none.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from posturebridge.common.clock import graph_datetime
from posturebridge.directory import catalog
from posturebridge.directory.audit import Change, Target, record
from posturebridge.directory.graph import body as bodies
from posturebridge.directory.graph.core import GraphRequest, json_response
from posturebridge.directory.graph.errors import GraphError
from posturebridge.directory.intune.partners import (
    BETA_ONLY_PLATFORMS,
    EXCLUSION_TARGET,
    GROUP_TARGET,
    ONBOARDED_COLUMN,
    TARGET_TYPES,
    effective_state,
    service_endpoints,
    target_type,
)
from posturebridge.directory.intune.wire import PLATFORMS
from posturebridge.directory.models import ComplianceManagementPartner, Group, ServicePrincipal

READ = ("DeviceManagementServiceConfig.Read.All", "DeviceManagementServiceConfig.ReadWrite.All")
WRITE = ("DeviceManagementServiceConfig.ReadWrite.All",)
SP_READ = ("Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
ENTITY = "#microsoft.graph.complianceManagementPartner"
ASSIGNMENT = "microsoft.graph.complianceManagementPartnerAssignment"


def intune_bad_request(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def intune_not_found(partner_id: str) -> GraphError:
    return GraphError(404, "ResourceNotFound", f"complianceManagementPartner '{partner_id}' was not found.")


def _platforms(beta: bool) -> tuple[str, ...]:
    return tuple(p for p in PLATFORMS if beta or p not in BETA_ONLY_PLATFORMS)


def _render_target(target: dict[str, Any], beta: bool) -> dict[str, Any]:
    kind = target_type(target)
    item: dict[str, Any] = {"@odata.type": f"#microsoft.graph.{kind}"}
    if beta:
        item["deviceAndAppManagementAssignmentFilterId"] = None
        item["deviceAndAppManagementAssignmentFilterType"] = "none"
    if kind in (GROUP_TARGET, EXCLUSION_TARGET):
        item["groupId"] = target.get("groupId")
    return item


def render(partner: ComplianceManagementPartner, ctx: GraphRequest) -> dict[str, Any]:
    item: dict[str, Any] = {
        "@odata.type": ENTITY,
        "id": partner.id,
        "lastHeartbeatDateTime": graph_datetime(partner.last_heartbeat_date_time),
        "partnerState": effective_state(partner, ctx.now),
        "displayName": partner.display_name,
    }
    platforms = _platforms(ctx.beta)
    for platform in platforms:
        item[f"{platform}Onboarded"] = bool(getattr(partner, ONBOARDED_COLUMN[platform]))
    for platform in platforms:
        targets = (partner.enrollment_assignments or {}).get(platform, [])
        item[f"{platform}EnrollmentAssignments"] = [
            {"@odata.type": ASSIGNMENT, "target": _render_target(target, ctx.beta)} for target in targets
        ]
    return item


def _assignments(ctx: GraphRequest, name: str, value: Any) -> list[dict[str, Any]]:
    """complianceManagementPartnerAssignment[] -> stored targets (groups checked to exist in the tenant)."""
    if not isinstance(value, list):
        raise intune_bad_request(f"Invalid value specified for property '{name}': an array of assignments.")
    targets = []
    for assignment in value:
        target = assignment.get("target") if isinstance(assignment, dict) else None
        if not isinstance(target, dict):
            raise intune_bad_request(f"Every item of '{name}' needs a 'target'.")
        kind = target_type(target)
        if kind not in TARGET_TYPES:
            raise intune_bad_request(
                f"Assignment target type '{target.get('@odata.type')}' in '{name}' is not supported; use "
                f"{', '.join(TARGET_TYPES)}."
            )
        stored: dict[str, Any] = {"@odata.type": f"#microsoft.graph.{kind}"}
        if kind in (GROUP_TARGET, EXCLUSION_TARGET):
            group_id = target.get("groupId")
            if not bodies.guid(group_id):
                raise intune_bad_request(f"groupId {group_id!r} in '{name}' is not a group id.")
            group = ctx.session.get(Group, group_id)
            if group is None or group.tenant_id != ctx.caller.tenant_id:
                raise intune_bad_request(f"Group '{group_id}' in '{name}' does not exist in the tenant.")
            stored["groupId"] = group_id
        targets.append(stored)
    return targets


def _changes(ctx: GraphRequest, body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    platforms = _platforms(ctx.beta)
    allowed = {"displayName", *(f"{p}Onboarded" for p in platforms), *(f"{p}EnrollmentAssignments" for p in platforms)}
    values: dict[str, Any] = {}
    for name, value in body.items():
        if name.startswith("@") or "@odata." in name:
            continue
        if name in ("partnerState", "lastHeartbeatDateTime"):
            raise intune_bad_request(
                f"Property '{name}' is set by the partner (tenant provisioning and heartbeats) and cannot be written."
            )
        if name == "id" and creating:
            continue
        if name not in allowed:
            raise intune_bad_request(f"Invalid property '{name}'.")
        if name == "displayName":
            if not isinstance(value, str) or not value.strip() or len(value) > 256:
                raise intune_bad_request("Invalid value specified for property 'displayName'.")
            values[name] = value.strip()
        elif name.endswith("Onboarded"):
            if not isinstance(value, bool):
                raise intune_bad_request(f"Invalid value specified for property '{name}'.")
            values[name] = value
        else:
            values[name] = _assignments(ctx, name, value)
    if creating and "displayName" not in values:
        raise intune_bad_request("Property 'displayName' is required.")
    return values


def _check_one_partner_per_platform(ctx: GraphRequest, partner: ComplianceManagementPartner) -> None:
    others = ctx.session.scalars(
        select(ComplianceManagementPartner).where(
            ComplianceManagementPartner.tenant_id == ctx.caller.tenant_id,
            ComplianceManagementPartner.id != partner.id,
        )
    ).all()
    for platform, column in ONBOARDED_COLUMN.items():
        if not getattr(partner, column):
            continue
        holder = next((other for other in others if getattr(other, column)), None)
        if holder is not None:
            raise intune_bad_request(
                f"Platform '{platform}' is already onboarded for compliance partner '{holder.display_name}' "
                f"({holder.id}); only one compliance partner per platform is supported."
            )


def _apply(ctx: GraphRequest, partner: ComplianceManagementPartner, values: dict[str, Any]) -> list[Change]:
    changes: list[Change] = []
    assignments = dict(partner.enrollment_assignments or {})
    for name, value in values.items():
        if name == "displayName":
            if partner.display_name != value:
                changes.append(Change("DisplayName", partner.display_name, value))
            partner.display_name = value
        elif name.endswith("Onboarded"):
            column = ONBOARDED_COLUMN[name.removesuffix("Onboarded")]
            if bool(getattr(partner, column)) != value:
                changes.append(Change(name[0].upper() + name[1:], bool(getattr(partner, column)), value))
            setattr(partner, column, value)
        else:
            platform = name.removesuffix("EnrollmentAssignments")
            if assignments.get(platform, []) != value:
                changes.append(Change(name[0].upper() + name[1:], assignments.get(platform, []), value))
            assignments[platform] = value
    partner.enrollment_assignments = assignments
    partner.modified_date_time = ctx.now
    return changes


def _audit(
    ctx: GraphRequest, activity: str, operation: str, partner: ComplianceManagementPartner, changes: list[Change]
) -> None:
    record(
        ctx.session,
        tenant_id=ctx.caller.tenant_id,
        activity=activity,
        category="DeviceManagement",
        operation_type=operation,
        initiated_by=ctx.initiator(),
        targets=[Target(partner.id, partner.display_name, "ComplianceManagementPartner", changes=tuple(changes))],
        now=ctx.now,
        service="Intune",
    )


def _find(ctx: GraphRequest, partner_id: str) -> ComplianceManagementPartner:
    partner = ctx.session.get(ComplianceManagementPartner, partner_id)
    if partner is None or partner.tenant_id != ctx.caller.tenant_id:
        raise intune_not_found(partner_id)
    return partner


def register(api: APIRouter, context: Any) -> None:
    """Add the compliance partner routes and the servicePrincipal endPoints navigation to ``api``."""
    collection = "/deviceManagement/complianceManagementPartners"

    @api.get(collection)
    def list_partners(ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*READ)
        partners = ctx.session.scalars(
            select(ComplianceManagementPartner)
            .where(ComplianceManagementPartner.tenant_id == ctx.caller.tenant_id)
            .order_by(ComplianceManagementPartner.created_date_time, ComplianceManagementPartner.id)
        )
        body = {
            "@odata.context": ctx.context_url("deviceManagement/complianceManagementPartners"),
            "value": [render(partner, ctx) for partner in partners],
        }
        return json_response(ctx.request, body)

    @api.get(collection + "/{partner_id}")
    def get_partner(partner_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*READ)
        item = render(_find(ctx, partner_id), ctx)
        context_url = ctx.context_url("deviceManagement/complianceManagementPartners/$entity")
        return json_response(ctx.request, {"@odata.context": context_url, **item})

    @api.post(collection)
    async def create_partner(request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*WRITE)
        values = _changes(ctx, await bodies.read_json(request), creating=True)
        partner = ComplianceManagementPartner(
            id=str(uuid.uuid4()),
            tenant_id=ctx.caller.tenant_id,
            display_name=values["displayName"],
            partner_state="unknown",
            enrollment_assignments={},
            created_date_time=ctx.now,
            modified_date_time=ctx.now,
            **{column: False for column in ONBOARDED_COLUMN.values()},
        )
        changes = _apply(ctx, partner, values)
        _check_one_partner_per_platform(ctx, partner)
        ctx.session.add(partner)
        _audit(ctx, "Create ComplianceManagementPartner", "Add", partner, changes)
        ctx.session.commit()
        context_url = ctx.context_url("deviceManagement/complianceManagementPartners/$entity")
        return json_response(ctx.request, {"@odata.context": context_url, **render(partner, ctx)}, 201)

    @api.patch(collection + "/{partner_id}")
    async def update_partner(partner_id: str, request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*WRITE)
        values = _changes(ctx, await bodies.read_json(request), creating=False)
        partner = _find(ctx, partner_id)
        changes = _apply(ctx, partner, values)
        _check_one_partner_per_platform(ctx, partner)
        _audit(ctx, "Patch ComplianceManagementPartner", "Update", partner, changes)
        ctx.session.commit()
        context_url = ctx.context_url("deviceManagement/complianceManagementPartners/$entity")
        return json_response(ctx.request, {"@odata.context": context_url, **render(partner, ctx)})

    @api.delete(collection + "/{partner_id}")
    def delete_partner(partner_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*WRITE)
        partner = _find(ctx, partner_id)
        _audit(ctx, "Delete ComplianceManagementPartner", "Delete", partner, [])
        ctx.session.delete(partner)
        ctx.session.commit()
        return json_response(ctx.request, None, 204)

    def endpoints(object_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*SP_READ)
        principal = ctx.session.get(ServicePrincipal, object_id)
        if principal is None or principal.tenant_id != ctx.caller.tenant_id:
            raise GraphError(
                404,
                "Request_ResourceNotFound",
                f"Resource '{object_id}' does not exist or one of its queried reference-property objects are not "
                "present.",
            )
        value = []
        if principal.app_id == catalog.INTUNE_APP_ID:
            base = str(ctx.request.base_url)
            for name, uri in service_endpoints(base, ctx.caller.tenant_id).items():
                value.append(
                    {
                        "@odata.type": "#microsoft.graph.endpoint",
                        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, uri)),
                        "deletedDateTime": None,
                        "capability": name,
                        "providerId": None,
                        "providerName": name,
                        "providerResourceId": None,
                        "uri": uri,
                    }
                )
        body = {"@odata.context": ctx.context_url(f"servicePrincipals('{object_id}')/endpoints"), "value": value}
        return json_response(ctx.request, body)

    # Graph names the navigation "endpoints"; Fleet's proxy asks for "endPoints" (segments are case-insensitive).
    for segment in ("endPoints", "endpoints"):
        api.add_api_route(f"/servicePrincipals/{{object_id}}/{segment}", endpoints, methods=["GET"])
