"""HTTP routes of the identity platform: discovery, JWKS, token, instance discovery.

Paths as Entra serves them under ``https://login.microsoftonline.com``: ``/{tenant}/v2.0/.well-known/
openid-configuration``, ``/{tenant}/discovery/v2.0/keys``, ``/{tenant}/oauth2/v2.0/token``,
``/common/discovery/instance``. URLs in documents are built from the request's scheme and host, so a
client that reached us as ``https://localhost:8400`` is told ``https://localhost:8400/…``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from posturebridge.directory.auth.devices import DEVICE_CREDENTIAL_HEADER
from posturebridge.directory.auth.errors import OAuthError, tenant_not_found
from posturebridge.directory.auth.grants import (
    MULTI_TENANT_NAMES,
    TokenRequest,
    cached_app_token,
    handle,
    tenant_for_request,
)
from posturebridge.directory.context import Directory
from posturebridge.directory.models import Tenant
from posturebridge.directory.tenants import find_tenant

NO_STORE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def oauth_error_response(error: OAuthError, request: Request) -> JSONResponse:
    correlation = request.headers.get("client-request-id")
    return JSONResponse(error.body(correlation), status_code=error.status_code, headers=NO_STORE)


def discovery_document(base: str, tenant_id: str) -> dict[str, Any]:
    issuer_tenant = tenant_id
    return {
        "token_endpoint": f"{base}/{tenant_id}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{base}/{tenant_id}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/{issuer_tenant}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base}/oidc/userinfo",
        "authorization_endpoint": f"{base}/{tenant_id}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/{tenant_id}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/{tenant_id}/oauth2/v2.0/logout",
        "claims_supported": [
            "sub",
            "iss",
            "cloud_instance_name",
            "cloud_instance_host_name",
            "cloud_graph_host_name",
            "msgraph_host",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "acr",
            "nonce",
            "preferred_username",
            "name",
            "tid",
            "ver",
            "at_hash",
            "c_hash",
            "email",
        ],
        "kerberos_endpoint": f"{base}/{tenant_id}/kerberos",
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }


def router(directory: Directory) -> APIRouter:
    api = APIRouter(tags=["identity platform"])

    def resolve(tenant: str) -> Tenant:
        with directory.sessions() as session:
            found = find_tenant(session, tenant)
            if found is None:
                raise tenant_not_found(tenant)
            session.expunge(found)
            return found

    @api.get("/{tenant}/v2.0/.well-known/openid-configuration")
    async def openid_configuration(tenant: str, request: Request) -> JSONResponse:
        if tenant in ("common", "organizations"):
            return JSONResponse(
                discovery_document(base_url(request), tenant) | {"issuer": f"{base_url(request)}/{{tenantid}}/v2.0"}
            )
        try:
            found = await run_in_threadpool(resolve, tenant)
        except OAuthError as error:
            return oauth_error_response(error, request)
        return JSONResponse(discovery_document(base_url(request), found.id))

    @api.get("/{tenant}/discovery/v2.0/keys")
    async def jwks(tenant: str, request: Request) -> JSONResponse:
        return JSONResponse(await run_in_threadpool(directory.keys.jwks, directory.clock()))

    @api.get("/common/discovery/instance")
    async def instance_discovery(request: Request, authorization_endpoint: str = "") -> JSONResponse:
        base = base_url(request)
        host = request.url.netloc
        tenant = authorization_endpoint.removeprefix(base).strip("/").split("/")[0] or "common"
        return JSONResponse(
            {
                "tenant_discovery_endpoint": f"{base}/{tenant}/v2.0/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
            }
        )

    @api.post("/{tenant}/oauth2/v2.0/token")
    async def token(tenant: str, request: Request) -> JSONResponse:
        form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
        base = base_url(request)

        def run() -> dict[str, Any]:
            cached = cached_app_token(
                directory.app_grants,
                directory.tokens,
                tenant,
                form,
                request.headers.get("authorization"),
                base,
                directory.clock(),
            )
            if cached is not None:
                return cached
            with directory.sessions() as session:
                found = tenant_for_request(session, tenant, form)
                if found is None and tenant.lower() not in MULTI_TENANT_NAMES:
                    raise tenant_not_found(tenant)
                endpoints = {f"{base}/{tenant}/oauth2/v2.0/token"}
                if found is not None:
                    endpoints |= {
                        f"{base}/{found.id}/oauth2/v2.0/token",
                        f"{directory.settings.url('directory')}/{found.id}/oauth2/v2.0/token",
                    }
                result = handle(
                    TokenRequest(
                        session=session,
                        tokens=directory.tokens,
                        tenant_row=found,
                        tenant_name=tenant,
                        form=form,
                        authorization=request.headers.get("authorization"),
                        base_url=base,
                        token_endpoints=endpoints,
                        now=directory.clock(),
                        device_credential=request.headers.get(DEVICE_CREDENTIAL_HEADER),
                        policies=directory.policies,
                        user_agent=request.headers.get("user-agent"),
                        ip_address=request.client.host if request.client else None,
                        msal="x-client-sku" in request.headers,
                        correlation_id=request.headers.get("client-request-id"),
                        app_grants=directory.app_grants,
                    )
                )
                session.commit()
                return result

        try:
            body = await run_in_threadpool(run)
        except OAuthError as error:
            return oauth_error_response(error, request)
        return JSONResponse(body, headers=NO_STORE)

    return api
