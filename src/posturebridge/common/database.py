"""Database plumbing shared by the parts: engines, units of work and Alembic migrations.

Each part owns one database (embedded default: a SQLite file in WAL mode; scale: any PostgreSQL
URL) and its own migration history under ``posturebridge/<part>/migrations``. The same migrations
run on both engines. Helpers here never commit on their own: callers use :func:`unit_of_work`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.errors import StartupError
from posturebridge.common.settings import Part

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)


def redact(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StartupError(f"invalid database URL {url!r}: {exc}") from None
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    except (NoSuchModuleError, ImportError) as exc:
        raise StartupError(f"unsupported database URL {redact(url)}: {exc}") from None
    return engine


def check_reachable(engine: Engine, part: Part) -> None:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        original = getattr(exc, "orig", None)
        reason = (str(original if original is not None else exc).strip().splitlines() or ["unknown error"])[0]
        raise StartupError(
            f"{part} database {redact(engine.url.render_as_string())} is unreachable: {reason}"
        ) from None


def _alembic_config(part: Part, engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    location = resources.files("posturebridge") / part / "migrations"
    config.set_main_option("script_location", str(location))
    config.set_main_option("version_table", f"alembic_version_{part}")
    config.attributes["engine"] = engine
    config.attributes["part"] = part
    return config


def current_revision(engine: Engine, part: Part) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": f"alembic_version_{part}"})
        return context.get_current_revision()


def migrate(engine: Engine, part: Part) -> str:
    """Bring ``part``'s schema to the newest revision; refuse a schema newer than this code."""
    # Alembic is imported on first use: it costs half a second, and most commands never migrate.
    from alembic import command
    from alembic.script import ScriptDirectory

    check_reachable(engine, part)
    config = _alembic_config(part, engine)
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    current = current_revision(engine, part)
    if current is not None and current != head:
        known = {revision.revision for revision in script.walk_revisions()}
        if current not in known:
            raise StartupError(
                f"{part} database schema is at revision {current}, newer than this posturebridge "
                f"(newest known {head}); upgrade posturebridge or point it at another database"
            )
    if current != head:
        log.info("migrating %s database from %s to %s", part, current, head)
        command.upgrade(config, "head")
    assert head is not None
    return head


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that rolls back unless the block calls ``session.commit()``."""
    session = factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()
