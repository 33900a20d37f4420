"""The authorization endpoint's decisions, without HTTP: which client and redirect URI, who signs in,
what still needs consent, and the authorization code.

Behaviour follows learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow: ``response_type``
``code``; ``response_mode`` query, fragment or form_post; ``state`` and ``nonce`` returned; PKCE with
S256 or plain; ``prompt`` login, none, consent or select_account; ``login_hint``. Errors before the
redirect URI is known to be registered are shown on the error page and never redirected (AADSTS50011
for an unregistered redirect URI); later errors go back to the client as ``error`` and
``error_description`` (codes and messages from learn.microsoft.com/entra/identity-platform/
reference-error-codes).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from posturebridge.directory.audit import Change, Initiator, Target, record
from posturebridge.directory.auth.errors import OAuthError, application_not_found
from posturebridge.directory.auth.resources import RequestedScopes, granted_scopes, parse_scopes, resolve_resource
from posturebridge.directory.auth.tokens import new_opaque_token, token_hash
from posturebridge.directory.models import Application, AuthorizationCode, Domain, ServicePrincipal, Tenant, User
from posturebridge.directory.secrets import verify_password
from posturebridge.directory.tenants import (
    MULTI_TENANT_AUDIENCES,
    can_grant_admin_consent,
    ensure_service_principal,
    find_tenant,
    grant_delegated_permissions,
)

CODE_LIFETIME = dt.timedelta(minutes=10)
RESPONSE_MODES = frozenset({"query", "fragment", "form_post"})
PROMPTS = frozenset({"login", "none", "consent", "select_account"})
MULTI_TENANT_NAMES = frozenset({"common", "organizations"})
_PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


@dataclass(frozen=True)
class AuthorizeParams:
    """The authorize request's parameters, carried unchanged through the sign-in and consent pages."""

    client_id: str = ""
    redirect_uri: str = ""
    response_type: str = ""
    response_mode: str = ""
    scope: str = ""
    state: str = ""
    nonce: str = ""
    prompt: str = ""
    login_hint: str = ""
    domain_hint: str = ""
    code_challenge: str = ""
    code_challenge_method: str = ""

    @classmethod
    def from_mapping(cls, values: Any) -> AuthorizeParams:
        names = {field.name for field in fields(cls)}
        return cls(**{name: str(values.get(name) or "") for name in names})

    def hidden_fields(self) -> dict[str, str]:
        return {name: value for name, value in asdict(self).items() if value}

    @property
    def mode(self) -> str:
        return self.response_mode or "query"


@dataclass(frozen=True)
class Client:
    """A client whose redirect URI checked out: from here on errors may be sent to it."""

    application: Application
    redirect_uri: str


class RedirectableError(Exception):
    """An error the client hears about at its redirect URI."""

    def __init__(self, error: OAuthError) -> None:
        super().__init__(str(error))
        self.error = error


