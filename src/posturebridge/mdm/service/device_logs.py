"""Per-device records kept for people: the Conditional Access log the partner service appends to, and
the Hub notification inbox the device agent fetches."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from posturebridge.common.ids import new_id
from posturebridge.mdm.models import CaLogEntry, DeviceRow, Notification
from posturebridge.mdm.service.errors import BadRequest, NotFound

PRIORITIES = ("standard", "high", "urgent")


def _device(session: Session, organisation_id: str, device_id: str) -> DeviceRow:
    row = session.scalar(
        select(DeviceRow).where(DeviceRow.id == device_id, DeviceRow.organisation_id == organisation_id)
    )
    if row is None:
        raise NotFound(f"device {device_id} not found", target="deviceId", code="deviceNotFound")
    return row


@dataclass(frozen=True)
class CaLogFields:
    occurred_at: dt.datetime
    channel: str
    request_summary: str
    response_status: int | None = None
    error: str | None = None
    correlation_id: str | None = None


def append_ca_log(
    session: Session, organisation_id: str, device_id: str, fields: CaLogFields, now: dt.datetime
) -> CaLogEntry:
    if fields.occurred_at.tzinfo is None:
        raise BadRequest("must carry a UTC offset", target="occurredDateTime")
    if fields.response_status is not None and not 100 <= fields.response_status <= 599:
        raise BadRequest("must be an HTTP status between 100 and 599", target="responseStatus")
    _device(session, organisation_id, device_id)
    entry = CaLogEntry(
        organisation_id=organisation_id,
        device_id=device_id,
        occurred_at=fields.occurred_at,
        channel=fields.channel,
        request_summary=fields.request_summary,
        response_status=fields.response_status,
        error=fields.error,
        correlation_id=fields.correlation_id,
        recorded_at=now,
    )
    session.add(entry)
    return entry


def ca_log(session: Session, organisation_id: str, device_id: str, limit: int = 500) -> list[CaLogEntry]:
    _device(session, organisation_id, device_id)
    return list(
        session.scalars(
            select(CaLogEntry)
            .where(CaLogEntry.organisation_id == organisation_id, CaLogEntry.device_id == device_id)
            .order_by(CaLogEntry.occurred_at.desc(), CaLogEntry.id.desc())
            .limit(limit)
        )
    )


def send_notification(
    session: Session,
    organisation_id: str,
    device_id: str,
    *,
    title: str,
    body: str,
    deep_link: str | None,
    priority: str,
    now: dt.datetime,
) -> Notification:
    if priority not in PRIORITIES:
        raise BadRequest(f"{priority!r} is not one of: {', '.join(PRIORITIES)}", target="priority")
    if deep_link is not None and "://" not in deep_link:
        raise BadRequest("must be a URL such as wsonehub://conditionalaccess?partner=Microsoft", target="deepLink")
    _device(session, organisation_id, device_id)
    notification = Notification(
        id=new_id(),
        organisation_id=organisation_id,
        device_id=device_id,
        title=title,
        body=body,
        deep_link=deep_link,
        priority=priority,
        created_at=now,
        read_at=None,
    )
    session.add(notification)
    return notification


def inbox(session: Session, organisation_id: str, device_id: str, *, unread_only: bool = False) -> list[Notification]:
    statement = select(Notification).where(
        Notification.organisation_id == organisation_id, Notification.device_id == device_id
    )
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    return list(session.scalars(statement.order_by(Notification.created_at, Notification.id)))


def mark_read(
    session: Session, organisation_id: str, device_id: str, notification_id: str, now: dt.datetime
) -> Notification:
    notification = session.scalar(
        select(Notification).where(
            Notification.id == notification_id,
            Notification.organisation_id == organisation_id,
            Notification.device_id == device_id,
        )
    )
    if notification is None:
        raise NotFound(f"notification {notification_id} not found", target="notificationId")
    if notification.read_at is None:
        notification.read_at = now
    return notification
