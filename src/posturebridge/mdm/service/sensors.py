"""Sensor results reported by device agents: stored per device and name (the newest wins) and, when a
value moves, handed to the workflow rules in the same transaction (their runs are the outbox)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from posturebridge.common.ids import new_id
from posturebridge.mdm.domain import EnrollmentStatus
from posturebridge.mdm.domain.sensors import SensorChange, SensorReport, SensorResult, merge
from posturebridge.mdm.domain.workflows import SensorsChanged
from posturebridge.mdm.models import DeviceRow, DeviceSensor
from posturebridge.mdm.service import workflows
from posturebridge.mdm.service.errors import Forbidden, NotFound
from posturebridge.mdm.service.transactions import begin_write


@dataclass(frozen=True)
class SensorReportResult:
    device_id: str
    change: SensorChange
    runs_queued: int


def report(
    session: Session, principal_device_id: str, device_id: str, body: object, now: dt.datetime
) -> SensorReportResult:
    """Take a device's own sensor report: ignore results older than the stored ones, store the rest,
    queue the workflow runs that changed values trigger."""
    if device_id != principal_device_id:
        raise NotFound(f"device {device_id} not found", target="deviceId", code="deviceNotFound")
    parsed = SensorReport.from_dict(body, now)
    begin_write(session)
    device = session.scalars(
        select(DeviceRow).where(DeviceRow.id == device_id).with_for_update().execution_options(populate_existing=True)
    ).one_or_none()
    if device is None:
        raise NotFound(f"device {device_id} not found", target="deviceId", code="deviceNotFound")
    if device.enrollment_status != EnrollmentStatus.ENROLLED.value:
        raise Forbidden(f"the device is {device.enrollment_status}; enrol it again", code="deviceNotEnrolled")
    rows = {row.name: row for row in session.scalars(select(DeviceSensor).where(DeviceSensor.device_id == device_id))}
    stored = {name: SensorResult(name, row.value, row.reported_at) for name, row in rows.items()}
    change = merge(stored, parsed)
    for result in change.accepted:
        row = rows.get(result.name)
        if row is None:
            row = DeviceSensor(device_id=device_id, name=result.name, organisation_id=device.organisation_id)
            session.add(row)
            rows[result.name] = row
        row.value, row.reported_at, row.recorded_at = result.value, result.reported_at, now
    queued = 0
    if change.changed:
        values = {name: row.value for name, row in rows.items()}
        event = SensorsChanged(device_id, change.changed, values)
        key = f"sensors:{new_id()}"  # each report is its own event
        queued = workflows.enqueue_event(session, device.organisation_id, event, key, now)
    return SensorReportResult(device_id, change, queued)


def device_sensors(session: Session, organisation_id: str, device_id: str) -> list[DeviceSensor]:
    device = session.scalar(
        select(DeviceRow.id).where(DeviceRow.id == device_id, DeviceRow.organisation_id == organisation_id)
    )
    if device is None:
        raise NotFound(f"device {device_id} not found", target="deviceId", code="deviceNotFound")
    statement = select(DeviceSensor).where(DeviceSensor.device_id == device_id).order_by(DeviceSensor.name)
    return list(session.scalars(statement))


def sensor_values(session: Session, device_id: str) -> dict[str, str]:
    statement = select(DeviceSensor.name, DeviceSensor.value).where(DeviceSensor.device_id == device_id)
    return {name: value for name, value in session.execute(statement)}
