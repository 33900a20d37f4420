"""Wire shapes of the MDM REST API (``/api/v1``), shared by the routes and ``mdm.client``.

Names are camelCase on the wire (Graph and Workspace ONE style), snake_case in Python. Domain documents
(compliance policies, smart groups, posture samples, evaluations) travel as the domain's own JSON and
are validated by the domain, so their fields appear here as plain objects.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Response(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


# --- errors and auth -----------------------------------------------------------------------------


class ErrorDetailBody(Response):
    code: str
    message: str
    target: str | None = None


class ErrorInfo(Response):
    code: str
    message: str
    target: str | None = None
    details: list[ErrorDetailBody] = Field(default_factory=list)


class ErrorBody(Response):
    error: ErrorInfo


class TokenResponse(BaseModel):
    """RFC 6749 names, snake_case on the wire."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class OrganisationOut(Response):
    id: str
    name: str
    created_date_time: dt.datetime


class CredentialCreate(Wire):
    kind: Literal["clientCredentials", "apiKey"]
    display_name: str = Field(min_length=1, max_length=256)


class CredentialOut(Response):
    kind: Literal["clientCredentials", "apiKey"]
    id: str
    display_name: str
    created_date_time: dt.datetime | None = None
    secret: str | None = None
    """Only in the response that created it: the client secret or the API key."""


class AdminCreate(Wire):
    user_name: str = Field(min_length=1, max_length=256)
    display_name: str = Field(min_length=1, max_length=256)
    role: Literal["administrator", "readOnly"] = "administrator"


class AdminOut(Response):
    id: str
    user_name: str
    display_name: str
    role: str
    created_date_time: dt.datetime


# --- users and groups ----------------------------------------------------------------------------


class UserCreate(Wire):
    user_name: str = Field(min_length=1, max_length=256)
    display_name: str | None = Field(default=None, max_length=256)
    user_principal_name: str | None = Field(default=None, max_length=256)
    mail: str | None = Field(default=None, max_length=256)
    object_guid: str | None = Field(default=None, max_length=64)
    custom_attributes: dict[str, str] = Field(default_factory=dict)


class UserOut(Response):
    id: str
    user_name: str
    display_name: str
    user_principal_name: str | None = None
    mail: str | None = None
    object_guid: str | None = None
    custom_attributes: dict[str, str] = Field(default_factory=dict)
    group_ids: list[str] = Field(default_factory=list)
    created_date_time: dt.datetime


class ImmutableIdOut(Response):
    user_id: str
    attribute: str
    data_type: str
    immutable_id: str


class UserGroupCreate(Wire):
    name: str = Field(min_length=1, max_length=256)


class UserGroupOut(Response):
    id: str
    name: str
    member_ids: list[str] = Field(default_factory=list)
    created_date_time: dt.datetime


class MemberAdd(Wire):
    user_id: str


class SmartGroupOut(Response):
    """``SmartGroup.to_dict()``: id, name, platforms, ownerships, osVersions, models, userGroups."""

    model_config = ConfigDict(extra="allow")
    id: str
    name: str


class CompliancePolicyOut(Response):
    """``CompliancePolicy.to_dict()`` plus timestamps."""

    model_config = ConfigDict(extra="allow")
    id: str
    display_name: str
    platform: str
    rules: list[dict[str, Any]]
    scheduled_actions: list[dict[str, Any]]
    assignment: dict[str, Any]


# --- enrolment and devices -----------------------------------------------------------------------


class EnrollmentTokenCreate(Wire):
    user_id: str | None = None
    platform: str | None = None
    ownership: str = "corporate"
    expires_in_hours: int = 72
    max_uses: int = 1


class EnrollmentTokenOut(Response):
    id: str
    user_id: str | None = None
    platform: str | None = None
    ownership: str
    expires_date_time: dt.datetime
    max_uses: int
    use_count: int
    token: str | None = None
    """Only in the response that created it."""


