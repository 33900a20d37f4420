"""HTTP routes of the Device Registration Service, served by the directory itself.

Entra's DRS lives at ``https://enterpriseregistration.windows.net``; here it shares the directory's
origin: ``GET /{tenant}/enrollmentserver/contract`` (the contract MSAL reads) and ``GET
/{tenant}/Discover`` (the newer discovery document), ``POST /EnrollmentServer/device/`` (join or
register, any ``api-version``). Discovery sections follow [MS-DVRD] and the community DRS spec
(device-identity.md §1.1). The join call needs a bearer token for the DRS resource (device-identity.md
§1.2): audience ``urn:ms-drs:enterpriseregistration.windows.net`` or its app id, for a user.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from posturebridge.common.database import unit_of_work
from posturebridge.directory.audit import Initiator
from posturebridge.directory.auth.tokens import InvalidToken
from posturebridge.directory.context import Directory
from posturebridge.directory.models import Tenant, User
from posturebridge.directory.registration.service import RegistrationError, parse_join_request, register_device
from posturebridge.directory.tenants import (
    DEVICE_REGISTRATION_SERVICE_APP_ID,
    DEVICE_REGISTRATION_SERVICE_URI,
    find_tenant,
)

DRS_AUDIENCES = frozenset({DEVICE_REGISTRATION_SERVICE_APP_ID, DEVICE_REGISTRATION_SERVICE_URI})


def discovery_document(base: str, tenant: Tenant) -> dict[str, Any]:
    resource_id = DEVICE_REGISTRATION_SERVICE_URI
    return {
        "DiscoveryService": {"DiscoveryEndpoint": f"{base}/{tenant.id}/Discover", "ServiceVersion": "1.9"},
        "DeviceRegistrationService": {
            "RegistrationEndpoint": f"{base}/EnrollmentServer/DeviceEnrollmentWebService.svc",
            "RegistrationResourceId": resource_id,
            "ServiceVersion": "1.0",
        },
        "AuthenticationService": {
            "OAuth2": {
                "AuthCodeEndpoint": f"{base}/{tenant.id}/oauth2/v2.0/authorize",
                "TokenEndpoint": f"{base}/{tenant.id}/oauth2/v2.0/token",
            }
        },
        "IdentityProviderService": {"Federated": False, "PassiveAuthEndpoint": f"{base}/{tenant.id}/wsfed"},
        "DeviceJoinService": {
            "JoinEndpoint": f"{base}/EnrollmentServer/device/",
            "JoinResourceId": resource_id,
            "ServiceVersion": "2.0",
        },
        "TenantInfo": {"DisplayName": tenant.display_name, "TenantId": tenant.id},
    }


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def router(directory: Directory) -> APIRouter:
    api = APIRouter(tags=["device registration"])

    def tenant_or_error(name: str) -> Tenant:
        with directory.sessions() as session:
            tenant = find_tenant(session, name)
            if tenant is None:
                raise RegistrationError("InvalidParameter", f"Tenant '{name}' was not found.", 404)
            session.expunge(tenant)
            return tenant

    async def discover(tenant: str, request: Request) -> JSONResponse:
        try:
            found = await run_in_threadpool(tenant_or_error, tenant)
        except RegistrationError as error:
            return JSONResponse(error.body(directory.clock()), status_code=error.status_code)
        return JSONResponse(discovery_document(str(request.base_url).rstrip("/"), found))

    api.add_api_route("/{tenant}/Discover", discover, methods=["GET"])
    api.add_api_route("/{tenant}/enrollmentserver/contract", discover, methods=["GET"])

    @api.post("/EnrollmentServer/device/")
    async def join(request: Request) -> JSONResponse:
        token = _bearer(request)
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        ip_address = request.client.host if request.client else None

        def run() -> dict[str, Any]:
            now = directory.clock()
            if token is None:
                raise RegistrationError("AuthenticationError", "The request has no bearer token.", 401)
            try:
                claims = directory.tokens.validate(token, audiences=DRS_AUDIENCES, now=now)
            except InvalidToken as error:
                raise RegistrationError("AuthenticationError", f"The access token is invalid: {error}", 401) from None
            if claims.get("idtyp") != "user":
                raise RegistrationError("AuthorizationError", "Only a signed-in user can register a device.", 403)
            parsed = parse_join_request(body)
            with unit_of_work(directory.sessions) as session:
                tenant = session.get(Tenant, claims["tid"])
                user = session.get(User, claims.get("oid"))
                if tenant is None or user is None or user.tenant_id != tenant.id:
                    raise RegistrationError("DirectoryAccountError", "The user was not found in the directory.", 400)
                if not user.account_enabled:
                    raise RegistrationError("AuthorizationError", "The user account is disabled.", 403)
                initiator = Initiator(
                    app_id=str(claims.get("azp") or ""),
                    user_id=user.id,
                    user_principal_name=user.user_principal_name,
                    user_display_name=user.display_name,
                    ip_address=ip_address,
                )
                registered = register_device(session, tenant, user, parsed, initiated_by=initiator, now=now)
                response = registered.response()
                session.commit()
                return response

        try:
            result = await run_in_threadpool(run)
        except RegistrationError as error:
            return JSONResponse(error.body(directory.clock()), status_code=error.status_code)
        return JSONResponse(result, status_code=200)

    return api
