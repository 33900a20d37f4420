"""The token endpoint's grant types, one handler each, in a registry.

``client_credentials`` (client secret or certificate), ``authorization_code`` (with PKCE),
``refresh_token`` (rotating) and ``srv_challenge`` (a device nonce, [MS-OAPXBC]). Handlers run in one
database session; the route commits on success.

A user sign-in is "from" a device when the request carries a valid ``x-ms-DeviceCredential`` proof
(see `devices`) or when the code or refresh token remembers a device proved earlier; the access
token then carries ``deviceid``. A remembered device that was disabled or deleted since refuses the
refresh (AADSTS135011): Entra denies every authentication using a disabled device
(learn.microsoft.com/entra/identity/devices/manage-stale-devices).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from posturebridge.common.cache import TtlCache
from posturebridge.common.clock import aware
from posturebridge.directory import signins
from posturebridge.directory.auth.clients import AuthenticatedClient, authenticate
from posturebridge.directory.auth.devices import DeviceEvidence, device_still_valid, from_device_credential, issue_nonce
from posturebridge.directory.auth.errors import (
    OAuthError,
    conditional_access_error,
    invalid_grant,
    invalid_scope,
    missing_parameter,
    tenant_not_found,
)
from posturebridge.directory.auth.resources import (
    RequestedScopes,
    granted_roles,
    granted_scopes,
    parse_scopes,
    resolve_resource,
)
from posturebridge.directory.auth.tokens import (
    AppPrincipal,
    TokenIssuer,
    UserPrincipal,
    new_opaque_token,
    token_hash,
)
from posturebridge.directory.models import AuthorizationCode, Device, RefreshToken, ServicePrincipal, Tenant, User
from posturebridge.directory.signins import PolicyCache
from posturebridge.directory.tenants import find_tenant, user_role_template_ids

REFRESH_TOKEN_LIFETIME = dt.timedelta(days=90)


@dataclass
class TokenRequest:
    session: Session
    tokens: TokenIssuer
    tenant_row: Tenant | None  # None at /common or /organizations until a grant names its tenant
    tenant_name: str
    form: dict[str, str]
    authorization: str | None
    base_url: str
    token_endpoints: set[str]
    now: dt.datetime
    device_credential: str | None = None
    policies: PolicyCache | None = None  # Conditional Access; None only where a caller evaluates elsewhere
    user_agent: str | None = None
    ip_address: str | None = None
    msal: bool = False
    correlation_id: str | None = None
    app_grants: TtlCache[AppGrant] | None = None

    @property
    def tenant(self) -> Tenant:
        if self.tenant_row is None:
            raise tenant_not_found(self.tenant_name)
        return self.tenant_row


MULTI_TENANT_NAMES = frozenset({"common", "organizations"})


def tenant_for_request(session: Session, tenant_name: str, form: dict[str, str]) -> Tenant | None:
    """The tenant a token request is for: named in the path, or for /common the one of its code or token."""
    if tenant_name.lower() not in MULTI_TENANT_NAMES:
        return find_tenant(session, tenant_name)
    row: AuthorizationCode | RefreshToken | None = None
    if form.get("code"):
        row = session.get(AuthorizationCode, token_hash(form["code"]))
    elif form.get("refresh_token"):
        row = session.get(RefreshToken, token_hash(form["refresh_token"]))
    return session.get(Tenant, row.tenant_id) if row is not None else None


Grant = Callable[[TokenRequest], dict[str, Any]]
GRANTS: dict[str, Grant] = {}


def grant(name: str) -> Callable[[Grant], Grant]:
    def register(handler: Grant) -> Grant:
        GRANTS[name] = handler
        return handler

    return register


def handle(request: TokenRequest) -> dict[str, Any]:
    grant_type = request.form.get("grant_type")
    if not grant_type:
        raise missing_parameter("grant_type")
    handler = GRANTS.get(grant_type)
    if handler is None:
        raise OAuthError(
            "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant_type}'."
        )
    return handler(request)


def _authenticate(request: TokenRequest, *, allow_public: bool) -> AuthenticatedClient:
    return authenticate(
        request.session,
        request.tenant,
        request.form,
        request.authorization,
        request.token_endpoints,
        request.now,
        allow_public=allow_public,
    )


@dataclass(frozen=True)
class AppGrant:
    """What a successful client-credentials request decided, reused for a few seconds by the same secret."""

    tenant_id: str
    client: AppPrincipal
    audience: str
    roles: tuple[str, ...]


# A new secret, a revoked secret or a changed grant takes effect within this many seconds on every directory
# process (Entra itself documents propagation delays of minutes); the signature is fresh on every token.
APP_GRANT_SECONDS = 5.0


def _app_grant_key(tenant_name: str, form: dict[str, str], authorization: str | None) -> tuple[str, ...] | None:
    secret = form.get("client_secret")
    if not secret or authorization or form.get("grant_type") != "client_credentials":
        return None
    return (
        tenant_name.lower(),
        form.get("client_id", ""),
        hashlib.sha256(secret.encode()).hexdigest(),
        form.get("scope", ""),
    )


def cached_app_token(
    cache: TtlCache[AppGrant],
    tokens: TokenIssuer,
    tenant_name: str,
    form: dict[str, str],
    authorization: str | None,
    base_url: str,
    now: dt.datetime,
) -> dict[str, Any] | None:
    """The client-credentials response, signed now, when the same secret was checked a moment ago."""
    key = _app_grant_key(tenant_name, form, authorization)
    found = cache.get(key) if key is not None else None
    if found is None:
        return None
    token, expires_in = tokens.app_token(
        base_url=base_url,
        tenant_id=found.tenant_id,
        client=found.client,
        audience=found.audience,
        roles=found.roles,
        now=now,
    )
    return {"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in, "access_token": token}


@grant("client_credentials")
def client_credentials(request: TokenRequest) -> dict[str, Any]:
    client = _authenticate(request, allow_public=False)
    scopes = parse_scopes(request.form.get("scope"))
    if not scopes.is_default or scopes.oidc or scopes.resource_uri is None:
        raise invalid_scope(
            f"The provided value for scope {request.form.get('scope')} is not valid. Client credential flows must have "
            "a scope value with /.default suffixed to the resource identifier (application ID URI).",
            1002012,
        )
    resource = resolve_resource(
        request.session, request.tenant.id, request.tenant_name, scopes.resource_uri, now=request.now
    )
    principal = AppPrincipal(
        client.application.app_id,
        client.service_principal.id,
        client.service_principal.display_name,
        client.credential_type,
    )
    roles = tuple(granted_roles(request.session, client.service_principal, resource))
    token, expires_in = request.tokens.app_token(
        base_url=request.base_url,
        tenant_id=request.tenant.id,
        client=principal,
        audience=resource.app_id,
        roles=roles,
        now=request.now,
    )
    key = _app_grant_key(request.tenant_name, request.form, request.authorization)
    if request.app_grants is not None and key is not None:
        request.app_grants.put(key, AppGrant(request.tenant.id, principal, resource.app_id, roles))
    return {
        "token_type": "Bearer",
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": token,
    }


def _user_principal(session: Session, user: User) -> UserPrincipal:
    roles = user_role_template_ids(session, user.tenant_id, user.id)
    return UserPrincipal(user.id, user.user_principal_name, user.display_name, roles)


def _device(request: TokenRequest, remembered: str | None) -> DeviceEvidence:
    """The device of this sign-in: a fresh proof wins; else the device the code or token remembers."""
    evidence = from_device_credential(
        request.session, request.tenant.id, request.device_credential, request.token_endpoints, request.now
    )
    if evidence.device_id is not None or remembered is None:
        return evidence
    if not device_still_valid(request.session, request.tenant.id, remembered):
        raise invalid_grant(135011, "Device used during the authentication is disabled.")
    return DeviceEvidence(remembered, "remembered by the grant")


def _enforce_conditional_access(
    request: TokenRequest,
    client: AuthenticatedClient,
    user: User,
    resource: ServicePrincipal,
    device_id: str | None,
    auth_methods: list[str],
    interactive: bool,
    incoming_token_type: str,
) -> None:
    """Decide the sign-in by the tenant's CA policies; a refusal is logged, everything else rolled back."""
    assert request.policies is not None
    device = (
        request.session.scalars(
            select(Device).where(Device.tenant_id == request.tenant.id, Device.device_id == device_id)
        ).first()
        if device_id
        else None
    )
    attempt = signins.SignInAttempt(
        user=user,
        client_app_id=client.application.app_id,
        client_display_name=client.application.display_name,
        resource=resource,
        device=device,
        user_agent=request.user_agent,
        ip_address=request.ip_address,
        is_interactive=interactive,
        msal=request.msal,
        auth_methods=tuple(auth_methods),
        correlation_id=request.correlation_id or str(uuid.uuid4()),
        protocol="oAuth2",
        incoming_token_type=incoming_token_type,
    )
    decision, entry = signins.decide(request.session, request.policies, attempt, request.now)
    if decision.allowed:
        request.session.add(entry)
        return
    request.session.rollback()
    request.session.add(entry)
    request.session.commit()
    raise conditional_access_error(decision.error_code, decision.failure_reason)