class EnrollRequest(Wire):
    enrollment_token: str = Field(min_length=1, max_length=256)
    platform: str = Field(max_length=32)
    model: str = Field(max_length=128)
    os_version: str | None = Field(default=None, max_length=64)
    udid: str | None = Field(default=None, max_length=128)
    serial_number: str | None = Field(default=None, max_length=128)
    imei: str | None = Field(default=None, max_length=32)
    ownership: str | None = None
    user_name: str | None = Field(default=None, max_length=256)


class DeviceOut(Response):
    id: str
    platform: str
    ownership: str
    enrollment_status: str
    enrolled_date_time: dt.datetime
    last_seen_date_time: dt.datetime | None = None
    model: str
    os_version: str | None = None
    udid: str | None = None
    serial_number: str | None = None
    imei: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    entra_device_id: str | None = None
    compliance_state: str
    is_compliant: bool
    last_compliance_check_date_time: dt.datetime
    next_compliance_check_date_time: dt.datetime | None = None


class EnrollResponse(Response):
    device_id: str
    device_token: str
    """The device's bearer credential for check-ins; shown once."""
    device: DeviceOut


class DevicePageOut(Response):
    devices: list[DeviceOut]
    page: int
    page_size: int
    total: int


class CheckInResponse(Response):
    device_id: str
    disposition: Literal["accepted", "ignoredStale"]
    reason: str
    compliance_state: str
    is_compliant: bool
    evaluation: dict[str, Any]


class DeviceActionOut(Response):
    policy_id: str
    action_type: str
    action_key: str
    due_date_time: dt.datetime
    executed_date_time: dt.datetime


class ComplianceOut(Response):
    """The last evaluation, explained: every policy's and rule's outcome, due and next actions."""

    device_id: str
    compliance_state: str
    is_compliant: bool
    evaluation: dict[str, Any]
    actions: list[DeviceActionOut] = Field(default_factory=list)


class EntraDeviceIdUpdate(Wire):
    entra_device_id: str | None


# --- feed, logs, notifications, settings ---------------------------------------------------------


class FeedEntryOut(Response):
    sequence: int
    kind: str
    device_id: str | None = None
    previous_value: str | None = None
    value: str | None = None
    occurred_date_time: dt.datetime
    payload: dict[str, Any] = Field(default_factory=dict)


class FeedPageOut(Response):
    entries: list[FeedEntryOut]
    next_after: int
    """Pass as ``after`` in the next call (the last entry's sequence, or ``after`` if none)."""
    last_sequence: int
    has_more: bool


class FeedPositionOut(Response):
    last_sequence: int
    pruned_through: int


class CaLogEntryCreate(Wire):
    occurred_date_time: dt.datetime
    channel: str = Field(min_length=1, max_length=64)
    request_summary: str = Field(min_length=1, max_length=2048)
    response_status: int | None = None
    error: str | None = Field(default=None, max_length=2048)
    correlation_id: str | None = Field(default=None, max_length=128)


class CaLogEntryOut(Response):
    id: int
    device_id: str
    occurred_date_time: dt.datetime
    channel: str
    request_summary: str
    response_status: int | None = None
    error: str | None = None
    correlation_id: str | None = None
    recorded_date_time: dt.datetime


class NotificationCreate(Wire):
    title: str = Field(min_length=1, max_length=256)
    body: str = Field(min_length=1, max_length=8192)
    deep_link: str | None = Field(default=None, max_length=2048)
    priority: str = "standard"


class NotificationOut(Response):
    id: str
    device_id: str
    title: str
    body: str
    deep_link: str | None = None
    priority: str
    created_date_time: dt.datetime
    read_date_time: dt.datetime | None = None


class DirectorySyncOut(Response):
    id: str
    requested_date_time: dt.datetime
    requested_by: str


class DirectoryServicesIn(Wire):
    entra_integration_enabled: bool = False
    directory_id: str | None = None
    use_entra_id_for_identity_services: bool = False
    tenant_name: str | None = None
    immutable_id_mapping: dict[str, Any] | None = None
    send_compliance_for_windows_devices: bool = False


class DirectoryServicesOut(Response):
    entra_integration_enabled: bool
    directory_id: str | None = None
    use_entra_id_for_identity_services: bool
    tenant_name: str | None = None
    immutable_id_mapping: dict[str, Any]
    send_compliance_for_windows_devices: bool
    last_sync_request: DirectorySyncOut | None = None


