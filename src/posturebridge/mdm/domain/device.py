"""The device as the compliance engine sees it: what it is, who uses it, whether it is enrolled and when
the MDM last heard from it. Posture lives in samples (``sample.py``), not here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .types import DeviceId, GroupId, JsonObject, UserId
from .version import OsVersion
from .vocabulary import EnrollmentStatus, Ownership, Platform
from .wire import Fields, Problems, format_timestamp, json_list, require_aware


@dataclass(frozen=True)
class Device:
    id: DeviceId
    platform: Platform
    ownership: Ownership
    enrollment_status: EnrollmentStatus
    enrolled_at: dt.datetime
    last_seen_at: dt.datetime | None = None
    """When the MDM last heard from the device (server clock). Never the device's own clock."""
    model: str = ""
    os_version: OsVersion | None = None
    """The last OS version the device reported; smart groups filter on it."""
    user_id: UserId | None = None
    user_group_ids: frozenset[GroupId] = field(default_factory=frozenset)
    """The directory groups of the device's user, as the caller resolved them."""

    def __post_init__(self) -> None:
        require_aware(self.enrolled_at, "enrolled_at")
        if self.last_seen_at is not None:
            require_aware(self.last_seen_at, "last_seen_at")

    @property
    def last_contact(self) -> dt.datetime:
        """The instant the validity period and the last-seen rule count from."""
        return self.last_seen_at if self.last_seen_at is not None else self.enrolled_at

    @property
    def is_enrolled(self) -> bool:
        return self.enrollment_status is EnrollmentStatus.ENROLLED

    @classmethod
    def from_dict(cls, data: Any) -> Device:
        fields = Fields(data)
        problems = Problems()
        device_id = problems.collect(lambda: fields.text("id", max_length=128))
        platform = problems.collect(lambda: fields.enum("platform", Platform))
        ownership = problems.collect(lambda: fields.enum("ownership", Ownership))
        status = problems.collect(lambda: fields.enum("enrollmentStatus", EnrollmentStatus))
        enrolled_at = problems.collect(lambda: fields.timestamp("enrolledDateTime"))
        last_seen_at = problems.collect(lambda: fields.optional_timestamp("lastSeenDateTime"))
        model = problems.collect(lambda: fields.optional_text("model")) or ""
        user_id = problems.collect(lambda: fields.optional_text("userId", max_length=128))
        groups = problems.collect(lambda: fields.text_list("userGroupIds")) or ()
        os_version = None
        if platform is not None:
            os_version = problems.collect(lambda: fields.optional_os_version("osVersion", platform))
        else:
            problems.collect(lambda: fields.optional_text("osVersion", max_length=64))
        problems.collect(fields.reject_unknown)
        problems.raise_if_any()
        assert device_id and platform and ownership and status and enrolled_at
        return cls(
            id=device_id,
            platform=platform,
            ownership=ownership,
            enrollment_status=status,
            enrolled_at=enrolled_at,
            last_seen_at=last_seen_at,
            model=model,
            os_version=os_version,
            user_id=user_id,
            user_group_ids=frozenset(groups),
        )

    def to_dict(self) -> JsonObject:
        return {
            "id": self.id,
            "platform": self.platform.value,
            "ownership": self.ownership.value,
            "enrollmentStatus": self.enrollment_status.value,
            "enrolledDateTime": format_timestamp(self.enrolled_at),
            "lastSeenDateTime": format_timestamp(self.last_seen_at) if self.last_seen_at else None,
            "model": self.model or None,
            "osVersion": self.os_version.text if self.os_version else None,
            "userId": self.user_id,
            "userGroupIds": json_list(self.user_group_ids),
        }
