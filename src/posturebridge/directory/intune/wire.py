"""The partner wire format, parsed into plain values: no I/O, no framework, no clock.

Device upload body (partner-compliance-wire.md §4, from fleetdm/fleet ``website/api/helpers/microsoft-proxy``
``update-one-devices-compliance-status.js``): ``{TenantId, UploadTime, Content}`` where ``Content`` is a JSON
*string* holding the entity array (api-version 1.2) or, in the oldest proxy version, the array itself with a
boolean ``complianceStatus`` (api-version 1.0). Per device, one inventory entity (``EntityType`` 1: TenantId,
DeviceManagementState 'managed'|'notManaged', DeviceId, DeviceName, UserId, LastCheckInTime, LastUpdateTime,
Os, OsVersion, EasIds, State) and one compliance entity (``EntityType`` 4: TenantId, DeviceId, UserId,
LastUpdateTime, complianceStatus 'compliant'|'notCompliant'). ``LastUpdateTime`` is the partner's "global
timestamp indicating the order of messages". ``DeviceOwnership`` on the inventory entity
(company|personal|unknown) is this project's extension; Fleet does not send it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

INVENTORY = 1
COMPLIANCE = 4

TENANT_API_VERSIONS = frozenset({"1.6", "1.0"})  # 1.0: the oldest proxy's PartnerTenants call
UPLOAD_API_VERSIONS = frozenset({"1.2", "1.0"})  # emulator tip of partner-compliance-wire.md §9
STATUS_API_VERSIONS = frozenset({"1.2", "1.0"})

# Graph's complianceManagementPartner platform names (its {platform}Onboarded properties).
PLATFORMS = ("android", "ios", "macOs", "linux", "windows")


class WireError(ValueError):
    """A body that is not in the partner wire format; the message names the problem."""


@dataclass(frozen=True)
class DeviceReport:
    """What a partner says about one device in one message."""

    device_id: str
    user_id: str
    managed: bool
    compliant: bool
    device_name: str | None
    os: str | None
    os_version: str | None
    last_check_in: dt.datetime | None
    last_update: dt.datetime
    ownership: str | None

    def order_key(self) -> tuple[dt.datetime, dt.datetime]:
        """Reports of one device are ordered by LastUpdateTime, then LastCheckInTime."""
        return (self.last_update, self.last_check_in or self.last_update)

    def to_json(self) -> dict[str, Any]:
        return {
            "deviceId": self.device_id,
            "userId": self.user_id,
            "managed": self.managed,
            "compliant": self.compliant,
            "deviceName": self.device_name,
            "os": self.os,
            "osVersion": self.os_version,
            "lastCheckIn": self.last_check_in.isoformat() if self.last_check_in else None,
            "lastUpdate": self.last_update.isoformat(),
            "ownership": self.ownership,
        }

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> DeviceReport:
        check_in = item.get("lastCheckIn")
        return cls(
            device_id=item["deviceId"],
            user_id=item["userId"],
            managed=bool(item["managed"]),
            compliant=bool(item["compliant"]),
            device_name=item.get("deviceName"),
            os=item.get("os"),
            os_version=item.get("osVersion"),
            last_check_in=dt.datetime.fromisoformat(check_in) if check_in else None,
            last_update=dt.datetime.fromisoformat(item["lastUpdate"]),
            ownership=item.get("ownership"),
        )


@dataclass(frozen=True)
class Upload:
    tenant_id: str
    upload_time: dt.datetime | None
    reports: tuple[DeviceReport, ...]


def parse_guid(text: str) -> str | None:
    """``guid'…'`` (the canonical key form), ``guid…`` (the oldest proxy) or a bare GUID, lowercase."""
    value = text.strip()
    if value.lower().startswith("guid"):
        value = value[4:]
    value = value.strip("'")
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    return str(parsed) if len(value) == 36 else None


def parse_time(value: Any, name: str) -> dt.datetime:
    if not isinstance(value, str) or not value:
        raise WireError(f"{name} must be an ISO 8601 date and time")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise WireError(f"{name} {value!r} is not an ISO 8601 date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def platform_of(os_name: str | None) -> str | None:
    """The complianceManagementPartner platform a device's operating system belongs to."""
    name = (os_name or "").strip().lower().replace(" ", "")
    if name in ("ios", "ipados", "iphone", "ipad"):
        return "ios"
    if name in ("macos", "macosx", "osx", "mac"):
        return "macOs"
    if name.startswith("android"):
        return "android"
    if name.startswith("windows"):
        return "windows"
    if name in ("linux", "ubuntu", "rhel", "redhat", "debian", "fedora"):
        return "linux"
    return None


