"""Client authentication at the token endpoint: client secret (post or basic) or private_key_jwt.

Rules and messages follow Entra: an unknown client is AADSTS700016, a wrong secret AADSTS7000215, a
confidential client without credentials AADSTS7000218, a bad assertion AADSTS700027 / 700024.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass

import jwt
from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from posturebridge.common.clock import aware
from posturebridge.directory.auth.errors import OAuthError, application_not_found, invalid_client_secret
from posturebridge.directory.models import (
    Application,
    ApplicationCertificate,
    ApplicationPassword,
    ServicePrincipal,
    Tenant,
)
from posturebridge.directory.secrets import verify_secret

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class AuthenticatedClient:
    application: Application
    service_principal: ServicePrincipal
    credential_type: int  # azpacr: 0 public, 1 secret, 2 certificate


class _SeenAssertions:
    """jti values of accepted client assertions, kept until they expire, so one cannot be replayed."""

    def __init__(self, limit: int = 100_000) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._limit = limit

    def first_use(self, jti: str, expires: float, now: float) -> bool:
        with self._lock:
            while self._seen and (next(iter(self._seen.values())) < now or len(self._seen) > self._limit):
                self._seen.popitem(last=False)
            if jti in self._seen:
                return False
            self._seen[jti] = expires
            return True


SEEN_ASSERTIONS = _SeenAssertions()


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError(
            "invalid_client",
            7000216,
            "The client credentials in the Authorization header are malformed.",
            status_code=401,
        ) from None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def authenticate(
    session: Session,
    tenant: Tenant,
    form: dict[str, str],
    authorization: str | None,
    token_endpoints: set[str],
    now: dt.datetime,
    *,
    allow_public: bool,
) -> AuthenticatedClient:
    basic = _basic_credentials(authorization)
    client_id = form.get("client_id") or (basic[0] if basic else None)
    if not client_id:
        raise OAuthError(
            "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."
        )
    application = session.scalars(select(Application).where(Application.app_id == client_id)).first()
    principal = session.scalars(
        select(ServicePrincipal).where(ServicePrincipal.tenant_id == tenant.id, ServicePrincipal.app_id == client_id)
    ).first()
    if application is None or principal is None:
        raise application_not_found(client_id, tenant.id)
    if not principal.account_enabled:
        raise OAuthError(
            "unauthorized_client",
            7000112,
            f"Application '{client_id}'({principal.display_name}) is disabled.",
        )

    secret = form.get("client_secret") or (basic[1] if basic else None)
    assertion = form.get("client_assertion")
    if secret:
        _check_secret(session, application, secret, now)
        return AuthenticatedClient(application, principal, 1)
    if assertion:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise OAuthError("invalid_request", 700023, "Client assertion audience claim does not match Realm issuer.")
        _check_assertion(session, application, assertion, token_endpoints, now)
        return AuthenticatedClient(application, principal, 2)
    if allow_public and (application.is_fallback_public_client or application.public_client_redirect_uris):
        return AuthenticatedClient(application, principal, 0)
    raise OAuthError(
        "invalid_client",
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        status_code=401,
    )


def _check_secret(session: Session, application: Application, secret: str, now: dt.datetime) -> None:
    passwords = session.scalars(select(ApplicationPassword).where(ApplicationPassword.application_id == application.id))
    for password in passwords:
        if verify_secret(secret, password.secret_hash):
            if aware(password.end_date_time) <= now:
                raise OAuthError(
                    "invalid_client",
                    7000222,
                    f"The provided client secret keys for app '{application.app_id}' are expired. Visit the Azure "
                    "portal to create new keys for your app.",
                    status_code=401,
                )
            return
    raise invalid_client_secret(application.app_id)


def _check_assertion(
    session: Session, application: Application, assertion: str, token_endpoints: set[str], now: dt.datetime
) -> None:
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise OAuthError("invalid_client", 50027, "JWT token is invalid or malformed.", status_code=401) from None
    thumbprint_b64 = header.get("x5t")
    if not isinstance(thumbprint_b64, str):
        raise OAuthError(
            "invalid_client",
            700027,
            "Client assertion contains an invalid signature. [Reason - The key was not found.]",
            status_code=401,
        )
    try:
        padded = thumbprint_b64 + "=" * (-len(thumbprint_b64) % 4)
        thumbprint = base64.urlsafe_b64decode(padded).hex().upper()
    except (binascii.Error, ValueError):
        raise OAuthError("invalid_client", 50027, "JWT token is invalid or malformed.", status_code=401) from None
    certificate_row = session.scalars(
        select(ApplicationCertificate).where(
            ApplicationCertificate.application_id == application.id,
            ApplicationCertificate.thumbprint == thumbprint,
        )
    ).first()
    if certificate_row is None:
        raise OAuthError(
            "invalid_client",
            700027,
            f"Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used "
            f"by client: '{thumbprint}'.]",
            status_code=401,
        )
    certificate = x509.load_pem_x509_certificate(certificate_row.certificate_pem.encode())
    try:
        claims = jwt.decode(
            assertion,
            certificate.public_key(),  # type: ignore[arg-type]
            algorithms=["RS256", "PS256"],
            options={"require": ["exp", "aud", "iss", "sub"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise OAuthError(
            "invalid_client", 700024, "Client assertion is not within its valid time range.", status_code=401
        ) from None
    except jwt.PyJWTError:
        raise OAuthError(
            "invalid_client", 700027, "Client assertion failed signature validation.", status_code=401
        ) from None
    if claims.get("iss") != application.app_id or claims.get("sub") != application.app_id:
        raise OAuthError(
            "invalid_client",
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
            status_code=401,
        )
    if claims.get("aud") not in token_endpoints:
        raise OAuthError(
            "invalid_client",
            700212,
            "No matching federated identity record found for presented assertion audience.",
            status_code=401,
        )
    jti = claims.get("jti")
    if isinstance(jti, str) and not SEEN_ASSERTIONS.first_use(jti, float(claims["exp"]), now.timestamp()):
        raise OAuthError(
            "invalid_client",
            700027,
            "Client assertion failed signature validation. [Reason - The assertion was already used.]",
            status_code=401,
        )
