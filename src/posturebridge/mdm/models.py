"""The MDM's tables (SQLAlchemy 2 ORM). Storage only: the compliance rules live in ``mdm.domain``.

Every row belongs to an organisation (the MDM's tenant); every query filters on it. Domain documents
(policies, smart groups, samples, evaluations) are kept as JSON in their own wire form and parsed back
by the domain, so the domain stays the only place that knows what they mean.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware instant in and out on every engine.

    SQLite has no time zones: values are stored as naive UTC text (which sorts correctly) and come
    back with UTC attached, so the domain never sees a naive datetime.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass a timezone-aware instant")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UtcDateTime(), dict[str, Any]: JSON()}


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    created_at: Mapped[dt.datetime]
    configuration_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Bumped by every change that can alter which policies apply to which device (caches key on it)."""


class ApiClient(Base):
    """OAuth client credentials of an organisation's API user; the secret is kept as a hash only."""

    __tablename__ = "api_clients"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(256))
    secret_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime]


class ApiKey(Base):
    """A REST API key (Workspace ONE's ``aw-tenant-code``); kept as a SHA-256 hash only."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(256))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]


class AccessToken(Base):
    """A bearer token issued for client credentials; only its hash is stored."""

    __tablename__ = "access_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.client_id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class Admin(Base):
    __tablename__ = "admins"
    __table_args__ = (UniqueConstraint("organisation_id", "user_name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    user_name: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime]


class OrganisationSettings(Base):
    """Compliance settings, Directory Services (Entra integration) and the Intelligence opt-in."""

    __tablename__ = "organisation_settings"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    compliance: Mapped[dict[str, Any]]
    directory_services: Mapped[dict[str, Any]]
    intelligence_opted_in: Mapped[bool] = mapped_column(Boolean, default=False)
    intelligence_opted_in_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime]


class DirectorySyncRequest(Base):
    """An administrator pressed "sync directory services"; the partner service picks it up."""

    __tablename__ = "directory_sync_requests"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    requested_at: Mapped[dt.datetime]
    requested_by: Mapped[str] = mapped_column(String(256))


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("organisation_id", "user_name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    user_name: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str] = mapped_column(String(256))
    user_principal_name: Mapped[str | None] = mapped_column(String(256))
    mail: Mapped[str | None] = mapped_column(String(256))
    object_guid: Mapped[str | None] = mapped_column(String(64))
    custom_attributes: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]


class UserGroup(Base):
    __tablename__ = "user_groups"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[dt.datetime]


class UserGroupMember(Base):
    __tablename__ = "user_group_members"
    group_id: Mapped[str] = mapped_column(ForeignKey("user_groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class SmartGroupRow(Base):
    """A smart group; ``definition`` is ``SmartGroup.to_dict()``."""

    __tablename__ = "smart_groups"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(256))
    definition: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class CompliancePolicyRow(Base):
    """A compliance policy; ``document`` is ``CompliancePolicy.to_dict()``."""

    __tablename__ = "compliance_policies"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(256))
    platform: Mapped[str] = mapped_column(String(16))
    document: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class EnrollmentToken(Base):
    __tablename__ = "enrollment_tokens"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    platform: Mapped[str | None] = mapped_column(String(16))
    ownership: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[dt.datetime]
    max_uses: Mapped[int] = mapped_column(Integer)
    use_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime]


class DeviceRow(Base):
    """An enrolled (or formerly enrolled) device with its latest sample and compliance verdict."""

    __tablename__ = "devices"
    __table_args__ = (
        Index("ix_devices_organisation_platform", "organisation_id", "platform"),
        Index("ix_devices_organisation_compliance", "organisation_id", "compliance_state"),
        Index("ix_devices_organisation_last_seen", "organisation_id", "last_seen_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    ownership: Mapped[str] = mapped_column(String(16))
    enrollment_status: Mapped[str] = mapped_column(String(16))
    enrolled_at: Mapped[dt.datetime]
    status_changed_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime | None]
    model: Mapped[str] = mapped_column(String(128))
    os_version: Mapped[str | None] = mapped_column(String(64))
    udid: Mapped[str | None] = mapped_column(String(128))
    serial_number: Mapped[str | None] = mapped_column(String(128))
    imei: Mapped[str | None] = mapped_column(String(32))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    credential_hash: Mapped[str] = mapped_column(String(64), unique=True)
    entra_device_id: Mapped[str | None] = mapped_column(String(36), index=True)
    compliance_state: Mapped[str] = mapped_column(String(16))
    is_compliant: Mapped[bool] = mapped_column(Boolean)
    last_evaluated_at: Mapped[dt.datetime]
    next_evaluation_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    evaluation: Mapped[dict[str, Any]]
    """The last ``ComplianceEvaluation.to_dict()``: the verdict with every policy's and rule's reason."""
    prior_evaluation: Mapped[dict[str, Any]]
    sample_cursor: Mapped[dict[str, Any] | None]
    latest_sample: Mapped[dict[str, Any] | None]


class DeviceAction(Base):
    """An escalation action that fell due (Intune's "actions for noncompliance"), once per failure episode."""

    __tablename__ = "device_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    policy_id: Mapped[str] = mapped_column(String(64))
    action_type: Mapped[str] = mapped_column(String(32))
    action_key: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[dt.datetime]
    executed_at: Mapped[dt.datetime]


class FeedCounter(Base):
    """Per organisation: the last sequence number handed out and the last one removed by retention.

    Writers take this row's lock (``UPDATE … RETURNING``) just before committing, so feed entries of one
    organisation commit in sequence order and a reader never sees sequence n+1 before n.
    """

    __tablename__ = "feed_counters"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    last_sequence: Mapped[int] = mapped_column(BigInteger, default=0)
    pruned_through: Mapped[int] = mapped_column(BigInteger, default=0)


class FeedEntry(Base):
    __tablename__ = "feed_entries"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    device_id: Mapped[str | None] = mapped_column(String(36))
    previous_value: Mapped[str | None] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]]


