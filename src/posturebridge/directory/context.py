"""The directory's composition: settings, sessions, keys and clock, built once per process."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.cache import TtlCache
from posturebridge.common.clock import utcnow
from posturebridge.common.settings import Settings
from posturebridge.directory.auth.grants import APP_GRANT_SECONDS, AppGrant
from posturebridge.directory.auth.keys import KeyRing
from posturebridge.directory.auth.tokens import TokenIssuer
from posturebridge.directory.graph.throttling import Throttler
from posturebridge.directory.models import SigningKey, Tenant
from posturebridge.directory.signins import PolicyCache

TENANT_CACHE_SECONDS = 2.0


@dataclass(frozen=True)
class TenantSettings:
    id: str
    throttling: dict[str, Any]


@dataclass
class Directory:
    settings: Settings
    sessions: sessionmaker[Session]
    keys: KeyRing
    tokens: TokenIssuer
    throttler: Throttler
    policies: PolicyCache = field(default_factory=PolicyCache)
    app_grants: TtlCache[AppGrant] = field(default_factory=lambda: TtlCache(APP_GRANT_SECONDS))
    clock: Callable[[], dt.datetime] = field(default=utcnow)
    _tenants: dict[str, tuple[float, TenantSettings | None]] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, sessions: sessionmaker[Session]) -> Directory:
        keys = KeyRing(sessions)
        return cls(
            settings=settings,
            sessions=sessions,
            keys=keys,
            tokens=TokenIssuer(keys),
            throttler=Throttler(clock=time.monotonic),
        )

    @cached_property
    def skiptoken_key(self) -> bytes:
        """HMAC key of $skiptoken cursors, the same in every directory process (derived from the first
        signing key ever created, which is retired but never deleted)."""
        self.keys.signing_key(self.clock())
        with self.sessions() as session:
            first = session.scalars(select(SigningKey).order_by(SigningKey.created_date_time).limit(1)).one()
            return hashlib.sha256(b"posturebridge $skiptoken\0" + first.private_key_pem.encode()).digest()

    def tenant_settings(self, tenant_id: str) -> TenantSettings | None:
        """The tenant's settings, cached for a couple of seconds (several processes may change them)."""
        cached = self._tenants.get(tenant_id)
        if cached is not None and time.monotonic() - cached[0] < TENANT_CACHE_SECONDS:
            return cached[1]
        with self.sessions() as session:
            tenant = session.get(Tenant, tenant_id)
            found = TenantSettings(tenant.id, dict(tenant.throttling or {})) if tenant is not None else None
        if len(self._tenants) > 10_000:
            self._tenants.clear()
        self._tenants[tenant_id] = (time.monotonic(), found)
        return found
