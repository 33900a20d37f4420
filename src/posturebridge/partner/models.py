"""The partner service's tables (SQLAlchemy 2 ORM). Storage only."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import DateTime, String
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
