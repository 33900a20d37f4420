"""Directory audit entries (``/auditLogs/directoryAudits``): one for every write, in Graph's shape.

Activities and categories follow Entra's audit activity reference (learn.microsoft.com/entra/identity/
monitoring-health/reference-audit-activities): e.g. service "Core Directory", category "Device",
activity "Update device". ``modifiedProperties`` carry JSON-encoded old and new values, plus the
"Included Updated Properties" entry Entra adds on updates. Entries are written in the caller's
transaction, so an audit entry exists exactly when its change does.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from posturebridge.directory.models import DirectoryAudit


@dataclass(frozen=True)
class Initiator:
    """Who did it: an application (client credentials) or a user (delegated or interactive)."""

    app_id: str | None = None
    app_display_name: str | None = None
    service_principal_id: str | None = None
    user_id: str | None = None
    user_principal_name: str | None = None
    user_display_name: str | None = None
    ip_address: str | None = None

    def to_graph(self) -> dict[str, Any]:
        user = (
            {
                "id": self.user_id,
                "displayName": self.user_display_name,
                "userPrincipalName": self.user_principal_name,
                "ipAddress": self.ip_address,
            }
            if self.user_id
            else None
        )
        app = (
            {
                "appId": self.app_id,
                "displayName": self.app_display_name,
                "servicePrincipalId": self.service_principal_id,
                "servicePrincipalName": self.app_display_name,
            }
            if self.app_id and not self.user_id
            else None
        )
        return {"user": user, "app": app}


SYSTEM = Initiator(app_id=None, app_display_name="posturebridge")


@dataclass(frozen=True)
class Change:
    """One modified property: values are Python values, JSON-encoded when rendered."""

    name: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Target:
    id: str
    display_name: str | None
    type: str
    user_principal_name: str | None = None
    changes: tuple[Change, ...] = field(default_factory=tuple)

    def to_graph(self, operation_type: str) -> dict[str, Any]:
        modified = [
            {"displayName": change.name, "oldValue": _encode(change.old), "newValue": _encode(change.new)}
            for change in self.changes
        ]
        if self.changes and operation_type == "Update":
            names = ", ".join(change.name for change in self.changes)
            modified.append(
                {
                    "displayName": "Included Updated Properties",
                    "oldValue": None,
                    "newValue": json.dumps(names),
                }
            )
        return {
            "id": self.id,
            "displayName": self.display_name,
            "type": self.type,
            "userPrincipalName": self.user_principal_name,
            "groupType": None,
            "modifiedProperties": modified,
        }


def _encode(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value if isinstance(value, list) else [value], default=str)


def record(
    session: Session,
    *,
    tenant_id: str,
    activity: str,
    category: str,
    operation_type: str,
    initiated_by: Initiator,
    targets: list[Target],
    now: dt.datetime,
    service: str = "Core Directory",
    correlation_id: str | None = None,
    result: str = "success",
    result_reason: str = "",
    additional_details: dict[str, str] | None = None,
) -> DirectoryAudit:
    """Add one audit entry to ``session`` (the caller's transaction decides whether it is kept)."""
    entry = DirectoryAudit(
        id=f"Directory_{uuid.uuid4()}",
        tenant_id=tenant_id,
        activity_date_time=now,
        activity_display_name=activity,
        category=category,
        correlation_id=correlation_id or str(uuid.uuid4()),
        logged_by_service=service,
        operation_type=operation_type,
        result=result,
        result_reason=result_reason,
        initiated_by=initiated_by.to_graph(),
        target_resources=[target.to_graph(operation_type) for target in targets],
        additional_details=[{"key": key, "value": value} for key, value in (additional_details or {}).items()],
    )
    session.add(entry)
    return entry
