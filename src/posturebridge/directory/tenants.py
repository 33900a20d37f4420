"""Tenant provisioning: tenants, domains, users, groups, applications and their grants.

Used by the command line (``posturebridge directory …``), the demo seed and the Graph routes. Each
function adds rows and audit entries to the caller's session; the caller commits.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from posturebridge.common.errors import CommandError
from posturebridge.directory import catalog
from posturebridge.directory.audit import SYSTEM, Change, Initiator, Target, record
from posturebridge.directory.models import (
    Application,
    ApplicationCertificate,
    ApplicationPassword,
    AppRoleAssignment,
    DirectoryRole,
    DirectoryRoleMember,
    Domain,
    OAuth2PermissionGrant,
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
    scopes = {
        catalog.MICROSOFT_GRAPH_APP_ID: catalog.DELEGATED_PERMISSIONS,
        catalog.EXCHANGE_ONLINE_APP_ID: catalog.EXCHANGE_ONLINE_DELEGATED_PERMISSIONS,
    }
    return scopes.get(app_id, ())


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
    principal = ensure_service_principal(session, tenant, application, now=now, initiated_by=initiated_by)
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


# --- identity platform provisioning: certificates, directory roles, delegated grants, consent ---

# The Device Registration Service: the resource a broker gets a token for before it registers a device
# (device-identity.md §1.2: app id 01cb2876-…, resource URI urn:ms-drs:enterpriseregistration.windows.net,
# delegated scope user_impersonation; himmelblau aad-join-spec §3.3, ROADtools firstpartyscopes.json).
DEVICE_REGISTRATION_SERVICE_APP_ID = "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9"
DEVICE_REGISTRATION_SERVICE_URI = "urn:ms-drs:enterpriseregistration.windows.net"
# Microsoft's id of the user_impersonation scope was not found in a public source: this is a stable local id.
_DRS_USER_IMPERSONATION_ID = str(
    uuid.uuid5(uuid.NAMESPACE_URL, f"{DEVICE_REGISTRATION_SERVICE_URI}/user_impersonation")
)

# Roles that may grant tenant-wide (admin) consent: Global Administrator, Application Administrator,
# Cloud Application Administrator (learn.microsoft.com/entra/identity/enterprise-apps/grant-admin-consent).
CONSENT_ADMIN_ROLE_TEMPLATE_IDS = frozenset(
    {
        "62e90394-69f5-4237-9190-012177145e10",
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "158c047a-c907-4556-b7ef-446551a6b5f7",
    }
)


def ensure_device_registration_service(session: Session, tenant_id: str, *, now: dt.datetime) -> ServicePrincipal:
    """The DRS service principal of the tenant, created on first need (every Entra tenant has one)."""
    existing = session.scalars(
        select(ServicePrincipal).where(
            ServicePrincipal.tenant_id == tenant_id, ServicePrincipal.app_id == DEVICE_REGISTRATION_SERVICE_APP_ID
        )
    ).first()
    if existing is not None:
        return existing
    principal = ServicePrincipal(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        app_id=DEVICE_REGISTRATION_SERVICE_APP_ID,
        display_name="Device Registration Service",
        app_owner_organization_id=MICROSOFT_SERVICES_TENANT_ID,
        app_roles=[],
        oauth2_permission_scopes=[
            {
                "adminConsentDescription": "Allow the application to access Device Registration Service on behalf "
                "of the signed-in user.",
                "adminConsentDisplayName": "Access Device Registration Service",
                "id": _DRS_USER_IMPERSONATION_ID,
                "isEnabled": True,
                "type": "User",
                "userConsentDescription": "Allow the application to register your device on your behalf.",
                "userConsentDisplayName": "Register your device",
                "value": "user_impersonation",
            }
        ],
        tags=[],
        custom_security_attributes={},
        created_date_time=now,
    )
    session.add(principal)
    session.flush()
    return principal


def resource_service_principal(
    session: Session, tenant_id: str, resource_app_id: str, *, now: dt.datetime
) -> ServicePrincipal:
    """The service principal of a resource application in the tenant, or ProvisioningError."""
    if resource_app_id == DEVICE_REGISTRATION_SERVICE_APP_ID:
        return ensure_device_registration_service(session, tenant_id, now=now)
    resource = session.scalars(
        select(ServicePrincipal).where(
            ServicePrincipal.tenant_id == tenant_id, ServicePrincipal.app_id == resource_app_id
        )
    ).first()
    if resource is None:
        raise ProvisioningError(f"no service principal for resource application {resource_app_id} in the tenant")
    return resource


def certificate_thumbprint(certificate: x509.Certificate) -> str:
    """SHA-1 of the DER certificate, uppercase hex (keyCredential.customKeyIdentifier, the x5t msal sends)."""
    return certificate.fingerprint(hashes.SHA1()).hex().upper()  # SHA-1: what Entra uses here


def add_application_certificate(
    session: Session,
    application: Application,
    *,
    certificate_pem: str | bytes,
    now: dt.datetime,
    display_name: str | None = None,
    initiated_by: Initiator = SYSTEM,
) -> ApplicationCertificate:
    """A keyCredential (AsymmetricX509Cert, usage Verify) for ``application``: what private_key_jwt is checked with."""
    data = certificate_pem.encode() if isinstance(certificate_pem, str) else certificate_pem
    try:
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise ProvisioningError("the certificate is not a PEM X.509 certificate") from None
    thumbprint = certificate_thumbprint(certificate)
    duplicate = session.scalars(
        select(ApplicationCertificate).where(
            ApplicationCertificate.application_id == application.id, ApplicationCertificate.thumbprint == thumbprint
        )
    ).first()
    if duplicate is not None:
        raise ProvisioningError(f"the application already has the certificate with thumbprint {thumbprint}")
    row = ApplicationCertificate(
        key_id=str(uuid.uuid4()),
        application_id=application.id,
        display_name=display_name or certificate.subject.rfc4514_string(),
        thumbprint=thumbprint,
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
        start_date_time=certificate.not_valid_before_utc,
        end_date_time=certificate.not_valid_after_utc,
    )
    session.add(row)
    record(
        session,
        tenant_id=application.tenant_id,
        activity="Update application – Certificates and secrets management ",
        category="ApplicationManagement",
        operation_type="Update",
        initiated_by=initiated_by,
        targets=[
            Target(
                application.id,
                application.display_name,
                "Application",
                changes=(Change("KeyDescription", None, f"[KeyIdentifier={row.key_id},KeyType=AsymmetricX509Cert]"),),
            )
        ],
        now=now,
    )
    return row


def assign_directory_role(
    session: Session,
    tenant: Tenant,
    user: User,
    role_template_id: str,
    *,
    now: dt.datetime,
    initiated_by: Initiator = SYSTEM,
) -> DirectoryRole:
    """Make ``user`` a member of a built-in role, activating the role in the tenant first if needed."""
    template = catalog.role_template(role_template_id)
    if template is None:
        raise ProvisioningError(f"unknown directory role template {role_template_id!r}")
    role = session.scalars(
        select(DirectoryRole).where(DirectoryRole.tenant_id == tenant.id, DirectoryRole.role_template_id == template.id)
    ).first()
    if role is None:
        role = DirectoryRole(
            id=str(uuid.uuid4()),
            tenant_id=tenant.id,
            role_template_id=template.id,
            display_name=template.display_name,
            description=template.description,
        )
        session.add(role)
        session.flush()
    if session.get(DirectoryRoleMember, (role.id, user.id)) is None:
        session.add(DirectoryRoleMember(role_id=role.id, member_id=user.id, member_type="user"))
        record(
            session,
            tenant_id=tenant.id,
            activity="Add member to role",
            category="RoleManagement",
            operation_type="Assign",
            initiated_by=initiated_by,
            targets=[
                Target(
                    user.id,
                    user.display_name,
                    "User",
                    user.user_principal_name,
                    (Change("Role.DisplayName", None, template.display_name),),
                )
            ],
            now=now,
        )
        session.flush()
    return role


def user_role_template_ids(session: Session, tenant_id: str, user_id: str) -> tuple[str, ...]:
    """roleTemplateIds of the directory roles ``user_id`` is a direct member of (the ``wids`` claim)."""
    rows = session.scalars(
        select(DirectoryRole.role_template_id)
        .join(DirectoryRoleMember, DirectoryRoleMember.role_id == DirectoryRole.id)
        .where(DirectoryRole.tenant_id == tenant_id, DirectoryRoleMember.member_id == user_id)
    )
    return tuple(sorted(set(rows)))


def can_grant_admin_consent(session: Session, tenant_id: str, user_id: str) -> bool:
    return bool(CONSENT_ADMIN_ROLE_TEMPLATE_IDS.intersection(user_role_template_ids(session, tenant_id, user_id)))


def ensure_service_principal(
    session: Session,
    tenant: Tenant,
    application: Application,
    *,
    now: dt.datetime,
    initiated_by: Initiator = SYSTEM,
) -> ServicePrincipal:
    """The application's service principal in ``tenant``; created (with its audit entry) as consent does."""
    existing = session.scalars(
        select(ServicePrincipal).where(
            ServicePrincipal.tenant_id == tenant.id, ServicePrincipal.app_id == application.app_id
        )
    ).first()
    if existing is not None:
        return existing
    if application.tenant_id != tenant.id and application.sign_in_audience not in MULTI_TENANT_AUDIENCES:
        raise ProvisioningError(f"application {application.app_id} is not a multi-tenant application")
    principal = ServicePrincipal(
        id=str(uuid.uuid4()),
        tenant_id=tenant.id,
        app_id=application.app_id,
        display_name=application.display_name,
        app_owner_organization_id=application.tenant_id,
        app_roles=list(application.app_roles),
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
        activity="Add service principal",
        category="ApplicationManagement",
        operation_type="Add",
        initiated_by=initiated_by,
        targets=[Target(principal.id, principal.display_name, "ServicePrincipal")],
        now=now,
    )
    return principal