def _check_user(user: User | None) -> User:
    if user is None:
        raise invalid_grant(50034, "The user account does not exist in the directory.")
    if not user.account_enabled:
        raise invalid_grant(50057, "The user account is disabled.")
    return user


def issue_user_tokens(
    request: TokenRequest,
    client: AuthenticatedClient,
    user: User,
    scopes: RequestedScopes,
    *,
    nonce: str | None,
    device_id: str | None,
    auth_methods: list[str],
    interactive: bool = False,
    incoming_token_type: str = "none",
) -> dict[str, Any]:
    """Access token (and ID token and refresh token when asked) for ``user`` through ``client``, once the tenant's
    Conditional Access policies allow the sign-in (every sign-in is logged, refused ones too)."""
    response: dict[str, Any] = {"token_type": "Bearer"}
    resource_uri = scopes.resource_uri or "https://graph.microsoft.com"
    resource = resolve_resource(request.session, request.tenant.id, request.tenant_name, resource_uri, now=request.now)
    consented = granted_scopes(request.session, client.service_principal, resource, user.id)
    if scopes.is_default or not scopes.permissions:
        scp = consented
    else:
        missing = [permission for permission in scopes.permissions if permission not in consented]
        if missing:
            raise invalid_grant(
                65001,
                f"The user or administrator has not consented to use the application with ID "
                f"'{client.application.app_id}' named '{client.application.display_name}'. Send an interactive "
                "authorization request for this user and resource.",
                suberror="consent_required",
            )
        scp = set(scopes.permissions)
    if request.policies is not None:
        _enforce_conditional_access(
            request, client, user, resource, device_id, auth_methods, interactive, incoming_token_type
        )
    principal = _user_principal(request.session, user)
    token, expires_in = request.tokens.user_token(
        base_url=request.base_url,
        tenant_id=request.tenant.id,
        client_id=client.application.app_id,
        credential_type=client.credential_type,
        user=principal,
        audience=resource.app_id,
        scopes=scp,
        device_id=device_id,
        auth_methods=auth_methods,
        now=request.now,
    )
    granted = sorted(scp)
    response.update(
        {
            "scope": " ".join([f"{resource_uri}/{value}" for value in granted] + sorted(scopes.oidc - {"openid"})),
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": token,
        }
    )
    if "openid" in scopes.oidc:
        response["id_token"] = request.tokens.id_token(
            base_url=request.base_url,
            tenant_id=request.tenant.id,
            client_id=client.application.app_id,
            user=principal,
            nonce=nonce,
            now=request.now,
        )
    if "offline_access" in scopes.oidc:
        value = new_opaque_token()
        request.session.add(
            RefreshToken(
                token_hash=token_hash(value),
                tenant_id=request.tenant.id,
                client_id=client.application.app_id,
                user_id=user.id,
                scope=" ".join(sorted(_scope_items(scopes))),
                device_id=device_id,
                auth_methods=auth_methods,
                created_date_time=request.now,
                expires_date_time=request.now + REFRESH_TOKEN_LIFETIME,
            )
        )
        response["refresh_token"] = value
    if request.form.get("client_info") == "1":
        info = json.dumps({"uid": user.id, "utid": request.tenant.id}, separators=(",", ":")).encode()
        response["client_info"] = base64.urlsafe_b64encode(info).decode().rstrip("=")
    return response


