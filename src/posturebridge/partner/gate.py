"""The directory gate of delivery: before a claimed device is sent, its link and its user's scope and licences
decide whether it may be; after a failed send, a refusal no retry can cure holds it with the reason. And the
directory sync that keeps both fresh: on the MDM's "Sync directory services" request and on a schedule.

A held device rests in the queue as ``held`` with its reason (``posturebridge partner devices``) and gets a
CA log entry "not reported: …" in the MDM. When a sync shows the reason gone (the user entered scope, got a
licence, a conflict cleared) the device's newest state is queued again.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.clock import aware, utcnow
from posturebridge.common.database import unit_of_work
from posturebridge.mdm.client import MdmApiError, MdmClient
from posturebridge.partner import link, queue, scope
from posturebridge.partner.channels import Delivery
from posturebridge.partner.graph_client import GraphClient
from posturebridge.partner.models import DeviceLink, DirectorySync
from posturebridge.partner.queue import Claimed, DeviceState
from posturebridge.partner.scope import ScopeSnapshot, SyncReport
from posturebridge.partner.settings import PartnerSettings

log = logging.getLogger(__name__)

CA_LOG_CHANNEL = "posturebridge partner"


@dataclass
class DirectoryGate:
    sessions: sessionmaker[Session]
    graph: GraphClient
    mdm: MdmClient
    tenant_id: str
    interval: dt.timedelta = dt.timedelta(minutes=15)
    """The scheduled sync: at most this long between two directory syncs, whatever the MDM asks."""
    partner_name: str | None = None
    """displayName of the compliance partner record to follow (None: every record's onboarded platforms)."""
    poll_seconds: float = 5.0
    clock: Callable[[], dt.datetime] = utcnow
    _snapshot: tuple[int, ScopeSnapshot] | None = None
    _users: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tried_first: bool = False
    _seen: dict[str, link.LinkFacts] = field(default_factory=dict)
    """MDM device id -> the link this process last recorded for it."""

    # --- before and after a send ---

    def check(self, items: Sequence[Claimed], now: dt.datetime) -> dict[str, str]:
        """MDM device id -> why it must not be sent, for the claimed items that must not. Links this process
        already recorded unchanged cost one read; a new or changed link is recorded, looked up in the
        directory and checked for duplicates first."""
        facts = [self._facts(item.state) for item in items]
        with self._lock:
            changed = [f for f in facts if self._seen.get(f.device_id) != f]
        if changed:
            self._record(changed, now)
        snapshot = self.snapshot() or self._first_sync(now)
        reasons = {}
        with unit_of_work(self.sessions) as session:
            rows = link.links(session, [f.device_id for f in facts])
            for item in items:
                reason = self.reason(rows.get(item.device_id), item.channel, item.state.platform, snapshot)
                if reason is not None:
                    reasons[item.device_id] = reason
        return reasons

    def _record(self, facts: Sequence[link.LinkFacts], now: dt.datetime) -> None:
        with unit_of_work(self.sessions) as session:
            queue.begin_write(session)
            link.record(session, facts, now)
            lookups = link.targets(session, [f.device_id for f in facts])
            session.commit()
        looked_up = link.survey(self.graph, lookups) if lookups else {}
        with unit_of_work(self.sessions) as session:
            queue.begin_write(session)
            for device_id, device in looked_up.items():
                link.apply_lookup(session, device_id, device, self._immutable_id(device_id, facts), now)
            entra_ids = [f.entra_device_id for f in facts if f.entra_device_id]
            link.refresh_from_queue(session, entra_ids)
            cleared = link.refresh_duplicates(session, entra_ids, now)
            queue.requeue_held(session, sorted(cleared - {f.device_id for f in facts}), self.clock())
            session.commit()
        unanswered = {target.device_id for target in lookups} - set(looked_up)
        with self._lock:  # a link the directory did not answer about is looked up again next time
            self._seen.update((f.device_id, f) for f in facts if f.device_id not in unanswered)

    def _first_sync(self, now: dt.datetime) -> ScopeSnapshot | None:
        """Nothing synced yet (a fresh partner database): sync before the first delivery rather than let it
        through unchecked; tried once per process, the directory loop keeps trying on its schedule."""
        with self._lock:
            if self._tried_first:
                return None
            self._tried_first = True
        try:
            return self.sync(now, "schedule").snapshot
        except Exception:  # the directory loop logs and retries; delivery must go on
            log.warning("no directory sync yet: delivering without the scope check until one succeeds")
            return None

    def reason(self, row: DeviceLink | None, channel: str, platform: str, snapshot: ScopeSnapshot | None) -> str | None:
        if row is not None and row.conflict is not None:
            return row.conflict_detail or row.conflict
        if snapshot is None:
            return None  # no sync yet: the channel decides
        upn = row.user_principal_name if row is not None else None
        return scope.verdict(
            snapshot, tenant=self.tenant_id, channel=channel, platform=platform, user_principal_name=upn
        )

    def after(self, delivery: Delivery) -> str | None:
        """Why a failed send must rest as held rather than be retried: the device is gone from the directory,
        or the channel refused the device for a reason only the directory's admin can change."""
        if delivery.ok:
            return None
        gone = delivery.status == 404 or "DeviceNotFound" in (delivery.error or "")
        if gone:
            with unit_of_work(self.sessions) as session:
                queue.begin_write(session)
                detail = link.deleted_by_answer(session, delivery.item.device_id, self.clock())
                session.commit()
            return detail or f"Entra device {delivery.item.state.entra_device_id} was deleted in the directory"
        return link.refused_by_channel(delivery.error)

    @staticmethod
    def record_of(device_id: str, reason: str, now: dt.datetime) -> queue.CallRecordIn:
        """The CA log entry of a held device."""
        return queue.CallRecordIn(device_id, now, CA_LOG_CHANNEL, f"not reported: {reason}", None, reason, None)

    # --- the directory sync ---

    def run_due(self, now: dt.datetime) -> SyncReport | None:
        """Sync when the MDM admin asked for it since the last run, or when the schedule says so."""
        request_id: str | None = None
        try:
            request = self.mdm.directory_services().last_sync_request
            request_id = request.id if request is not None else None
        except MdmApiError as exc:
            log.warning("reading the MDM's directory sync requests failed: %s", exc)
        with unit_of_work(self.sessions) as session:
            last = scope.latest(session)
            last_run = aware(last.started_at) if last is not None else None
            answered = request_id is None or session.scalar(
                select(DirectorySync.id).where(DirectorySync.request_id == request_id).limit(1)
            )
        if not answered:
            return self.sync(now, "request", request_id)
        if last_run is None or now - last_run >= self.interval:
            return self.sync(now, "schedule")
        return None

    def sync(self, now: dt.datetime, trigger: str = "command", request_id: str | None = None) -> SyncReport:
        """Read the directory, store the snapshot and what changed, refresh the links, requeue what may go."""
        current = scope.compute(scope.read_directory(self.graph, self.partner_name), now, self.partner_name)
        devices = list(self.mdm.iter_devices())
        facts = [
            link.LinkFacts(
                d.id,
                d.platform,
                d.entra_device_id,
                d.user_id,
                self._user(d.user_id)[0] if d.user_id else None,
                d.serial_number,
                d.udid,
            )
            for d in devices
        ]
        with unit_of_work(self.sessions) as session:
            queue.begin_write(session)
            previous_row = scope.latest(session)
            previous = scope.ScopeSnapshot.from_json(previous_row.snapshot) if previous_row else None
            changes = scope.diff(previous, current)
            scope.store(session, current, changes, trigger, request_id)
            link.record(session, facts, now)
            link.refresh_duplicates(session, None, now)
            lookups = link.targets(session)
            session.commit()
        looked_up = link.survey(self.graph, lookups) if lookups else {}
        with unit_of_work(self.sessions) as session:
            queue.begin_write(session)
            for device_id, device in looked_up.items():
                link.apply_lookup(session, device_id, device, self._immutable_id(device_id, facts), now)
            rows = link.links(session)
            free = [
                item.device_id
                for item in queue.held_items(session)
                if self.reason(rows.get(item.device_id), item.channel, item.platform, current) is None
            ]
            queue.requeue_held(session, free, self.clock())  # due at once, whatever moment ``now`` stands for
            session.commit()
        with self._lock:
            self._snapshot = None
        report = SyncReport(trigger, request_id, current, changes, previous is None, free)
        self._log(report)
        return report

    def snapshot(self) -> ScopeSnapshot | None:
        """The newest stored snapshot (read again only when a newer sync was stored, by any worker)."""
        with unit_of_work(self.sessions) as session:
            newest = session.scalar(select(DirectorySync.id).order_by(DirectorySync.id.desc()).limit(1))
            with self._lock:
                if newest is None or (self._snapshot is not None and self._snapshot[0] == newest):
                    return self._snapshot[1] if self._snapshot else None
            row = session.get(DirectorySync, newest)
            assert row is not None
            loaded = ScopeSnapshot.from_json(row.snapshot)
        with self._lock:
            self._snapshot = (newest, loaded)
        return loaded

    @staticmethod
    def _log(report: SyncReport) -> None:
        counted = report.to_json()["usersInScope"]
        log.info(
            "directory sync (%s): %s users in scope, Entra ID P1 %s, platforms %s%s",
            report.trigger,
            counted,
            "yes" if report.snapshot.entra_p1 else "no",
            ", ".join(sorted(report.snapshot.onboarded)) or "none",
            " (first snapshot)" if report.first else "",
        )
        for change in report.changes:
            log.info("directory sync: %s", change)
        if report.requeued:
            log.info("directory sync: %d held device(s) queued again", len(report.requeued))

    # --- MDM users ---

    def _user(self, user_id: str) -> tuple[str | None, str | None]:
        """(userPrincipalName, immutable id) of an MDM user, cached."""
        with self._lock:
            cached = self._users.get(user_id)
        if cached is not None:
            return cached
        try:
            user = self.mdm.get_user(user_id)
        except MdmApiError as exc:
            log.warning("MDM user %s: %s", user_id, exc)
            return (None, None)
        try:
            immutable: str | None = self.mdm.immutable_id(user_id).immutable_id
        except MdmApiError:
            immutable = None
        found = (user.user_principal_name or user.user_name, immutable)
        with self._lock:
            self._users[user_id] = found
        return found

    def _facts(self, state: DeviceState) -> link.LinkFacts:
        upn = self._user(state.user_id)[0] if state.user_id else None
        return link.LinkFacts(state.device_id, state.platform, state.entra_device_id, state.user_id, upn)

    def _immutable_id(self, device_id: str, facts: Sequence[link.LinkFacts]) -> str | None:
        user_id = next((f.user_id for f in facts if f.device_id == device_id), None)
        return self._user(user_id)[1] if user_id else None


def directory_gate(
    settings: PartnerSettings,
    sessions: sessionmaker[Session],
    graph: GraphClient,
    mdm: MdmClient,
    tenant_id: str,
) -> DirectoryGate | None:
    """The gate for one tenant as the settings ask for it (None when ``directory_sync_minutes`` is 0)."""
    if settings.directory_sync_minutes <= 0:
        return None
    return DirectoryGate(
        sessions,
        graph,
        mdm,
        tenant_id,
        interval=dt.timedelta(minutes=settings.directory_sync_minutes),
        partner_name=settings.compliance_partner_name,
    )
