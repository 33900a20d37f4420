"""Conditional Access in Graph: policies, named locations, the What If evaluation and sign-in logs.

- ``/identity/conditionalAccess/policies`` and ``/namedLocations`` (GET, POST 201, GET/PATCH 204/DELETE
  204 by id), validated by the CA engine's parser (the JSON path of the first problem is named), audited
  with service "Conditional Access", category "Policy" (Entra's audit activity reference).
- ``POST /identity/conditionalAccess/evaluate`` (v1.0 and beta): ``whatIfAnalysisResult`` items, i.e.
  the policy plus ``policyApplies`` and ``analysisReasons``.
- ``/auditLogs/signIns``: newest first, 1,000 per page; beta's ``signInEventTypes`` with "only
  interactive sign-ins are returned unless you set an explicit filter" (graph-facts.md §4).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from posturebridge.common.clock import graph_datetime
from posturebridge.conditional_access import (
    DeviceInfo,
    IssueKind,
    ResourceApplication,
    SatisfiedControls,
    SignInContext,
    compile_policies,
    parse_device,
    parse_named_location,
    parse_policy,
)
from posturebridge.directory.audit import Change, Target, record
from posturebridge.directory.graph.body import read_json
from posturebridge.directory.graph.core import GraphRequest, json_response
from posturebridge.directory.graph.errors import bad_request, not_found
from posturebridge.directory.graph.listing import list_page
from posturebridge.directory.graph.odata import SIGN_IN, JsonArray, ResourceCatalogue
from posturebridge.directory.models import ConditionalAccessPolicy, NamedLocation, SignIn, User
from posturebridge.directory.signins import user_identity

POLICY_READ = ("Policy.Read.All", "Policy.ReadWrite.ConditionalAccess", "Policy.Read.ConditionalAccess")
POLICY_WRITE = ("Policy.ReadWrite.ConditionalAccess",)
SIGN_IN_READ = ("AuditLog.Read.All",)
READ_ONLY = ("id", "createdDateTime", "modifiedDateTime", "deletedDateTime")

_s = SignIn.__table__.c
SIGN_IN_CATALOGUE = ResourceCatalogue.bind(
    SIGN_IN,
    id_column=_s.id,
    storage={
        "createdDateTime": _s.created_date_time,
        "userId": _s.user_id,
        "userPrincipalName": _s.user_principal_name,
        "appId": _s.app_id,
        "conditionalAccessStatus": _s.conditional_access_status,
        "isInteractive": _s.is_interactive,
        "correlationId": _s.correlation_id,
        "status/errorCode": _s.error_code,
        "deviceDetail/deviceId": _s.device_id,
        "userDisplayName": _s.document["userDisplayName"].as_string(),
        "appDisplayName": _s.document["appDisplayName"].as_string(),
        "ipAddress": _s.document["ipAddress"].as_string(),
        "clientAppUsed": _s.document["clientAppUsed"].as_string(),
        "resourceDisplayName": _s.document["resourceDisplayName"].as_string(),
        "resourceId": _s.document["resourceId"].as_string(),
        "deviceDetail/isCompliant": _s.document["deviceDetail"]["isCompliant"].as_boolean(),
        "deviceDetail/isManaged": _s.document["deviceDetail"]["isManaged"].as_boolean(),
        "signInEventTypes": JsonArray(_s.sign_in_event_types),
    },
)
BETA_ONLY_SIGN_IN = (
    "networkLocationDetails",
    "authenticationDetails",
    "authenticationProcessingDetails",
    "tokenIssuerName",
    "processingTimeInMilliseconds",
    "signInEventTypes",
    "authenticationRequirement",
    "authenticationProtocol",
    "incomingTokenType",
    "userType",
    "clientCredentialType",
    "tokenIssuerType",
)
BETA_ONLY_APPLIED = ("conditionsSatisfied", "conditionsNotSatisfied")


def _validate_policy(document: dict[str, Any]) -> None:
    parsed = parse_policy({**document, "id": document.get("id") or "new"})
    for issue in parsed.policy.issues:
        if issue.kind in (IssueKind.ERROR, IssueKind.PLACEHOLDER, IssueKind.UNKNOWN_FIELD):
            raise bad_request(f"Invalid policy at '{issue.path}': {issue.message}")
    conditions = document.get("conditions") or {}
    if not conditions.get("users") and not conditions.get("clientApplications"):
        raise bad_request("Invalid policy at '$.conditions': either users or clientApplications is required.")


def _normalise_policy(document: dict[str, Any]) -> dict[str, Any]:
    """The policy as Graph returns it: unset lists as [] and unset objects as null."""
    policy = copy.deepcopy(document)
    conditions = policy.setdefault("conditions", {})
    users = conditions.get("users")
    if users is not None:
        for key in ("includeUsers", "excludeUsers", "includeGroups", "excludeGroups", "includeRoles", "excludeRoles"):
            users.setdefault(key, [])
        users.setdefault("includeGuestsOrExternalUsers", None)
        users.setdefault("excludeGuestsOrExternalUsers", None)
    applications = conditions.setdefault("applications", {})
    for key in (
        "includeApplications",
        "excludeApplications",
        "includeUserActions",
        "includeAuthenticationContextClassReferences",
    ):
        applications.setdefault(key, [])
    applications.setdefault("applicationFilter", None)
    for key in ("userRiskLevels", "signInRiskLevels", "servicePrincipalRiskLevels"):
        conditions.setdefault(key, [])
    conditions.setdefault("clientAppTypes", ["all"])
    for key in (
        "platforms",
        "locations",
        "devices",
        "clientApplications",
        "times",
        "insiderRiskLevels",
        "authenticationFlows",
    ):
        conditions.setdefault(key, None)
    grant = policy.get("grantControls")
    if grant is not None:
        grant.setdefault("customAuthenticationFactors", [])
        grant.setdefault("termsOfUse", [])
        grant.setdefault("authenticationStrength", None)
    policy.setdefault("grantControls", None)
    policy.setdefault("sessionControls", None)
    policy.setdefault("templateId", None)
    policy.setdefault("description", None)
    return policy


def _render_policy(row: ConditionalAccessPolicy) -> dict[str, Any]:
    return {
        **row.document,
        "id": row.id,
        "createdDateTime": graph_datetime(row.created_date_time),
        "modifiedDateTime": graph_datetime(row.modified_date_time),
    }


def _find_policy(ctx: GraphRequest, policy_id: str) -> ConditionalAccessPolicy:
    row = ctx.session.get(ConditionalAccessPolicy, policy_id)
    if row is None or row.tenant_id != ctx.caller.tenant_id:
        raise not_found(f"Could not find policy '{policy_id}'.")
    return row


def _location_document(body: dict[str, Any]) -> dict[str, Any]:
    kind = body.get("@odata.type")
    if kind not in ("#microsoft.graph.ipNamedLocation", "#microsoft.graph.countryNamedLocation"):
        raise bad_request(
            "Invalid value specified for property '@odata.type': use #microsoft.graph.ipNamedLocation "
            "or #microsoft.graph.countryNamedLocation."
        )
    if not isinstance(body.get("displayName"), str) or not body["displayName"].strip():
        raise bad_request("Property 'displayName' is required when creating the resource of type 'namedLocation'.")
    if kind == "#microsoft.graph.ipNamedLocation":
        ranges = body.get("ipRanges")
        if not isinstance(ranges, list) or not ranges:
            raise bad_request("Invalid value specified for property 'ipRanges' of resource 'ipNamedLocation'.")
    else:
        countries = body.get("countriesAndRegions")
        if not isinstance(countries, list) or not all(isinstance(c, str) and len(c) == 2 for c in countries):
            raise bad_request(
                "Invalid value specified for property 'countriesAndRegions' of resource 'countryNamedLocation'."
            )
    try:
        parse_named_location({**body, "id": body.get("id") or "new"})
    except (ValueError, TypeError, KeyError) as exc:
        raise bad_request(f"Invalid named location: {exc}") from None
    return {key: value for key, value in body.items() if key not in READ_ONLY}


def _render_location(row: NamedLocation) -> dict[str, Any]:
    return {
        **row.document,
        "id": row.id,
        "createdDateTime": graph_datetime(row.created_date_time),
        "modifiedDateTime": graph_datetime(row.modified_date_time),
    }


def render_sign_in(row: SignIn, *, beta: bool) -> dict[str, Any]:
    document = dict(row.document)
    if not beta:
        for key in BETA_ONLY_SIGN_IN:
            document.pop(key, None)
        document["appliedConditionalAccessPolicies"] = [
            {k: v for k, v in item.items() if k not in BETA_ONLY_APPLIED}
            for item in document.get("appliedConditionalAccessPolicies", [])
        ]
    return document


def _register_policies(api: APIRouter, context: Any) -> None:
    base = "/identity/conditionalAccess/policies"

    @api.get(base)
    def list_policies(ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*POLICY_READ)
        rows = ctx.session.scalars(
            select(ConditionalAccessPolicy)
            .where(ConditionalAccessPolicy.tenant_id == ctx.caller.tenant_id)
            .order_by(ConditionalAccessPolicy.created_date_time)
        )
        return json_response(
            ctx.request,
            {
                "@odata.context": ctx.context_url("identity/conditionalAccess/policies"),
                "value": [_render_policy(row) for row in rows],
            },
        )

    @api.get(base + "/{policy_id}")
    def get_policy(policy_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*POLICY_READ)
        context_url = ctx.context_url("identity/conditionalAccess/policies/$entity")
        return json_response(
            ctx.request, {"@odata.context": context_url, **_render_policy(_find_policy(ctx, policy_id))}
        )

    @api.post(base)
    async def create_policy(request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*POLICY_WRITE)
        body = {k: v for k, v in (await read_json(request)).items() if not k.startswith("@odata")}
        for key in READ_ONLY:
            body.pop(key, None)
        _validate_policy(body)
        document = _normalise_policy(body)
        row = ConditionalAccessPolicy(
            id=str(uuid.uuid4()),
            tenant_id=ctx.caller.tenant_id,
            display_name=document["displayName"],
            state=document["state"],
            document=document,
            created_date_time=ctx.now,
            modified_date_time=None,
        )
        ctx.session.add(row)
        record(
            ctx.session,
            tenant_id=row.tenant_id,
            activity="Add conditional access policy",
            category="Policy",
            operation_type="Add",
            initiated_by=ctx.initiator(),
            service="Conditional Access",
            targets=[
                Target(row.id, row.display_name, "Policy", changes=(Change("ConditionalAccessPolicy", None, document),))
            ],
            now=ctx.now,
        )
        ctx.session.commit()
        context_url = ctx.context_url("identity/conditionalAccess/policies/$entity")
        return json_response(ctx.request, {"@odata.context": context_url, **_render_policy(row)}, 201)

    @api.patch(base + "/{policy_id}")
    async def update_policy(policy_id: str, request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*POLICY_WRITE)
        patch = {k: v for k, v in (await read_json(request)).items() if not k.startswith("@odata")}
        for key in READ_ONLY:
            if key in patch:
                raise bad_request(f"Property '{key}' is read-only and cannot be set.")
        row = _find_policy(ctx, policy_id)
        old = copy.deepcopy(row.document)
        merged = _merge(old, patch)
        _validate_policy(merged)
        row.document = _normalise_policy(merged)
        row.display_name, row.state, row.modified_date_time = merged["displayName"], merged["state"], ctx.now
        record(
            ctx.session,
            tenant_id=row.tenant_id,
            activity="Update conditional access policy",
            category="Policy",
            operation_type="Update",
            initiated_by=ctx.initiator(),
            service="Conditional Access",
            targets=[
                Target(
                    row.id, row.display_name, "Policy", changes=(Change("ConditionalAccessPolicy", old, row.document),)
                )
            ],
            now=ctx.now,
        )
        ctx.session.commit()
        return json_response(ctx.request, None, 204)

    @api.delete(base + "/{policy_id}")
    def delete_policy(policy_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*POLICY_WRITE)
        row = _find_policy(ctx, policy_id)
        record(
            ctx.session,
            tenant_id=row.tenant_id,
            activity="Delete conditional access policy",
            category="Policy",
            operation_type="Delete",
            initiated_by=ctx.initiator(),
            service="Conditional Access",
            targets=[Target(row.id, row.display_name, "Policy")],
            now=ctx.now,
        )
        ctx.session.delete(row)
        ctx.session.commit()
        return json_response(ctx.request, None, 204)


def _merge(document: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """PATCH of a policy: nested objects merge, everything else (lists included) is replaced."""
    merged = copy.deepcopy(document)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _register_locations(api: APIRouter, context: Any) -> None:
    base = "/identity/conditionalAccess/namedLocations"

    def find(ctx: GraphRequest, location_id: str) -> NamedLocation:
        row = ctx.session.get(NamedLocation, location_id)
        if row is None or row.tenant_id != ctx.caller.tenant_id:
            raise not_found(f"Could not find named location '{location_id}'.")
        return row

    @api.get(base)
    def list_locations(ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*POLICY_READ)
        rows = ctx.session.scalars(select(NamedLocation).where(NamedLocation.tenant_id == ctx.caller.tenant_id))
        return json_response(
            ctx.request,
            {
                "@odata.context": ctx.context_url("identity/conditionalAccess/namedLocations"),
                "value": [_render_location(row) for row in rows],
            },
        )

    @api.get(base + "/{location_id}")
    def get_location(location_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*POLICY_READ)
        return json_response(ctx.request, _render_location(find(ctx, location_id)))

    @api.post(base)
    async def create_location(request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*POLICY_WRITE)
        document = _location_document(await read_json(request))
        row = NamedLocation(
            id=str(uuid.uuid4()),
            tenant_id=ctx.caller.tenant_id,
            display_name=document["displayName"],
            document=document,
            created_date_time=ctx.now,
            modified_date_time=ctx.now,
        )
        ctx.session.add(row)
        record(
            ctx.session,
            tenant_id=row.tenant_id,
            activity="Add named location",
            category="Policy",
            operation_type="Add",
            initiated_by=ctx.initiator(),
            service="Conditional Access",
            targets=[Target(row.id, row.display_name, "Policy")],
            now=ctx.now,
        )
        ctx.session.commit()
        return json_response(ctx.request, _render_location(row), 201)

    @api.patch(base + "/{location_id}")
    async def update_location(location_id: str, request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*POLICY_WRITE)
        row = find(ctx, location_id)
        patch = await read_json(request)
        merged = {**row.document, **patch, "@odata.type": row.document.get("@odata.type")}
        row.document = _location_document(merged)
        row.display_name, row.modified_date_time = row.document["displayName"], ctx.now
        record(
            ctx.session,
            tenant_id=row.tenant_id,
            activity="Update named location",
            category="Policy",
            operation_type="Update",
            initiated_by=ctx.initiator(),
            service="Conditional Access",
            targets=[Target(row.id, row.display_name, "Policy")],
            now=ctx.now,
        )
        ctx.session.commit()
        return json_response(ctx.request, None, 204)

    @api.delete(base + "/{location_id}")
    def delete_location(location_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*POLICY_WRITE)
        row = find(ctx, location_id)
        record(
            ctx.session,
            tenant_id=row.tenant_id,
            activity="Delete named location",
            category="Policy",
            operation_type="Delete",
            initiated_by=ctx.initiator(),
            service="Conditional Access",
            targets=[Target(row.id, row.display_name, "Policy")],
            now=ctx.now,
        )
        ctx.session.delete(row)
        ctx.session.commit()
        return json_response(ctx.request, None, 204)


def _what_if_context(ctx: GraphRequest, body: dict[str, Any]) -> SignInContext:
    identity, sign_in_context = body.get("signInIdentity"), body.get("signInContext")
    conditions = body.get("signInConditions")
    if not isinstance(identity, dict) or not isinstance(sign_in_context, dict) or not isinstance(conditions, dict):
        raise bad_request("signInIdentity, signInContext and signInConditions are required.")
    if identity.get("@odata.type") != "#microsoft.graph.userSignIn":
        raise bad_request("Only #microsoft.graph.userSignIn identities are supported by posturebridge.")
    user = ctx.session.get(User, str(identity.get("userId", "")).lower())
    if user is None or user.tenant_id != ctx.caller.tenant_id:
        raise bad_request(f"Invalid value specified for property 'userId': {identity.get('userId')!r}.")
    application: ResourceApplication | None = None
    user_action: str | None = None
    auth_context: tuple[str, ...] = ()
    kind = sign_in_context.get("@odata.type")
    if kind == "#microsoft.graph.applicationContext":
        apps = sign_in_context.get("includeApplications") or []
        if not isinstance(apps, list) or len(apps) != 1:
            raise bad_request("Invalid value specified for property 'includeApplications': name one application.")
        application = ResourceApplication(app_id=str(apps[0]))
    elif kind == "#microsoft.graph.userActionContext":
        actions = {
            "registerSecurityInformation": "urn:user:registersecurityinfo",
            "registerOrJoinDevices": "urn:user:registerdevice",
        }
        user_action = actions.get(str(sign_in_context.get("userAction")))
        if user_action is None:
            raise bad_request("Invalid value specified for property 'userAction'.")
    elif kind == "#microsoft.graph.authContext":
        auth_context = (str(sign_in_context.get("authenticationContextValue")),)
    else:
        raise bad_request("Invalid value specified for property 'signInContext'.")
    device_raw = conditions.get("deviceInfo")
    device: DeviceInfo | None = parse_device(device_raw) if isinstance(device_raw, dict) else None
    flow = conditions.get("authenticationFlow")
    return SignInContext(
        user=user_identity(ctx.session, user),
        application=application,
        user_action=user_action,
        authentication_context=auth_context,
        client_app_type=str(conditions.get("clientAppType") or "all"),
        device_platform=conditions.get("devicePlatform"),
        ip_address=conditions.get("ipAddress"),
        country=conditions.get("country"),
        sign_in_risk=str(conditions.get("signInRiskLevel") or "none"),
        user_risk=str(conditions.get("userRiskLevel") or "none"),
        service_principal_risk=str(conditions.get("servicePrincipalRiskLevel") or "none"),
        insider_risk=str(conditions.get("insiderRiskLevel") or "none"),
        authentication_flow=flow.get("transferMethod") if isinstance(flow, dict) else None,
        device=device,
        satisfied=SatisfiedControls(),
    )


def register(api: APIRouter, context: Any) -> None:
    _register_policies(api, context)
    _register_locations(api, context)

    @api.post("/identity/conditionalAccess/evaluate")
    async def evaluate(request: Request, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*POLICY_READ)
        body = await read_json(request)
        sign_in = _what_if_context(ctx, body)
        rows = list(
            ctx.session.scalars(
                select(ConditionalAccessPolicy).where(ConditionalAccessPolicy.tenant_id == ctx.caller.tenant_id)
            )
        )
        locations = [
            row.document | {"id": row.id}
            for row in ctx.session.scalars(select(NamedLocation).where(NamedLocation.tenant_id == ctx.caller.tenant_id))
        ]
        decision = compile_policies([_render_policy(row) for row in rows], locations).evaluate(sign_in, now=ctx.now)
        by_id = {row.id: _render_policy(row) for row in rows}
        applied_only = bool(body.get("appliedPoliciesOnly"))
        value = [
            {
                "@odata.type": "#microsoft.graph.whatIfAnalysisResult",
                **by_id.get(item["id"], {}),
                "policyApplies": item["policyApplies"],
                "analysisReasons": item["analysisReasons"],
            }
            for item in decision.to_what_if(applied_policies_only=applied_only)
        ]
        return json_response(
            ctx.request,
            {"@odata.context": ctx.context_url("Collection(microsoft.graph.whatIfAnalysisResult)"), "value": value},
        )

    @api.get("/auditLogs/signIns")
    def list_sign_ins(ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*SIGN_IN_READ)
        statement = select(SignIn).where(SignIn.tenant_id == ctx.caller.tenant_id)
        explicit = "signineventtypes" in ctx.request.query_params.get("$filter", "").lower()
        if ctx.beta and not explicit:
            statement = statement.where(SignIn.is_interactive.is_(True))
        body = list_page(
            ctx, SIGN_IN_CATALOGUE, statement, lambda row: render_sign_in(row, beta=ctx.beta), "auditLogs/signIns"
        )
        return json_response(ctx.request, body)

    @api.get("/auditLogs/signIns/{sign_in_id}")
    def get_sign_in(sign_in_id: str, ctx: GraphRequest = Depends(context)) -> Response:
        ctx.caller.require(*SIGN_IN_READ)
        row = ctx.session.get(SignIn, sign_in_id)
        if row is None or row.tenant_id != ctx.caller.tenant_id:
            raise not_found(f"Resource '{sign_in_id}' does not exist.")
        context_url = ctx.context_url("auditLogs/signIns/$entity")
        return json_response(ctx.request, {"@odata.context": context_url, **render_sign_in(row, beta=ctx.beta)})
