"""The device link: MDM device <-> Entra device ID <-> serial/UDID, and the conflicts that stop a delivery.

The link comes from the MDM (the feed's device snapshot carries the Entra device ID the registration callback
stored; the device listing adds serial number and UDID). Three conflicts are recorded on the link and shown
by ``posturebridge partner conflicts``; while one stands the device is held, not delivered (fail closed: a
device we cannot vouch for is never reported compliant):

- ``duplicateEntraDeviceId``: one Entra device ID on two MDM devices, so a report for one would overwrite
  the other's state: both are refused;
- ``deletedInDirectory``: the directory answers 404 for the device (or Intune reports ``DeviceNotFound``):
  retrying cannot help until the device registers again (a new Entra device ID makes a new link);
- ``registeredToAnotherUser``: the directory device's ``registeredOwners`` do not include the user enrolled
  in the MDM (compared by userPrincipalName, or by the immutable ID the MDM maps to
  ``onPremisesImmutableId``).

A new link is checked against the directory once, before its first delivery, and again at every directory
sync. Helpers never commit.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from posturebridge.partner.graph_client import MAX_BATCH, BatchItem, GraphClient, GraphError
from posturebridge.partner.models import DeliveryItem, DeviceLink
from posturebridge.partner.reconcile import directory_records

DUPLICATE = "duplicateEntraDeviceId"
DELETED = "deletedInDirectory"
OTHER_OWNER = "registeredToAnotherUser"
# Intune's per-device failure codes (DataUploadMessages ErrorDetail) that a retry cannot cure.
INTUNE_REFUSALS = ("UserNotLicensed", "UserNotInScope", "TenantNotLicensed", "DeviceUserMismatch")


@dataclass(frozen=True)
class LinkFacts:
    """What the MDM says of one device."""

    device_id: str
    platform: str
    entra_device_id: str | None
    user_id: str | None = None
    user_principal_name: str | None = None
    serial_number: str | None = None
    udid: str | None = None


@dataclass(frozen=True)
class Owner:
    user_principal_name: str | None
    immutable_id: str | None


@dataclass(frozen=True)
class DirectoryDevice:
    """The directory's answer about one Entra device ID: gone, or its object id and registered owners."""

    deleted: bool
    object_id: str | None = None
    owners: tuple[Owner, ...] | None = None
    """None: not looked up this time (the device only was)."""


def _norm(value: str | None) -> str | None:
    return value.lower() if value else None


def record(session: Session, facts: Iterable[LinkFacts], now: dt.datetime) -> None:
    """Upsert the links; a changed Entra device ID forgets the previous directory check and its conflict."""
    by_id = {fact.device_id: fact for fact in facts}
    if not by_id:
        return
    rows = {row.device_id: row for row in session.scalars(select(DeviceLink).where(DeviceLink.device_id.in_(by_id)))}
    for device_id, fact in by_id.items():
        row = rows.get(device_id)
        if row is None:
            row = DeviceLink(device_id=device_id, platform=fact.platform, updated_at=now)
            session.add(row)
        entra = _norm(fact.entra_device_id)
        if row.entra_device_id != entra:
            row.entra_device_id = entra
            row.checked_entra_device_id = row.directory_object_id = row.registered_owner = None
            if row.conflict in (DELETED, OTHER_OWNER):
                _clear(row)
        if fact.user_id != row.user_id and row.conflict == OTHER_OWNER:
            row.checked_entra_device_id = None  # another user: the owner check runs again
            _clear(row)
        row.platform = fact.platform
        row.user_id = fact.user_id
        row.user_principal_name = fact.user_principal_name or (row.user_principal_name if fact.user_id else None)
        row.serial_number = fact.serial_number or row.serial_number
        row.udid = fact.udid or row.udid
        row.updated_at = now
    session.flush()


def refresh_from_queue(session: Session, entra_device_ids: Iterable[str]) -> None:
    """Links sharing these Entra device IDs take the newest Entra device ID the queue holds for their device:
    the feed may have moved a device to another Entra device since it was last claimed, and a stale link
    must not make a duplicate."""
    wanted = {value.lower() for value in entra_device_ids if value}
    if not wanted:
        return
    rows = list(session.scalars(select(DeviceLink).where(DeviceLink.entra_device_id.in_(wanted))))
    newest = {
        item.device_id: _norm(item.desired.get("entraDeviceId"))
        for item in session.scalars(select(DeliveryItem).where(DeliveryItem.device_id.in_([r.device_id for r in rows])))
    }
    for row in rows:
        if row.device_id in newest and newest[row.device_id] != row.entra_device_id:
            row.entra_device_id = newest[row.device_id]
            row.checked_entra_device_id = row.directory_object_id = row.registered_owner = None
            if row.conflict in (DELETED, OTHER_OWNER):
                _clear(row)
    session.flush()


