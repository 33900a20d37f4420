"""The partner service's tables (SQLAlchemy 2 ORM). Storage only."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: DateTime(timezone=True)}


class Registration(Base):
    """One MDM organisation onboarded (or being onboarded) with one Entra tenant (``onboarding.py``).

    ``mdm_client_secret`` is the credential the MDM issued for reading this organisation's feed; it is kept
    as given because the partner must present it. ``consent_state_hash`` is the SHA-256 of the opaque
    ``state`` of the admin consent URL handed out last.
    """

    __tablename__ = "registrations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    mdm_organisation_id: Mapped[str] = mapped_column(String(36), index=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    state: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    mdm_url: Mapped[str] = mapped_column(String(2048), default="")
    mdm_client_id: Mapped[str] = mapped_column(String(128), default="")
    mdm_client_secret: Mapped[str] = mapped_column(String(256), default="")
    platforms: Mapped[list[str]] = mapped_column(JSON, default=list)
    consent_state_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    consented_at: Mapped[dt.datetime | None]
    enabled_at: Mapped[dt.datetime | None]
    last_heartbeat_at: Mapped[dt.datetime | None]


class FeedCursor(Base):
    """How far the partner has read a change feed; moved in the transaction that enqueues what it read."""

    __tablename__ = "feed_cursors"
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime]


class DeliveryItem(Base):
    """The newest state of one MDM device waiting to be (or already) written to the directory.

    One row per device: a newer feed entry replaces ``desired`` and raises ``version`` (coalescing); an
    older or repeated one changes nothing (idempotence). ``state``: ``pending`` (due at ``not_before``),
    ``leased`` (a worker holds it until ``lease_expires``), ``delivered``, ``dead`` (dead-lettered, reason
    in ``last_error``) or ``unlinked`` (no Entra device id yet: nothing to write).
    """

    __tablename__ = "delivery_items"
    __table_args__ = (Index("ix_delivery_items_due", "state", "not_before"),)
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(BigInteger)
    desired: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[dt.datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires: Mapped[dt.datetime | None]
    leased_version: Mapped[int | None] = mapped_column(BigInteger)
    delivered_version: Mapped[int | None] = mapped_column(BigInteger)
    delivered: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class CallRecord(Base):
    """One call made on a device's behalf, kept until it is appended to the device's CA log in the MDM."""

    __tablename__ = "call_records"
    __table_args__ = (Index("ix_call_records_unforwarded", "forwarded_at", "id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    occurred_at: Mapped[dt.datetime]
    channel: Mapped[str] = mapped_column(String(64))
    request_summary: Mapped[str] = mapped_column(String(2048))
    response_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(2048))
    correlation_id: Mapped[str | None] = mapped_column(String(128))
    forwarded_at: Mapped[dt.datetime | None]


class ShadowRecord(Base):
    """Shadow mode: what a delivery would have written, what the directory held, and who would lose access."""

    __tablename__ = "shadow_records"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(16))
    entra_device_id: Mapped[str | None] = mapped_column(String(36))
    recorded_at: Mapped[dt.datetime]
    would_write: Mapped[dict[str, Any]] = mapped_column(JSON)
    directory_before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    lost_access: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class DirectorySync(Base):
    """One "Sync directory services" run (asked for in the MDM, or on the schedule): the users in the compliance
    partner's scope with their licences as the directory showed them, and what changed since the run before."""

    __tablename__ = "directory_syncs"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    started_at: Mapped[dt.datetime] = mapped_column(index=True)
    trigger: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(64))
    """The MDM's sync request this run answered (None: the schedule or a command)."""
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class DeviceLink(Base):
    """The link MDM device <-> Entra device ID <-> serial/UDID, and the conflict that stops its delivery.

    ``conflict``: ``duplicateEntraDeviceId`` (another MDM device claims the same Entra device),
    ``deletedInDirectory`` (the directory answered 404 for it) or ``registeredToAnotherUser`` (its registered
    owner is not the user enrolled in the MDM); None when the link is sound. ``checked_entra_device_id`` is
    the Entra device the directory check last ran for: a new link is checked once before its first delivery.
    """

    __tablename__ = "device_links"
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    entra_device_id: Mapped[str | None] = mapped_column(String(64), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    serial_number: Mapped[str | None] = mapped_column(String(128))
    udid: Mapped[str | None] = mapped_column(String(128))
    user_id: Mapped[str | None] = mapped_column(String(64))
    user_principal_name: Mapped[str | None] = mapped_column(String(256))
    directory_object_id: Mapped[str | None] = mapped_column(String(64))
    registered_owner: Mapped[str | None] = mapped_column(String(256))
    checked_entra_device_id: Mapped[str | None] = mapped_column(String(64))
    conflict: Mapped[str | None] = mapped_column(String(32), index=True)
    conflict_detail: Mapped[str | None] = mapped_column(Text)
    conflict_since: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime]
