"""The directory's composition: settings, sessions, keys and clock, built once per process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.clock import utcnow
from posturebridge.common.settings import Settings
from posturebridge.directory.auth.keys import KeyRing
from posturebridge.directory.auth.tokens import TokenIssuer


@dataclass
class Directory:
    settings: Settings
    sessions: sessionmaker[Session]
    keys: KeyRing
    tokens: TokenIssuer
    clock: Callable[[], dt.datetime] = field(default=utcnow)

    @classmethod
    def build(cls, settings: Settings, sessions: sessionmaker[Session]) -> Directory:
        keys = KeyRing(sessions)
        return cls(settings=settings, sessions=sessions, keys=keys, tokens=TokenIssuer(keys))