class IntelligenceIn(Wire):
    opted_in: bool


class IntelligenceOut(Response):
    opted_in: bool
    opted_in_date_time: dt.datetime | None = None


class ComplianceSettingsOut(Response):
    secure_by_default: bool
    device_compliance_checkin_threshold_days: int


# --- sensors, custom connectors, workflow rules ----------------------------------------------------


class SensorReportIn(Wire):
    reported_date_time: dt.datetime
    """When the device read the values; a result older than the stored one is ignored."""
    results: dict[str, str | bool | int | float] = Field(min_length=1, max_length=200)


class SensorOut(Response):
    name: str
    value: str
    reported_date_time: dt.datetime
    recorded_date_time: dt.datetime


class SensorReportOut(Response):
    device_id: str
    accepted: list[str]
    ignored_stale: list[str]
    changed: list[str]
    workflow_runs_queued: int


class ConnectorAuthIn(Wire):
    type: Literal["none", "basic", "bearer", "oauth2ClientCredentials"] = "none"
    username: str | None = Field(default=None, max_length=256)
    token_url: str | None = Field(default=None, max_length=2048)
    client_id: str | None = Field(default=None, max_length=256)
    scope: str | None = Field(default=None, max_length=1024)
    secret: str | None = Field(default=None, max_length=4096)
    """Password (basic), token (bearer) or client secret (OAuth); write-only. Omit on replace to keep it."""


class ConnectorAuthOut(Response):
    type: str
    username: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    scope: str | None = None
    has_secret: bool


class CustomConnectorIn(Wire):
    name: str = Field(min_length=1, max_length=256)
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    url_template: str = Field(min_length=8, max_length=2048)
    headers: dict[str, str] = Field(default_factory=dict)
    body_template: str | None = Field(default=None, max_length=65536)
    auth: ConnectorAuthIn = Field(default_factory=ConnectorAuthIn)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


class CustomConnectorOut(Response):
    id: str
    name: str
    method: str
    url_template: str
    headers: dict[str, str]
    body_template: str | None = None
    auth: ConnectorAuthOut
    timeout_seconds: float
    created_date_time: dt.datetime
    last_modified_date_time: dt.datetime


class WorkflowRuleIn(Wire):
    name: str = Field(min_length=1, max_length=256)
    enabled: bool = True
    trigger: dict[str, Any]
    """``{"type": <trigger type>, ...parameters}``; see ``mdm.domain.workflows``."""
    actions: list[dict[str, Any]] = Field(min_length=1, max_length=10)


class WorkflowRuleOut(Response):
    id: str
    name: str
    enabled: bool
    trigger: dict[str, Any]
    actions: list[dict[str, Any]]
    created_date_time: dt.datetime
    last_modified_date_time: dt.datetime


class WorkflowRunOut(Response):
    id: str
    rule_id: str
    rule_name: str
    device_id: str
    trigger_type: str
    trigger_key: str
    trigger: dict[str, Any]
    action_index: int
    action_type: str
    status: Literal["pending", "running", "succeeded", "failed"]
    attempts: int
    outcome: str | None = None
    error: str | None = None
    created_date_time: dt.datetime
    next_attempt_date_time: dt.datetime | None = None
    finished_date_time: dt.datetime | None = None


class CompliancePartnerEnableIn(Wire):
    platforms: list[str] = Field(default_factory=list, description="Default: iOS, android, macOS.")


class CompliancePartnerOut(Response):
    """The compliance partner integration as the partner service reports it (state ``notEnabled`` before)."""

    state: str
    tenant_id: str | None = None
    platforms: list[str] = Field(default_factory=list)
    admin_consent_url: str | None = None
    last_error: str | None = None
    consented_date_time: dt.datetime | None = None
    enabled_date_time: dt.datetime | None = None
    last_heartbeat_date_time: dt.datetime | None = None


class CompliancePageLinkOut(Response):
    """A signed link to the device's user-facing compliance page, good until ``expires_date_time``."""

    url: str
    expires_date_time: dt.datetime