_OWNERSHIP = {"company": "company", "corporate": "company", "personal": "personal", "unknown": "unknown"}


def _entities(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError:
            raise WireError("Content is not a JSON-encoded entity array") from None
    if not isinstance(content, list) or not content:
        raise WireError("Content must hold a non-empty array of entities")
    if not all(isinstance(entity, dict) for entity in content):
        raise WireError("every entity in Content must be a JSON object")
    return content


def _guid(entity: dict[str, Any], name: str) -> str:
    value = entity.get(name)
    parsed = parse_guid(value) if isinstance(value, str) else None
    if parsed is None:
        raise WireError(f"{name} {value!r} of an entity with EntityType {entity.get('EntityType')} is not a GUID")
    return parsed


def _compliant(value: Any) -> bool:
    if isinstance(value, bool):  # api-version 1.0
        return value
    if value == "compliant":
        return True
    if value == "notCompliant":
        return False
    raise WireError(f"complianceStatus {value!r} is neither 'compliant' nor 'notCompliant'")


def parse_upload(body: Any) -> Upload:
    """The message body of ``PUT DataUploadMessages(guid'…')``, checked against the wire format."""
    if not isinstance(body, dict):
        raise WireError("the body must be a JSON object with TenantId, UploadTime and Content")
    tenant_id = parse_guid(body["TenantId"]) if isinstance(body.get("TenantId"), str) else None
    if tenant_id is None:
        raise WireError("TenantId is missing or not a GUID")
    upload_time = parse_time(body["UploadTime"], "UploadTime") if body.get("UploadTime") is not None else None
    if "Content" not in body:
        raise WireError("Content is missing")
    inventories: dict[str, dict[str, Any]] = {}
    compliance: dict[str, dict[str, Any]] = {}
    for entity in _entities(body["Content"]):
        kind = entity.get("EntityType")
        if kind not in (INVENTORY, COMPLIANCE):
            raise WireError(f"EntityType {kind!r} is not supported (1 = inventory, 4 = compliance)")
        if _guid(entity, "TenantId") != tenant_id:
            raise WireError("an entity's TenantId differs from the message's TenantId")
        device_id = _guid(entity, "DeviceId")
        target = inventories if kind == INVENTORY else compliance
        if device_id in target:
            raise WireError(f"device {device_id} has two entities with EntityType {kind}")
        target[device_id] = entity
    reports = []
    for device_id in inventories.keys() | compliance.keys():
        inventory, status = inventories.get(device_id), compliance.get(device_id)
        if inventory is None or status is None:
            missing = "inventory (EntityType 1)" if inventory is None else "compliance (EntityType 4)"
            raise WireError(f"device {device_id} has no {missing} entity")
        user_id = _guid(inventory, "UserId")
        if _guid(status, "UserId") != user_id:
            raise WireError(f"device {device_id}: the inventory and compliance entities name different users")
        state = inventory.get("DeviceManagementState", "managed")
        if state not in ("managed", "notManaged"):
            raise WireError(f"DeviceManagementState {state!r} is neither 'managed' nor 'notManaged'")
        ownership = inventory.get("DeviceOwnership")
        if ownership is not None and (not isinstance(ownership, str) or ownership.lower() not in _OWNERSHIP):
            raise WireError(f"DeviceOwnership {ownership!r} is not company, personal or unknown")
        check_in = inventory.get("LastCheckInTime")
        reports.append(
            DeviceReport(
                device_id=device_id,
                user_id=user_id,
                managed=state == "managed",
                compliant=_compliant(status.get("complianceStatus")),
                device_name=_text(inventory.get("DeviceName"), "DeviceName"),
                os=_text(inventory.get("Os"), "Os"),
                os_version=_text(inventory.get("OsVersion"), "OsVersion"),
                last_check_in=parse_time(check_in, "LastCheckInTime") if check_in is not None else None,
                last_update=max(
                    parse_time(inventory.get("LastUpdateTime"), "LastUpdateTime"),
                    parse_time(status.get("LastUpdateTime"), "LastUpdateTime"),
                ),
                ownership=_OWNERSHIP[ownership.lower()] if isinstance(ownership, str) else None,
            )
        )
    return Upload(tenant_id, upload_time, tuple(sorted(reports, key=lambda report: report.device_id)))


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 256:
        raise WireError(f"{name} must be a string of at most 256 characters")
    return value
