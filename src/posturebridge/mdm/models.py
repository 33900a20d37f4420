"""The MDM's tables (SQLAlchemy 2 ORM). Storage only: the compliance rules live in ``mdm.domain``.

Every row belongs to an organisation (the MDM's tenant); every query filters on it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: DateTime(timezone=True)}


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    created_at: Mapped[dt.datetime]


class ApiClient(Base):
    """OAuth client credentials of an organisation's API user; the secret is kept as a hash only."""

    __tablename__ = "api_clients"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(256))
    secret_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime]
