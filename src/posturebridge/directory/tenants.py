"""Tenant provisioning: tenants, domains, users, groups, applications and their grants.

Used by the command line (``posturebridge directory …``), the demo seed and the Graph routes. Each
function adds rows and audit entries to the caller's session; the caller commits.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from posturebridge.common.errors import CommandError
from posturebridge.directory import catalog
from posturebridge.directory.audit import SYSTEM, Change, Initiator, Target, record
from posturebridge.directory.models import (
    Application,
    ApplicationPassword,
    AppRoleAssignment,
    Domain,
    ServicePrincipal,
    Tenant,
    User,
)
from posturebridge.directory.secrets import hash_password, hash_secret, new_client_secret

# appOwnerOrganizationId of Microsoft's first-party service principals (the "Microsoft Services" tenant).
MICROSOFT_SERVICES_TENANT_ID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"


def _app_roles(app_id: str) -> tuple[catalog.AppRole, ...]:
    return catalog.APPLICATION_PERMISSIONS if app_id == catalog.MICROSOFT_GRAPH_APP_ID else ()


def _scopes(app_id: str) -> tuple[catalog.PermissionScope, ...]:
    return catalog.DELEGATED_PERMISSIONS if app_id == catalog.MICROSOFT_GRAPH_APP_ID else ()


class ProvisioningError(CommandError):
    """Input that cannot be provisioned; the message names the problem."""


_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_PREFIX = re.compile(r"^[a-z0-9]{1,27}$")


def _validate_domain(name: str) -> str:
    lowered = name.strip().lower()
    if not _DOMAIN.match(lowered):
        raise ProvisioningError(f"invalid domain name {name!r}")
    return lowered


def find_tenant(session: Session, tenant: str) -> Tenant | None:
    """A tenant by its GUID or by one of its verified domains."""
    found = session.get(Tenant, tenant.lower())
    if found is not None:
        return found
    domain = session.get(Domain, tenant.lower())
    if domain is not None and domain.is_verified:
        return session.get(Tenant, domain.tenant_id)
    return None


def create_tenant(
    session: Session,
    *,
    display_name: str,
    initial_domain_prefix: str,
    verified_domain: str | None,
    now: dt.datetime,
) -> Tenant:
    """A tenant with its ``<prefix>.onmicrosoft.com`` domain, an optional verified custom domain, and the
    service principals of Microsoft's first-party applications (as every real tenant has)."""
    prefix = initial_domain_prefix.strip().lower()
    if not _PREFIX.match(prefix):
        raise ProvisioningError(f"invalid initial domain prefix {initial_domain_prefix!r}: 1-27 letters or digits")
    if not display_name.strip():
        raise ProvisioningError("a tenant needs a display name")
    initial = f"{prefix}.onmicrosoft.com"
    names = [initial] + ([_validate_domain(verified_domain)] if verified_domain else [])
    for name in names:
        if session.get(Domain, name) is not None:
            raise ProvisioningError(f"domain {name} already belongs to a tenant")
    tenant = Tenant(id=str(uuid.uuid4()), display_name=display_name.strip(), created_date_time=now)
    session.add(tenant)
    session.flush()
    session.add(
        Domain(id=initial, tenant_id=tenant.id, is_verified=True, is_initial=True, is_default=not verified_domain)
    )
    if verified_domain:
        session.add(Domain(id=names[1], tenant_id=tenant.id, is_verified=True, is_default=True))
    for app in catalog.FIRST_PARTY_APPS:
        session.add(
            ServicePrincipal(
                id=str(uuid.uuid4()),
                tenant_id=tenant.id,
                app_id=app.app_id,
                display_name=app.display_name,
                app_owner_organization_id=MICROSOFT_SERVICES_TENANT_ID,
                app_roles=[role.to_graph() for role in _app_roles(app.app_id)],
                oauth2_permission_scopes=[scope.to_graph() for scope in _scopes(app.app_id)],
                created_date_time=now,
            )
        )
    session.flush()
    return tenant


def default_domain(session: Session, tenant_id: str) -> str:
    domain = session.scalars(select(Domain).where(Domain.tenant_id == tenant_id, Domain.is_default.is_(True))).first()
    assert domain is not None, "every tenant has a default domain"
    return domain.id


def add_user(
    session: Session,
    tenant: Tenant,
    *,
    user_principal_name: str,
    display_name: str,
    password: str | None,
    now: dt.datetime,
    initiated_by: Initiator = SYSTEM,
    **properties: Any,
) -> User:
    upn = user_principal_name.strip()
    if upn.count("@") != 1:
        raise ProvisioningError(f"userPrincipalName {user_principal_name!r} must be alias@domain")
    alias, domain_name = upn.split("@")
    domain = session.get(Domain, domain_name.lower())
    if domain is None or domain.tenant_id != tenant.id or not domain.is_verified:
        raise ProvisioningError(f"the domain of {upn!r} is not a verified domain of the tenant")
    if not alias or not re.fullmatch(r"[A-Za-z0-9._'\-+]{1,64}", alias):
        raise ProvisioningError(f"invalid alias in userPrincipalName {upn!r}")
    existing = session.scalars(
        select(User).where(User.tenant_id == tenant.id, User.user_principal_name_lower == upn.lower())
    ).first()
    if existing is not None:
        raise ProvisioningError(f"a user with userPrincipalName {upn} already exists")
    user = User(
        id=str(uuid.uuid4()),
        tenant_id=tenant.id,
        user_principal_name=upn,
        user_principal_name_lower=upn.lower(),
        display_name=display_name,
        mail_nickname=alias,
        created_date_time=now,
        password_hash=hash_password(password) if password else None,
        custom_security_attributes={},
        **properties,
    )
    session.add(user)
    record(
        session,
        tenant_id=tenant.id,
        activity="Add user",
        category="UserManagement",
        operation_type="Add",
        initiated_by=initiated_by,
        targets=[Target(user.id, display_name, "User", upn, (Change("DisplayName", None, display_name),))],
        now=now,
    )
    return user


