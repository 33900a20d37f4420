"""Each part's migrations run on SQLite and PostgreSQL; bad databases fail with one clear line."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from posturebridge.common.database import current_revision, make_engine, migrate
from posturebridge.common.errors import StartupError
from posturebridge.common.settings import PARTS, Part

EXPECTED_TABLES: dict[Part, set[str]] = {
    "directory": {"tenants", "users", "devices", "applications", "service_principals", "directory_audits"},
    "mdm": {"organisations"},
    "partner": {"registrations"},
}


@pytest.mark.parametrize("part", PARTS)
def test_migrations_create_the_schema_and_are_idempotent(part: Part, database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        head = migrate(engine, part)
        assert current_revision(engine, part) == head
        assert EXPECTED_TABLES[part] <= set(inspect(engine).get_table_names())
        assert migrate(engine, part) == head
    finally:
        engine.dispose()


def test_sqlite_databases_use_wal(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/wal.db")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()


def test_schema_newer_than_the_code_is_refused(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine, "mdm")
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version_mdm SET version_num = '9999_from_the_future'"))
        with pytest.raises(StartupError, match=r"mdm database schema is at revision 9999_from_the_future, newer"):
            migrate(engine, "mdm")
    finally:
        engine.dispose()


def test_unreachable_database_is_one_clear_line() -> None:
    engine = make_engine("postgresql+psycopg://nobody:secret@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(StartupError) as caught:
        migrate(engine, "partner")
    message = str(caught.value)
    assert message.startswith("partner database postgresql+psycopg://nobody:***@127.0.0.1:1/none")
    assert "is unreachable" in message
    assert "secret" not in message
    assert "\n" not in message


def test_invalid_database_url_is_refused() -> None:
    with pytest.raises(StartupError, match="invalid database URL"):
        make_engine("not a url")