class SignInError(Exception):
    """A sign-in the form shows again with Entra's message (wrong password, disabled account)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"AADSTS{code}: {message}")
        self.code = code
        self.message = message


def registered_redirect_uris(application: Application) -> list[str]:
    return [
        *application.web_redirect_uris,
        *application.public_client_redirect_uris,
        *application.spa_redirect_uris,
    ]


def check_client(
    session: Session, tenant: Tenant | None, tenant_name: str, client_id: str, redirect_uri: str
) -> Client:
    """The application and its redirect URI; OAuthError (for the error page, never redirected) otherwise."""
    if not client_id:
        raise OAuthError(
            "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."
        )
    application = session.scalars(select(Application).where(Application.app_id == client_id)).first()
    if application is None:
        raise application_not_found(client_id, tenant.id if tenant else tenant_name)
    foreign = tenant is not None and application.tenant_id != tenant.id
    if foreign and application.sign_in_audience not in MULTI_TENANT_AUDIENCES:
        raise application_not_found(client_id, tenant_name)
    registered = registered_redirect_uris(application)
    if not registered:
        raise OAuthError("invalid_request", 500113, "No reply address is registered for the application.")
    if not redirect_uri:
        redirect_uri = registered[0]
    if redirect_uri not in registered:
        raise OAuthError(
            "invalid_request",
            50011,
            f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs "
            f"configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches "
            "one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError "
            "to learn more about how to fix this.",
        )
    return Client(application, redirect_uri)


def check_request(params: AuthorizeParams, client: Client, tenant_name: str) -> RequestedScopes:
    """The rest of the request, once errors can be redirected."""

    def fail(error: str, code: int, message: str) -> RedirectableError:
        return RedirectableError(OAuthError(error, code, message))

    if not params.response_type:
        raise fail("invalid_request", 900144, "The request body must contain the following parameter: 'response_type'.")
    if params.response_type != "code":
        raise fail(
            "unsupported_response_type",
            700054,
            f"response_type '{params.response_type}' is not enabled for the application.",
        )
    if params.response_mode and params.response_mode not in RESPONSE_MODES:
        raise fail("invalid_request", 900144, f"The response_mode '{params.response_mode}' is not supported.")
    if params.prompt and params.prompt not in PROMPTS:
        raise fail("invalid_request", 90023, f"Invalid prompt value '{params.prompt}'.")
    if params.code_challenge_method and params.code_challenge_method not in ("S256", "plain"):
        raise fail(
            "invalid_request", 501481, "The Code_Challenge_Method is not supported. Supported values: S256, plain."
        )
    if params.code_challenge and not _PKCE_CHALLENGE.match(params.code_challenge):
        raise fail("invalid_request", 501491, "Invalid size of Code_Challenge parameter.")
    if params.code_challenge_method and not params.code_challenge:
        raise fail(
            "invalid_request", 900144, "The request body must contain the following parameter: 'code_challenge'."
        )
    application = client.application
    if tenant_name.lower() in MULTI_TENANT_NAMES and application.sign_in_audience not in MULTI_TENANT_AUDIENCES:
        raise fail(
            "invalid_request",
            50194,
            f"Application '{application.app_id}'({application.display_name}) is not configured as a multi-tenant "
            "application. Usage of the /common endpoint is not supported for such applications created after "
            "'10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.",
        )
    try:
        return parse_scopes(params.scope)
    except OAuthError as error:
        raise RedirectableError(error) from None


def sign_in(session: Session, tenant: Tenant | None, login: str, password: str) -> User:
    """The user whose password this is; SignInError with Entra's code otherwise."""
    login = login.strip()
    if not login:
        raise SignInError(900144, "Enter a valid email address, phone number, or Skype name.")
    user = find_user(session, tenant, login)
    if user is None:
        where = tenant.id if tenant else login.partition("@")[2]
        raise SignInError(
            50034,
            f"The user account {login} does not exist in the {where} directory. To sign into this application, the "
            "account must be added to the directory.",
        )
    if not verify_password(password, user.password_hash):
        raise SignInError(50126, "Error validating credentials due to invalid username or password.")
    if not user.account_enabled:
        raise SignInError(50057, "The user account is disabled.")
    return user


def find_user(session: Session, tenant: Tenant | None, login: str) -> User | None:
    lowered = login.strip().lower()
    if tenant is None:
        domain = session.get(Domain, lowered.partition("@")[2])
        if domain is None or not domain.is_verified:
            return None
        tenant_id = domain.tenant_id
    else:
        tenant_id = tenant.id
    return session.scalars(
        select(User).where(User.tenant_id == tenant_id, User.user_principal_name_lower == lowered)
    ).first()


def check_user_may_use(client: Client, user: User) -> None:
    """A single-tenant application is only for its own tenant's users (AADSTS700016 otherwise)."""
    application = client.application
    if application.tenant_id != user.tenant_id and application.sign_in_audience not in MULTI_TENANT_AUDIENCES:
        raise RedirectableError(application_not_found(application.app_id, user.tenant_id))


@dataclass(frozen=True)
class PermissionView:
    """One permission as the consent pages show it."""

    resource: str
    value: str
    description: str
    kind: str  # "Delegated" | "Application"


@dataclass(frozen=True)
class ConsentNeed:
    resource: ServicePrincipal
    scopes: tuple[str, ...]  # delegated permissions still to consent
    views: tuple[PermissionView, ...]
    admin_only: bool


def _client_principal(session: Session, tenant_id: str, app_id: str) -> ServicePrincipal | None:
    return session.scalars(
        select(ServicePrincipal).where(ServicePrincipal.tenant_id == tenant_id, ServicePrincipal.app_id == app_id)
    ).first()


def consent_need(
    session: Session,
    user: User,
    client: Client,
    scopes: RequestedScopes,
    *,
    tenant_name: str,
    always: bool,
    now: dt.datetime,
) -> ConsentNeed:
    """The delegated permissions ``user`` has not yet consented to (all requested ones when ``always``)."""
    try:
        resource = resolve_resource(
            session, user.tenant_id, tenant_name, scopes.resource_uri or "https://graph.microsoft.com", now=now
        )
    except OAuthError as error:
        raise RedirectableError(error) from None
    requested = _required_scopes(client.application, resource) if scopes.is_default else list(scopes.permissions)
    described = {scope["value"]: scope for scope in resource.oauth2_permission_scopes}
    unknown = [value for value in requested if value not in described]
    if unknown:
        raise RedirectableError(
            OAuthError(
                "invalid_client",
                650053,
                f"The application '{client.application.display_name}' asked for scope '{unknown[0]}' that doesn't "
                f"exist on the resource '{resource.app_id}'. Contact the app vendor.",
            )
        )
    principal = _client_principal(session, user.tenant_id, client.application.app_id)
    granted = granted_scopes(session, principal, resource, user.id)
    missing = tuple(value for value in requested if always or value not in granted)
    views = tuple(
        PermissionView(
            resource.display_name,
            value,
            str(described[value].get("userConsentDisplayName") or described[value].get("adminConsentDisplayName")),
            "Delegated",
        )
        for value in missing
    )
    admin_only = any(described[value].get("type") == "Admin" for value in missing)
    return ConsentNeed(resource, missing, views, admin_only)


