"""A migrated partner database per test, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.database import make_engine, migrate

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    migrate(engine, "partner")
    try:
        yield sessionmaker(engine, expire_on_commit=False)
    finally:
        engine.dispose()