def _scope_items(scopes: RequestedScopes) -> set[str]:
    prefix = f"{scopes.resource_uri}/" if scopes.resource_uri else ""
    return {f"{prefix}{permission}" for permission in scopes.permissions} | set(scopes.oidc)


def _verify_pkce(row: AuthorizationCode, verifier: str | None) -> None:
    if row.code_challenge is None:
        return
    if not verifier:
        raise invalid_grant(
            50148,
            "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.",
        )
    if row.code_challenge_method == "S256":
        computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    else:
        computed = verifier
    if computed != row.code_challenge:
        raise invalid_grant(
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
        )


@grant("authorization_code")
def authorization_code(request: TokenRequest) -> dict[str, Any]:
    code = request.form.get("code")
    if not code:
        raise missing_parameter("code")
    client = _authenticate(request, allow_public=True)
    row = request.session.get(AuthorizationCode, token_hash(code))
    if row is None or row.tenant_id != request.tenant.id or row.client_id != client.application.app_id:
        raise invalid_grant(70000, "The provided value for the 'code' parameter is not valid.")
    if row.redeemed:
        raise invalid_grant(
            54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an "
            "existing refresh token.",
        )
    if aware(row.expires_date_time) <= request.now:
        raise invalid_grant(
            70008,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new "
            "interactive authorization request for this user and resource.",
        )
    if request.form.get("redirect_uri") != row.redirect_uri:
        raise invalid_grant(
            70000,
            "The provided value for the 'redirect_uri' is not valid. The "
            "value must exactly match the redirect URI used to obtain the authorization code.",
        )
    _verify_pkce(row, request.form.get("code_verifier"))
    row.redeemed = True
    user = _check_user(request.session.get(User, row.user_id))
    return issue_user_tokens(
        request,
        client,
        user,
        parse_scopes(row.scope),
        nonce=row.nonce,
        device_id=_device(request, row.device_id).device_id,
        auth_methods=list(row.auth_methods),
        interactive=True,
    )


