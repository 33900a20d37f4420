"""iOS/iPadOS, Android, macOS and Linux devices: the Intune partner compliance channel
(reference/partner-compliance-wire.md, from Fleet's proxy; Microsoft's partner contract is not public).

Once per process (``IntuneSetup.ensure``): find the Intune service principal
(``servicePrincipals?$filter=appId eq '0000000a-…'``), read its ``endPoints`` for
PartnerTenantDataSyncService and PartnerDeviceDataSyncService, provision the tenant
(``PUT PartnerTenants(guid'…')`` with ``Provisioned: 1``), create the partner compliance policy per platform
(409: it exists, take it from the list) and assign it to the configured group. Every step is idempotent.

Per device: resolve the Entra user (MDM user -> userPrincipalName -> ``GET /users('…')``), upload one
``DataUploadMessages(guid'<new id>')`` whose ``Content`` is the JSON *string* of an inventory entity
(``EntityType`` 1) and a compliance entity (``EntityType`` 4), then poll the message until ``Completed`` or
``Failed`` (``ErrorDetail``). ``LastUpdateTime`` orders messages at Intune, so a retried older message never
overwrites a newer one there.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from posturebridge.common.clock import graph_datetime, utcnow
from posturebridge.mdm.client import MdmApiError, MdmClient
from posturebridge.partner.channels import INTUNE, Delivery
from posturebridge.partner.graph_client import ApiResponse, GraphClient, GraphError, odata_quote
from posturebridge.partner.queue import CallRecordIn, Claimed, DeviceState

INTUNE_APP_ID = "0000000a-0000-0000-c000-000000000000"
TENANT_SERVICE = "PartnerTenantDataSyncService"
DEVICE_SERVICE = "PartnerDeviceDataSyncService"
TENANT_API = "api-version=1.6"
UPLOAD_API = "api-version=1.2"
INVENTORY, COMPLIANCE = 1, 4
CA_LOG_CHANNEL = "Intune partner compliance"
FIRST_POLL_SECONDS = 0.05

# MDM platform -> the Platform of a partner compliance policy (Fleet sends 'macOS'; the example shows 'iOS').
POLICY_PLATFORM = {"iOS": "iOS", "iPadOS": "iOS", "android": "android", "macOS": "macOS", "linux": "linux"}
# MDM platform -> the inventory entity's Os.
OS_NAME = {"iOS": "iOS", "iPadOS": "iPadOS", "android": "Android", "macOS": "macOS", "linux": "Linux"}


@dataclass(frozen=True)
class Endpoints:
    tenant_sync: str
    device_sync: str


@dataclass
class IntuneSetup:
    """Discovery, tenant provisioning and the partner policies, done once per process and kept."""

    graph: GraphClient
    intune: GraphClient
    tenant_id: str
    group: str | None
    enrollment_url: str
    remediation_url: str
    endpoints: Endpoints | None = None
    policies: dict[str, str] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    """Group ids the policies are assigned to besides ``group`` (the partner records' included groups)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ensure(self, platform: str) -> Endpoints:
        """The endpoints, with the tenant provisioned and a policy for ``platform`` assigned; GraphError if not."""
        with self._lock:
            if self.endpoints is None:
                endpoints = self.discover()
                self.provision(endpoints)
                self.endpoints = endpoints
            wanted = POLICY_PLATFORM.get(platform)
            if wanted is None:
                raise GraphError(400, "PlatformNotSupported", f"platform {platform} has no partner compliance policy")
            if wanted not in self.policies:
                self.policies[wanted] = self.policy(self.endpoints, wanted)
            return self.endpoints

    def discover(self) -> Endpoints:
        found = self.graph.call("GET", f"/servicePrincipals?$filter=appId eq {odata_quote(INTUNE_APP_ID)}")
        values = found.body.get("value") if found.ok and isinstance(found.body, dict) else None
        if not values:
            raise GraphError(found.status, "IntuneNotFound", "no Intune service principal in the tenant")
        listing = self.graph.call("GET", f"/servicePrincipals/{values[0]['id']}/endPoints")
        if not listing.ok or not isinstance(listing.body, dict):
            raise GraphError(listing.status, "EndpointsUnavailable", f"endPoints: {listing.error_text()}")
        uris = {str(e.get("providerName")): str(e.get("uri")) for e in listing.body.get("value", [])}
        for name in (TENANT_SERVICE, DEVICE_SERVICE):
            if name not in uris:
                raise GraphError(404, "EndpointMissing", f"no {name} service principal endpoint was found")
        return Endpoints(uris[TENANT_SERVICE].rstrip("/"), uris[DEVICE_SERVICE].rstrip("/"))

    def provision(self, endpoints: Endpoints) -> None:
        body = {
            "Provisioned": 1,
            "PartnerEnrollmentUrl": self.enrollment_url,
            "PartnerRemediationUrl": self.remediation_url,
        }
        url = f"{endpoints.tenant_sync}/PartnerTenants(guid'{self.tenant_id}')?{TENANT_API}"
        answer = self.intune.call("PUT", url, json_body=body)
        if not answer.ok:
            raise GraphError(answer.status, "ProvisioningFailed", f"PUT PartnerTenants: {answer.error_text()}")

    def policy(self, endpoints: Endpoints, platform: str) -> str:
        base = f"{endpoints.tenant_sync}/PartnerCompliancePolicies"
        body = {
            "DisplayName": f"posturebridge {platform} compliance policy",
            "Description": "Compliance policy managed by posturebridge",
            "Platform": platform,
            "PartnerManagedCompliance": True,
        }
        created = self.intune.call("POST", f"{base}?{TENANT_API}", json_body=body)
        if created.status == 409:
            listing = self.intune.call("GET", f"{base}?{TENANT_API}")
            values = listing.body.get("value", []) if listing.ok and isinstance(listing.body, dict) else []
            mine = [p for p in values if str(p.get("Platform", "")).lower() == platform.lower()] or values
            if not mine:
                raise GraphError(listing.status, "PolicyNotFound", f"no partner compliance policy for {platform}")
            policy_id = str(mine[0]["Id"])
        elif created.ok and isinstance(created.body, dict):
            policy_id = str(created.body["Id"])
        else:
            raise GraphError(created.status, "PolicyFailed", f"POST PartnerCompliancePolicies: {created.error_text()}")
        targets = [self._group_id(self.group)] if self.group else []
        targets += [group_id for group_id in self.groups if group_id not in targets]
        if targets:
            assign = f"{base}(guid'{policy_id}')/Assign?{TENANT_API}"
            answer = self.intune.call("POST", assign, json_body={"assignments": targets})
            if not answer.ok:
                raise GraphError(answer.status, "AssignFailed", f"Assign: {answer.error_text()}")
        return policy_id

    def _group_id(self, group: str) -> str:
        try:
            uuid.UUID(group)
        except ValueError:
            found = self.graph.call("GET", f"/groups?$filter=displayName eq {odata_quote(group)}&$select=id")
            values = found.body.get("value") if found.ok and isinstance(found.body, dict) else None
            if not values:
                raise GraphError(found.status, "GroupNotFound", f'no "{group}" Entra ID group was found') from None
            return str(values[0]["id"])
        return group


@dataclass
class IntuneChannel:
    setup: IntuneSetup
    mdm: MdmClient
    clock: Callable[[], dt.datetime] = utcnow
    sleep: Callable[[float], None] = time.sleep
    poll_seconds: float = 1.0
    timeout_seconds: float = 120.0
    name: str = field(default=INTUNE)
    chunk_size: int = 1
    _users: dict[str, str] = field(default_factory=dict)
    _users_lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, items: Sequence[Claimed]) -> list[Delivery]:
        return [self._deliver(item) for item in items]

    def _deliver(self, item: Claimed) -> Delivery:
        calls: list[CallRecordIn] = []
        try:
            endpoints = self.setup.ensure(item.state.platform)
            user_id = self.entra_user_id(item.state)
        except GraphError as exc:
            calls.append(self._record(item, "partner setup and user lookup", exc.status_code, str(exc), None))
            return Delivery(item, exc.status_code, None, str(exc), tuple(calls))
        message_id = str(uuid.uuid4())
        url = f"{endpoints.device_sync}/DataUploadMessages(guid'{quote(message_id)}')?{UPLOAD_API}"
        body = upload_body(self.setup.tenant_id, item.state, user_id, self.clock())
        answer = self.setup.intune.send("PUT", url, json_body=body)
        summary = (
            f"PUT DataUploadMessages(guid'{message_id}') managed={item.state.is_managed} "
            f"compliant={item.state.is_compliant} device={item.state.entra_device_id}"
        )
        calls.append(self._record(item, summary, answer.status, answer.error_text(), answer.correlation_id))
        if not answer.ok:
            return Delivery(item, answer.status, answer.retry_after, answer.error_text(), tuple(calls))
        status, final = self.poll(url)
        detail = _field(final.body, "ErrorDetail") if final.body is not None else None
        poll_summary = f"GET DataUploadMessages(guid'{message_id}') Status={status}"
        if status == "Completed":
            calls.append(self._record(item, poll_summary, final.status, None, final.correlation_id))
            return Delivery(item, 200, None, None, tuple(calls))
        if status == "Failed":
            error = f"{_field(final.body, 'ErrorCode') or 'Failed'}: {detail}"
            calls.append(self._record(item, poll_summary, final.status, error, final.correlation_id))
            return Delivery(item, 0, None, f"upload failed at Intune: {error}", tuple(calls))
        error = final.error_text() or f"message still {status} after {self.timeout_seconds:.0f} s"
        calls.append(self._record(item, poll_summary, final.status, error, final.correlation_id))
        retryable = final.status if not final.ok else 0
        return Delivery(item, retryable, final.retry_after, error, tuple(calls))

    def poll(self, url: str) -> tuple[str, ApiResponse]:
        """Poll the message until Completed or Failed, an error answer, or the timeout. The interval starts
        short and doubles up to ``poll_seconds``: a message is often processed within a fraction of a second,
        and the delivery round that sent it waits for its outcome."""
        deadline = self.clock() + dt.timedelta(seconds=self.timeout_seconds)
        interval = min(FIRST_POLL_SECONDS, self.poll_seconds)
        while True:
            answer = self.setup.intune.send("GET", url)
            status = str(_field(answer.body, "Status") or "") if answer.ok else "unknown"
            if not answer.ok or status in ("Completed", "Failed") or self.clock() >= deadline:
                return status, answer
            self.sleep(interval)
            interval = min(interval * 2, self.poll_seconds)

    def entra_user_id(self, state: DeviceState) -> str:
        """The Entra object id of the device's user: MDM user -> userPrincipalName -> Graph."""
        if not state.user_id:
            raise GraphError(400, "NoUser", f"device {state.device_id} has no user; Intune needs one")
        with self._users_lock:
            cached = self._users.get(state.user_id)
        if cached:
            return cached
        try:
            user = self.mdm.get_user(state.user_id)
        except MdmApiError as exc:
            raise GraphError(exc.status_code, exc.code, f"MDM user {state.user_id}: {exc.message}") from None
        upn = user.user_principal_name or user.user_name
        answer = self.setup.graph.call("GET", f"/users/{quote(upn, safe='@.')}?$select=id")
        if not answer.ok or not isinstance(answer.body, dict) or "id" not in answer.body:
            raise GraphError(answer.status, "UserNotFound", f"user {upn} in Entra ID: {answer.error_text()}")
        entra_id = str(answer.body["id"])
        with self._users_lock:
            self._users[state.user_id] = entra_id
        return entra_id

    def _record(
        self, item: Claimed, summary: str, status: int, error: str | None, correlation: str | None
    ) -> CallRecordIn:
        return CallRecordIn(item.device_id, self.clock(), CA_LOG_CHANNEL, summary, status or None, error, correlation)