def _set(row: DeviceLink, kind: str, detail: str, now: dt.datetime) -> None:
    if row.conflict != kind:
        row.conflict_since = now
    row.conflict, row.conflict_detail = kind, detail


def _clear(row: DeviceLink) -> None:
    row.conflict = row.conflict_detail = row.conflict_since = None


def refresh_duplicates(session: Session, entra_device_ids: Iterable[str] | None, now: dt.datetime) -> set[str]:
    """Mark every MDM device sharing an Entra device ID (among ``entra_device_ids``, or all) and clear the
    mark where the sharing ended. Returns the MDM devices whose duplicate mark was cleared."""
    query = select(DeviceLink).where(DeviceLink.entra_device_id.is_not(None))
    if entra_device_ids is not None:
        wanted = {value.lower() for value in entra_device_ids if value}
        shared = select(DeviceLink.entra_device_id).where(DeviceLink.conflict == DUPLICATE)
        query = query.where(DeviceLink.entra_device_id.in_(wanted) | DeviceLink.entra_device_id.in_(shared))
    groups: dict[str, list[DeviceLink]] = defaultdict(list)
    for row in session.scalars(query):
        groups[str(row.entra_device_id)].append(row)
    cleared: set[str] = set()
    for entra, rows in groups.items():
        for row in rows:
            others = sorted(other.device_id for other in rows if other is not row)
            if others:
                detail = f"Entra device {entra} is also linked to MDM device {', '.join(others)}"
                _set(row, DUPLICATE, detail, now)
            elif row.conflict == DUPLICATE:
                _clear(row)
                cleared.add(row.device_id)
    cleared |= _stale_duplicates(session, set(groups))
    session.flush()
    return cleared


def _stale_duplicates(session: Session, seen: set[str]) -> set[str]:
    """Duplicate marks on links whose Entra device ID is no longer shared by anything we looked at."""
    cleared = set()
    for row in session.scalars(select(DeviceLink).where(DeviceLink.conflict == DUPLICATE)):
        if row.entra_device_id is None or row.entra_device_id not in seen:
            _clear(row)
            cleared.add(row.device_id)
    return cleared


@dataclass(frozen=True)
class Target:
    """A link to look up: whether its owners are needed (a device with an enrolled user, never checked)."""

    device_id: str
    entra_device_id: str
    owners: bool
    known: bool = False
    """Checked before for this Entra device ID: when owners are not fetched, the stored check stands."""


def survey(graph: GraphClient, targets: Sequence[Target]) -> dict[str, DirectoryDevice]:
    """MDM device id -> what the directory says of its Entra device: existence through paged
    ``$filter=deviceId in (…)`` queries, registered owners through ``$batch`` (20 a request) where asked.
    A device the directory did not answer about usefully is left out (nothing is concluded from silence)."""
    try:
        existing = directory_records(graph, sorted({t.entra_device_id for t in targets}))
    except GraphError:
        return {}
    found: dict[str, DirectoryDevice] = {}
    wanted: list[tuple[str, str]] = []
    for target in targets:
        record = existing.get(target.entra_device_id.lower())
        if record is None:
            found[target.device_id] = DirectoryDevice(deleted=True)
        elif target.owners:
            wanted.append((target.device_id, str(record["id"])))
        else:
            found[target.device_id] = DirectoryDevice(False, str(record["id"]), None if target.known else ())
    for start in range(0, len(wanted), MAX_BATCH):
        chunk = wanted[start : start + MAX_BATCH]
        _, answers = graph.batch([BatchItem("GET", f"/devices/{object_id}/registeredOwners") for _, object_id in chunk])
        for (device_id, object_id), answer in zip(chunk, answers, strict=True):
            if answer.ok and isinstance(answer.body, dict):
                owners = tuple(
                    Owner(item.get("userPrincipalName"), item.get("onPremisesImmutableId"))
                    for item in answer.body.get("value", [])
                )
                found[device_id] = DirectoryDevice(False, object_id, owners)
    return found


