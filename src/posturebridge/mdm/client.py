"""A typed HTTP client of the MDM REST API (``/api/v1``). Other parts (partner service, device agent,
console, CLI) talk to the MDM through this module only, never through its internals.

Three ways to authenticate, matching the API:

- ``MdmClient.with_client_credentials(url, client_id, client_secret)``: OAuth client credentials, the
  bearer token fetched on first use and renewed when it expires or is refused;
- ``MdmClient.with_api_key(url, key)``: the ``aw-tenant-code`` header;
- ``MdmClient.for_device(url, device_token)``: a device agent's credential from enrolment.

Every non-2xx answer raises ``MdmApiError`` (``status_code``, ``code``, ``message``, ``target``);
``FeedPositionExpiredError`` is the 410 a feed consumer must answer by resynchronising.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self, TypeVar, Unpack

import httpx
from pydantic import BaseModel

from posturebridge.mdm import calls
from posturebridge.mdm.schemas import (
    AdminOut,
    CaLogEntryOut,
    CheckInResponse,
    ComplianceOut,
    CompliancePageLinkOut,
    CompliancePartnerOut,
    CompliancePolicyOut,
    ComplianceSettingsOut,
    CredentialOut,
    CustomConnectorOut,
    DeviceOut,
    DevicePageOut,
    DirectoryServicesOut,
    DirectorySyncOut,
    EnrollmentTokenOut,
    EnrollResponse,
    FeedPageOut,
    FeedPositionOut,
    ImmutableIdOut,
    IntelligenceOut,
    NotificationOut,
    OrganisationOut,
    SensorOut,
    SensorReportOut,
    SmartGroupOut,
    TokenResponse,
    UserGroupOut,
    UserOut,
    WorkflowRuleOut,
    WorkflowRunOut,
)

M = TypeVar("M", bound=BaseModel)
DEFAULT_TIMEOUT = 30.0


class MdmApiError(Exception):
    """The MDM answered with an error (or could not be reached: ``status_code`` 0)."""

    def __init__(self, status_code: int, code: str, message: str, target: str | None = None) -> None:
        super().__init__(f"{message} ({code}, HTTP {status_code})" if status_code else message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.target = target


class FeedPositionExpiredError(MdmApiError):
    """Feed retention removed entries after the consumer's position: resynchronise, then continue."""


@dataclass(frozen=True)
class DeviceQuery:
    """Filters of ``GET /devices`` and of the export."""

    platform: str | None = None
    compliance_state: str | None = None
    ownership: str | None = None
    enrollment_status: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    last_seen_after: dt.datetime | None = None
    last_seen_before: dt.datetime | None = None
    registered_in_entra: bool | None = None

    def params(self) -> dict[str, str]:
        values: dict[str, str | dt.datetime | bool | None] = {
            "platform": self.platform,
            "complianceState": self.compliance_state,
            "ownership": self.ownership,
            "enrollmentStatus": self.enrollment_status,
            "userId": self.user_id,
            "userName": self.user_name,
            "lastSeenAfter": self.last_seen_after,
            "lastSeenBefore": self.last_seen_before,
            "registeredInEntra": self.registered_in_entra,
        }
        params: dict[str, str] = {}
        for name, value in values.items():
            if value is None:
                continue
            if isinstance(value, bool):
                params[name] = "true" if value else "false"
            elif isinstance(value, dt.datetime):
                params[name] = value.isoformat()
            else:
                params[name] = value
        return params