@dataclass(frozen=True)
class NewApplication:
    application: Application
    service_principal: ServicePrincipal
    client_secret: str


def add_application(
    session: Session,
    tenant: Tenant,
    *,
    display_name: str,
    now: dt.datetime,
    redirect_uris: list[str] | None = None,
    public_client_redirect_uris: list[str] | None = None,
    sign_in_audience: str = "AzureADMyOrg",
    secret_lifetime: dt.timedelta = dt.timedelta(days=365),
    initiated_by: Initiator = SYSTEM,
) -> NewApplication:
    """An application registration, its service principal in the home tenant and one client secret."""
    if not display_name.strip():
        raise ProvisioningError("an application needs a display name")
    application = Application(
        id=str(uuid.uuid4()),
        tenant_id=tenant.id,
        app_id=str(uuid.uuid4()),
        display_name=display_name.strip(),
        sign_in_audience=sign_in_audience,
        created_date_time=now,
        web_redirect_uris=list(redirect_uris or []),
        public_client_redirect_uris=list(public_client_redirect_uris or []),
        identifier_uris=[],
        spa_redirect_uris=[],
        required_resource_access=[],
        app_roles=[],
    )
    session.add(application)
    secret = add_client_secret(session, application, now=now, lifetime=secret_lifetime)
    principal = ServicePrincipal(
        id=str(uuid.uuid4()),
        tenant_id=tenant.id,
        app_id=application.app_id,
        display_name=application.display_name,
        app_owner_organization_id=tenant.id,
        app_roles=[],
        oauth2_permission_scopes=[],
        tags=[],
        custom_security_attributes={},
        created_date_time=now,
    )
    session.add(principal)
    session.flush()
    record(
        session,
        tenant_id=tenant.id,
        activity="Add application",
        category="ApplicationManagement",
        operation_type="Add",
        initiated_by=initiated_by,
        targets=[Target(application.id, application.display_name, "Application")],
        now=now,
    )
    record(
        session,
        tenant_id=tenant.id,
        activity="Add service principal",
        category="ApplicationManagement",
        operation_type="Add",
        initiated_by=initiated_by,
        targets=[Target(principal.id, principal.display_name, "ServicePrincipal")],
        now=now,
    )
    return NewApplication(application, principal, secret)


def add_client_secret(
    session: Session,
    application: Application,
    *,
    now: dt.datetime,
    lifetime: dt.timedelta = dt.timedelta(days=365),
    replace_existing: bool = False,
) -> str:
    """A new passwordCredential for ``application``; the secret is returned once and stored as a hash."""
    if replace_existing:
        for old in session.scalars(
            select(ApplicationPassword).where(ApplicationPassword.application_id == application.id)
        ):
            session.delete(old)
        session.flush()
    secret = new_client_secret()
    session.add(
        ApplicationPassword(
            key_id=str(uuid.uuid4()),
            application_id=application.id,
            display_name="posturebridge",
            hint=secret[:3],
            secret_hash=hash_secret(secret),
            start_date_time=now,
            end_date_time=now + lifetime,
        )
    )
    return secret


def grant_application_permissions(
    session: Session,
    tenant: Tenant,
    principal: ServicePrincipal,
    permissions: list[str],
    *,
    now: dt.datetime,
    resource_app_id: str = catalog.MICROSOFT_GRAPH_APP_ID,
    initiated_by: Initiator = SYSTEM,
) -> list[AppRoleAssignment]:
    """Grant application permissions (app roles of ``resource_app_id``) to ``principal``, as admin consent does."""
    resource = session.scalars(
        select(ServicePrincipal).where(
            ServicePrincipal.tenant_id == tenant.id, ServicePrincipal.app_id == resource_app_id
        )
    ).first()
    if resource is None:
        raise ProvisioningError(f"no service principal for resource application {resource_app_id} in the tenant")
    roles = {role["value"]: role["id"] for role in resource.app_roles}
    granted = []
    for permission in permissions:
        role_id = roles.get(permission)
        if role_id is None:
            raise ProvisioningError(f"{resource.display_name} has no application permission {permission!r}")
        exists = session.scalars(
            select(AppRoleAssignment).where(
                AppRoleAssignment.principal_id == principal.id,
                AppRoleAssignment.resource_id == resource.id,
                AppRoleAssignment.app_role_id == role_id,
            )
        ).first()
        if exists is not None:
            granted.append(exists)
            continue
        assignment = AppRoleAssignment(
            id=_assignment_id(),
            tenant_id=tenant.id,
            principal_id=principal.id,
            resource_id=resource.id,
            app_role_id=role_id,
            created_date_time=now,
        )
        session.add(assignment)
        granted.append(assignment)
        record(
            session,
            tenant_id=tenant.id,
            activity="Add app role assignment to service principal",
            category="ApplicationManagement",
            operation_type="Assign",
            initiated_by=initiated_by,
            targets=[
                Target(
                    principal.id,
                    principal.display_name,
                    "ServicePrincipal",
                    changes=(Change("AppRole.Value", None, permission),),
                )
            ],
            now=now,
        )
    session.flush()
    return granted


def _assignment_id() -> str:
    """appRoleAssignment ids are base64url strings in Graph (not GUIDs)."""
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes[:8]).decode().rstrip("=")
