"""Flows the directory tests share: a browser sign-in to a code, a token redemption, a device registration."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from posturebridge.common.clock import utcnow
from posturebridge.device.keys import (
    DeviceKey,
    certificate_request_body,
    certificate_signing_request,
    generate_device_key,
    sign_device_proof,
)
from posturebridge.directory import tenants
from tests.integration.directory.browser import authorize_url, follow, pkce_pair, redirect_params, sign_in
from tests.integration.directory.conftest import DirectoryServer, SeededApp, SeededTenant, SeededUser

DRS_SCOPE = "urn:ms-drs:enterpriseregistration.windows.net/user_impersonation"


@dataclass(frozen=True)
class Code:
    code: str
    verifier: str


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def grant_delegated(
    server: DirectoryServer, tenant: SeededTenant, app: SeededApp, scopes: list[str], resource: str
) -> None:
    with server.session() as session:
        tenant_row = session.get(tenants.Tenant, tenant.id)
        principal = session.get(tenants.ServicePrincipal, app.service_principal_id)
        assert tenant_row is not None and principal is not None
        tenants.grant_delegated_permissions(
            session, tenant_row, principal, scopes, now=utcnow(), resource_app_id=resource
        )
        session.commit()


def browser_code(
    server: DirectoryServer,
    tenant: SeededTenant,
    user: SeededUser,
    app: SeededApp,
    scope: str,
    *,
    http: httpx.Client | None = None,
) -> Code:
    """Sign ``user`` in through the authorize page (consent already granted) and return the code."""
    http = http or server.client()
    verifier, challenge = pkce_pair()
    page = http.get(
        authorize_url(
            server.url,
            tenant.id,
            client_id=app.client_id,
            response_type="code",
            redirect_uri=app.redirect_uri,
            scope=scope,
            state="s1",
            code_challenge=challenge,
            code_challenge_method="S256",
        )
    )
    response = follow(http, sign_in(http, page, user.upn, user.password), app.redirect_uri)
    params = redirect_params(response)
    assert "code" in params, params
    return Code(params["code"], verifier)


def redeem(
    server: DirectoryServer,
    tenant: SeededTenant,
    app: SeededApp,
    code: Code,
    *,
    device_credential: str | None = None,
) -> httpx.Response:
    headers = {"x-ms-DeviceCredential": device_credential} if device_credential else {}
    with server.client() as http:
        return http.post(
            f"/{tenant.id}/oauth2/v2.0/token",
            data={
                "grant_type": "authorization_code",
                "client_id": app.client_id,
                "code": code.code,
                "redirect_uri": app.redirect_uri,
                "code_verifier": code.verifier,
            },
            headers=headers,
        )


@dataclass(frozen=True)
class RegisteredDevice:
    key: DeviceKey
    device_id: str
    certificate_der: bytes
    response: dict[str, Any]


def drs_token(server: DirectoryServer, tenant: SeededTenant, user: SeededUser) -> str:
    grant_delegated(
        server, tenant, tenant.public_app, ["user_impersonation"], tenants.DEVICE_REGISTRATION_SERVICE_APP_ID
    )
    code = browser_code(server, tenant, user, tenant.public_app, f"{DRS_SCOPE} openid offline_access")
    response = redeem(server, tenant, tenant.public_app, code)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def join_body(key: DeviceKey, *, join_type: int = 4, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "CertificateRequest": certificate_request_body(certificate_signing_request(key), key.algorithm),
        "TransportKey": base64.b64encode(key.public_key_pem()).decode(),
        "TargetDomain": "enterpriseregistration.windows.net",
        "DeviceType": "iOS",
        "OSVersion": "17.4.1",
        "DeviceDisplayName": "Megan's iPhone",
        "JoinType": join_type,
        "Attributes": {"ReuseDevice": "true", "ReturnClientSid": "true"},
    }
    body.update(overrides)
    return body


def register(
    server: DirectoryServer, tenant: SeededTenant, user: SeededUser, *, token: str | None = None, **overrides: Any
) -> RegisteredDevice:
    key = generate_device_key()
    token = token or drs_token(server, tenant, user)
    with server.client() as http:
        response = http.post(
            "/EnrollmentServer/device/?api-version=2.0",
            json=join_body(key, **overrides),
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    der = base64.b64decode(body["Certificate"]["RawBody"])
    from cryptography import x509

    device_id = x509.load_der_x509_certificate(der).subject.rfc4514_string().removeprefix("CN=")
    return RegisteredDevice(key, device_id, der, body)


def srv_challenge(server: DirectoryServer, tenant_path: str) -> str:
    with server.client() as http:
        response = http.post(f"/{tenant_path}/oauth2/v2.0/token", data={"grant_type": "srv_challenge"})
    assert response.status_code == 200, response.text
    return str(response.json()["Nonce"])


def device_proof(
    server: DirectoryServer,
    tenant: SeededTenant,
    device: RegisteredDevice,
    nonce: str,
    *,
    key: DeviceKey | None = None,
    certificate_der: bytes | None = None,
) -> str:
    return sign_device_proof(
        key or device.key,
        nonce=nonce,
        audience=f"{server.url}/{tenant.id}/oauth2/v2.0/token",
        client_id=tenant.public_app.client_id,
        now=server.clock(),
        device_certificate=certificate_der if certificate_der is not None else device.certificate_der,
    )


def add_windows_mdm_application(
    server: DirectoryServer,
    tenant_id: str,
    *,
    applies_to: str = "all",
    groups: list[str] | None = None,
    permissions: list[str] | None = None,
    name: str = "posturebridge MDM",
) -> tuple[str, str]:
    """An application registered as the tenant's Windows MDM application (Mobility (MDM and MAM)) with the
    given MDM user scope and application permissions; (appId, client secret)."""
    from posturebridge.directory.models import MobilityManagementPolicy, Tenant

    now = utcnow()
    with server.session() as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        app = tenants.add_application(session, tenant, display_name=name, now=now)
        if permissions:
            tenants.grant_application_permissions(session, tenant, app.service_principal, permissions, now=now)
        session.add(
            MobilityManagementPolicy(
                tenant_id=tenant_id,
                kind="mdm",
                app_id=app.application.app_id,
                display_name=name,
                applies_to=applies_to,
                included_groups=list(groups or []),
                created_date_time=now,
            )
        )
        session.commit()
        return app.application.app_id, app.client_secret