MULTI_TENANT_AUDIENCES = frozenset({"AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount"})


def grant_delegated_permissions(
    session: Session,
    tenant: Tenant,
    client: ServicePrincipal,
    scopes: list[str],
    *,
    now: dt.datetime,
    resource_app_id: str = catalog.MICROSOFT_GRAPH_APP_ID,
    principal: User | None = None,
    initiated_by: Initiator = SYSTEM,
) -> OAuth2PermissionGrant:
    """Consent delegated permissions for ``client``: for one user (Principal) or, without ``principal``, for
    everyone (AllPrincipals). Scopes are merged into an existing grant of the same kind."""
    resource = resource_service_principal(session, tenant.id, resource_app_id, now=now)
    known = {scope["value"] for scope in resource.oauth2_permission_scopes}
    unknown = [scope for scope in scopes if scope not in known]
    if unknown:
        raise ProvisioningError(f"{resource.display_name} has no delegated permission {', '.join(unknown)}")
    consent_type = "Principal" if principal is not None else "AllPrincipals"
    same_principal = (
        OAuth2PermissionGrant.principal_id == principal.id
        if principal is not None
        else OAuth2PermissionGrant.principal_id.is_(None)
    )
    grant = session.scalars(
        select(OAuth2PermissionGrant).where(
            OAuth2PermissionGrant.client_id == client.id,
            OAuth2PermissionGrant.resource_id == resource.id,
            OAuth2PermissionGrant.consent_type == consent_type,
            same_principal,
        )
    ).first()
    if grant is None:
        grant = OAuth2PermissionGrant(
            id=_assignment_id(),
            tenant_id=tenant.id,
            client_id=client.id,
            consent_type=consent_type,
            principal_id=principal.id if principal else None,
            resource_id=resource.id,
            scope="",
        )
        session.add(grant)
    old = grant.scope.split()
    grant.scope = " ".join(sorted(set(old) | set(scopes)))
    record(
        session,
        tenant_id=tenant.id,
        activity="Add delegated permission grant" if not old else "Update delegated permission grant",
        category="ApplicationManagement",
        operation_type="Assign",
        initiated_by=initiated_by,
        targets=[
            Target(
                resource.id,
                resource.display_name,
                "ServicePrincipal",
                changes=(Change("DelegatedPermissionGrant.Scope", " ".join(old) or None, grant.scope),),
            )
        ],
        now=now,
    )
    session.flush()
    return grant


