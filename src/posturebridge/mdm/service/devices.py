"""The device inventory as administrators and the partner service see it: filtered pages, exports,
the explained verdict, enrolment status changes and the Entra device ID from the registration flow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from posturebridge.common.ids import is_guid
from posturebridge.mdm.domain import ComplianceState, EnrollmentStatus
from posturebridge.mdm.models import DeviceAction, DeviceRow, User
from posturebridge.mdm.service import feed
from posturebridge.mdm.service.compliance import ConfigurationCache, device_snapshot, evaluate_row, lock_device
from posturebridge.mdm.service.enrollment import parse_ownership, parse_platform
from posturebridge.mdm.service.errors import BadRequest, Conflict, NotFound
from posturebridge.mdm.service.feed import FeedKind, NewFeedEntry
from posturebridge.mdm.service.transactions import begin_write

MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class DeviceFilter:
    platform: str | None = None
    compliance_state: str | None = None
    ownership: str | None = None
    enrollment_status: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    last_seen_after: dt.datetime | None = None
    last_seen_before: dt.datetime | None = None
    registered_in_entra: bool | None = None

    def validate(self) -> None:
        if self.platform is not None:
            parse_platform(self.platform)
        if self.ownership is not None:
            parse_ownership(self.ownership)
        _check_enum(self.compliance_state, ComplianceState, "complianceState")
        _check_enum(self.enrollment_status, EnrollmentStatus, "enrollmentStatus")
        for name, value in (("lastSeenAfter", self.last_seen_after), ("lastSeenBefore", self.last_seen_before)):
            if value is not None and value.tzinfo is None:
                raise BadRequest("must carry a UTC offset, e.g. 2024-05-01T10:00:00Z", target=name)


def _check_enum(value: str | None, kind: type[ComplianceState] | type[EnrollmentStatus], target: str) -> None:
    if value is not None and value not in {member.value for member in kind}:
        allowed = ", ".join(member.value for member in kind)
        raise BadRequest(f"{value!r} is not one of: {allowed}", target=target)


@dataclass(frozen=True)
class DeviceListing:
    device: DeviceRow
    user_name: str | None


@dataclass(frozen=True)
class DevicePage:
    devices: list[DeviceListing]
    page: int
    page_size: int
    total: int


def _filtered(organisation_id: str, criteria: DeviceFilter) -> Select[DeviceRow, str]:
    statement = (
        select(DeviceRow, User.user_name)
        .outerjoin(User, User.id == DeviceRow.user_id)
        .where(DeviceRow.organisation_id == organisation_id)
    )
    if criteria.platform is not None:
        statement = statement.where(DeviceRow.platform == criteria.platform)
    if criteria.compliance_state is not None:
        statement = statement.where(DeviceRow.compliance_state == criteria.compliance_state)
    if criteria.ownership is not None:
        statement = statement.where(DeviceRow.ownership == criteria.ownership)
    if criteria.enrollment_status is not None:
        statement = statement.where(DeviceRow.enrollment_status == criteria.enrollment_status)
    if criteria.user_id is not None:
        statement = statement.where(DeviceRow.user_id == criteria.user_id)
    if criteria.user_name is not None:
        statement = statement.where(User.user_name == criteria.user_name)
    if criteria.last_seen_after is not None:
        statement = statement.where(DeviceRow.last_seen_at >= criteria.last_seen_after)
    if criteria.last_seen_before is not None:
        statement = statement.where(DeviceRow.last_seen_at < criteria.last_seen_before)
    if criteria.registered_in_entra is True:
        statement = statement.where(DeviceRow.entra_device_id.is_not(None))
    elif criteria.registered_in_entra is False:
        statement = statement.where(DeviceRow.entra_device_id.is_(None))
    return statement


def list_devices(
    session: Session, organisation_id: str, criteria: DeviceFilter, page: int = 0, page_size: int = 100
) -> DevicePage:
    criteria.validate()
    if page < 0:
        raise BadRequest("must be 0 or more", target="page")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise BadRequest(f"must be between 1 and {MAX_PAGE_SIZE}", target="pageSize")
    statement = _filtered(organisation_id, criteria)
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    rows = session.execute(
        statement.order_by(DeviceRow.enrolled_at, DeviceRow.id).offset(page * page_size).limit(page_size)
    ).all()
    return DevicePage([DeviceListing(row[0], row[1]) for row in rows], page, page_size, int(total))


def iter_devices(session: Session, organisation_id: str, criteria: DeviceFilter) -> Iterator[DeviceListing]:
    """Every matching device, in pages, for exports."""
    criteria.validate()
    statement = _filtered(organisation_id, criteria).order_by(DeviceRow.enrolled_at, DeviceRow.id)
    for row in session.execute(statement.execution_options(yield_per=500)):
        yield DeviceListing(row[0], row[1])


def get_device(session: Session, organisation_id: str, device_id: str) -> DeviceListing:
    found = session.execute(_filtered(organisation_id, DeviceFilter()).where(DeviceRow.id == device_id)).one_or_none()
    if found is None:
        raise NotFound(f"device {device_id} not found", target="deviceId", code="deviceNotFound")
    return DeviceListing(found[0], found[1])


def device_actions(session: Session, organisation_id: str, device_id: str) -> list[DeviceAction]:
    get_device(session, organisation_id, device_id)
    return list(
        session.scalars(
            select(DeviceAction)
            .where(DeviceAction.organisation_id == organisation_id, DeviceAction.device_id == device_id)
            .order_by(DeviceAction.id)
        )
    )


def set_entra_device_id(
    session: Session, organisation_id: str, device_id: str, entra_device_id: str | None, now: dt.datetime
) -> DeviceRow:
    """The registration flow hands over (or clears) the device's Entra device ID."""
    if entra_device_id is not None and not is_guid(entra_device_id):
        raise BadRequest(f"{entra_device_id!r} is not an Entra device ID (a lowercase GUID)", target="entraDeviceId")
    begin_write(session)
    row = lock_device(session, device_id, organisation_id)
    if row is None:
        raise NotFound(f"device {device_id} not found", target="deviceId", code="deviceNotFound")
    if row.entra_device_id == entra_device_id:
        return row
    if entra_device_id is not None:
        taken = session.scalar(
            select(DeviceRow.id).where(
                DeviceRow.organisation_id == organisation_id,
                DeviceRow.entra_device_id == entra_device_id,
                DeviceRow.id != device_id,
            )
        )
        if taken is not None:
            raise Conflict(
                f"Entra device {entra_device_id} is already linked to MDM device {taken}",
                target="entraDeviceId",
                code="entraDeviceIdInUse",
            )
    previous = row.entra_device_id
    row.entra_device_id = entra_device_id
    entry = NewFeedEntry(FeedKind.ENTRA_DEVICE_ID, row.id, previous, entra_device_id, {"device": device_snapshot(row)})
    feed.append(session, organisation_id, [entry], now)
    return row


def change_enrollment_status(
    session: Session,
    organisation_id: str,
    device_id: str,
    status: EnrollmentStatus,
    now: dt.datetime,
    cache: ConfigurationCache,
) -> DeviceRow:
    """Unenrol or wipe: the credential stops working and the device becomes noncompliant, in one commit."""
    begin_write(session)
    row = lock_device(session, device_id, organisation_id)
    if row is None:
        raise NotFound(f"device {device_id} not found", target="deviceId", code="deviceNotFound")
    previous = row.enrollment_status
    if previous == status.value:
        return row
    if previous == EnrollmentStatus.WIPED.value:
        raise Conflict("the device was wiped; enrol it again", code="deviceWiped")
    row.enrollment_status = status.value
    row.status_changed_at = now
    status_entry = NewFeedEntry(FeedKind.ENROLLMENT_STATUS, row.id, previous, status.value, {})
    _, entries = evaluate_row(session, row, cache.get(session, organisation_id), now)
    status_entry.payload["device"] = device_snapshot(row)
    feed.append(session, organisation_id, [status_entry, *entries], now)
    return row