class MdmClient:
    """Synchronous client; thread-safe for concurrent calls (httpx.Client is)."""

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        api_key: str | None = None,
        device_token: str | None = None,
        http: httpx.Client | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._base = base_url.rstrip("/") + "/api/v1"
        self._own_http = http is None
        self._http = http or httpx.Client(timeout=timeout, trust_env=False)
        self._client_id = client_id
        self._client_secret = client_secret
        self._api_key = api_key
        self._device_token = device_token
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()

    @classmethod
    def with_client_credentials(cls, base_url: str, client_id: str, client_secret: str, **options: Any) -> Self:
        return cls(base_url, client_id=client_id, client_secret=client_secret, **options)

    @classmethod
    def with_api_key(cls, base_url: str, api_key: str, **options: Any) -> Self:
        return cls(base_url, api_key=api_key, **options)

    @classmethod
    def for_device(cls, base_url: str, device_token: str, **options: Any) -> Self:
        return cls(base_url, device_token=device_token, **options)

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    # --- transport ---

    def _auth_headers(self, *, renew: bool = False) -> dict[str, str]:
        if self._device_token is not None:
            return {"Authorization": f"Bearer {self._device_token}"}
        if self._api_key is not None:
            return {"aw-tenant-code": self._api_key}
        if self._client_id is not None and self._client_secret is not None:
            return {"Authorization": f"Bearer {self._access_token(renew)}"}
        return {}

    def _access_token(self, renew: bool) -> str:
        with self._token_lock:
            if renew or self._token is None or time.monotonic() >= self._token_expires:
                answer = self.request_token(self._client_id or "", self._client_secret or "")
                self._token = answer.access_token
                self._token_expires = time.monotonic() + max(answer.expires_in - 60, answer.expires_in / 2)
            return self._token

    def request_token(self, client_id: str, client_secret: str) -> TokenResponse:
        """``POST /oauth/token`` with the client credentials grant."""
        data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        response = self._send("POST", "/oauth/token", data=data, authenticated=False)
        return TokenResponse.model_validate(response.json())

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int | float] | None = None,
        data: Mapping[str, str] | None = None,
        authenticated: bool = True,
        timeout: float | None = None,
    ) -> httpx.Response:
        renewable = authenticated and self._client_id is not None and self._device_token is None
        for attempt in range(2):
            headers = self._auth_headers(renew=attempt > 0) if authenticated else {}
            try:
                response = self._http.request(
                    method,
                    self._base + path,
                    json=json,
                    params=params,
                    data=data,
                    headers=headers,
                    timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.HTTPError as exc:
                raise MdmApiError(0, "unreachable", f"the MDM at {self._base} did not answer: {exc}") from exc
            if response.status_code == 401 and renewable and attempt == 0:
                continue
            break
        if response.is_success:
            return response
        raise error_of(response)

    def call(self, call: calls.Call[M]) -> M:
        """Send one of the shared calls (`posturebridge.mdm.calls`) and parse its answer."""
        response = self._send(call.method, call.path, json=call.json, authenticated=call.authenticated)
        return call.model.model_validate(response.json())

    def _get(self, path: str, model: type[M], **kwargs: Any) -> M:
        return model.model_validate(self._send("GET", path, **kwargs).json())

    def _list(self, path: str, model: type[M], **kwargs: Any) -> list[M]:
        return [model.model_validate(item) for item in self._send("GET", path, **kwargs).json()]

    def _post(self, path: str, model: type[M], body: Any = None, **kwargs: Any) -> M:
        return model.model_validate(self._send("POST", path, json=body, **kwargs).json())

    def _put(self, path: str, model: type[M], body: Any) -> M:
        return model.model_validate(self._send("PUT", path, json=body).json())

    # --- organisation ---

    def organisation(self) -> OrganisationOut:
        return self._get("/organisation", OrganisationOut)

    def create_credential(self, kind: Literal["clientCredentials", "apiKey"], display_name: str) -> CredentialOut:
        return self._post("/credentials", CredentialOut, {"kind": kind, "displayName": display_name})

    def list_credentials(self) -> list[CredentialOut]:
        return self._list("/credentials", CredentialOut)

    def create_admin(self, user_name: str, display_name: str, role: str = "administrator") -> AdminOut:
        return self._post("/admins", AdminOut, {"userName": user_name, "displayName": display_name, "role": role})

    def list_admins(self) -> list[AdminOut]:
        return self._list("/admins", AdminOut)

    # --- users and groups ---

    def create_user(self, user_name: str, **fields: Any) -> UserOut:
        """Fields: displayName, userPrincipalName, mail, objectGuid, customAttributes (wire names)."""
        return self._post("/users", UserOut, {"userName": user_name, **fields})

    def list_users(self) -> list[UserOut]:
        return self._list("/users", UserOut)

    def get_user(self, user_id: str) -> UserOut:
        return self._get(f"/users/{user_id}", UserOut)

    def immutable_id(self, user_id: str) -> ImmutableIdOut:
        return self._get(f"/users/{user_id}/immutableId", ImmutableIdOut)

    def create_user_group(self, name: str) -> UserGroupOut:
        return self._post("/userGroups", UserGroupOut, {"name": name})

    def list_user_groups(self) -> list[UserGroupOut]:
        return self._list("/userGroups", UserGroupOut)

    def add_group_member(self, group_id: str, user_id: str) -> None:
        self._send("POST", f"/userGroups/{group_id}/members", json={"userId": user_id})

    def remove_group_member(self, group_id: str, user_id: str) -> None:
        self._send("DELETE", f"/userGroups/{group_id}/members/{user_id}")

    def create_smart_group(self, definition: Mapping[str, Any]) -> SmartGroupOut:
        return self._post("/smartGroups", SmartGroupOut, dict(definition))

    def list_smart_groups(self) -> list[SmartGroupOut]:
        return self._list("/smartGroups", SmartGroupOut)

    def delete_smart_group(self, group_id: str) -> None:
        self._send("DELETE", f"/smartGroups/{group_id}")

    # --- compliance policies and settings ---

    def create_policy(self, document: Mapping[str, Any]) -> CompliancePolicyOut:
        return self._post("/compliancePolicies", CompliancePolicyOut, dict(document))

    def replace_policy(self, policy_id: str, document: Mapping[str, Any]) -> CompliancePolicyOut:
        return self._put(f"/compliancePolicies/{policy_id}", CompliancePolicyOut, dict(document))

    def get_policy(self, policy_id: str) -> CompliancePolicyOut:
        return self._get(f"/compliancePolicies/{policy_id}", CompliancePolicyOut)

    def list_policies(self) -> list[CompliancePolicyOut]:
        return self._list("/compliancePolicies", CompliancePolicyOut)

    def delete_policy(self, policy_id: str) -> None:
        self._send("DELETE", f"/compliancePolicies/{policy_id}")

    def compliance_settings(self) -> ComplianceSettingsOut:
        return self._get("/settings/compliance", ComplianceSettingsOut)

    def set_compliance_settings(self, *, secure_by_default: bool, validity_days: int) -> ComplianceSettingsOut:
        body = {"secureByDefault": secure_by_default, "deviceComplianceCheckinThresholdDays": validity_days}
        return self._put("/settings/compliance", ComplianceSettingsOut, body)

    def directory_services(self) -> DirectoryServicesOut:
        return self._get("/settings/directoryServices", DirectoryServicesOut)

    def set_directory_services(self, settings: Mapping[str, Any]) -> DirectoryServicesOut:
        """Wire names: entraIntegrationEnabled, directoryId, useEntraIdForIdentityServices, tenantName,
        immutableIdMapping, sendComplianceForWindowsDevices."""
        return self._put("/settings/directoryServices", DirectoryServicesOut, dict(settings))

    def request_directory_sync(self) -> DirectorySyncOut:
        return self._post("/settings/directoryServices/sync", DirectorySyncOut)

    def intelligence(self) -> IntelligenceOut:
        return self._get("/settings/intelligence", IntelligenceOut)

    def set_intelligence(self, opted_in: bool) -> IntelligenceOut:
        return self._put("/settings/intelligence", IntelligenceOut, {"optedIn": opted_in})

    def compliance_partner(self) -> CompliancePartnerOut:
        return self._get("/settings/compliancePartner", CompliancePartnerOut)

    def enable_compliance_partner(self, platforms: list[str] | None = None) -> CompliancePartnerOut:
        """Register with the partner service; the answer's ``admin_consent_url`` is for a tenant administrator."""
        body = {"platforms": platforms or []}
        return self._post("/settings/compliancePartner/enable", CompliancePartnerOut, body)

    def complete_compliance_partner_setup(self) -> CompliancePartnerOut:
        return self._post("/settings/compliancePartner/completeSetup", CompliancePartnerOut)

    # --- enrolment and devices ---

    def create_enrollment_token(
        self,
        *,
        user_id: str | None = None,
        platform: str | None = None,
        ownership: str = "corporate",
        expires_in_hours: int = 72,
        max_uses: int = 1,
    ) -> EnrollmentTokenOut:
        body = {
            "userId": user_id,
            "platform": platform,
            "ownership": ownership,
            "expiresInHours": expires_in_hours,
            "maxUses": max_uses,
        }
        return self._post("/enrollmentTokens", EnrollmentTokenOut, body)

    def list_devices(self, query: DeviceQuery | None = None, *, page: int = 0, page_size: int = 100) -> DevicePageOut:
        params: dict[str, str | int | float] = {**(query or DeviceQuery()).params()}
        params.update(page=page, pageSize=page_size)
        return self._get("/devices", DevicePageOut, params=params)

    def iter_devices(self, query: DeviceQuery | None = None, *, page_size: int = 500) -> Iterator[DeviceOut]:
        page = 0
        while True:
            found = self.list_devices(query, page=page, page_size=page_size)
            yield from found.devices
            if (page + 1) * page_size >= found.total or not found.devices:
                return
            page += 1

    def export_devices(self, format: Literal["csv", "json"] = "csv", query: DeviceQuery | None = None) -> str:
        params: dict[str, str | int | float] = {**(query or DeviceQuery()).params(), "format": format}
        return self._send("GET", "/devices/export", params=params).text

    def get_device(self, device_id: str) -> DeviceOut:
        return self._get(f"/devices/{device_id}", DeviceOut)

    def device_compliance(self, device_id: str) -> ComplianceOut:
        return self._get(f"/devices/{device_id}/compliance", ComplianceOut)

    def evaluate_device(self, device_id: str) -> ComplianceOut:
        return self._post(f"/devices/{device_id}/evaluate", ComplianceOut)

    def set_entra_device_id(self, device_id: str, entra_device_id: str | None) -> DeviceOut:
        return self._put(f"/devices/{device_id}/entraDeviceId", DeviceOut, {"entraDeviceId": entra_device_id})

    def unenroll(self, device_id: str) -> DeviceOut:
        return self._post(f"/devices/{device_id}/unenroll", DeviceOut)

    def wipe(self, device_id: str) -> DeviceOut:
        return self._post(f"/devices/{device_id}/wipe", DeviceOut)

    def append_ca_log(
        self,
        device_id: str,
        *,
        occurred: dt.datetime,
        channel: str,
        request_summary: str,
        response_status: int | None = None,
        error: str | None = None,
        correlation_id: str | None = None,
    ) -> CaLogEntryOut:
        body = {
            "occurredDateTime": occurred.isoformat(),
            "channel": channel,
            "requestSummary": request_summary,
            "responseStatus": response_status,
            "error": error,
            "correlationId": correlation_id,
        }
        return self._post(f"/devices/{device_id}/conditionalAccessLog", CaLogEntryOut, body)

    def ca_log(self, device_id: str) -> list[CaLogEntryOut]:
        return self._list(f"/devices/{device_id}/conditionalAccessLog", CaLogEntryOut)

    def send_notification(
        self, device_id: str, *, title: str, body: str, deep_link: str | None = None, priority: str = "standard"
    ) -> NotificationOut:
        payload = {"title": title, "body": body, "deepLink": deep_link, "priority": priority}
        return self._post(f"/devices/{device_id}/notifications", NotificationOut, payload)

    def device_notifications(self, device_id: str) -> list[NotificationOut]:
        return self._list(f"/devices/{device_id}/notifications", NotificationOut)

    # --- sensors, custom connectors, workflow rules ---

    def report_sensors(
        self, device_id: str, results: Mapping[str, str | bool | int | float], reported: dt.datetime
    ) -> SensorReportOut:
        """Device agent: sensor results read at ``reported`` (older than the stored ones: ignored)."""
        body = {"reportedDateTime": reported.isoformat(), "results": dict(results)}
        return self._post(f"/devices/{device_id}/sensors", SensorReportOut, body)

    def device_sensors(self, device_id: str) -> list[SensorOut]:
        return self._list(f"/devices/{device_id}/sensors", SensorOut)

    def create_connector(self, connector: Mapping[str, Any]) -> CustomConnectorOut:
        """Wire names: name, method, urlTemplate, headers, bodyTemplate, auth {type, username, tokenUrl,
        clientId, scope, secret}, timeoutSeconds."""
        return self._post("/customConnectors", CustomConnectorOut, dict(connector))

    def replace_connector(self, connector_id: str, connector: Mapping[str, Any]) -> CustomConnectorOut:
        return self._put(f"/customConnectors/{connector_id}", CustomConnectorOut, dict(connector))

    def get_connector(self, connector_id: str) -> CustomConnectorOut:
        return self._get(f"/customConnectors/{connector_id}", CustomConnectorOut)

    def list_connectors(self) -> list[CustomConnectorOut]:
        return self._list("/customConnectors", CustomConnectorOut)

    def delete_connector(self, connector_id: str) -> None:
        self._send("DELETE", f"/customConnectors/{connector_id}")

    def create_workflow_rule(
        self, name: str, trigger: Mapping[str, Any], actions: list[Mapping[str, Any]], *, enabled: bool = True
    ) -> WorkflowRuleOut:
        body = {"name": name, "enabled": enabled, "trigger": dict(trigger), "actions": [dict(a) for a in actions]}
        return self._post("/workflowRules", WorkflowRuleOut, body)

    def replace_workflow_rule(
        self,
        rule_id: str,
        name: str,
        trigger: Mapping[str, Any],
        actions: list[Mapping[str, Any]],
        *,
        enabled: bool = True,
    ) -> WorkflowRuleOut:
        body = {"name": name, "enabled": enabled, "trigger": dict(trigger), "actions": [dict(a) for a in actions]}
        return self._put(f"/workflowRules/{rule_id}", WorkflowRuleOut, body)

    def get_workflow_rule(self, rule_id: str) -> WorkflowRuleOut:
        return self._get(f"/workflowRules/{rule_id}", WorkflowRuleOut)

    def list_workflow_rules(self) -> list[WorkflowRuleOut]:
        return self._list("/workflowRules", WorkflowRuleOut)

    def delete_workflow_rule(self, rule_id: str) -> None:
        self._send("DELETE", f"/workflowRules/{rule_id}")

    def workflow_runs(
        self,
        *,
        rule_id: str | None = None,
        device_id: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[WorkflowRunOut]:
        """Runs newest first: rule, device, trigger, action, status, outcome, error."""
        params: dict[str, str | int | float] = {"limit": limit}
        for name, value in (("ruleId", rule_id), ("deviceId", device_id), ("status", status)):
            if value is not None:
                params[name] = value
        return self._list("/workflowRuns", WorkflowRunOut, params=params)

    # --- change feed ---

    def feed(self, after: int = 0, *, limit: int = 100, wait: float = 0.0) -> FeedPageOut:
        """Entries after ``after``; with ``wait`` hold up to that many seconds for new ones."""
        params: dict[str, str | int | float] = {"after": after, "limit": limit, "wait": wait}
        return self._get("/feed", FeedPageOut, params=params, timeout=wait + DEFAULT_TIMEOUT)

    def feed_position(self) -> FeedPositionOut:
        return self._get("/feed/position", FeedPositionOut)

    # --- device agent ---

    def enroll(self, enrollment_token: str, **device: Unpack[calls.EnrolmentFacts]) -> EnrollResponse:
        """Unauthenticated: the enrolment token is the credential. Keep ``device_token`` from the answer."""
        return self.call(calls.enroll(enrollment_token, **device))

    def check_in(self, device_id: str, sample: Mapping[str, Any]) -> CheckInResponse:
        return self.call(calls.check_in(device_id, sample))

    def compliance_page_link(self) -> CompliancePageLinkOut:
        """A signed link to this device's user-facing compliance page (device credential)."""
        return self._get("/device/compliancePageLink", CompliancePageLinkOut)

    def device_compliance_page_link(self, device_id: str) -> CompliancePageLinkOut:
        """A signed link to a device's compliance page, to hand to its user (organisation credential)."""
        return self._get(f"/devices/{device_id}/compliancePageLink", CompliancePageLinkOut)

    def own_device(self) -> DeviceOut:
        return self._get("/device", DeviceOut)

    def report_entra_device_id(self, entra_device_id: str | None) -> DeviceOut:
        return self.call(calls.report_entra_device_id(entra_device_id))

    def inbox(self, *, unread_only: bool = False) -> list[NotificationOut]:
        return self._list("/device/notifications", NotificationOut, params={"unread": str(unread_only).lower()})

    def mark_read(self, notification_id: str) -> NotificationOut:
        return self._post(f"/device/notifications/{notification_id}/read", NotificationOut)


def error_of(response: httpx.Response) -> MdmApiError:
    """The `MdmApiError` a non-2xx answer stands for (shared with the asyncio client)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    code, message, target = "httpError", response.text[:200] or response.reason_phrase, None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        info = body["error"]
        code, message, target = str(info.get("code")), str(info.get("message")), info.get("target")
    elif isinstance(body, dict) and isinstance(body.get("error"), str):
        code, message = body["error"], str(body.get("error_description", ""))
    kind = FeedPositionExpiredError if response.status_code == 410 else MdmApiError
    return kind(response.status_code, code, message, target)
