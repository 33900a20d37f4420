"""Write transactions that behave the same on SQLite and PostgreSQL.

On SQLite a deferred transaction that read first and writes later fails with "database is locked" when
another writer committed in between, and busy_timeout cannot help. Write units of work therefore start
with ``BEGIN IMMEDIATE`` (the write lock up front). Threads of one process also queue on a process-wide
lock per database before asking SQLite: SQLite's busy handler polls with sleeps of up to 100 ms, which
would turn a queue of writers into seconds of latency. The lock is released when the session's
transaction ends (commit or rollback). On PostgreSQL nothing is needed here: the service functions
lock the rows they change (``FOR UPDATE``).
"""

from __future__ import annotations

import threading

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

_HELD = "posturebridge.mdm.sqlite_write_lock"
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def _lock_for(database: str) -> threading.Lock:
    with _guard:
        return _locks.setdefault(database, threading.Lock())


def begin_write(session: Session) -> None:
    """Make the session's transaction a write transaction from its first statement on."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is None or getattr(raw, "in_transaction", False) or _HELD in session.info:
        return
    lock = _lock_for(connection.engine.url.render_as_string(hide_password=True))
    lock.acquire()
    session.info[_HELD] = lock
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        session.info.pop(_HELD, None)
        lock.release()
        raise


@event.listens_for(Session, "after_transaction_end")
def _release(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        lock = session.info.pop(_HELD, None)
        if lock is not None:
            lock.release()
