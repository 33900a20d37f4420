"""Which resource a scope names, and what a client has been granted on it.

A scope is ``<resource>/<permission>`` or ``<resource>/.default``; ``<resource>`` is an application id
URI (``https://graph.microsoft.com``, ``api://…``) or an application id. A bare permission
(``User.Read``) means Microsoft Graph. OpenID scopes (openid, profile, email, offline_access) name no
resource.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from posturebridge.common.clock import utcnow
from posturebridge.common.ids import is_guid
from posturebridge.directory import catalog, tenants
from posturebridge.directory.auth.errors import OAuthError, invalid_scope
from posturebridge.directory.models import (
    Application,
    AppRoleAssignment,
    OAuth2PermissionGrant,
    ServicePrincipal,
)

OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})

# Application ID URIs of Microsoft's resources (their service principals' servicePrincipalNames).
WELL_KNOWN_RESOURCE_URIS = {
    "https://graph.microsoft.com": catalog.MICROSOFT_GRAPH_APP_ID,
    "https://outlook.office365.com": "00000002-0000-0ff1-ce00-000000000000",
    "https://outlook.office.com": "00000002-0000-0ff1-ce00-000000000000",
    "https://api.manage.microsoft.com": catalog.INTUNE_APP_ID,
    "https://graph.windows.net": catalog.WINDOWS_AZURE_ACTIVE_DIRECTORY_APP_ID,
    tenants.DEVICE_REGISTRATION_SERVICE_URI: tenants.DEVICE_REGISTRATION_SERVICE_APP_ID,
}


@dataclass(frozen=True)
class RequestedScopes:
    resource_uri: str | None
    permissions: tuple[str, ...]  # without the resource prefix; ".default" when asked so
    oidc: frozenset[str]

    @property
    def is_default(self) -> bool:
        return self.permissions == (".default",)


def parse_scopes(scope: str | None) -> RequestedScopes:
    if not scope or not scope.strip():
        raise invalid_scope("The provided request must include a 'scope' input parameter.", 900144)
    resources: set[str] = set()
    permissions: list[str] = []
    oidc: set[str] = set()
    for item in scope.split():
        if item in OIDC_SCOPES:
            oidc.add(item)
            continue
        resource, _, permission = item.rpartition("/")
        if not resource:
            resource, permission = "https://graph.microsoft.com", item
        # rstrip: Intune partners ask for "https://api.manage.microsoft.com//.default" (double slash, literally
        # as Fleet's proxy sends it; partner-compliance-wire.md §1); the resource is the URI without it.
        resources.add(resource.rstrip("/") if resource.startswith("http") else resource)
        permissions.append(permission)
    if len(resources) > 1:
        raise invalid_scope(
            "The provided value for the input parameter 'scope' is not valid. The scope "
            f"{scope} is not valid. Scopes for more than one resource were requested.",
            28000,
        )
    if ".default" in permissions and len(permissions) > 1:
        raise invalid_scope(
            f"The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid. "
            ".default scope can't be combined with resource-specific scopes.",
            70011,
        )
    return RequestedScopes(next(iter(resources), None), tuple(permissions), frozenset(oidc))


def resolve_resource(
    session: Session, tenant_id: str, tenant_name: str, resource_uri: str, *, now: dt.datetime | None = None
) -> ServicePrincipal:
    """The resource's service principal in the tenant, or AADSTS500011."""
    app_id = WELL_KNOWN_RESOURCE_URIS.get(resource_uri)
    if app_id is None and is_guid(resource_uri):
        app_id = resource_uri
    if app_id is None:
        prefix = "api://"
        if resource_uri.startswith(prefix) and is_guid(resource_uri[len(prefix) :]):
            app_id = resource_uri[len(prefix) :]
        else:
            for application in session.scalars(select(Application)):
                if resource_uri in application.identifier_uris:
                    app_id = application.app_id
                    break
    principal = None
    if app_id == tenants.DEVICE_REGISTRATION_SERVICE_APP_ID:
        # Every Entra tenant has the DRS principal; tenants created before we modelled it get it now.
        return tenants.ensure_device_registration_service(session, tenant_id, now=now or utcnow())
    if app_id is not None:
        principal = session.scalars(
            select(ServicePrincipal).where(ServicePrincipal.tenant_id == tenant_id, ServicePrincipal.app_id == app_id)
        ).first()
    if principal is None:
        raise OAuthError(
            "invalid_resource",
            500011,
            f"The resource principal named {resource_uri} was not found in the tenant named {tenant_name}. This can "
            "happen if the application has not been installed by the administrator of the tenant or consented to "
            "by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
        )
    return principal


def granted_roles(session: Session, client: ServicePrincipal, resource: ServicePrincipal) -> list[str]:
    """Values of the application permissions ``client`` holds on ``resource``."""
    role_ids = set(
        session.scalars(
            select(AppRoleAssignment.app_role_id).where(
                AppRoleAssignment.principal_id == client.id, AppRoleAssignment.resource_id == resource.id
            )
        )
    )
    return [role["value"] for role in resource.app_roles if role["id"] in role_ids]


def granted_scopes(
    session: Session, client: ServicePrincipal | None, resource: ServicePrincipal, user_id: str
) -> set[str]:
    """Delegated permissions consented for ``client`` on ``resource``, for everyone or for this user."""
    if client is None:
        return set()
    grants = session.scalars(
        select(OAuth2PermissionGrant).where(
            OAuth2PermissionGrant.client_id == client.id, OAuth2PermissionGrant.resource_id == resource.id
        )
    )
    scopes: set[str] = set()
    for grant in grants:
        if grant.consent_type == "AllPrincipals" or grant.principal_id == user_id:
            scopes.update(grant.scope.split())
    return scopes
