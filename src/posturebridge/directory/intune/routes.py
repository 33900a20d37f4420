"""The Intune partner endpoints under ``/intune/{tenantId}/``, as partner-compliance-wire.md records them:

- ``PUT  TenantDataSync/PartnerTenants(guid'{tenantId}')?api-version=1.6`` -> 200
  ``{Key, ContextId, Provisioned, HttpStatusCode, ErrorDetail}`` (§3)
- ``POST TenantDataSync/PartnerCompliancePolicies?api-version=1.6`` -> 201 policy, 409 when one exists;
  ``GET`` the same URL -> ``{value: [...]}`` (§3)
- ``POST TenantDataSync/PartnerCompliancePolicies(guid'{id}')/Assign?api-version=1.6``
  ``{assignments: [groupId]}`` -> ``{value: "<JSON string>"}`` (§3)
- ``PUT  DeviceDataSync/DataUploadMessages(guid'{messageId}')?api-version=1.2`` (1.0 accepted) -> 202 with the
  message (Pending), processed in the background right after the response (§4)
- ``GET  DeviceDataSync/DataUploadMessages(guid'{messageId}')?api-version=1.2`` -> ``{Status, ErrorCode,
  ErrorDetail, ...}``; Status Pending | Processing | Completed | Failed (§5)

Partners find the two base URLs only through the Intune service principal's ``endPoints`` on Graph.
Responses carry OData v3 ``odata.metadata`` like the recorded examples. Routes parse, call one service
function, commit and render; every successful call is the partner's heartbeat.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, BackgroundTasks, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from posturebridge.directory.context import Directory
from posturebridge.directory.intune import service
from posturebridge.directory.intune.errors import IntuneError, bad_request, not_found
from posturebridge.directory.intune.service import MessageProcessor, PartnerCaller
from posturebridge.directory.intune.wire import (
    STATUS_API_VERSIONS,
    TENANT_API_VERSIONS,
    UPLOAD_API_VERSIONS,
    parse_guid,
)

POLICY_API_VERSIONS = frozenset({"1.6"})


@dataclass
class PartnerCall:
    session: Session
    caller: PartnerCaller
    now: dt.datetime
    base: str  # the service's base URL (…/TenantDataSync or …/DeviceDataSync)


def _api_version(request: Request, allowed: frozenset[str]) -> None:
    version = request.query_params.get("api-version")
    if version not in allowed:
        raise bad_request(
            f"api-version {version!r} is not supported here; use {' or '.join(sorted(allowed, reverse=True))}."
        )


async def _json(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        raise bad_request("The body is not valid JSON.") from None


def _key(text: str, what: str) -> str:
    value = parse_guid(text)
    if value is None:
        raise not_found(f"{what} key {text!r} is not guid'<id>'.")
    return value


def install(app: FastAPI, directory: Directory) -> MessageProcessor:
    """Mount the partner endpoints on ``app``; returns the processor that applies upload messages."""
    processor = MessageProcessor(directory.sessions, lambda: directory.clock())
    router = APIRouter(prefix="/intune/{tenant_id}", include_in_schema=False)

    @contextmanager
    def partner_call(request: Request, tenant_id: str, service_name: str) -> Iterator[PartnerCall]:
        tenant = parse_guid(tenant_id)
        if tenant is None:
            raise not_found(f"Tenant '{tenant_id}' does not exist.")
        now = directory.clock()
        session = directory.sessions()
        try:
            caller = service.authenticate(session, directory.tokens, tenant, request.headers.get("authorization"), now)
            base = f"{str(request.base_url).rstrip('/')}/intune/{tenant}/{service_name}"
            yield PartnerCall(session, caller, now, base)
        finally:
            session.rollback()
            session.close()

    def done(call: PartnerCall) -> None:
        service.heartbeat(call.session, call.caller, call.now)
        call.session.commit()

    @router.put("/TenantDataSync/PartnerTenants({key})")
    async def put_partner_tenant(tenant_id: str, key: str, request: Request) -> JSONResponse:
        _api_version(request, TENANT_API_VERSIONS)
        body = await _json(request)
        with partner_call(request, tenant_id, "TenantDataSync") as call:
            if _key(key, "PartnerTenants") != call.caller.tenant_id:
                raise bad_request("The PartnerTenants key must be the tenant id of the URL and the token.")
            result = service.provision(call.session, call.caller, body, call.now)
            done(call)
            return JSONResponse({"odata.metadata": f"{call.base}/$metadata#PartnerTenants/@Element", **result})

    @router.post("/TenantDataSync/PartnerCompliancePolicies")
    async def create_policy(tenant_id: str, request: Request) -> JSONResponse:
        _api_version(request, POLICY_API_VERSIONS)
        body = await _json(request)
        with partner_call(request, tenant_id, "TenantDataSync") as call:
            policy = service.create_policy(call.session, call.caller, body, call.now)
            done(call)
            rendered = service.render_policy(policy, call.base)
            return JSONResponse(
                {"odata.metadata": f"{call.base}/$metadata#PartnerCompliancePolicies/@Element", **rendered},
                status_code=201,
                headers={"Location": rendered["odata.id"]},
            )

    @router.get("/TenantDataSync/PartnerCompliancePolicies")
    def list_policies(tenant_id: str, request: Request) -> JSONResponse:
        _api_version(request, POLICY_API_VERSIONS)
        with partner_call(request, tenant_id, "TenantDataSync") as call:
            policies = service.list_policies(call.session, call.caller)
            done(call)
            return JSONResponse(
                {
                    "odata.metadata": f"{call.base}/$metadata#PartnerCompliancePolicies",
                    "value": [service.render_policy(policy, call.base) for policy in policies],
                }
            )

    @router.post("/TenantDataSync/PartnerCompliancePolicies({key})/Assign")
    async def assign_policy(tenant_id: str, key: str, request: Request) -> JSONResponse:
        _api_version(request, POLICY_API_VERSIONS)
        body = await _json(request)
        with partner_call(request, tenant_id, "TenantDataSync") as call:
            policy = service.assign_policy(
                call.session, call.caller, _key(key, "PartnerCompliancePolicies"), body, call.now
            )
            done(call)
            return JSONResponse(
                {
                    "odata.metadata": f"{call.base}/$metadata#Edm.String",
                    "value": json.dumps({"assignments": policy.assignments}),
                }
            )

    @router.put("/DeviceDataSync/DataUploadMessages({key})")
    async def put_message(tenant_id: str, key: str, request: Request, background: BackgroundTasks) -> JSONResponse:
        _api_version(request, UPLOAD_API_VERSIONS)
        body = await _json(request)
        with partner_call(request, tenant_id, "DeviceDataSync") as call:
            message, created = service.accept_upload(
                call.session, call.caller, _key(key, "DataUploadMessages"), body, call.now
            )
            done(call)
            if created or message.status == "Pending":
                background.add_task(processor.process, message.id)
            return JSONResponse(
                {
                    "odata.metadata": f"{call.base}/$metadata#DataUploadMessages/@Element",
                    **service.render_message(message),
                },
                status_code=202,
                headers={"Location": f"{call.base}/DataUploadMessages(guid'{message.id}')"},
            )

    @router.get("/DeviceDataSync/DataUploadMessages({key})")
    def get_message(tenant_id: str, key: str, request: Request) -> JSONResponse:
        _api_version(request, STATUS_API_VERSIONS)
        message_id = _key(key, "DataUploadMessages")
        with partner_call(request, tenant_id, "DeviceDataSync") as call:
            message = service.find_message(call.session, call.caller, message_id)
            if message.status in ("Pending", "Processing"):
                call.session.rollback()
                processor.process(message_id)  # fallback when the background run was lost; claiming makes it safe
                message = service.find_message(call.session, call.caller, message_id)
                call.session.refresh(message)
            done(call)
            return JSONResponse(
                {
                    "odata.metadata": f"{call.base}/$metadata#DataUploadMessages/@Element",
                    **service.render_message(message),
                }
            )

    app.include_router(router)

    @app.exception_handler(IntuneError)
    async def intune_error(request: Request, error: IntuneError) -> JSONResponse:
        return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers)

    return processor
