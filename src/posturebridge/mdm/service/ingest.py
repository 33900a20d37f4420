"""Group commit for device check-ins: concurrent check-ins are taken together, in one transaction.

A request hands its sample to ``GroupCommit.take`` and waits. A writer thread takes every sample
waiting at that moment, runs them through ``compliance.check_in_many`` in one unit of work, commits,
and only then answers each request with its own result or refusal: an answer is never given for
work that is not committed, and the commit (one WAL append on SQLite) is shared by the whole group.
Nothing waits on purpose: a lone sample is committed alone at once; under load, the samples that
arrive while one transaction runs form the next.

One sample must not fail the others. A refused sample (replay, bad body, another device's) is
refused by ``check_in_many`` before anything of it is written; if the transaction fails for any
other reason it is rolled back, nobody has been answered yet, and each of its samples is retried
alone, so only the sample that fails alone fails.

On SQLite there is one writer (SQLite has one anyway); on PostgreSQL several, each locking its
devices' rows in device order, so two groups cannot deadlock on each other's devices.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.database import unit_of_work
from posturebridge.mdm.service import compliance
from posturebridge.mdm.service.compliance import Arrival, CheckInResult, ConfigurationCache

log = logging.getLogger(__name__)

MAX_GROUP = 256
"""Samples per transaction at most: bounds the time the first of them waits for its answer."""
IDLE_SECONDS = 5.0
"""A writer with nothing to do for this long ends; the next sample starts a new one."""
POSTGRES_WRITERS = 4


@dataclass(frozen=True)
class _Waiting:
    arrival: Arrival
    answer: Future[CheckInResult]


class GroupCommit:
    """Check-ins of concurrent requests, committed together and answered after the commit."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        cache: ConfigurationCache,
        clock: Callable[[], dt.datetime],
        *,
        writers: int | None = None,
        max_group: int = MAX_GROUP,
    ) -> None:
        self._sessions = sessions
        self._cache = cache
        self._clock = clock
        self._max_group = max_group
        self._writers = writers if writers is not None else _writers_for(sessions)
        self._running = 0
        self._idle = 0
        self._waiting: list[_Waiting] = []
        self._condition = threading.Condition()

    def submit(self, arrival: Arrival) -> Future[CheckInResult]:
        """Queue one sample; the future resolves after its transaction committed (or was refused)."""
        waiting = _Waiting(arrival, Future())
        with self._condition:
            self._waiting.append(waiting)
            if self._idle:
                self._condition.notify()
            elif self._running < self._writers:
                self._running += 1
                threading.Thread(target=self._write, name="mdm-check-in-writer", daemon=True).start()
        return waiting.answer

    async def take(self, arrival: Arrival) -> CheckInResult:
        """Check in one sample from a coroutine: its result, or its refusal raised."""
        return await asyncio.wrap_future(self.submit(arrival))

    def _write(self) -> None:
        try:
            while group := self._next_group():
                self._commit(sorted(group, key=lambda waiting: waiting.arrival.device_id))
        except BaseException:
            with self._condition:
                self._running -= 1
            raise

    def _next_group(self) -> list[_Waiting]:
        """The samples waiting now (at most ``max_group``); empty, and the writer done, after
        ``IDLE_SECONDS`` without any."""
        with self._condition:
            deadline = time.monotonic() + IDLE_SECONDS
            while not self._waiting:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._running -= 1  # under the lock: a sample queued from now on starts a writer
                    return []
                self._idle += 1
                self._condition.wait(remaining)
                self._idle -= 1
            group, self._waiting = self._waiting[: self._max_group], self._waiting[self._max_group :]
        # A request that went away before its sample was taken is not checked in (it was never
        # answered); from here on, an answer can no longer be cancelled.
        taken = [waiting for waiting in group if waiting.answer.set_running_or_notify_cancel()]
        return taken or self._next_group()

    def _commit(self, group: Sequence[_Waiting]) -> None:
        try:
            with unit_of_work(self._sessions) as session:
                outcomes = compliance.check_in_many(
                    session, [waiting.arrival for waiting in group], self._clock(), self._cache
                )
                session.commit()
        except Exception as failure:
            if len(group) == 1:
                group[0].answer.set_exception(failure)
                return
            log.warning("a group of %d check-ins failed (%s); taking each alone", len(group), failure)
            for waiting in group:
                self._commit([waiting])
            return
        for waiting, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, Exception):
                waiting.answer.set_exception(outcome)
            else:
                waiting.answer.set_result(outcome)


def _writers_for(sessions: sessionmaker[Session]) -> int:
    bind = sessions.kw.get("bind")
    name = getattr(getattr(bind, "dialect", None), "name", "sqlite")
    return 1 if name == "sqlite" else POSTGRES_WRITERS
