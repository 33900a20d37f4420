"""Groups, service principals, applications, directory roles, the organization and its licences.

Groups: members (+ ``$ref`` add/remove), ``transitiveMembers``, ``checkMemberGroups``,
``getMemberGroups`` (learn.microsoft.com/graph/api/resources/group). Service principals and
applications also answer by the ``appId`` alternate key. Custom security attribute values are set on
service principals with ``PATCH`` (learn.microsoft.com/graph/custom-security-attributes-examples).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Select, select

from posturebridge.common.clock import graph_datetime
from posturebridge.directory import catalog
from posturebridge.directory.audit import Change, Target, record
from posturebridge.directory.graph import body as bodies
from posturebridge.directory.graph.core import GraphRequest, json_response
from posturebridge.directory.graph.errors import bad_request, not_found
from posturebridge.directory.graph.listing import list_page
from posturebridge.directory.graph.odata import (
    APPLICATION,
    GROUP,
    SERVICE_PRINCIPAL,
    JsonArray,
    ResourceCatalogue,
)
from posturebridge.directory.graph.users import render as render_user
from posturebridge.directory.models import (
    Application,
    AppRoleAssignment,
    Device,
    DirectoryRole,
    DirectoryRoleMember,
    Domain,
    Group,
    GroupMember,
    ServicePrincipal,
    SubscribedSku,
    Tenant,
    User,
    UserLicense,
)

GROUP_READ = (
    "Group.Read.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
GROUP_WRITE = ("Group.ReadWrite.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All")
APP_READ = ("Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
APP_WRITE = ("Application.ReadWrite.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All")
CSA_WRITE = ("CustomSecAttributeAssignment.ReadWrite.All",)
ORG_READ = (
    "Organization.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "User.Read.All",
    "User.ReadWrite.All",
)
ROLE_READ = ("RoleManagement.Read.Directory", "Directory.Read.All", "Directory.ReadWrite.All")
MAX_TRANSITIVE_DEPTH = 32

_g = Group.__table__.c
GROUP_CATALOGUE = ResourceCatalogue.bind(
    GROUP,
    id_column=_g.id,
    storage={
        "createdDateTime": _g.created_date_time,
        "description": _g.description,
        "displayName": _g.display_name,
        "groupTypes": JsonArray(_g.group_types),
        "mailEnabled": _g.mail_enabled,
        "mailNickname": _g.mail_nickname,
        "securityEnabled": _g.security_enabled,
    },
)
_sp = ServicePrincipal.__table__.c
SP_CATALOGUE = ResourceCatalogue.bind(
    SERVICE_PRINCIPAL,
    id_column=_sp.id,
    storage={
        "accountEnabled": _sp.account_enabled,
        "appDisplayName": _sp.display_name,
        "appId": _sp.app_id,
        "appOwnerOrganizationId": _sp.app_owner_organization_id,
        "createdDateTime": _sp.created_date_time,
        "displayName": _sp.display_name,
        "servicePrincipalType": _sp.service_principal_type,
        "tags": JsonArray(_sp.tags),
    },
)
_app = Application.__table__.c
APP_CATALOGUE = ResourceCatalogue.bind(
    APPLICATION,
    id_column=_app.id,
    storage={
        "appId": _app.app_id,
        "createdDateTime": _app.created_date_time,
        "displayName": _app.display_name,
        "identifierUris": JsonArray(_app.identifier_uris),
        "signInAudience": _app.sign_in_audience,
    },
)


def _missing(identifier: str) -> Exception:
    return not_found(
        f"Resource '{identifier}' does not exist or one of its queried reference-property objects are not present."
    )


# ------------------------------------------------------------------------------------------------ groups


def render_group(group: Group) -> dict[str, Any]:
    return {
        "id": group.id,
        "deletedDateTime": None,
        "createdDateTime": graph_datetime(group.created_date_time),
        "description": group.description,
        "displayName": group.display_name,
        "groupTypes": list(group.group_types or []),
        "mail": None,
        "mailEnabled": group.mail_enabled,
        "mailNickname": group.mail_nickname,
        "securityEnabled": group.security_enabled,
        "visibility": None,
    }


GROUP_FIELDS = {
    "displayName": bodies.Field(bodies.string(256)),
    "description": bodies.Field(bodies.string(1024, nullable=True)),
    "mailNickname": bodies.Field(
        lambda v: isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9._\-]{1,64}", v) is not None
    ),
    "mailEnabled": bodies.Field(bodies.boolean()),
    "securityEnabled": bodies.Field(bodies.boolean()),
    "groupTypes": bodies.Field(lambda v: isinstance(v, list) and all(t in ("Unified", "DynamicMembership") for t in v)),
    "members@odata.bind": bodies.Field(bodies.string_list(20, 2048)),
    **{name: bodies.Field(lambda _v: True, read_only=True) for name in ("id", "createdDateTime", "mail")},
}


def find_group(ctx: GraphRequest, group_id: str) -> Group:
    group = ctx.session.scalars(
        select(Group).where(Group.tenant_id == ctx.caller.tenant_id, Group.id == group_id)
    ).first()
    if group is None:
        raise _missing(group_id)
    return group


def _directory_object(ctx: GraphRequest, object_id: str) -> tuple[str, Any]:
    """A tenant object by id, with its Graph type (user, group, device, servicePrincipal)."""
    tenant = ctx.caller.tenant_id
    for kind, found in (
        ("user", ctx.session.get(User, object_id)),
        ("group", ctx.session.get(Group, object_id)),
        ("device", ctx.session.get(Device, object_id)),
        ("servicePrincipal", ctx.session.get(ServicePrincipal, object_id)),
    ):
        if found is not None and found.tenant_id == tenant:
            return kind, found
    raise _missing(object_id)


def _render_member(kind: str, item: Any) -> dict[str, Any]:
    if kind == "user":
        return {"@odata.type": "#microsoft.graph.user", **render_user(item)}
    if kind == "group":
        return {"@odata.type": "#microsoft.graph.group", **render_group(item)}
    if kind == "servicePrincipal":
        return {"@odata.type": "#microsoft.graph.servicePrincipal", **render_service_principal(item)}
    from posturebridge.directory.graph.devices import render as render_device

    return {"@odata.type": "#microsoft.graph.device", **render_device(item)}


def transitive_member_ids(ctx: GraphRequest, group_id: str) -> dict[str, str]:
    """Every member of ``group_id`` through nested groups: id -> Graph type (cycles are safe)."""
    found: dict[str, str] = {}
    frontier = [group_id]
    seen_groups = {group_id}
    while frontier:
        rows = ctx.session.execute(
            select(GroupMember.member_id, GroupMember.member_type).where(GroupMember.group_id.in_(frontier))
        ).all()
        frontier = []
        for member_id, member_type in rows:
            found[member_id] = member_type
            if member_type == "group" and member_id not in seen_groups:
                seen_groups.add(member_id)
                frontier.append(member_id)
    return found


def groups_of(ctx: GraphRequest, object_id: str) -> set[str]:
    """Every group ``object_id`` belongs to, directly or through nesting."""
    result: set[str] = set()
    frontier = {object_id}
    while frontier:
        parents = set(ctx.session.scalars(select(GroupMember.group_id).where(GroupMember.member_id.in_(frontier))))
        frontier = parents - result
        result |= parents
    return result


def _bind_target(ctx: GraphRequest, reference: str) -> str:
    match = re.search(
        r"/directoryObjects/([0-9a-fA-F-]{36})$|/(?:users|groups|devices|servicePrincipals)/([0-9a-fA-F-]{36})$",
        reference,
    )
    if match is None:
        raise bad_request(f"Invalid object identifier '{reference}'.")
    return (match.group(1) or match.group(2)).lower()


def _add_member(ctx: GraphRequest, group: Group, member_id: str) -> None:
    kind, member = _directory_object(ctx, member_id)
    if ctx.session.get(GroupMember, (group.id, member_id)) is not None:
        raise bad_request(
            "One or more added object references already exist for the following modified properties: 'members'."
        )
    ctx.session.add(GroupMember(group_id=group.id, member_id=member_id, member_type=kind))
    record(
        ctx.session,
        tenant_id=group.tenant_id,
        activity="Add member to group",
        category="GroupManagement",
        operation_type="Assign",
        initiated_by=ctx.initiator(),
        targets=[
            Target(
                member_id,
                getattr(member, "display_name", None),
                kind.capitalize(),
                getattr(member, "user_principal_name", None),
            ),
            Target(group.id, group.display_name, "Group"),
        ],
        now=ctx.now,
    )


def _register_groups(api: APIRouter, context: Any) -> None:
    @api.get("/groups")
    def list_groups(ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*GROUP_READ)
        statement = select(Group).where(Group.tenant_id == ctx.caller.tenant_id)
        return json_response(ctx.request, list_page(ctx, GROUP_CATALOGUE, statement, render_group, "groups"))

    @api.get("/groups/{group_id}")
    def get_group(group_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*GROUP_READ)
        group = find_group(ctx, group_id)
        return json_response(ctx.request, {"@odata.context": ctx.context_url("groups/$entity"), **render_group(group)})

    @api.post("/groups")
    async def create_group(request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*GROUP_WRITE)
        body = bodies.validate(await bodies.read_json(request), GROUP_FIELDS, "Group")
        bodies.require(body, ["displayName", "mailNickname"], "Group")
        if "mailEnabled" not in body or "securityEnabled" not in body:
            raise bad_request("Property 'mailEnabled' and 'securityEnabled' are required when creating a group.")
        group = Group(
            id=str(uuid.uuid4()),
            tenant_id=ctx.caller.tenant_id,
            display_name=body["displayName"],
            description=body.get("description"),
            mail_nickname=body["mailNickname"],
            mail_enabled=body["mailEnabled"],
            security_enabled=body["securityEnabled"],
            group_types=body.get("groupTypes", []),
            created_date_time=ctx.now,
        )
        ctx.session.add(group)
        ctx.session.flush()
        record(
            ctx.session,
            tenant_id=group.tenant_id,
            activity="Add group",
            category="GroupManagement",
            operation_type="Add",
            initiated_by=ctx.initiator(),
            targets=[Target(group.id, group.display_name, "Group")],
            now=ctx.now,
        )
        for reference in body.get("members@odata.bind", []):
            _add_member(ctx, group, _bind_target(ctx, reference))
        ctx.session.commit()
        return json_response(
            ctx.request, {"@odata.context": ctx.context_url("groups/$entity"), **render_group(group)}, 201
        )

    @api.patch("/groups/{group_id}")
    async def update_group(group_id: str, request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*GROUP_WRITE)
        changes = bodies.validate(await bodies.read_json(request), GROUP_FIELDS, "Group")
        group = find_group(ctx, group_id)
        columns = {
            "displayName": "display_name",
            "description": "description",
            "mailNickname": "mail_nickname",
            "mailEnabled": "mail_enabled",
            "securityEnabled": "security_enabled",
            "groupTypes": "group_types",
        }
        audit = []
        for name, value in changes.items():
            if name == "members@odata.bind":
                for reference in value:
                    _add_member(ctx, group, _bind_target(ctx, reference))
                continue
            old = getattr(group, columns[name])
            if old != value:
                audit.append(Change(name[0].upper() + name[1:], old, value))
            setattr(group, columns[name], value)
        if audit:
            record(
                ctx.session,
                tenant_id=group.tenant_id,
                activity="Update group",
                category="GroupManagement",
                operation_type="Update",
                initiated_by=ctx.initiator(),
                targets=[Target(group.id, group.display_name, "Group", changes=tuple(audit))],
                now=ctx.now,
            )
        ctx.session.commit()
        return json_response(ctx.request, None, 204)

    @api.delete("/groups/{group_id}")
    def delete_group(group_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*GROUP_WRITE)
        group = find_group(ctx, group_id)
        record(
            ctx.session,
            tenant_id=group.tenant_id,
            activity="Delete group",
            category="GroupManagement",
            operation_type="Delete",
            initiated_by=ctx.initiator(),
            targets=[Target(group.id, group.display_name, "Group")],
            now=ctx.now,
        )
        ctx.session.delete(group)
        ctx.session.commit()
        return json_response(ctx.request, None, 204)

    @api.get("/groups/{group_id}/members")
    def list_members(group_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*GROUP_READ)
        group = find_group(ctx, group_id)
        rows = ctx.session.execute(select(GroupMember).where(GroupMember.group_id == group.id)).scalars()
        value = [_render_member(*_directory_object(ctx, row.member_id)) for row in rows]
        return json_response(ctx.request, {"@odata.context": ctx.context_url("directoryObjects"), "value": value})

    @api.get("/groups/{group_id}/transitiveMembers")
    def list_transitive_members(group_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*GROUP_READ)
        group = find_group(ctx, group_id)
        value = [_render_member(*_directory_object(ctx, member)) for member in transitive_member_ids(ctx, group.id)]
        return json_response(ctx.request, {"@odata.context": ctx.context_url("directoryObjects"), "value": value})

    @api.post("/groups/{group_id}/members/$ref")
    async def add_member(group_id: str, request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*GROUP_WRITE)
        body = await bodies.read_json(request)
        reference = body.get("@odata.id")
        if not isinstance(reference, str):
            raise bad_request("Invalid request body: '@odata.id' is required.")
        group = find_group(ctx, group_id)
        _add_member(ctx, group, _bind_target(ctx, reference))
        ctx.session.commit()
        return json_response(ctx.request, None, 204)

    @api.delete("/groups/{group_id}/members/{member_id}/$ref")
    def remove_member(group_id: str, member_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*GROUP_WRITE)
        group = find_group(ctx, group_id)
        row = ctx.session.get(GroupMember, (group.id, member_id.lower()))
        if row is None:
            raise _missing(member_id)
        ctx.session.delete(row)
        record(
            ctx.session,
            tenant_id=group.tenant_id,
            activity="Remove member from group",
            category="GroupManagement",
            operation_type="Unassign",
            initiated_by=ctx.initiator(),
            targets=[
                Target(member_id, None, row.member_type.capitalize()),
                Target(group.id, group.display_name, "Group"),
            ],
            now=ctx.now,
        )
        ctx.session.commit()
        return json_response(ctx.request, None, 204)

    for collection in ("users", "devices", "servicePrincipals", "groups", "directoryObjects"):

        async def check_member_groups(
            object_id: str, request: Request, ctx: GraphRequest = Depends(context)
        ) -> Response:
            ctx.caller.require(*GROUP_READ)
            body = await bodies.read_json(request)
            wanted = body.get("groupIds")
            if not isinstance(wanted, list) or len(wanted) > 20 or not all(bodies.guid(g) for g in wanted):
                raise bad_request("Invalid value specified for property 'groupIds'.")
            _directory_object(ctx, object_id.lower())
            member_of = groups_of(ctx, object_id.lower())
            value = [group for group in wanted if group in member_of]
            return json_response(
                ctx.request, {"@odata.context": ctx.context_url("Collection(Edm.String)"), "value": value}
            )

        async def get_member_groups(object_id: str, request: Request, ctx: GraphRequest = Depends(context)) -> Response:
            ctx.caller.require(*GROUP_READ)
            body = await bodies.read_json(request)
            if not isinstance(body.get("securityEnabledOnly"), bool):
                raise bad_request("Invalid value specified for property 'securityEnabledOnly'.")
            _directory_object(ctx, object_id.lower())
            groups = groups_of(ctx, object_id.lower())
            if body["securityEnabledOnly"]:
                groups = set(
                    ctx.session.scalars(select(Group.id).where(Group.id.in_(groups), Group.security_enabled.is_(True)))
                )
            return json_response(
                ctx.request, {"@odata.context": ctx.context_url("Collection(Edm.String)"), "value": sorted(groups)}
            )

        api.add_api_route(f"/{collection}/{{object_id}}/checkMemberGroups", check_member_groups, methods=["POST"])
        api.add_api_route(f"/{collection}/{{object_id}}/getMemberGroups", get_member_groups, methods=["POST"])


# ------------------------------------------------------------------------------ applications and principals


def render_service_principal(principal: ServicePrincipal, *, with_attributes: bool = False) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": principal.id,
        "deletedDateTime": None,
        "accountEnabled": principal.account_enabled,
        "appDisplayName": principal.display_name,
        "appId": principal.app_id,
        "appOwnerOrganizationId": principal.app_owner_organization_id,
        "appRoleAssignmentRequired": False,
        "createdDateTime": graph_datetime(principal.created_date_time),
        "displayName": principal.display_name,
        "servicePrincipalNames": [principal.app_id],
        "servicePrincipalType": principal.service_principal_type,
        "signInAudience": "AzureADMultipleOrgs",
        "tags": list(principal.tags or []),
        "appRoles": list(principal.app_roles or []),
        "oauth2PermissionScopes": list(principal.oauth2_permission_scopes or []),
    }
    if with_attributes:
        item["customSecurityAttributes"] = principal.custom_security_attributes or None
    return item


def render_application(application: Application) -> dict[str, Any]:
    return {
        "id": application.id,
        "deletedDateTime": None,
        "appId": application.app_id,
        "createdDateTime": graph_datetime(application.created_date_time),
        "displayName": application.display_name,
        "identifierUris": list(application.identifier_uris or []),
        "signInAudience": application.sign_in_audience,
        "isFallbackPublicClient": application.is_fallback_public_client,
        "appRoles": list(application.app_roles or []),
        "requiredResourceAccess": list(application.required_resource_access or []),
        "web": {"redirectUris": list(application.web_redirect_uris or [])},
        "publicClient": {"redirectUris": list(application.public_client_redirect_uris or [])},
        "spa": {"redirectUris": list(application.spa_redirect_uris or [])},
        "passwordCredentials": [],
        "keyCredentials": [],
    }


def _selected(ctx: GraphRequest, name: str) -> bool:
    select_option = ctx.request.query_params.get("$select", "")
    return name.lower() in {item.strip().lower() for item in select_option.split(",")}


def find_service_principal(
    ctx: GraphRequest, *, object_id: str | None = None, app_id: str | None = None
) -> ServicePrincipal:
    statement: Select[Any] = select(ServicePrincipal).where(ServicePrincipal.tenant_id == ctx.caller.tenant_id)
    statement = (
        statement.where(ServicePrincipal.id == object_id)
        if object_id
        else statement.where(ServicePrincipal.app_id == app_id)
    )
    found: ServicePrincipal | None = ctx.session.scalars(statement).first()
    if found is None:
        raise _missing(object_id or f"appId='{app_id}'")
    return found


def _csa_value_ok(value: Any) -> bool:
    return isinstance(value, str | int | bool) or (
        isinstance(value, list) and all(isinstance(v, str | int) for v in value)
    )


def _merge_custom_security_attributes(current: dict[str, Any], patch: Any) -> dict[str, Any]:
    """PATCH semantics of customSecurityAttributes: per attribute set, per attribute; null removes."""
    if not isinstance(patch, dict):
        raise bad_request(
            "Invalid value specified for property 'customSecurityAttributes' of resource 'ServicePrincipal'."
        )
    merged = {name: dict(values) for name, values in current.items()}
    for set_name, values in patch.items():
        if not isinstance(values, dict):
            raise bad_request(f"Invalid value specified for attribute set '{set_name}'.")
        target = merged.setdefault(set_name, {})
        for key, value in values.items():
            if key.startswith("@odata.") or key.endswith("@odata.type"):
                continue
            if value is None:
                target.pop(key, None)
            elif _csa_value_ok(value):
                target[key] = value
            else:
                raise bad_request(f"Invalid value specified for custom security attribute '{set_name}_{key}'.")
        if not target:
            merged.pop(set_name)
    return merged


def _register_principals(api: APIRouter, context: Any) -> None:
    @api.get("/servicePrincipals")
    def list_service_principals(ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*APP_READ)
        statement = select(ServicePrincipal).where(ServicePrincipal.tenant_id == ctx.caller.tenant_id)
        with_attributes = _selected(ctx, "customSecurityAttributes")
        body = list_page(
            ctx,
            SP_CATALOGUE,
            statement,
            lambda sp: render_service_principal(sp, with_attributes=with_attributes),
            "servicePrincipals",
        )
        return json_response(ctx.request, body)

    def _get(ctx: GraphRequest, principal: ServicePrincipal) -> Response:
        item = render_service_principal(principal, with_attributes=_selected(ctx, "customSecurityAttributes"))
        return json_response(ctx.request, {"@odata.context": ctx.context_url("servicePrincipals/$entity"), **item})

    @api.get("/servicePrincipals/{object_id}")
    def get_service_principal(object_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*APP_READ)
        return _get(ctx, find_service_principal(ctx, object_id=object_id))

    @api.get("/servicePrincipals(appId='{app_id}')")
    def get_service_principal_by_app_id(app_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*APP_READ)
        return _get(ctx, find_service_principal(ctx, app_id=app_id))

    async def _patch(request: Request, ctx: GraphRequest, principal: ServicePrincipal) -> Response:
        body = await bodies.read_json(request)
        allowed = {"customSecurityAttributes", "tags", "accountEnabled"}
        unknown = [name for name in body if name not in allowed and not name.startswith("@")]
        if unknown:
            raise bad_request(f"Invalid property '{unknown[0]}'.")
        if "customSecurityAttributes" in body:
            ctx.caller.require(*CSA_WRITE)
            old = principal.custom_security_attributes or {}
            principal.custom_security_attributes = _merge_custom_security_attributes(
                old, body["customSecurityAttributes"]
            )
            record(
                ctx.session,
                tenant_id=principal.tenant_id,
                activity="Update attribute values assigned to a servicePrincipal",
                category="AttributeManagement",
                operation_type="Update",
                initiated_by=ctx.initiator(),
                service="Core Directory",
                targets=[
                    Target(
                        principal.id,
                        principal.display_name,
                        "ServicePrincipal",
                        changes=(Change("CustomSecurityAttributes", old, principal.custom_security_attributes),),
                    )
                ],
                now=ctx.now,
            )
        other = {k: v for k, v in body.items() if k in ("tags", "accountEnabled")}
        if other:
            ctx.caller.require(*APP_WRITE)
            if "tags" in other:
                if not bodies.string_list(100, 256)(other["tags"]):
                    raise bad_request("Invalid value specified for property 'tags' of resource 'ServicePrincipal'.")
                principal.tags = other["tags"]
            if "accountEnabled" in other:
                if not isinstance(other["accountEnabled"], bool):
                    raise bad_request(
                        "Invalid value specified for property 'accountEnabled' of resource 'ServicePrincipal'."
                    )
                principal.account_enabled = other["accountEnabled"]
            record(
                ctx.session,
                tenant_id=principal.tenant_id,
                activity="Update service principal",
                category="ApplicationManagement",
                operation_type="Update",
                initiated_by=ctx.initiator(),
                targets=[Target(principal.id, principal.display_name, "ServicePrincipal")],
                now=ctx.now,
            )
        ctx.session.commit()
        return json_response(ctx.request, None, 204)

    @api.patch("/servicePrincipals/{object_id}")
    async def patch_service_principal(
        object_id: str, request: Request, ctx: GraphRequest = Depends(context)
    ) -> Response:
        return await _patch(request, ctx, find_service_principal(ctx, object_id=object_id))

    @api.patch("/servicePrincipals(appId='{app_id}')")
    async def patch_service_principal_by_app_id(
        app_id: str, request: Request, ctx: GraphRequest = Depends(context)
    ) -> Response:
        return await _patch(request, ctx, find_service_principal(ctx, app_id=app_id))

    @api.get("/servicePrincipals/{object_id}/appRoleAssignments")
    def list_app_role_assignments(object_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*APP_READ)
        principal = find_service_principal(ctx, object_id=object_id)
        value = []
        for assignment in ctx.session.scalars(
            select(AppRoleAssignment).where(AppRoleAssignment.principal_id == principal.id)
        ):
            resource = ctx.session.get(ServicePrincipal, assignment.resource_id)
            value.append(
                {
                    "id": assignment.id,
                    "deletedDateTime": None,
                    "appRoleId": assignment.app_role_id,
                    "createdDateTime": graph_datetime(assignment.created_date_time),
                    "principalDisplayName": principal.display_name,
                    "principalId": principal.id,
                    "principalType": assignment.principal_type,
                    "resourceDisplayName": resource.display_name if resource else None,
                    "resourceId": assignment.resource_id,
                }
            )
        return json_response(ctx.request, {"@odata.context": ctx.context_url("appRoleAssignments"), "value": value})

    @api.get("/applications")
    def list_applications(ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*APP_READ)
        statement = select(Application).where(Application.tenant_id == ctx.caller.tenant_id)
        return json_response(ctx.request, list_page(ctx, APP_CATALOGUE, statement, render_application, "applications"))

    def _get_application(ctx: GraphRequest, statement: Select[Any], shown: str) -> Response:
        application = ctx.session.scalars(statement.where(Application.tenant_id == ctx.caller.tenant_id)).first()
        if application is None:
            raise _missing(shown)
        return json_response(
            ctx.request, {"@odata.context": ctx.context_url("applications/$entity"), **render_application(application)}
        )

    @api.get("/applications/{object_id}")
    def get_application(object_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*APP_READ)
        return _get_application(ctx, select(Application).where(Application.id == object_id), object_id)

    @api.get("/applications(appId='{app_id}')")
    def get_application_by_app_id(app_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*APP_READ)
        return _get_application(ctx, select(Application).where(Application.app_id == app_id), f"appId='{app_id}'")


# ------------------------------------------------------------------------- organization, roles, licences


def _register_tenant(api: APIRouter, context: Any) -> None:
    @api.get("/organization")
    def organization(ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*ORG_READ)
        tenant = ctx.session.get(Tenant, ctx.caller.tenant_id)
        assert tenant is not None
        domains = ctx.session.scalars(select(Domain).where(Domain.tenant_id == tenant.id)).all()
        skus = ctx.session.scalars(select(SubscribedSku).where(SubscribedSku.tenant_id == tenant.id)).all()
        plans = [
            {
                "capabilityStatus": "Enabled",
                "provisioningStatus": "Success",
                "service": plan.service_plan_name,
                "servicePlanId": plan.service_plan_id,
            }
            for sku in skus
            if (known := catalog.sku(sku.sku_id)) is not None
            for plan in known.service_plans
        ]
        item = {
            "id": tenant.id,
            "deletedDateTime": None,
            "createdDateTime": graph_datetime(tenant.created_date_time),
            "displayName": tenant.display_name,
            "countryLetterCode": tenant.country_letter_code,
            "tenantType": "AAD",
            "assignedPlans": [],
            "provisionedPlans": plans,
            "verifiedDomains": [
                {
                    "capabilities": "Email, OfficeCommunicationsOnline",
                    "isDefault": d.is_default,
                    "isInitial": d.is_initial,
                    "name": d.id,
                    "type": "Managed",
                }
                for d in domains
                if d.is_verified
            ],
        }
        return json_response(ctx.request, {"@odata.context": ctx.context_url("organization"), "value": [item]})

    @api.get("/domains")
    def list_domains(ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require("Domain.Read.All", "Directory.Read.All", "Directory.ReadWrite.All")
        domains = ctx.session.scalars(select(Domain).where(Domain.tenant_id == ctx.caller.tenant_id)).all()
        value = [
            {
                "id": d.id,
                "authenticationType": "Managed",
                "isDefault": d.is_default,
                "isInitial": d.is_initial,
                "isRoot": True,
                "isVerified": d.is_verified,
                "supportedServices": [],
            }
            for d in domains
        ]
        return json_response(ctx.request, {"@odata.context": ctx.context_url("domains"), "value": value})

    @api.get("/subscribedSkus")
    def subscribed_skus(ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*ORG_READ)
        rows = ctx.session.scalars(select(SubscribedSku).where(SubscribedSku.tenant_id == ctx.caller.tenant_id)).all()
        value = []
        for row in rows:
            known = catalog.sku(row.sku_id)
            consumed = len(
                ctx.session.scalars(
                    select(UserLicense.user_id)
                    .join(User, User.id == UserLicense.user_id)
                    .where(User.tenant_id == row.tenant_id, UserLicense.sku_id == row.sku_id)
                ).all()
            )
            value.append(
                {
                    "accountId": row.tenant_id,
                    "accountName": None,
                    "appliesTo": "User",
                    "capabilityStatus": row.capability_status,
                    "consumedUnits": consumed,
                    "id": f"{row.tenant_id}_{row.sku_id}",
                    "skuId": row.sku_id,
                    "skuPartNumber": known.sku_part_number if known else None,
                    "subscriptionIds": [],
                    "prepaidUnits": {"enabled": row.enabled_units, "lockedOut": 0, "suspended": 0, "warning": 0},
                    "servicePlans": [
                        {
                            "servicePlanId": p.service_plan_id,
                            "servicePlanName": p.service_plan_name,
                            "provisioningStatus": "Success",
                            "appliesTo": "User",
                        }
                        for p in (known.service_plans if known else ())
                    ],
                }
            )
        return json_response(ctx.request, {"@odata.context": ctx.context_url("subscribedSkus"), "value": value})

    @api.get("/directoryRoles")
    def list_directory_roles(ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*ROLE_READ)
        roles = ctx.session.scalars(select(DirectoryRole).where(DirectoryRole.tenant_id == ctx.caller.tenant_id)).all()
        value = [
            {
                "id": r.id,
                "deletedDateTime": None,
                "description": r.description,
                "displayName": r.display_name,
                "roleTemplateId": r.role_template_id,
            }
            for r in roles
        ]
        return json_response(ctx.request, {"@odata.context": ctx.context_url("directoryRoles"), "value": value})

    @api.get("/directoryRoles/{role_id}/members")
    def list_role_members(role_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*ROLE_READ)
        role = ctx.session.get(DirectoryRole, role_id)
        if role is None or role.tenant_id != ctx.caller.tenant_id:
            raise _missing(role_id)
        members = ctx.session.scalars(select(DirectoryRoleMember).where(DirectoryRoleMember.role_id == role.id))
        value = [_render_member(*_directory_object(ctx, m.member_id)) for m in members]
        return json_response(ctx.request, {"@odata.context": ctx.context_url("directoryObjects"), "value": value})

    @api.get("/directoryRoleTemplates")
    def list_role_templates(ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*ROLE_READ)
        value = [
            {"id": t.id, "deletedDateTime": None, "description": t.description, "displayName": t.display_name}
            for t in catalog.ROLE_TEMPLATES
        ]
        return json_response(ctx.request, {"@odata.context": ctx.context_url("directoryRoleTemplates"), "value": value})


def register(api: APIRouter, context: Any) -> None:
    _register_groups(api, context)
    _register_principals(api, context)
    _register_tenant(api, context)
