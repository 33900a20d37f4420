"""A small MDM world for service tests: an organisation, users, policies and enrolled devices, built
through the service functions themselves (each step in its own committed unit of work)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.database import unit_of_work
from posturebridge.mdm.models import DeviceRow, FeedEntry
from posturebridge.mdm.service import compliance, credentials, directory, enrollment, feed, policies
from posturebridge.mdm.service.compliance import ConfigurationCache

T = TypeVar("T")
NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)

IOS_POLICY: dict[str, Any] = {
    "displayName": "iOS baseline",
    "platform": "iOS",
    "rules": [{"type": "osMinimumVersion", "version": "17.0"}, {"type": "passcodeRequired"}],
    "scheduledActions": [
        {"actionType": "notification", "gracePeriodHours": 0},
        {"actionType": "block", "gracePeriodHours": 24},
    ],
    "assignment": {"allDevices": True},
}


@dataclass
class World:
    sessions: sessionmaker[Session]
    now: dt.datetime
    cache: ConfigurationCache = field(default_factory=ConfigurationCache)
    organisation_id: str = ""
    _nonces: itertools.count[int] = field(default_factory=itertools.count)

    @classmethod
    def with_policy(cls, sessions: sessionmaker[Session], now: dt.datetime) -> World:
        """An organisation with the iOS baseline policy."""
        world = cls(sessions, now)
        world.organisation()
        world.policy()
        return world

    def run(self, action: Callable[[Session], T], *, commit: bool = True) -> T:
        with unit_of_work(self.sessions) as session:
            result = action(session)
            if commit:
                session.commit()
            else:
                session.expunge_all()  # keep loaded attributes readable after the rollback
            return result

    def organisation(self, name: str = "Contoso") -> credentials.NewOrganisation:
        created = self.run(lambda s: credentials.create_organisation(s, name, self.now))
        if not self.organisation_id:
            self.organisation_id = created.organisation.id
        return created

    def policy(self, document: dict[str, Any] | None = None, organisation_id: str | None = None) -> str:
        org = organisation_id or self.organisation_id
        return self.run(lambda s: policies.create_policy(s, org, document or IOS_POLICY, self.now)).id

    def user(self, user_name: str = "alice", organisation_id: str | None = None, **fields: Any) -> str:
        org = organisation_id or self.organisation_id
        return self.run(
            lambda s: directory.create_user(s, org, directory.UserFields(user_name=user_name, **fields), self.now)
        ).id

    def token(self, organisation_id: str | None = None, **options: Any) -> str:
        org = organisation_id or self.organisation_id
        return self.run(lambda s: enrollment.create_token(s, org, self.now, **options)).token

    def enroll(
        self, platform: str = "iOS", os_version: str | None = "17.4", organisation_id: str | None = None, **fields: Any
    ) -> enrollment.Enrolled:
        token = self.token(organisation_id)
        request = enrollment.EnrollmentRequest(
            enrollment_token=token,
            platform=platform,
            model=fields.pop("model", "iPhone15,2"),
            os_version=os_version,
            **fields,
        )
        return self.run(lambda s: enrollment.enroll(s, request, self.now, self.cache))

    def sample(self, os_version: str = "17.4", at: dt.datetime | None = None, **fields: Any) -> dict[str, Any]:
        number = next(self._nonces) + 1
        return {
            "sequence": fields.pop("sequence", number),
            "nonce": fields.pop("nonce", f"nonce-{number}"),
            "sampledDateTime": (at or self.now).isoformat(),
            "osVersion": os_version,
            "passcodePresent": True,
            **fields,
        }

    def check_in(self, device_id: str, body: dict[str, Any], at: dt.datetime | None = None) -> compliance.CheckInResult:
        return self.run(lambda s: compliance.check_in(s, device_id, device_id, body, at or self.now, self.cache))

    def sweep(self, at: dt.datetime, batch: int = compliance.SWEEP_BATCH) -> int:
        return self.run(lambda s: compliance.sweep(s, at, self.cache, batch))

    def device(self, device_id: str) -> DeviceRow:
        return self.run(lambda s: s.get_one(DeviceRow, device_id), commit=False)

    def feed(self, organisation_id: str | None = None, after: int = 0, limit: int = 1000) -> list[FeedEntry]:
        org = organisation_id or self.organisation_id
        return list(self.run(lambda s: feed.read(s, org, after, limit).entries, commit=False))

    def entries_of(self, device_id: str, kind: str = "complianceStateChanged") -> list[tuple[str | None, str | None]]:
        return [(e.previous_value, e.value) for e in self.feed() if e.device_id == device_id and e.kind == kind]

    def count(self, model: Any) -> int:
        return len(self.run(lambda s: s.scalars(select(model)).all(), commit=False))