def owner_conflict(
    entra_device_id: str, user_principal_name: str | None, immutable_id: str | None, device: DirectoryDevice
) -> str | None:
    """Why the registered owner is not the enrolled user (None: it is, or there is nothing to compare)."""
    if not device.owners or not (user_principal_name or immutable_id):
        return None
    for owner in device.owners:
        if user_principal_name and _norm(owner.user_principal_name) == user_principal_name.lower():
            return None
        if immutable_id and owner.immutable_id == immutable_id:
            return None
    shown = ", ".join(o.user_principal_name or o.immutable_id or "?" for o in device.owners or ())
    return f"Entra device {entra_device_id} is registered to {shown}, not to the enrolled user {user_principal_name}"


def apply_lookup(
    session: Session, device_id: str, device: DirectoryDevice, immutable_id: str | None, now: dt.datetime
) -> None:
    """Store a directory lookup on the link and set or clear its deleted / other-owner conflict."""
    row = session.get(DeviceLink, device_id)
    if row is None or row.entra_device_id is None:
        return
    if device.deleted:
        row.checked_entra_device_id = row.entra_device_id
        mark_deleted(row, now)
        return
    row.directory_object_id = device.object_id
    if device.owners is None:  # only its existence was looked up: it is not deleted, the rest stands
        if row.conflict == DELETED:
            _clear(row)
        return
    row.checked_entra_device_id = row.entra_device_id
    row.registered_owner = ", ".join(o.user_principal_name or "" for o in device.owners) or None
    conflict = owner_conflict(row.entra_device_id, row.user_principal_name, immutable_id, device)
    if conflict is not None and row.conflict != DUPLICATE:
        _set(row, OTHER_OWNER, conflict, now)
    elif conflict is None and row.conflict in (DELETED, OTHER_OWNER):
        _clear(row)


def mark_deleted(row: DeviceLink, now: dt.datetime) -> None:
    if row.conflict != DUPLICATE:
        _set(row, DELETED, f"Entra device {row.entra_device_id} was deleted in the directory", now)


def deleted_by_answer(session: Session, device_id: str, now: dt.datetime) -> str | None:
    """A delivery answered "no such device": record the conflict; returns its text."""
    row = session.get(DeviceLink, device_id)
    if row is None:
        return None
    mark_deleted(row, now)
    return row.conflict_detail


def targets(session: Session, device_ids: Sequence[str] | None = None) -> list[Target]:
    """What to look up in the directory: of ``device_ids``, the links never checked for their current Entra
    device ID; of all links (``None``), every link except duplicates, owners again only where unchecked or
    deleted (a device that reappears is checked afresh)."""
    query = select(DeviceLink).where(DeviceLink.entra_device_id.is_not(None))
    if device_ids is not None:
        query = query.where(DeviceLink.device_id.in_(device_ids))
    found = []
    for row in session.scalars(query):
        fresh = row.checked_entra_device_id != row.entra_device_id or row.conflict == DELETED
        if (device_ids is not None and not fresh) or row.conflict == DUPLICATE:
            continue
        found.append(Target(row.device_id, str(row.entra_device_id), fresh and row.user_id is not None, not fresh))
    return found


def links(session: Session, device_ids: Sequence[str] | None = None) -> dict[str, DeviceLink]:
    query = select(DeviceLink)
    if device_ids is not None:
        query = query.where(DeviceLink.device_id.in_(device_ids))
    return {row.device_id: row for row in session.scalars(query)}


def conflicts(session: Session) -> list[DeviceLink]:
    return list(
        session.scalars(select(DeviceLink).where(DeviceLink.conflict.is_not(None)).order_by(DeviceLink.conflict_since))
    )


def conflict_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(DeviceLink.conflict, func.count()).where(DeviceLink.conflict.is_not(None)).group_by(DeviceLink.conflict)
    ).all()
    return {str(kind): int(number) for kind, number in rows}


def to_json(row: DeviceLink) -> dict[str, Any]:
    return {
        "deviceId": row.device_id,
        "entraDeviceId": row.entra_device_id,
        "platform": row.platform,
        "serialNumber": row.serial_number,
        "udid": row.udid,
        "userPrincipalName": row.user_principal_name,
        "registeredOwner": row.registered_owner,
        "conflict": row.conflict,
        "detail": row.conflict_detail,
        "since": row.conflict_since.isoformat() if row.conflict_since else None,
    }


def refused_by_channel(error: str | None) -> str | None:
    """The channel's own refusal of a device that retrying cannot cure (Intune's per-device codes)."""
    if error and any(code in error for code in INTUNE_REFUSALS):
        return error
    return None
