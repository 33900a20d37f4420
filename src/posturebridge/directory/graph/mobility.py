"""Beta ``/policies/mobileDeviceManagementPolicies`` and ``/policies/mobileAppManagementPolicies``: the tenant's
Windows MDM and MAM applications ("Mobility (MDM and MAM)" in the portal).

mobilityManagementPolicy (learn.microsoft.com/graph/api/resources/mobilitymanagementpolicy, beta): id,
displayName, description, appliesTo (none | all | selected), discoveryUrl, termsOfUseUrl, complianceUrl,
isValid, includedGroups (navigation, ``$ref``). Documented methods: list, get, update (``PATCH`` -> 204;
appliesTo cannot be patched together with other properties; ``selected`` cannot be set, adding
includedGroups does that; ``all`` removes the groups), includedGroups list / add ``$ref`` / delete ``$ref``
(204), delete only when isValid is false (the application's service principal is gone)
(…/api/mobiledevicemanagementpolicies-update.md, …-post-includedgroups.md, mobileappmanagementpolicies-delete).
The id is the application's appId here (Intune's policy is addressed by 0000000a-…; the docs call it the
"Object Id of the mobility management application", inferred to be the appId).

Extensions of this project: Graph has no create; the portal's "Add application" does it. ``POST`` creates a
policy for an application that has a service principal in the tenant. An on-premises MDM application (one
registered in this tenant, "Create your own application") must have its URLs on a verified domain of the
tenant, as the portal requires (graph-facts.md §8; seed: "The domain of your On-Premises UEM installation
must be registered in Entra ID as a custom domain").

Permissions (…-list-permissions.md): delegated Policy.Read.All / Policy.ReadWrite.MobilityManagement;
application "Not supported". Since the MDM service needs app-only access here, app-only callers are allowed
with Directory.Read.All / Directory.ReadWrite.All (this project's extension). The delegated role check
(Cloud Device Administrator and above) is not enforced.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from posturebridge.directory.audit import Change, Target, record
from posturebridge.directory.graph import body as bodies
from posturebridge.directory.graph.core import GraphRequest, json_response
from posturebridge.directory.graph.directory_objects import render_group
from posturebridge.directory.graph.errors import GraphError, bad_request, not_found
from posturebridge.directory.models import Domain, Group, MobilityManagementPolicy, ServicePrincipal

COLLECTIONS = {"mobileDeviceManagementPolicies": "mdm", "mobileAppManagementPolicies": "mam"}
URL_PROPERTIES = {
    "discoveryUrl": "discovery_url",
    "termsOfUseUrl": "terms_of_use_url",
    "complianceUrl": "compliance_url",
}


def _require_read(ctx: GraphRequest) -> None:
    ctx.caller.require(
        *(("Directory.Read.All", "Directory.ReadWrite.All") if ctx.caller.is_app_only else ()),
        *(() if ctx.caller.is_app_only else ("Policy.Read.All", "Policy.ReadWrite.MobilityManagement")),
    )


def _require_write(ctx: GraphRequest) -> None:
    ctx.caller.require("Directory.ReadWrite.All" if ctx.caller.is_app_only else "Policy.ReadWrite.MobilityManagement")


def _beta_only(ctx: GraphRequest, collection: str) -> None:
    if not ctx.beta:
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{collection}'.")


def _principal(ctx: GraphRequest, app_id: str) -> ServicePrincipal | None:
    return ctx.session.scalars(
        select(ServicePrincipal).where(
            ServicePrincipal.tenant_id == ctx.caller.tenant_id, ServicePrincipal.app_id == app_id
        )
    ).first()


def render(ctx: GraphRequest, policy: MobilityManagementPolicy, *, expand_groups: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.mobilityManagementPolicy",
        "id": policy.app_id,
        "appliesTo": policy.applies_to,
        "complianceUrl": policy.compliance_url,
        "description": policy.description,
        "discoveryUrl": policy.discovery_url,
        "displayName": policy.display_name,
        "isValid": _principal(ctx, policy.app_id) is not None,
        "termsOfUseUrl": policy.terms_of_use_url,
    }
    if expand_groups:
        item["includedGroups"] = [{"id": g.id, "displayName": g.display_name} for g in _groups(ctx, policy)]
    return item


def _groups(ctx: GraphRequest, policy: MobilityManagementPolicy) -> list[Group]:
    ids = list(policy.included_groups or [])
    if not ids:
        return []
    found = {g.id: g for g in ctx.session.scalars(select(Group).where(Group.id.in_(ids)))}
    return [found[group_id] for group_id in ids if group_id in found]


def _verified_domains(ctx: GraphRequest) -> list[str]:
    return list(
        ctx.session.scalars(
            select(Domain.id).where(Domain.tenant_id == ctx.caller.tenant_id, Domain.is_verified.is_(True))
        )
    )


def _check_url(ctx: GraphRequest, name: str, value: Any, *, on_premises: bool) -> str | None:
    """An https URL; for an on-premises MDM application, its host is a verified domain of the tenant."""
    if value is None or value == "":
        return None
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme != "https" or not parts.hostname or len(value) > 2048:
        raise bad_request(f"Invalid value specified for property '{name}': '{value}' is not an absolute https URL.")
    if on_premises:
        host = parts.hostname.lower()
        domains = _verified_domains(ctx)
        if not any(host == domain or host.endswith("." + domain) for domain in domains):
            raise bad_request(
                f"The URL '{value}' of property '{name}' is not on a verified domain of the tenant "
                f"({', '.join(sorted(domains))}); an on-premises MDM application's URLs must be."
            )
    return str(value)


def _missing(object_id: str) -> GraphError:
    return not_found(
        f"Resource '{object_id}' does not exist or one of its queried reference-property objects are not present."
    )


def _find(ctx: GraphRequest, kind: str, policy_id: str) -> MobilityManagementPolicy:
    policy = ctx.session.get(MobilityManagementPolicy, (ctx.caller.tenant_id, kind, policy_id.lower()))
    if policy is None:
        raise _missing(policy_id)
    return policy


def _audit(
    ctx: GraphRequest, activity: str, operation: str, policy: MobilityManagementPolicy, changes: list[Change]
) -> None:
    record(
        ctx.session,
        tenant_id=ctx.caller.tenant_id,
        activity=activity,
        category="Policy",
        operation_type=operation,
        initiated_by=ctx.initiator(),
        targets=[Target(policy.app_id, policy.display_name, "Policy", changes=tuple(changes))],
        now=ctx.now,
    )


def _expand(ctx: GraphRequest) -> bool:
    unsupported = [k for k in ctx.request.query_params if k.startswith("$") and k != "$expand"]
    if unsupported:
        raise GraphError(400, "Request_UnsupportedQuery", f"Query option '{unsupported[0]}' is not supported here.")
    expand = ctx.request.query_params.get("$expand")
    if expand not in (None, "includedGroups"):
        raise GraphError(400, "Request_UnsupportedQuery", f"$expand '{expand}' is not supported; use includedGroups.")
    return expand == "includedGroups"


def _is_on_premises(ctx: GraphRequest, principal: ServicePrincipal | None) -> bool:
    """An application registered in this tenant (not a multi-tenant app of a vendor tenant)."""
    return principal is not None and principal.app_owner_organization_id == ctx.caller.tenant_id


def register(api: APIRouter, context: Any) -> None:
    """Add the mobility management policy routes (both collections) to ``api``."""
    for collection, kind in COLLECTIONS.items():
        _register_collection(api, context, collection, kind)


def _register_collection(api: APIRouter, context: Any, collection: str, kind: str) -> None:
    base = f"/policies/{collection}"

    def list_policies(ctx: GraphRequest = Depends(context)) -> Response:
        _beta_only(ctx, collection)
        _require_read(ctx)
        expand = _expand(ctx)
        policies = ctx.session.scalars(
            select(MobilityManagementPolicy)
            .where(MobilityManagementPolicy.tenant_id == ctx.caller.tenant_id, MobilityManagementPolicy.kind == kind)
            .order_by(MobilityManagementPolicy.display_name, MobilityManagementPolicy.app_id)
        )
        value = [render(ctx, policy, expand_groups=expand) for policy in policies]
        return json_response(ctx.request, {"@odata.context": ctx.context_url(f"policies/{collection}"), "value": value})

    def get_policy(policy_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        _beta_only(ctx, collection)
        _require_read(ctx)
        item = render(ctx, _find(ctx, kind, policy_id), expand_groups=_expand(ctx))
        return json_response(ctx.request, {"@odata.context": ctx.context_url(f"policies/{collection}/$entity"), **item})

    async def create_policy(request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        _beta_only(ctx, collection)
        _require_write(ctx)
        body = {k: v for k, v in (await bodies.read_json(request)).items() if not k.startswith("@")}
        allowed = {"id", "displayName", "description", "appliesTo", *URL_PROPERTIES}
        unknown = [name for name in body if name not in allowed]
        if unknown:
            raise bad_request(f"Invalid property '{unknown[0]}'.")
        if not bodies.guid(body.get("id")):
            raise bad_request("Property 'id' (the application's appId) is required when creating the policy.")
        app_id = str(body["id"])
        principal = _principal(ctx, app_id)
        if principal is None:
            raise bad_request(
                f"Application '{app_id}' has no service principal in the tenant; add the application first."
            )
        if ctx.session.get(MobilityManagementPolicy, (ctx.caller.tenant_id, kind, app_id)) is not None:
            raise bad_request("Another object with the same value for property id already exists.")
        applies_to = body.get("appliesTo", "none")
        if applies_to not in ("none", "all"):
            raise bad_request(
                "Invalid value specified for property 'appliesTo': use none or all; add includedGroups for selected."
            )
        for name in ("displayName", "description"):
            if body.get(name) is not None and not bodies.string(1024)(body[name]):
                raise bad_request(f"Invalid value specified for property '{name}'.")
        on_premises = _is_on_premises(ctx, principal)
        policy = MobilityManagementPolicy(
            tenant_id=ctx.caller.tenant_id,
            kind=kind,
            app_id=app_id,
            display_name=body.get("displayName") or principal.display_name,
            description=body.get("description"),
            applies_to=applies_to,
            included_groups=[],
            created_date_time=ctx.now,
            **{
                column: _check_url(ctx, name, body.get(name), on_premises=on_premises)
                for name, column in URL_PROPERTIES.items()
            },
        )
        ctx.session.add(policy)
        _audit(ctx, "Add policy", "Add", policy, [Change("AppliesTo", None, applies_to)])
        ctx.session.commit()
        item = render(ctx, policy, expand_groups=False)
        return json_response(
            ctx.request, {"@odata.context": ctx.context_url(f"policies/{collection}/$entity"), **item}, 201
        )

    async def update_policy(policy_id: str, request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        _beta_only(ctx, collection)
        _require_write(ctx)
        body = {k: v for k, v in (await bodies.read_json(request)).items() if not k.startswith("@")}
        policy = _find(ctx, kind, policy_id)
        principal = _principal(ctx, policy.app_id)
        if principal is None:
            raise bad_request(
                "The policy is not valid (its application was deleted): it may not be updated, only deleted."
            )
        allowed = {"appliesTo", "displayName", "description", *URL_PROPERTIES}
        unknown = [name for name in body if name not in allowed]
        if unknown:
            raise bad_request(f"Invalid property '{unknown[0]}'.")
        changes: list[Change] = []
        if "appliesTo" in body:
            if len(body) > 1:
                raise bad_request("appliesTo cannot be updated together with other properties.")
            if body["appliesTo"] not in ("none", "all"):
                raise bad_request(
                    "Invalid value specified for property 'appliesTo': 'selected' is set by adding includedGroups."
                )
            changes.append(Change("AppliesTo", policy.applies_to, body["appliesTo"]))
            policy.applies_to = body["appliesTo"]
            policy.included_groups = []  # "all" removes existing groups; "none" scopes nobody
        on_premises = _is_on_premises(ctx, principal)
        for name, column in URL_PROPERTIES.items():
            if name in body:
                value = _check_url(ctx, name, body[name], on_premises=on_premises)
                changes.append(Change(name[0].upper() + name[1:], getattr(policy, column), value))
                setattr(policy, column, value)
        for name, column in (("displayName", "display_name"), ("description", "description")):
            if name in body:
                if not bodies.string(1024, nullable=name == "description")(body[name]):
                    raise bad_request(f"Invalid value specified for property '{name}'.")
                changes.append(Change(name[0].upper() + name[1:], getattr(policy, column), body[name]))
                setattr(policy, column, body[name])
        _audit(ctx, "Update policy", "Update", policy, changes)
        ctx.session.commit()
        return json_response(ctx.request, None, 204)

    def delete_policy(policy_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        _beta_only(ctx, collection)
        _require_write(ctx)
        policy = _find(ctx, kind, policy_id)
        if _principal(ctx, policy.app_id) is not None:
            raise bad_request(
                "Only a policy that is no longer valid (isValid false: its application's service principal was "
                "deleted) can be deleted."
            )
        _audit(ctx, "Delete policy", "Delete", policy, [])
        ctx.session.delete(policy)
        ctx.session.commit()
        return json_response(ctx.request, None, 204)

    def list_groups(policy_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        _beta_only(ctx, collection)
        _require_read(ctx)
        groups = _groups(ctx, _find(ctx, kind, policy_id))
        return json_response(
            ctx.request, {"@odata.context": ctx.context_url("groups"), "value": [render_group(g) for g in groups]}
        )

    async def add_group(policy_id: str, request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        _beta_only(ctx, collection)
        _require_write(ctx)
        body = await bodies.read_json(request)
        reference = body.get("@odata.id")
        match = re.search(
            r"/(?:groups|directoryObjects)/([0-9a-fA-F-]{36})$", reference if isinstance(reference, str) else ""
        )
        if match is None:
            raise bad_request("Invalid value specified for property '@odata.id': a group URL is expected.")
        group = ctx.session.get(Group, match.group(1).lower())
        if group is None or group.tenant_id != ctx.caller.tenant_id:
            raise _missing(match.group(1))
        policy = _find(ctx, kind, policy_id)
        if group.id in (policy.included_groups or []):
            raise bad_request(
                "One or more added object references already exist for the following modified properties: "
                "'includedGroups'."
            )
        old_scope = policy.applies_to
        policy.included_groups = [*(policy.included_groups or []), group.id]
        policy.applies_to = "selected"
        _audit(
            ctx,
            "Update policy",
            "Update",
            policy,
            [Change("IncludedGroups", None, group.id), Change("AppliesTo", old_scope, "selected")],
        )
        ctx.session.commit()
        return json_response(ctx.request, None, 204)

    def remove_group(policy_id: str, group_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        _beta_only(ctx, collection)
        _require_write(ctx)
        policy = _find(ctx, kind, policy_id)
        if group_id.lower() not in (policy.included_groups or []):
            raise _missing(group_id)
        policy.included_groups = [g for g in policy.included_groups if g != group_id.lower()]
        _audit(ctx, "Update policy", "Update", policy, [Change("IncludedGroups", group_id.lower(), None)])
        ctx.session.commit()
        return json_response(ctx.request, None, 204)

    api.add_api_route(base, list_policies, methods=["GET"])
    api.add_api_route(base, create_policy, methods=["POST"])
    api.add_api_route(base + "/{policy_id}", get_policy, methods=["GET"])
    api.add_api_route(base + "/{policy_id}", update_policy, methods=["PATCH"])
    api.add_api_route(base + "/{policy_id}", delete_policy, methods=["DELETE"])
    api.add_api_route(base + "/{policy_id}/includedGroups", list_groups, methods=["GET"])
    api.add_api_route(base + "/{policy_id}/includedGroups/$ref", add_group, methods=["POST"])
    api.add_api_route(base + "/{policy_id}/includedGroups/{group_id}/$ref", remove_group, methods=["DELETE"])