def require_permissions(
    session: Session,
    application: Application,
    *,
    resource_app_id: str = catalog.MICROSOFT_GRAPH_APP_ID,
    application_permissions: list[str] | None = None,
    delegated_permissions: list[str] | None = None,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Add permissions to the application's requiredResourceAccess (what admin consent will grant)."""
    resource = resource_service_principal(session, application.tenant_id, resource_app_id, now=now)
    roles = {role["value"]: role["id"] for role in resource.app_roles}
    scopes = {scope["value"]: scope["id"] for scope in resource.oauth2_permission_scopes}
    wanted: list[dict[str, str]] = []
    for value in application_permissions or []:
        if value not in roles:
            raise ProvisioningError(f"{resource.display_name} has no application permission {value!r}")
        wanted.append({"id": roles[value], "type": "Role"})
    for value in delegated_permissions or []:
        if value not in scopes:
            raise ProvisioningError(f"{resource.display_name} has no delegated permission {value!r}")
        wanted.append({"id": scopes[value], "type": "Scope"})
    required = [dict(entry) for entry in application.required_resource_access]
    entry = next((item for item in required if item.get("resourceAppId") == resource_app_id), None)
    if entry is None:
        entry = {"resourceAppId": resource_app_id, "resourceAccess": []}
        required.append(entry)
    access = list(entry.get("resourceAccess", []))
    access.extend(item for item in wanted if item not in access)
    entry["resourceAccess"] = access
    application.required_resource_access = required
    return required


def public_key_hash(certificate: x509.Certificate) -> str:
    """Base64 SHA-256 of the certificate's SubjectPublicKeyInfo (the alternativeSecurityIds key hash)."""
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()
