"""Admin consent: what an application asks for in a tenant, and granting it tenant-wide.

learn.microsoft.com/entra/identity-platform/v2-admin-consent: with ``/.default`` (and always at the
v1-style ``/adminconsent``) the administrator approves everything in the application's
``requiredResourceAccess`` — application permissions (``Role``, granted as appRoleAssignments) and
delegated permissions (``Scope``, one AllPrincipals oauth2PermissionGrant per resource). Dynamic
scopes at ``/v2.0/adminconsent`` grant exactly the delegated permissions named. Accepting creates
the service principal in the administrator's tenant when it is missing (a multi-tenant application
registered elsewhere), with the audit entries Entra writes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.orm import Session

from posturebridge.directory.auth.authorize import PermissionView, record_consent, user_initiator
from posturebridge.directory.auth.errors import OAuthError
from posturebridge.directory.auth.resources import OIDC_SCOPES, resolve_resource
from posturebridge.directory.models import Application, Tenant, User
from posturebridge.directory.tenants import (
    ProvisioningError,
    ensure_service_principal,
    grant_application_permissions,
    grant_delegated_permissions,
    resource_service_principal,
)


@dataclass(frozen=True)
class ResourcePermissions:
    resource_app_id: str
    resource_name: str
    application: tuple[str, ...]  # appRole values
    delegated: tuple[str, ...]  # oauth2PermissionScope values


def _is_default(scope: str) -> bool:
    items = [item for item in scope.split() if item not in OIDC_SCOPES]
    return not items or all(item.endswith("/.default") for item in items)


def requested_permissions(
    session: Session, tenant: Tenant, application: Application, scope: str, *, now: dt.datetime
) -> list[ResourcePermissions]:
    """What consent in ``tenant`` grants; OAuthError when a permission or resource is unknown."""
    if _is_default(scope):
        return _from_required_resource_access(session, tenant, application, now)
    per_resource: dict[str, list[str]] = defaultdict(list)
    for item in scope.split():
        if item in OIDC_SCOPES:
            continue
        resource_uri, _, permission = item.rpartition("/")
        resource = resolve_resource(
            session, tenant.id, tenant.id, resource_uri or "https://graph.microsoft.com", now=now
        )
        known = {entry["value"] for entry in resource.oauth2_permission_scopes}
        if permission not in known:
            raise OAuthError(
                "invalid_scope",
                70011,
                f"The provided value for the input parameter 'scope' is not valid. The scope {item} is not valid.",
            )
        per_resource[resource.app_id].append(permission)
    result = []
    for app_id, values in per_resource.items():
        resource = resource_service_principal(session, tenant.id, app_id, now=now)
        result.append(ResourcePermissions(app_id, resource.display_name, (), tuple(dict.fromkeys(values))))
    return result


def _from_required_resource_access(
    session: Session, tenant: Tenant, application: Application, now: dt.datetime
) -> list[ResourcePermissions]:
    result = []
    for entry in application.required_resource_access:
        app_id = str(entry.get("resourceAppId", ""))
        try:
            resource = resource_service_principal(session, tenant.id, app_id, now=now)
        except ProvisioningError:
            raise OAuthError(
                "invalid_resource",
                650052,
                f"The app is trying to access a service '{app_id}' that your organization lacks a service principal "
                "for. Contact your IT Admin to review the configuration of your service subscriptions or consent to "
                "the application in order to create the required service principal.",
            ) from None
        roles = {role["id"]: role["value"] for role in resource.app_roles}
        scopes = {scope["id"]: scope["value"] for scope in resource.oauth2_permission_scopes}
        application_values, delegated_values = [], []
        for access in entry.get("resourceAccess", []):
            if access.get("type") == "Role" and access.get("id") in roles:
                application_values.append(roles[access["id"]])
            elif access.get("type") == "Scope" and access.get("id") in scopes:
                delegated_values.append(scopes[access["id"]])
        result.append(
            ResourcePermissions(app_id, resource.display_name, tuple(application_values), tuple(delegated_values))
        )
    return result


def permission_views(
    session: Session, tenant: Tenant, requested: list[ResourcePermissions], *, now: dt.datetime
) -> list[PermissionView]:
    views: list[PermissionView] = []
    for item in requested:
        resource = resource_service_principal(session, tenant.id, item.resource_app_id, now=now)
        roles = {role["value"]: role for role in resource.app_roles}
        scopes = {scope["value"]: scope for scope in resource.oauth2_permission_scopes}
        views.extend(
            PermissionView(item.resource_name, value, str(roles[value].get("displayName", value)), "Application")
            for value in item.application
        )
        views.extend(
            PermissionView(
                item.resource_name, value, str(scopes[value].get("adminConsentDisplayName", value)), "Delegated"
            )
            for value in item.delegated
        )
    return views


def grant_admin_consent(
    session: Session,
    tenant: Tenant,
    admin: User,
    application: Application,
    requested: list[ResourcePermissions],
    *,
    ip_address: str | None,
    now: dt.datetime,
) -> None:
    """Create the service principal if needed and grant everything requested, tenant-wide."""
    initiator = user_initiator(admin, ip_address)
    principal = ensure_service_principal(session, tenant, application, now=now, initiated_by=initiator)
    granted: list[str] = []
    for item in requested:
        if item.application:
            grant_application_permissions(
                session,
                tenant,
                principal,
                list(item.application),
                now=now,
                resource_app_id=item.resource_app_id,
                initiated_by=initiator,
            )
        if item.delegated:
            grant_delegated_permissions(
                session,
                tenant,
                principal,
                list(item.delegated),
                now=now,
                resource_app_id=item.resource_app_id,
                initiated_by=initiator,
            )
        granted.extend([*item.application, *item.delegated])
    record_consent(session, tenant, principal, granted, admin=True, initiated_by=initiator, now=now)
