"""What the routes share: sessions, the configuration cache, the feed notifier, the clock, and the
authentication dependencies. Built once by ``mdm.app.create_app``."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.database import unit_of_work
from posturebridge.mdm.config import MdmConfig
from posturebridge.mdm.service import credentials
from posturebridge.mdm.service.compliance import ConfigurationCache
from posturebridge.mdm.service.credentials import DEVICE_TOKEN_PREFIX, DevicePrincipal, OrgPrincipal
from posturebridge.mdm.service.errors import Unauthenticated
from posturebridge.mdm.service.ingest import GroupCommit


class FeedNotifier:
    """Wakes long-polling feed readers of this process when a transaction that wrote feed entries commits.

    Commits happen in worker threads; waking is marshalled onto the event loop. Readers also re-check on
    a short interval, which covers entries committed by other MDM processes.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self._generation = 0

    def bind(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self._loop = loop

    def notify_threadsafe(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop is shutting down; readers are gone
            loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        self._generation += 1
        event, self._event = self._event, None
        if event is not None:
            event.set()

    def mark(self) -> int:
        return self._generation

    async def wait(self, mark: int, timeout: float) -> None:
        if self._generation != mark:
            return
        if self._event is None:
            self._event = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)


@dataclass
class MdmContext:
    sessions: sessionmaker[Session]
    config: MdmConfig
    clock: Callable[[], dt.datetime]
    cache: ConfigurationCache = field(default_factory=ConfigurationCache)
    notifier: FeedNotifier = field(default_factory=FeedNotifier)
    check_ins: GroupCommit = field(init=False)
    """Device check-ins of concurrent requests, committed together."""

    def __post_init__(self) -> None:
        self.check_ins = GroupCommit(self.sessions, self.cache, self.now)

    def now(self) -> dt.datetime:
        return self.clock()


_bearer = HTTPBearer(auto_error=False, scheme_name="bearerToken", description="OAuth client credentials token")
_api_key = APIKeyHeader(
    name="aw-tenant-code", auto_error=False, scheme_name="apiKey", description="Organisation REST API key"
)
_device_bearer = HTTPBearer(
    auto_error=False, scheme_name="deviceToken", description="Per-device credential issued at enrolment"
)


def org_auth(context: MdmContext) -> Callable[..., OrgPrincipal]:
    """The dependency that authenticates an administrator or the partner service."""

    def authenticate(
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        api_key: Annotated[str | None, Depends(_api_key)],
    ) -> OrgPrincipal:
        with unit_of_work(context.sessions) as session:
            if bearer is not None:
                if bearer.credentials.startswith(DEVICE_TOKEN_PREFIX):
                    raise Unauthenticated("a device credential cannot call the administration API", code="invalidToken")
                return credentials.authenticate_bearer(session, bearer.credentials, context.now())
            if api_key:
                return credentials.authenticate_api_key(session, api_key)
        raise Unauthenticated(
            "send a bearer token (POST /api/v1/oauth/token) or an aw-tenant-code API key", code="unauthenticated"
        )

    return authenticate


async def device_credential(
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_device_bearer)],
) -> str:
    """The hash of the device credential presented, verified later by the check-in itself (on the
    locked device row, in its transaction) rather than by a query and a thread hop of its own."""
    if bearer is None:
        raise Unauthenticated("send the device credential issued at enrolment as a bearer token")
    return credentials.hash_secret(bearer.credentials)


def device_auth(context: MdmContext) -> Callable[..., DevicePrincipal]:
    """The dependency that authenticates a device agent by the credential it got at enrolment."""

    def authenticate(
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_device_bearer)],
    ) -> DevicePrincipal:
        if bearer is None:
            raise Unauthenticated("send the device credential issued at enrolment as a bearer token")
        with unit_of_work(context.sessions) as session:
            return credentials.authenticate_device(session, bearer.credentials)

    return authenticate