@grant("refresh_token")
def refresh_token(request: TokenRequest) -> dict[str, Any]:
    value = request.form.get("refresh_token")
    if not value:
        raise missing_parameter("refresh_token")
    client = _authenticate(request, allow_public=True)
    row = request.session.get(RefreshToken, token_hash(value))
    if row is None or row.tenant_id != request.tenant.id:
        raise invalid_grant(9002313, "Invalid request. Request is malformed or invalid.")
    if row.client_id != client.application.app_id:
        raise invalid_grant(70000, "The refresh token was issued to a different client.")
    if row.revoked:
        raise invalid_grant(
            50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed."
        )
    if aware(row.expires_date_time) <= request.now:
        raise invalid_grant(700082, "The refresh token has expired due to inactivity.")
    user = _check_user(request.session.get(User, row.user_id))
    row.revoked = True
    requested = request.form.get("scope")
    scopes = parse_scopes(requested) if requested else parse_scopes(row.scope)
    scopes = RequestedScopes(scopes.resource_uri, scopes.permissions, scopes.oidc | {"offline_access"})
    return issue_user_tokens(
        request,
        client,
        user,
        scopes,
        nonce=None,
        device_id=_device(request, row.device_id).device_id,
        auth_methods=list(row.auth_methods),
        incoming_token_type="refreshToken",
    )


@grant("srv_challenge")
def srv_challenge(request: TokenRequest) -> dict[str, Any]:
    """A nonce for a device proof: ``{"Nonce": "…"}`` ([MS-OAPXBC] 3.1.5.1.2 nonce request and response).

    No client authentication, as in the protocol; at /common the nonce is good for any tenant.
    """
    tenant_id = request.tenant_row.id if request.tenant_row is not None else None
    return {"Nonce": issue_nonce(request.session, tenant_id, request.now)}