def upload_body(tenant_id: str, state: DeviceState, user_id: str, now: dt.datetime) -> dict[str, Any]:
    """``{TenantId, UploadTime, Content}``, Content the JSON string of the two entities (api-version 1.2)."""
    stamp = graph_datetime(now)
    inventory = {
        "EntityType": INVENTORY,
        "TenantId": tenant_id,
        "DeviceManagementState": "managed" if state.is_managed else "notManaged",
        "DeviceId": state.entra_device_id,
        "DeviceName": state.model or state.device_id,
        "UserId": user_id,
        "LastCheckInTime": state.last_seen or stamp,
        "LastUpdateTime": stamp,
        "Os": OS_NAME.get(state.platform, state.platform),
        "OsVersion": state.os_version or "",
        "EasIds": [],
        "State": 0,
    }
    compliance = {
        "EntityType": COMPLIANCE,
        "TenantId": tenant_id,
        "DeviceId": state.entra_device_id,
        "UserId": user_id,
        "LastUpdateTime": stamp,
        "complianceStatus": "compliant" if state.is_compliant else "notCompliant",
    }
    return {"TenantId": tenant_id, "UploadTime": stamp, "Content": json.dumps([inventory, compliance])}


def _field(body: Any, name: str) -> Any:
    return body.get(name) if isinstance(body, dict) else None
