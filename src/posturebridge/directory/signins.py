"""Conditional Access at sign-in: build the context from the directory, decide, and log the sign-in.

Called by the token endpoint for every user sign-in to a resource application. The device counts only
when the request proved it (the caller passes the Device row or None); its current record feeds the
evaluation, read at each request, so a refresh after a compliance change is decided on the new state.
Each decision is written to ``sign_ins`` in the caller's transaction and is visible at once (Entra
takes minutes).
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from posturebridge.common.clock import aware, graph_datetime
from posturebridge.conditional_access import (
    CompiledPolicySet,
    Decision,
    DeviceInfo,
    ResourceApplication,
    SatisfiedControls,
    SignInContext,
    UserIdentity,
    compile_policies,
)
from posturebridge.directory.models import (
    ConditionalAccessPolicy,
    Device,
    DirectoryRole,
    DirectoryRoleMember,
    GroupMember,
    NamedLocation,
    ServicePrincipal,
    SignIn,
    User,
)

CLIENT_APP_USED = {
    "browser": "Browser",
    "mobileAppsAndDesktopClients": "Mobile Apps and Desktop clients",
    "exchangeActiveSync": "Exchange ActiveSync",
    "other": "Other clients",
}


def platform_from_user_agent(user_agent: str | None) -> str | None:
    """The device platform CA sees: derived from the (unverified) user agent, as Entra does."""
    agent = (user_agent or "").lower()
    for needle, platform in (
        ("windows phone", "windowsPhone"),
        ("android", "android"),
        ("iphone", "iOS"),
        ("ipad", "iOS"),
        ("ios", "iOS"),
        ("mac os x", "macOS"),
        ("macos", "macOS"),
        ("windows", "windows"),
        ("linux", "linux"),
    ):
        if needle in agent:
            return platform
    return None


def client_app_type(user_agent: str | None, *, msal: bool) -> str:
    if msal:
        return "mobileAppsAndDesktopClients"
    agent = (user_agent or "").lower()
    return "browser" if "mozilla" in agent else "mobileAppsAndDesktopClients"


class PolicyCache:
    """Compiled policy sets per tenant, recompiled when the tenant's policies change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._compiled: dict[str, tuple[tuple[Any, ...], CompiledPolicySet]] = {}

    def get(self, session: Session, tenant_id: str) -> CompiledPolicySet:
        version = tuple(
            session.execute(
                select(
                    func.count(),
                    func.max(ConditionalAccessPolicy.modified_date_time),
                    func.max(ConditionalAccessPolicy.created_date_time),
                ).where(ConditionalAccessPolicy.tenant_id == tenant_id)
            ).one()
        ) + tuple(
            session.execute(
                select(func.count(), func.max(NamedLocation.modified_date_time)).where(
                    NamedLocation.tenant_id == tenant_id
                )
            ).one()
        )
        with self._lock:
            cached = self._compiled.get(tenant_id)
            if cached is not None and cached[0] == version:
                return cached[1]
        policies = [
            {**row.document, "id": row.id}
            for row in session.scalars(
                select(ConditionalAccessPolicy).where(ConditionalAccessPolicy.tenant_id == tenant_id)
            )
        ]
        locations = [
            {**row.document, "id": row.id}
            for row in session.scalars(select(NamedLocation).where(NamedLocation.tenant_id == tenant_id))
        ]
        compiled = compile_policies(policies, locations)
        with self._lock:
            self._compiled[tenant_id] = (version, compiled)
        return compiled


def user_identity(session: Session, user: User) -> UserIdentity:
    groups: set[str] = set()
    frontier = {user.id}
    while frontier:
        parents = set(session.scalars(select(GroupMember.group_id).where(GroupMember.member_id.in_(frontier))))
        frontier = parents - groups
        groups |= parents
    roles = frozenset(
        session.scalars(
            select(DirectoryRole.role_template_id)
            .join(DirectoryRoleMember, DirectoryRoleMember.role_id == DirectoryRole.id)
            .where(DirectoryRoleMember.member_id == user.id)
        )
    )
    return UserIdentity(
        id=user.id,
        user_principal_name=user.user_principal_name,
        group_ids=frozenset(groups),
        role_template_ids=roles,
        user_type="guest" if user.user_type == "Guest" else "member",
    )


