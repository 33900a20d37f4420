"""The device agent's side: enrol with a token, check in posture samples, read its own record and its
Hub notification inbox, hand over the Entra device ID after registration."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response

from posturebridge.common.database import unit_of_work
from posturebridge.mdm import schemas
from posturebridge.mdm.api import render
from posturebridge.mdm.api.context import MdmContext, device_auth, device_credential
from posturebridge.mdm.service import compliance, device_logs, devices, enrollment
from posturebridge.mdm.service.credentials import DevicePrincipal

SampleBody = Annotated[
    Any,
    Body(
        description="A posture sample; only sequence, nonce and sampledDateTime are required",
        examples=[
            {
                "sequence": 42,
                "nonce": "5f0c2b1e",
                "sampledDateTime": "2024-05-01T10:00:00Z",
                "osVersion": "17.4.1",
                "passcodePresent": True,
                "storageEncrypted": True,
                "compromised": False,
            }
        ],
    ),
]


async def answer_check_in(context: MdmContext, device_id: str, body: Any, credential: str) -> Response:
    """What ``POST /devices/{device_id}/samples`` answers once its body is parsed and its credential hashed:
    the route and its fast path (``mdm.api.fastpath``) both answer with this. Refusals are raised."""
    arrival = compliance.Arrival(None, device_id, body, credential_hash=credential)
    result = await context.check_ins.take(arrival)
    answer = schemas.CheckInResponse(
        device_id=result.device_id,
        disposition="accepted" if result.accepted else "ignoredStale",
        reason=result.reason,
        compliance_state=result.compliance_state,
        is_compliant=result.is_compliant,
        evaluation=result.evaluation_document,
    )
    # Serialised once, here: returning the model would have FastAPI dump, validate and dump it again.
    return Response(answer.model_dump_json(by_alias=True), media_type="application/json")


def router(context: MdmContext) -> APIRouter:
    api = APIRouter(prefix="/api/v1")
    Device = Annotated[DevicePrincipal, Depends(device_auth(context))]
    DeviceCredential = Annotated[str, Depends(device_credential)]

    @api.post("/enroll", response_model=schemas.EnrollResponse, status_code=201, tags=["device agent"])
    def enroll(body: schemas.EnrollRequest) -> schemas.EnrollResponse:
        """Trade an enrolment token for a device record and the device's credential (shown once)."""
        request = enrollment.EnrollmentRequest(
            enrollment_token=body.enrollment_token,
            platform=body.platform,
            model=body.model,
            os_version=body.os_version,
            udid=body.udid,
            serial_number=body.serial_number,
            imei=body.imei,
            ownership=body.ownership,
            user_name=body.user_name,
        )
        with unit_of_work(context.sessions) as session:
            enrolled = enrollment.enroll(session, request, context.now(), context.cache)
            session.commit()
        return schemas.EnrollResponse(
            device_id=enrolled.device.id, device_token=enrolled.device_token, device=render.device(enrolled.device)
        )

    @api.post("/devices/{device_id}/samples", response_model=schemas.CheckInResponse, tags=["device agent"])
    async def check_in(device_id: str, body: SampleBody, credential: DeviceCredential) -> Response:
        """Check in a posture sample; a stale one is ignored, a replayed one refused (409).

        Answered once the sample's transaction has committed; concurrent check-ins share one."""
        return await answer_check_in(context, device_id, body, credential)

    @api.get("/device", response_model=schemas.DeviceOut, tags=["device agent"])
    def own_device(principal: Device) -> schemas.DeviceOut:
        with unit_of_work(context.sessions) as session:
            found = devices.get_device(session, principal.organisation_id, principal.device_id)
            return render.device(found.device, found.user_name)

    @api.put("/device/entraDeviceId", response_model=schemas.DeviceOut, tags=["device agent"])
    def registered(body: schemas.EntraDeviceIdUpdate, principal: Device) -> schemas.DeviceOut:
        """The broker registered the device in Entra: record the Entra device ID."""
        with unit_of_work(context.sessions) as session:
            row = devices.set_entra_device_id(
                session, principal.organisation_id, principal.device_id, body.entra_device_id, context.now()
            )
            session.commit()
        return render.device(row)

    @api.get("/device/notifications", response_model=list[schemas.NotificationOut], tags=["device agent"])
    def inbox(principal: Device, unread: bool = False) -> list[schemas.NotificationOut]:
        with unit_of_work(context.sessions) as session:
            rows = device_logs.inbox(session, principal.organisation_id, principal.device_id, unread_only=unread)
            return [render.notification(n) for n in rows]

    @api.post(
        "/device/notifications/{notification_id}/read", response_model=schemas.NotificationOut, tags=["device agent"]
    )
    def mark_read(notification_id: str, principal: Device) -> schemas.NotificationOut:
        with unit_of_work(context.sessions) as session:
            row = device_logs.mark_read(
                session, principal.organisation_id, principal.device_id, notification_id, context.now()
            )
            session.commit()
        return render.notification(row)

    return api