def _required_scopes(application: Application, resource: ServicePrincipal) -> list[str]:
    by_id = {scope["id"]: scope["value"] for scope in resource.oauth2_permission_scopes}
    values: list[str] = []
    for entry in application.required_resource_access:
        if entry.get("resourceAppId") != resource.app_id:
            continue
        for access in entry.get("resourceAccess", []):
            if access.get("type") == "Scope" and access.get("id") in by_id:
                values.append(by_id[access["id"]])
    return values


def admin_approval_required(client: Client) -> RedirectableError:
    return RedirectableError(
        OAuthError(
            "consent_required",
            90094,
            f"The app '{client.application.display_name}' needs permission to access resources in your organization "
            "that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.",
        )
    )


def user_initiator(user: User, ip_address: str | None) -> Initiator:
    return Initiator(
        user_id=user.id,
        user_principal_name=user.user_principal_name,
        user_display_name=user.display_name,
        ip_address=ip_address,
    )


def record_consent(
    session: Session,
    tenant: Tenant,
    principal: ServicePrincipal,
    permissions: list[str],
    *,
    admin: bool,
    initiated_by: Initiator,
    now: dt.datetime,
) -> None:
    """The "Consent to application" audit entry (category ApplicationManagement)."""
    record(
        session,
        tenant_id=tenant.id,
        activity="Consent to application",
        category="ApplicationManagement",
        operation_type="Assign",
        initiated_by=initiated_by,
        targets=[
            Target(
                principal.id,
                principal.display_name,
                "ServicePrincipal",
                changes=(
                    Change("ConsentContext.IsAdminConsent", None, admin),
                    Change("ConsentAction.Permissions", None, " ".join(permissions)),
                ),
            )
        ],
        now=now,
    )


def grant_user_consent(
    session: Session, user: User, client: Client, need: ConsentNeed, *, ip_address: str | None, now: dt.datetime
) -> None:
    """The user's own consent: an OAuth2PermissionGrant (Principal) and its audit entries."""
    if need.admin_only and not can_grant_admin_consent(session, user.tenant_id, user.id):
        raise admin_approval_required(client)
    tenant = session.get(Tenant, user.tenant_id)
    assert tenant is not None
    initiator = user_initiator(user, ip_address)
    principal = ensure_service_principal(session, tenant, client.application, now=now, initiated_by=initiator)
    if need.scopes:
        grant_delegated_permissions(
            session,
            tenant,
            principal,
            list(need.scopes),
            now=now,
            resource_app_id=need.resource.app_id,
            principal=user,
            initiated_by=initiator,
        )
    record_consent(session, tenant, principal, list(need.scopes), admin=False, initiated_by=initiator, now=now)


def issue_code(
    session: Session,
    user: User,
    client: Client,
    params: AuthorizeParams,
    *,
    device_id: str | None,
    auth_methods: list[str],
    now: dt.datetime,
) -> str:
    value = new_opaque_token()
    session.add(
        AuthorizationCode(
            code_hash=token_hash(value),
            tenant_id=user.tenant_id,
            client_id=client.application.app_id,
            user_id=user.id,
            redirect_uri=client.redirect_uri,
            scope=params.scope,
            nonce=params.nonce or None,
            code_challenge=params.code_challenge or None,
            code_challenge_method=(params.code_challenge_method or "plain") if params.code_challenge else None,
            device_id=device_id,
            auth_methods=auth_methods,
            created_date_time=now,
            expires_date_time=now + CODE_LIFETIME,
        )
    )
    return value


def resolve_path_tenant(session: Session, tenant_name: str) -> Tenant | None:
    """The tenant named in the path, None for common/organizations; OAuthError AADSTS90002 if unknown."""
    if tenant_name.lower() in MULTI_TENANT_NAMES:
        return None
    tenant = find_tenant(session, tenant_name)
    if tenant is None:
        raise OAuthError(
            "invalid_request",
            90002,
            f"Tenant '{tenant_name}' not found. Check to make sure you have the correct tenant ID and are signing into "
            "the correct cloud.",
        )
    return tenant
