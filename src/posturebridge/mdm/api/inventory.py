"""The device inventory for administrators and the partner service: enrolment tokens, device pages and
exports, the explained compliance verdict, Entra device ID, unenrol/wipe, the CA log and notifications."""

import csv
import datetime as dt
import io
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from posturebridge.common.database import unit_of_work
from posturebridge.mdm import schemas
from posturebridge.mdm.api import render
from posturebridge.mdm.api.context import MdmContext, org_auth
from posturebridge.mdm.domain import EnrollmentStatus
from posturebridge.mdm.service import compliance, device_logs, devices, enrollment
from posturebridge.mdm.service.credentials import OrgPrincipal
from posturebridge.mdm.service.devices import DeviceFilter

CSV_COLUMNS = [
    "id",
    "platform",
    "ownership",
    "enrollmentStatus",
    "enrolledDateTime",
    "lastSeenDateTime",
    "model",
    "osVersion",
    "udid",
    "serialNumber",
    "imei",
    "userId",
    "userName",
    "entraDeviceId",
    "complianceState",
    "isCompliant",
    "lastComplianceCheckDateTime",
    "nextComplianceCheckDateTime",
]


def _filter(
    platform: Annotated[str | None, Query(description="iOS, iPadOS, android, macOS, windows, linux")] = None,
    compliance_state: Annotated[str | None, Query(alias="complianceState")] = None,
    ownership: Annotated[str | None, Query(description="corporate, employeeOwned, shared")] = None,
    enrollment_status: Annotated[str | None, Query(alias="enrollmentStatus")] = None,
    user_id: Annotated[str | None, Query(alias="userId")] = None,
    user_name: Annotated[str | None, Query(alias="userName")] = None,
    last_seen_after: Annotated[dt.datetime | None, Query(alias="lastSeenAfter")] = None,
    last_seen_before: Annotated[dt.datetime | None, Query(alias="lastSeenBefore")] = None,
    registered_in_entra: Annotated[bool | None, Query(alias="registeredInEntra")] = None,
) -> DeviceFilter:
    return DeviceFilter(
        platform=platform,
        compliance_state=compliance_state,
        ownership=ownership,
        enrollment_status=enrollment_status,
        user_id=user_id,
        user_name=user_name,
        last_seen_after=last_seen_after,
        last_seen_before=last_seen_before,
        registered_in_entra=registered_in_entra,
    )


