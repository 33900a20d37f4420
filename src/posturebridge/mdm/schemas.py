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