def _attribute_values(attributes: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    values: dict[str, tuple[str, ...]] = {}
    for set_name, members in (attributes or {}).items():
        for name, value in members.items():
            if name.startswith("@"):
                continue
            items = value if isinstance(value, list) else [value]
            values[f"{set_name}_{name}"] = tuple(str(item) for item in items)
    return values


def device_info(device: Device) -> DeviceInfo:
    return DeviceInfo(
        device_id=device.device_id,
        display_name=device.display_name,
        is_compliant=device.is_compliant,
        is_managed=device.is_managed,
        trust_type=device.trust_type,
        device_ownership=device.device_ownership,
        enrollment_profile_name=device.enrollment_profile_name,
        manufacturer=device.manufacturer,
        mdm_app_id=device.mdm_app_id,
        model=device.model,
        operating_system=device.operating_system,
        operating_system_version=device.operating_system_version,
        physical_ids=tuple(device.physical_ids or ()),
        profile_type=device.profile_type,
        system_labels=tuple(device.system_labels or ()),
        extension_attributes=dict(device.extension_attributes or {}),
        compliance_expiration_date_time=aware(device.compliance_expiration_date_time),
    )


@dataclass(frozen=True)
class SignInAttempt:
    """What the token endpoint knows about one user sign-in."""

    user: User
    client_app_id: str
    client_display_name: str
    resource: ServicePrincipal
    device: Device | None
    user_agent: str | None
    ip_address: str | None
    is_interactive: bool
    msal: bool
    auth_methods: tuple[str, ...]
    correlation_id: str
    protocol: str  # "oAuth2" | "deviceCode" | ...
    incoming_token_type: str  # "none" | "refreshToken" | "primaryRefreshToken"


def decide(session: Session, cache: PolicyCache, attempt: SignInAttempt, now: dt.datetime) -> tuple[Decision, SignIn]:
    """Evaluate the tenant's policies for ``attempt``; returns the decision and its sign-in log entry, which the
    caller adds to the transaction that ends the sign-in (a refused sign-in is logged and changes nothing else)."""
    context = SignInContext(
        user=user_identity(session, attempt.user),
        application=ResourceApplication(
            app_id=attempt.resource.app_id,
            display_name=attempt.resource.display_name,
            custom_security_attributes=_attribute_values(attempt.resource.custom_security_attributes),
        ),
        client_app_type=client_app_type(attempt.user_agent, msal=attempt.msal),
        device_platform=platform_from_user_agent(attempt.user_agent),
        ip_address=attempt.ip_address,
        device=device_info(attempt.device) if attempt.device is not None else None,
        satisfied=SatisfiedControls(mfa="mfa" in attempt.auth_methods),
    )
    decision = cache.get(session, attempt.user.tenant_id).evaluate(context, now=now)
    if attempt.device is not None and decision.allowed:
        attempt.device.approximate_last_sign_in_date_time = now
    return decision, sign_in_entry(attempt, context, decision, now)


def sign_in_entry(attempt: SignInAttempt, context: SignInContext, decision: Decision, now: dt.datetime) -> SignIn:
    device = attempt.device
    ca = decision.to_sign_in_log()
    document: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "createdDateTime": graph_datetime(now),
        "userDisplayName": attempt.user.display_name,
        "userPrincipalName": attempt.user.user_principal_name.lower(),
        "userId": attempt.user.id,
        "appId": attempt.client_app_id,
        "appDisplayName": attempt.client_display_name,
        "ipAddress": attempt.ip_address,
        "clientAppUsed": CLIENT_APP_USED.get(context.client_app_type, "Other clients"),
        "correlationId": attempt.correlation_id,
        "conditionalAccessStatus": ca["conditionalAccessStatus"],
        "isInteractive": attempt.is_interactive,
        "riskDetail": "none",
        "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none",
        "riskState": "none",
        "riskEventTypes_v2": [],
        "resourceDisplayName": attempt.resource.display_name,
        "resourceId": attempt.resource.app_id,
        "resourceTenantId": attempt.user.tenant_id,
        "homeTenantId": attempt.user.tenant_id,
        "userAgent": attempt.user_agent,
        "status": ca["status"],
        "deviceDetail": {
            "deviceId": device.device_id if device else "",
            "displayName": device.display_name if device else "",
            "operatingSystem": (device.operating_system if device else None) or context.device_platform or "",
            "browser": "",
            "isCompliant": bool(device.is_compliant) if device else False,
            "isManaged": bool(device.is_managed) if device else False,
            "trustType": device.trust_type if device else "",
        },
        "location": {
            "city": None,
            "state": None,
            "countryOrRegion": None,
            "geoCoordinates": {"altitude": None, "latitude": None, "longitude": None},
        },
        "appliedConditionalAccessPolicies": ca["appliedConditionalAccessPolicies"],
        "processingTimeInMilliseconds": 0,
        "tokenIssuerName": "",
        "networkLocationDetails": [],
        "authenticationDetails": [],
        "authenticationProcessingDetails": [],
        "riskEventTypes": [],
        # beta-only properties
        "signInEventTypes": ["interactiveUser" if attempt.is_interactive else "nonInteractiveUser"],
        "authenticationRequirement": "multiFactorAuthentication"
        if "mfa" in attempt.auth_methods
        else "singleFactorAuthentication",
        "authenticationProtocol": attempt.protocol,
        "incomingTokenType": attempt.incoming_token_type,
        "userType": "guest" if attempt.user.user_type == "Guest" else "member",
        "clientCredentialType": "none",
        "tokenIssuerType": "AzureAD",
    }
    return SignIn(
        id=document["id"],
        tenant_id=attempt.user.tenant_id,
        created_date_time=now,
        user_id=attempt.user.id,
        user_principal_name=document["userPrincipalName"],
        app_id=attempt.client_app_id,
        device_id=device.device_id if device else None,
        conditional_access_status=document["conditionalAccessStatus"],
        error_code=int(ca["status"]["errorCode"]),
        is_interactive=attempt.is_interactive,
        sign_in_event_types=document["signInEventTypes"],
        correlation_id=attempt.correlation_id,
        document=document,
    )