def router(context: MdmContext) -> APIRouter:
    api = APIRouter(prefix="/api/v1")
    Principal = Annotated[OrgPrincipal, Depends(org_auth(context))]
    Filter = Annotated[DeviceFilter, Depends(_filter)]

    @api.post("/enrollmentTokens", response_model=schemas.EnrollmentTokenOut, status_code=201, tags=["enrolment"])
    def create_enrollment_token(
        body: schemas.EnrollmentTokenCreate, principal: Principal
    ) -> schemas.EnrollmentTokenOut:
        """An enrolment token (shown once) for devices of one user, platform and ownership."""
        with unit_of_work(context.sessions) as session:
            new = enrollment.create_token(
                session,
                principal.organisation_id,
                context.now(),
                user_id=body.user_id,
                platform=body.platform,
                ownership=body.ownership,
                expires_in_hours=body.expires_in_hours,
                max_uses=body.max_uses,
            )
            session.commit()
        return render.enrollment_token(new.row, new.token)

    @api.get("/enrollmentTokens", response_model=list[schemas.EnrollmentTokenOut], tags=["enrolment"])
    def list_enrollment_tokens(principal: Principal) -> list[schemas.EnrollmentTokenOut]:
        with unit_of_work(context.sessions) as session:
            return [render.enrollment_token(r) for r in enrollment.list_tokens(session, principal.organisation_id)]

    @api.get("/devices", response_model=schemas.DevicePageOut, tags=["devices"])
    def list_devices(
        principal: Principal,
        criteria: Filter,
        page: Annotated[int, Query(ge=0, description="0-based")] = 0,
        page_size: Annotated[int, Query(alias="pageSize", ge=1, le=devices.MAX_PAGE_SIZE)] = 100,
    ) -> schemas.DevicePageOut:
        with unit_of_work(context.sessions) as session:
            found = devices.list_devices(session, principal.organisation_id, criteria, page, page_size)
            return schemas.DevicePageOut(
                devices=[render.device(d.device, d.user_name) for d in found.devices],
                page=found.page,
                page_size=found.page_size,
                total=found.total,
            )

    @api.get(
        "/devices/export",
        tags=["devices"],
        responses={200: {"content": {"text/csv": {}, "application/json": {}}, "description": "every matching device"}},
    )
    def export_devices(principal: Principal, criteria: Filter, format: Literal["csv", "json"] = "csv") -> Response:
        """Every matching device as CSV (one row per device) or a JSON array."""
        with unit_of_work(context.sessions) as session:
            rows = [
                render.device(d.device, d.user_name).model_dump(by_alias=True, mode="json")
                for d in devices.iter_devices(session, principal.organisation_id, criteria)
            ]
        if format == "json":
            return Response(json.dumps(rows), media_type="application/json")
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="devices.csv"'},
        )

    @api.get("/devices/{device_id}", response_model=schemas.DeviceOut, tags=["devices"])
    def get_device(device_id: str, principal: Principal) -> schemas.DeviceOut:
        with unit_of_work(context.sessions) as session:
            found = devices.get_device(session, principal.organisation_id, device_id)
            return render.device(found.device, found.user_name)

    @api.get("/devices/{device_id}/compliance", response_model=schemas.ComplianceOut, tags=["devices"])
    def get_compliance(device_id: str, principal: Principal) -> schemas.ComplianceOut:
        """The last evaluation: every policy's and rule's outcome, since when, and what happens next."""
        with unit_of_work(context.sessions) as session:
            found = devices.get_device(session, principal.organisation_id, device_id)
            actions = devices.device_actions(session, principal.organisation_id, device_id)
            row = found.device
            return schemas.ComplianceOut(
                device_id=row.id,
                compliance_state=row.compliance_state,
                is_compliant=row.is_compliant,
                evaluation=dict(row.evaluation),
                actions=[render.device_action(a) for a in actions],
            )

    @api.post("/devices/{device_id}/evaluate", response_model=schemas.ComplianceOut, tags=["devices"])
    def evaluate(device_id: str, principal: Principal) -> schemas.ComplianceOut:
        """Re-evaluate compliance now (the console's "re-evaluate compliance" button)."""
        with unit_of_work(context.sessions) as session:
            row, evaluation = compliance.reevaluate(
                session, principal.organisation_id, device_id, context.now(), context.cache
            )
            session.commit()
        return schemas.ComplianceOut(
            device_id=row.id,
            compliance_state=row.compliance_state,
            is_compliant=row.is_compliant,
            evaluation=dict(evaluation.to_dict()),
        )

    @api.put("/devices/{device_id}/entraDeviceId", response_model=schemas.DeviceOut, tags=["devices"])
    def put_entra_device_id(
        device_id: str, body: schemas.EntraDeviceIdUpdate, principal: Principal
    ) -> schemas.DeviceOut:
        """The registration flow hands over the device's Entra device ID (or clears it with null)."""
        with unit_of_work(context.sessions) as session:
            row = devices.set_entra_device_id(
                session, principal.organisation_id, device_id, body.entra_device_id, context.now()
            )
            session.commit()
        return render.device(row)

    def _status(device_id: str, principal: OrgPrincipal, status: EnrollmentStatus) -> schemas.DeviceOut:
        with unit_of_work(context.sessions) as session:
            row = devices.change_enrollment_status(
                session, principal.organisation_id, device_id, status, context.now(), context.cache
            )
            session.commit()
        return render.device(row)

    @api.post("/devices/{device_id}/unenroll", response_model=schemas.DeviceOut, tags=["devices"])
    def unenroll(device_id: str, principal: Principal) -> schemas.DeviceOut:
        return _status(device_id, principal, EnrollmentStatus.UNENROLLED)

    @api.post("/devices/{device_id}/wipe", response_model=schemas.DeviceOut, tags=["devices"])
    def wipe(device_id: str, principal: Principal) -> schemas.DeviceOut:
        return _status(device_id, principal, EnrollmentStatus.WIPED)

    @api.post(
        "/devices/{device_id}/conditionalAccessLog",
        response_model=schemas.CaLogEntryOut,
        status_code=201,
        tags=["devices"],
    )
    def append_ca_log(device_id: str, body: schemas.CaLogEntryCreate, principal: Principal) -> schemas.CaLogEntryOut:
        """The partner service records one call it made for the device."""
        fields = device_logs.CaLogFields(
            occurred_at=body.occurred_date_time,
            channel=body.channel,
            request_summary=body.request_summary,
            response_status=body.response_status,
            error=body.error,
            correlation_id=body.correlation_id,
        )
        with unit_of_work(context.sessions) as session:
            row = device_logs.append_ca_log(session, principal.organisation_id, device_id, fields, context.now())
            session.commit()
        return render.ca_log_entry(row)

    @api.get("/devices/{device_id}/conditionalAccessLog", response_model=list[schemas.CaLogEntryOut], tags=["devices"])
    def read_ca_log(device_id: str, principal: Principal) -> list[schemas.CaLogEntryOut]:
        with unit_of_work(context.sessions) as session:
            return [render.ca_log_entry(r) for r in device_logs.ca_log(session, principal.organisation_id, device_id)]

    @api.post(
        "/devices/{device_id}/notifications", response_model=schemas.NotificationOut, status_code=201, tags=["devices"]
    )
    def send_notification(
        device_id: str, body: schemas.NotificationCreate, principal: Principal
    ) -> schemas.NotificationOut:
        with unit_of_work(context.sessions) as session:
            row = device_logs.send_notification(
                session,
                principal.organisation_id,
                device_id,
                title=body.title,
                body=body.body,
                deep_link=body.deep_link,
                priority=body.priority,
                now=context.now(),
            )
            session.commit()
        return render.notification(row)

    @api.get("/devices/{device_id}/notifications", response_model=list[schemas.NotificationOut], tags=["devices"])
    def list_notifications(device_id: str, principal: Principal) -> list[schemas.NotificationOut]:
        with unit_of_work(context.sessions) as session:
            devices.get_device(session, principal.organisation_id, device_id)
            return [render.notification(n) for n in device_logs.inbox(session, principal.organisation_id, device_id)]

    return api
