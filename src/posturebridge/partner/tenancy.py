"""The partner application in one customer tenant: tokens, the consent check, Intune activation, heartbeats.

The partner is one multi-tenant application (registered in the partner's own publisher tenant). After an
administrator of a customer tenant granted it admin consent, its service principal there holds the
application permissions of ``REQUIRED_GRAPH_ROLES`` and it gets app-only tokens for that tenant from the
tenant's authority. Complete setup checks exactly that, then provisions the Intune partner tenant and its
partner compliance policies (``channels.intune.IntuneSetup``), which turns the tenant's
complianceManagementPartner records of this application ``enabled``. Every later call to the Intune partner
endpoints is a heartbeat; ``heartbeat`` makes one when nothing else was sent.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt

from posturebridge.partner.channels.intune import TENANT_API, IntuneSetup
from posturebridge.partner.graph_client import (
    GRAPH_SCOPE,
    Credential,
    GraphClient,
    GraphError,
    MsalTokens,
    TokenError,
    odata_quote,
)
from posturebridge.partner.settings import AUTHORITY_HOST

# What the partner application lists in requiredResourceAccess (Microsoft Graph, application permissions):
# device records, the compliance partner records, and directory reads (Intune service principal endPoints,
# users and groups). The Intune partner endpoints ask for an app-only Intune token of an application holding
# admin consent in the tenant (directory/intune/service.py), which these grant.
REQUIRED_GRAPH_ROLES = ("Device.ReadWrite.All", "DeviceManagementServiceConfig.ReadWrite.All", "Directory.Read.All")
GRAPH_PLATFORM = {"iOS": "ios", "iPadOS": "ios", "android": "android", "macOS": "macOs", "linux": "linux"}


@dataclass(frozen=True)
class Publisher:
    """The partner's multi-tenant application and where its tokens and Graph are."""

    credential: Credential
    authority_host: str
    graph_url: str
    intune_resource: str
    ca_bundle: Path | None = None

    @property
    def client_id(self) -> str:
        return self.credential.client_id

    def verify(self) -> ssl.SSLContext | bool:
        return ssl.create_default_context(cafile=str(self.ca_bundle)) if self.ca_bundle else True


@dataclass
class TenantConnection:
    """Graph and the Intune partner endpoints as the partner application in ``tenant_id``."""

    tenant_id: str
    client_id: str
    tokens: MsalTokens
    graph: GraphClient
    intune: GraphClient

    def beta(self) -> GraphClient:
        return GraphClient(self.graph.base_url, self.tokens, self.graph.http, version="beta")


def connect(publisher: Publisher, tenant_id: str, http: httpx.Client, token_http: httpx.Client) -> TenantConnection:
    tokens = MsalTokens(
        publisher.credential,
        f"{publisher.authority_host.rstrip('/')}/{tenant_id}",
        http=token_http,
        instance_discovery=publisher.authority_host.rstrip("/") == AUTHORITY_HOST,
    )
    graph = GraphClient(publisher.graph_url, tokens, http)
    intune = GraphClient(publisher.graph_url, tokens, http, scope=publisher.intune_resource + "/.default")
    return TenantConnection(tenant_id, publisher.client_id, tokens, graph, intune)


def check_consent(connection: TenantConnection) -> list[str]:
    """The Graph roles the application holds in the tenant; GraphError naming what is missing."""
    try:
        token = connection.tokens.token(GRAPH_SCOPE)
    except TokenError as exc:
        raise GraphError(
            exc.status_code,
            "consentMissing",
            f"no token for tenant {connection.tenant_id}: {exc.message} (was admin consent granted?)",
        ) from None
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    roles = [str(role) for role in claims.get("roles", [])]
    missing = [role for role in REQUIRED_GRAPH_ROLES if role not in roles]
    if missing:
        raise GraphError(
            403,
            "permissionsMissing",
            f"the partner application lacks {', '.join(missing)} in tenant {connection.tenant_id}; "
            "grant admin consent again",
        )
    return roles


def partner_groups(connection: TenantConnection, platforms: Sequence[str]) -> list[str]:
    """The groups that the tenant's complianceManagementPartner records of this application include for
    ``platforms``. The records carry the application's display name, as the portal's partner list does."""
    found = connection.graph.call(
        "GET", f"/servicePrincipals?$filter=appId eq {odata_quote(connection.client_id)}&$select=displayName"
    )
    values = found.body.get("value") if found.ok and isinstance(found.body, dict) else None
    if not values:
        raise GraphError(found.status, "servicePrincipalMissing", "the partner application has no service principal")
    name = str(values[0].get("displayName", "")).lower()
    answer = connection.beta().call("GET", "/deviceManagement/complianceManagementPartners")
    if not answer.ok or not isinstance(answer.body, dict):
        raise GraphError(
            answer.status, "partnerRecordsUnavailable", f"complianceManagementPartners: {answer.error_text()}"
        )
    groups: list[str] = []
    for record in answer.body.get("value", []):
        if str(record.get("displayName", "")).lower() != name:
            continue
        for platform in platforms:
            for assignment in record.get(f"{GRAPH_PLATFORM[platform]}EnrollmentAssignments") or []:
                target = assignment.get("target") or {}
                kind = str(target.get("@odata.type", "")).lstrip("#").removeprefix("microsoft.graph.")
                group_id = target.get("groupId")
                if kind == "groupAssignmentTarget" and group_id and group_id not in groups:
                    groups.append(str(group_id))
    return groups


def activate(
    connection: TenantConnection, platforms: Sequence[str], enrollment_url: str, remediation_url: str
) -> IntuneSetup:
    """Discover the Intune partner endpoints, provision the tenant and create and assign a partner compliance
    policy per platform (GraphError when any step fails, with the directory's reason)."""
    groups = partner_groups(connection, platforms)
    setup = IntuneSetup(
        connection.graph,
        connection.intune,
        connection.tenant_id,
        None,
        enrollment_url,
        remediation_url,
        groups=tuple(groups),
    )
    for platform in platforms:
        setup.ensure(platform)
    return setup


def heartbeat(setup: IntuneSetup) -> str | None:
    """One call to the Intune partner endpoints (the directory records any as the heartbeat); the error or None."""
    try:
        if setup.endpoints is None:
            setup.endpoints = setup.discover()
    except GraphError as exc:
        return f"heartbeat: {exc}"
    endpoints = setup.endpoints
    answer = setup.intune.send("GET", f"{endpoints.tenant_sync}/PartnerCompliancePolicies?{TENANT_API}")
    return None if answer.ok else f"heartbeat: {answer.error_text()}"
