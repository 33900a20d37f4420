"""Rules about compliance partner records that Graph and the partner endpoints share. Pure: the clock and
the user's groups are arguments.

- partnerState (learn.microsoft.com/graph/api/resources/intune-onboarding-compliancemanagementpartner:
  unknown | unavailable | enabled | terminated | rejected | unresponsive): "unknown" until the partner
  provisions the tenant, "enabled" after, "terminated" after it deprovisions. "unresponsive" is derived: an
  enabled partner whose last heartbeat is older than its threshold. Intune documents no threshold for
  compliance partners; its Mobile Threat Defense connectors carry the same idea as
  ``partnerUnresponsivenessThresholdInDays`` (learn.microsoft.com/graph/api/resources/
  intune-onboarding-mobilethreatdefenseconnector), so the default here is that connector's 7 days (inferred).
- Enrollment assignments: ``complianceManagementPartnerAssignment {target}`` with a
  ``deviceAndAppManagementAssignmentTarget``: ``groupAssignmentTarget {groupId}``,
  ``exclusionGroupAssignmentTarget {groupId}`` (learn.microsoft.com/graph/api/resources/
  intune-shared-exclusiongroupassignmenttarget), ``allLicensedUsersAssignmentTarget`` and
  ``allDevicesAssignmentTarget`` (the create example of the beta docs uses the latter). An exclusion wins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from posturebridge.common.clock import aware
from posturebridge.directory.models import ComplianceManagementPartner

GROUP_TARGET = "groupAssignmentTarget"
EXCLUSION_TARGET = "exclusionGroupAssignmentTarget"
ALL_USERS_TARGET = "allLicensedUsersAssignmentTarget"
ALL_DEVICES_TARGET = "allDevicesAssignmentTarget"
TARGET_TYPES = (GROUP_TARGET, EXCLUSION_TARGET, ALL_USERS_TARGET, ALL_DEVICES_TARGET)

ONBOARDED_COLUMN = {
    "android": "android_onboarded",
    "ios": "ios_onboarded",
    "macOs": "mac_os_onboarded",
    "linux": "linux_onboarded",
    "windows": "windows_onboarded",
}
BETA_ONLY_PLATFORMS = frozenset({"linux", "windows"})  # linux: beta only; windows: this project's extension


def effective_state(partner: ComplianceManagementPartner, now: dt.datetime) -> str:
    """partnerState as Graph shows it now."""
    if partner.partner_state != "enabled":
        return partner.partner_state
    heartbeat = aware(partner.last_heartbeat_date_time)
    threshold = dt.timedelta(days=partner.unresponsive_threshold_days)
    if heartbeat is None or now - heartbeat > threshold:
        return "unresponsive"
    return "enabled"


def onboarded(partner: ComplianceManagementPartner, platform: str) -> bool:
    return bool(getattr(partner, ONBOARDED_COLUMN[platform]))


def target_type(target: dict[str, Any]) -> str:
    """``#microsoft.graph.groupAssignmentTarget`` (or without ``#``) -> ``groupAssignmentTarget``."""
    return str(target.get("@odata.type", "")).lstrip("#").removeprefix("microsoft.graph.")


@dataclass(frozen=True)
class ScopeDecision:
    """Whether a user is in a partner's enrollment scope for a platform, and the assignment that decided."""

    in_scope: bool
    reason: str


def user_in_scope(targets: Iterable[dict[str, Any]], user_groups: frozenset[str]) -> ScopeDecision:
    """Apply a platform's enrollment assignments to a user who is a (transitive) member of ``user_groups``."""
    included: str | None = None
    for target in targets:
        kind = target_type(target)
        group_id = target.get("groupId")
        if kind == EXCLUSION_TARGET and group_id in user_groups:
            return ScopeDecision(False, f"excluded by group {group_id}")
        if included is None and (kind in (ALL_USERS_TARGET, ALL_DEVICES_TARGET)):
            included = "assigned to all users"
        elif included is None and kind == GROUP_TARGET and group_id in user_groups:
            included = f"included by group {group_id}"
    if included is None:
        return ScopeDecision(False, "not in any included group")
    return ScopeDecision(True, included)


# Where this directory serves Intune's partner services; partners learn these only from the Intune service
# principal's endPoints (providerName -> path under the directory's base URL).
SERVICE_PATHS = {
    "PartnerTenantDataSyncService": "/intune/{tenant_id}/TenantDataSync",
    "PartnerDeviceDataSyncService": "/intune/{tenant_id}/DeviceDataSync",
}


def service_endpoints(base_url: str, tenant_id: str) -> dict[str, str]:
    """providerName -> uri of the partner services for ``tenant_id``."""
    return {name: base_url.rstrip("/") + path.format(tenant_id=tenant_id) for name, path in SERVICE_PATHS.items()}
