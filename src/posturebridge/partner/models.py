"""The partner service's tables (SQLAlchemy 2 ORM). Storage only."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: DateTime(timezone=True)}


class Registration(Base):
    """One MDM organisation onboarded (or being onboarded) with one Entra tenant."""

    __tablename__ = "registrations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    mdm_organisation_id: Mapped[str] = mapped_column(String(36), index=True)
    tenant_id: Mapped[str] = mapped_column(String(36))
    state: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


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