class CaLogEntry(Base):
    """One call the compliance partner made for a device (the device's Conditional Access log)."""

    __tablename__ = "ca_log_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    occurred_at: Mapped[dt.datetime]
    channel: Mapped[str] = mapped_column(String(64))
    request_summary: Mapped[str] = mapped_column(String(2048))
    response_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(2048))
    correlation_id: Mapped[str | None] = mapped_column(String(128))
    recorded_at: Mapped[dt.datetime]


class Notification(Base):
    """A Hub notification in one device's inbox."""

    __tablename__ = "notifications"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(256))
    body: Mapped[str] = mapped_column(Text)
    deep_link: Mapped[str | None] = mapped_column(String(2048))
    priority: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime]
    read_at: Mapped[dt.datetime | None]


class DeviceSensor(Base):
    """The latest result of one named sensor on one device, with the time the device read it."""

    __tablename__ = "device_sensors"
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    value: Mapped[str] = mapped_column(String(1024))
    reported_at: Mapped[dt.datetime]
    recorded_at: Mapped[dt.datetime]


class CustomConnector(Base):
    """An administrator's HTTP action (Intelligence custom connector). ``auth`` holds the non-secret
    credential fields; ``secret`` (password, bearer token or client secret) is never rendered."""

    __tablename__ = "custom_connectors"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(256))
    method: Mapped[str] = mapped_column(String(8))
    url_template: Mapped[str] = mapped_column(String(2048))
    headers: Mapped[dict[str, Any]]
    body_template: Mapped[str | None] = mapped_column(Text)
    auth: Mapped[dict[str, Any]]
    secret: Mapped[str | None] = mapped_column(Text)
    timeout_seconds: Mapped[float] = mapped_column(default=10.0)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class WorkflowRule(Base):
    """A workflow rule: ``trigger`` and ``actions`` are the domain's JSON (``WorkflowDefinition``)."""

    __tablename__ = "workflow_rules"
    __table_args__ = (
        UniqueConstraint("organisation_id", "name"),
        Index("ix_workflow_rules_organisation_trigger", "organisation_id", "trigger_type"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(256))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    trigger_type: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[dict[str, Any]]
    actions: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class WorkflowRun(Base):
    """One action of one rule for one device: written (pending) in the transaction that saw the trigger,
    carried out after commit, retried with backoff, finished as succeeded or failed with the reason."""

    __tablename__ = "workflow_runs"
    __table_args__ = (
        UniqueConstraint("rule_id", "device_id", "trigger_key", "action_index"),
        Index("ix_workflow_runs_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_workflow_runs_organisation_created", "organisation_id", "created_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    rule_id: Mapped[str] = mapped_column(ForeignKey("workflow_rules.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    trigger_type: Mapped[str] = mapped_column(String(64))
    trigger_key: Mapped[str] = mapped_column(String(128))
    """What fired the rule (unique per rule and device): ``feed:<sequence>``, ``sensors:<id>``, ``scheduled:<time>``."""
    context: Mapped[dict[str, Any]]
    action_index: Mapped[int] = mapped_column(Integer)
    action_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    lease_until: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(2048))
    error: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]


class WorkflowFiring(Base):
    """A scheduled rule fired for a device; removed when the condition stops holding (it may fire again)."""

    __tablename__ = "workflow_firings"
    rule_id: Mapped[str] = mapped_column(ForeignKey("workflow_rules.id", ondelete="CASCADE"), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True, index=True)
    fired_at: Mapped[dt.datetime]


class WorkflowFeedCursor(Base):
    """How far the workflow runner has read an organisation's change feed (its compliance events)."""

    __tablename__ = "workflow_feed_cursors"
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    after_sequence: Mapped[int] = mapped_column(BigInteger, default=0)
