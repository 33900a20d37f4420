"""The durable delivery queue in the partner database: enqueue (coalescing), claim, complete, dead-letter.

Design:

- **One row per MDM device** (``DeliveryItem``): only the newest state matters. The MDM's feed sequence is
  the version; a feed entry newer than the row replaces ``desired`` and raises ``version``, an older or
  repeated one is ignored, so replaying the feed is harmless.
- **The feed cursor moves in the enqueue transaction.** ``ingest`` locks the cursor row first, skips what
  another consumer already took, upserts the items and stores the new position in one commit: a crash
  before the commit re-reads the same entries, a crash after it has them queued. Nothing is lost or
  applied twice.
- **Claims are leases.** ``claim`` picks due rows (``pending`` whose ``not_before`` passed, or ``leased``
  whose lease expired because its worker died) with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (``BEGIN
  IMMEDIATE`` makes the transaction the single writer on SQLite) and marks them ``leased`` by the worker
  until ``lease_expires``. A leased device is never claimed by another worker, so no device is sent by two
  workers at once, and because the row holds only the newest state, a device's states go out in order.
- **Completion is fenced**: it applies only while the worker still holds the lease for the version it
  sent. If a newer version arrived meanwhile, the row goes back to ``pending`` for it.
- **Failures** follow ``retry.RetryPolicy``: ``not_before`` set to the exact Retry-After or a backoff, and
  after ``max_attempts`` counted failures (or a non-retryable answer) the row is ``dead`` with its reason
  in ``last_error`` until ``retry_dead`` puts it back.
- **Call records** (for the device's CA log in the MDM) are written in the completing transaction and
  forwarded later, so a record is never lost with a crash either.

Helpers never commit: the caller's unit of work does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from posturebridge.common.clock import aware
from posturebridge.partner.models import CallRecord, DeliveryItem, FeedCursor, ShadowRecord
from posturebridge.partner.retry import RetryDecision, Verdict

if TYPE_CHECKING:
    from posturebridge.partner.shadow import ShadowRecordIn

MDM_FEED = "mdm"


class ItemState(StrEnum):
    PENDING = "pending"
    LEASED = "leased"
    DELIVERED = "delivered"
    DEAD = "dead"
    UNLINKED = "unlinked"
    HELD = "held"
    """Not sent on purpose (user out of scope, no licence, a link conflict): the reason is in ``last_error``."""
    SHADOWED = "shadowed"


@dataclass(frozen=True)
class DeviceState:
    """What the directory should say about one MDM device, from the feed's device snapshot."""

    device_id: str
    platform: str
    entra_device_id: str | None
    is_managed: bool
    is_compliant: bool
    compliance_state: str
    user_id: str | None = None
    os_version: str | None = None
    model: str | None = None
    last_seen: str | None = None

    @classmethod
    def from_snapshot(cls, snapshot: dict[str, Any]) -> DeviceState:
        """The MDM's ``device`` snapshot (feed payload or device listing): managed means enrolled; a device
        that is not managed is never reported compliant (fail closed)."""
        managed = snapshot.get("enrollmentStatus") == "enrolled"
        return cls(
            device_id=str(snapshot["id"]),
            platform=str(snapshot["platform"]),
            entra_device_id=snapshot.get("entraDeviceId"),
            is_managed=managed,
            is_compliant=managed and bool(snapshot.get("isCompliant")),
            compliance_state=str(snapshot.get("complianceState") or "unknown"),
            user_id=snapshot.get("userId"),
            os_version=snapshot.get("osVersion"),
            model=snapshot.get("model"),
            last_seen=snapshot.get("lastSeenDateTime"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.device_id,
            "platform": self.platform,
            "entraDeviceId": self.entra_device_id,
            "isManaged": self.is_managed,
            "isCompliant": self.is_compliant,
            "complianceState": self.compliance_state,
            "userId": self.user_id,
            "osVersion": self.os_version,
            "model": self.model,
            "lastSeenDateTime": self.last_seen,
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> DeviceState:
        return cls(
            device_id=document["id"],
            platform=document["platform"],
            entra_device_id=document.get("entraDeviceId"),
            is_managed=bool(document["isManaged"]),
            is_compliant=bool(document["isCompliant"]),
            compliance_state=document.get("complianceState") or "unknown",
            user_id=document.get("userId"),
            os_version=document.get("osVersion"),
            model=document.get("model"),
            last_seen=document.get("lastSeenDateTime"),
        )

    def written_key(self) -> tuple[str | None, bool, bool]:
        """What the directory record shows of this state: equal keys need no second write."""
        return (self.entra_device_id, self.is_managed, self.is_compliant)


@dataclass(frozen=True)
class Change:
    """One feed entry about a device, reduced to what delivery needs."""

    sequence: int
    state: DeviceState
    channel: str


@dataclass(frozen=True)
class IngestResult:
    position: int
    queued: int
    coalesced: int
    ignored: int


@dataclass(frozen=True)
class Claimed:
    """A leased item: deliver ``state`` (version ``version``) and complete it with the same version."""

    device_id: str
    channel: str
    version: int
    state: DeviceState
    attempts: int
    already_written: bool
    """The last delivered state has the same written key: nothing to send."""


@dataclass(frozen=True)
class CallRecordIn:
    device_id: str
    occurred_at: dt.datetime
    channel: str
    request_summary: str
    response_status: int | None
    error: str | None
    correlation_id: str | None


@dataclass(frozen=True)
class Completion:
    """The result of delivering one claimed item."""

    device_id: str
    version: int
    state: DeviceState
    status: int | None
    decision: RetryDecision | None = None
    """None when delivered; otherwise what the retry policy decided."""
    error: str | None = None
    calls: tuple[CallRecordIn, ...] = field(default=())
    shadow: ShadowRecordIn | None = None
    """Shadow mode: recorded instead of written; the item rests as ``shadowed``."""


def begin_write(session: Session) -> None:
    """Take SQLite's write lock up front (BEGIN IMMEDIATE): the transaction is the single writer from its
    first read on, which is what ``FOR UPDATE`` row locks give on PostgreSQL."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is not None and not getattr(raw, "in_transaction", False):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# --- the feed cursor and enqueueing ---


def cursor_position(session: Session, source: str = MDM_FEED) -> int:
    found = session.get(FeedCursor, source)
    return int(found.position) if found else 0


def _locked_cursor(session: Session, source: str, now: dt.datetime) -> FeedCursor:
    begin_write(session)
    cursor = session.scalars(select(FeedCursor).where(FeedCursor.source == source).with_for_update()).first()
    if cursor is None:
        cursor = FeedCursor(source=source, position=0, updated_at=now)
        session.add(cursor)
        session.flush()
    return cursor


def ingest(
    session: Session, changes: Sequence[Change], next_position: int, now: dt.datetime, source: str = MDM_FEED
) -> IngestResult:
    """Enqueue ``changes`` read from the feed and move the cursor to ``next_position``, in the caller's
    transaction. Entries at or before the stored position (another consumer took them) are skipped."""
    cursor = _locked_cursor(session, source, now)
    taken = int(cursor.position)
    fresh = [change for change in changes if change.sequence > taken]
    queued = coalesced = 0
    for change in sorted(fresh, key=lambda c: c.sequence):
        outcome = upsert(session, change, now)
        queued += outcome == "queued"
        coalesced += outcome == "coalesced"
    if next_position > taken:
        cursor.position = next_position
        cursor.updated_at = now
    return IngestResult(max(taken, next_position), queued, coalesced, len(changes) - queued - coalesced)


def upsert(session: Session, change: Change, now: dt.datetime, *, force: bool = False) -> str:
    """Put ``change`` on the device's row: "queued" (new row or a row that was at rest), "coalesced" (it
    replaced a newer-than-delivered state still waiting or in flight) or "ignored" (not newer).
    ``force`` (reconcile) queues it even when its version is not newer and forgets what was delivered."""
    row = session.scalars(
        select(DeliveryItem).where(DeliveryItem.device_id == change.state.device_id).with_for_update()
    ).first()
    if row is None:
        linked = change.state.entra_device_id is not None
        session.add(
            DeliveryItem(
                device_id=change.state.device_id,
                platform=change.state.platform,
                channel=change.channel,
                version=change.sequence,
                desired=change.state.to_json(),
                state=(ItemState.PENDING if linked else ItemState.UNLINKED).value,
                attempts=0,
                not_before=now,
                created_at=now,
                updated_at=now,
            )
        )
        return "queued"
    newer = change.sequence > row.version
    if not newer and not force:
        return "ignored"
    at_rest = row.state in (ItemState.DELIVERED, ItemState.DEAD, ItemState.UNLINKED, ItemState.HELD, ItemState.SHADOWED)
    if newer:
        row.version = change.sequence
        row.desired = change.state.to_json()
        row.platform = change.state.platform
        row.channel = change.channel
    if force:
        row.delivered = None  # what we think the directory holds is wrong: write it again
    row.updated_at = now
    if row.state == ItemState.LEASED:
        return "coalesced"  # the holder sees the newer version when it completes
    if row.desired.get("entraDeviceId") is None:
        row.state = ItemState.UNLINKED.value
        return "coalesced" if not at_rest else "queued"
    if at_rest:
        row.state = ItemState.PENDING.value
        row.attempts = 0
        row.not_before = now
        row.last_error = None
        return "queued"
    return "coalesced"  # pending: keep not_before, a Retry-After still holds for the newer state


# --- claiming and completing ---


def claim(
    session: Session,
    owner: str,
    now: dt.datetime,
    *,
    limit: int,
    lease: dt.timedelta,
    channels: Iterable[str] | None = None,
) -> list[Claimed]:
    """Lease up to ``limit`` due items to ``owner``; the caller commits to make the lease visible."""
    begin_write(session)
    due = (DeliveryItem.state == ItemState.PENDING.value) & (DeliveryItem.not_before <= now) | (
        DeliveryItem.state == ItemState.LEASED.value
    ) & (DeliveryItem.lease_expires < now)
    query = select(DeliveryItem).where(due)
    wanted = list(channels) if channels is not None else None
    if wanted is not None:
        if not wanted:
            return []
        query = query.where(DeliveryItem.channel.in_(wanted))
    rows = session.scalars(
        query.order_by(DeliveryItem.not_before, DeliveryItem.version).limit(limit).with_for_update(skip_locked=True)
    ).all()
    claimed = []
    for row in rows:
        row.state = ItemState.LEASED.value
        row.lease_owner = owner
        row.lease_expires = now + lease
        row.leased_version = row.version
        row.updated_at = now
        state = DeviceState.from_json(row.desired)
        written = (
            row.delivered is not None and DeviceState.from_json(row.delivered).written_key() == state.written_key()
        )
        claimed.append(Claimed(row.device_id, row.channel, row.version, state, row.attempts, written))
    return claimed


def extend_lease(session: Session, owner: str, device_ids: Sequence[str], until: dt.datetime) -> int:
    """Keep holding items whose delivery takes long (an upload whose status is still being polled)."""
    begin_write(session)
    result = session.execute(
        update(DeliveryItem)
        .where(
            DeliveryItem.device_id.in_(device_ids),
            DeliveryItem.lease_owner == owner,
            DeliveryItem.state == ItemState.LEASED.value,
        )
        .values(lease_expires=until)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def complete(session: Session, owner: str, completions: Sequence[Completion], now: dt.datetime) -> list[str]:
    """Record what happened to leased items. A completion whose lease was lost (expired and taken by
    another worker) changes nothing. Returns the device ids that went to the dead-letter state."""
    begin_write(session)
    dead: list[str] = []
    for done in completions:
        session.add_all(CallRecord(**call.__dict__, forwarded_at=None) for call in done.calls)
        row = session.scalars(
            select(DeliveryItem).where(DeliveryItem.device_id == done.device_id).with_for_update()
        ).first()
        if (
            row is None
            or row.lease_owner != owner
            or row.state != ItemState.LEASED
            or row.leased_version != done.version
        ):
            continue
        newer = row.version > done.version
        row.lease_owner = None
        row.lease_expires = None
        row.leased_version = None
        row.last_status = done.status
        row.updated_at = now
        if done.decision is None and done.shadow is not None:
            session.add(_shadow_row(done.shadow))
            row.attempts = 0
            row.last_error = None
            row.state = (ItemState.PENDING if newer else ItemState.SHADOWED).value
            row.not_before = now
            continue
        if done.decision is None:
            row.delivered_version = done.version
            row.delivered = done.state.to_json()
            row.attempts = 0
            row.last_error = None
            row.state = (ItemState.PENDING if newer else ItemState.DELIVERED).value
            row.not_before = now
            continue
        row.last_error = f"{done.error or 'failed'} ({done.decision.reason})"
        if done.decision.counts:
            row.attempts += 1
        if done.decision.verdict == Verdict.DEAD and not newer:
            row.state = ItemState.DEAD.value
            dead.append(row.device_id)
            continue
        row.state = ItemState.PENDING.value
        row.not_before = done.decision.not_before if done.decision.verdict == Verdict.RETRY else now
    return dead


def _shadow_row(record: ShadowRecordIn) -> ShadowRecord:
    return ShadowRecord(
        device_id=record.device_id,
        version=record.version,
        channel=record.channel,
        entra_device_id=record.entra_device_id,
        recorded_at=record.recorded_at,
        would_write=record.would_write,
        directory_before=record.directory_before,
        lost_access=[lost.to_json() for lost in record.lost_access],
        error=record.error,
    )


def release_shadowed(session: Session, now: dt.datetime) -> int:
    """Enforcement starts: every item that shadow mode only recorded is due to be written for real."""
    begin_write(session)
    result = session.execute(
        update(DeliveryItem)
        .where(DeliveryItem.state == ItemState.SHADOWED.value)
        .values(state=ItemState.PENDING.value, attempts=0, not_before=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def shadow_records(session: Session, *, latest_only: bool = True, limit: int = 1000) -> list[dict[str, Any]]:
    """Shadow records as JSON, newest first; with ``latest_only`` one per device (its newest)."""
    query = select(ShadowRecord)
    if latest_only:
        newest = select(ShadowRecord.device_id, func.max(ShadowRecord.id).label("id")).group_by(ShadowRecord.device_id)
        query = query.where(ShadowRecord.id.in_(select(newest.subquery().c.id)))
    return [
        {
            "deviceId": row.device_id,
            "version": row.version,
            "channel": row.channel,
            "entraDeviceId": row.entra_device_id,
            "recordedDateTime": str(aware(row.recorded_at)),
            "wouldWrite": row.would_write,
            "directoryBefore": row.directory_before,
            "lostAccess": row.lost_access,
            "error": row.error,
        }
        for row in session.scalars(query.order_by(ShadowRecord.id.desc()).limit(limit))
    ]


def hold(
    session: Session,
    owner: str,
    device_id: str,
    version: int,
    reason: str,
    calls: Sequence[CallRecordIn],
    now: dt.datetime,
) -> bool:
    """Rest a leased item as ``held`` with ``reason`` instead of delivering it (fenced like ``complete``); a
    newer version that arrived meanwhile goes back to ``pending`` to be judged afresh."""
    begin_write(session)
    session.add_all(CallRecord(**call.__dict__, forwarded_at=None) for call in calls)
    row = session.scalars(select(DeliveryItem).where(DeliveryItem.device_id == device_id).with_for_update()).first()
    if row is None or row.lease_owner != owner or row.state != ItemState.LEASED or row.leased_version != version:
        return False
    row.lease_owner = row.lease_expires = row.leased_version = None
    row.attempts = 0
    row.last_error = reason
    row.not_before = now
    row.updated_at = now
    row.state = (ItemState.PENDING if row.version > version else ItemState.HELD).value
    return True


def held_items(session: Session) -> list[DeliveryItem]:
    return list(
        session.scalars(
            select(DeliveryItem).where(DeliveryItem.state == ItemState.HELD).order_by(DeliveryItem.device_id)
        )
    )


def all_items(session: Session) -> list[DeliveryItem]:
    return list(session.scalars(select(DeliveryItem).order_by(DeliveryItem.device_id)))


def requeue_held(session: Session, device_ids: Sequence[str], now: dt.datetime) -> int:
    """Held items whose reason went away (the user entered scope, got a licence, a conflict cleared) are due
    again with their newest state."""
    if not device_ids:
        return 0
    begin_write(session)
    result = session.execute(
        update(DeliveryItem)
        .where(DeliveryItem.state == ItemState.HELD.value, DeliveryItem.device_id.in_(device_ids))
        .values(state=ItemState.PENDING.value, attempts=0, not_before=now, last_error=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def release(session: Session, owner: str, now: dt.datetime) -> int:
    """Give back every lease ``owner`` holds (a graceful stop before the work was done)."""
    begin_write(session)
    result = session.execute(
        update(DeliveryItem)
        .where(DeliveryItem.lease_owner == owner, DeliveryItem.state == ItemState.LEASED.value)
        .values(
            state=ItemState.PENDING.value, lease_owner=None, lease_expires=None, leased_version=None, updated_at=now
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def next_due(session: Session, now: dt.datetime) -> dt.datetime | None:
    """When the next pending item falls due (or a lease expires); None when nothing waits."""
    pending = session.scalar(select(func.min(DeliveryItem.not_before)).where(DeliveryItem.state == ItemState.PENDING))
    leased = session.scalar(select(func.min(DeliveryItem.lease_expires)).where(DeliveryItem.state == ItemState.LEASED))
    moments = [m for m in (aware(pending), aware(leased)) if m is not None]
    return min(moments) if moments else None


# --- dead letters ---


def dead_letters(session: Session) -> list[DeliveryItem]:
    return list(
        session.scalars(
            select(DeliveryItem).where(DeliveryItem.state == ItemState.DEAD).order_by(DeliveryItem.updated_at)
        )
    )


def retry_dead(session: Session, now: dt.datetime, device_ids: Sequence[str] | None = None) -> int:
    """Put dead-lettered items (all, or the ones named) back in the queue with a fresh attempt count."""
    begin_write(session)
    statement = update(DeliveryItem).where(DeliveryItem.state == ItemState.DEAD.value)
    if device_ids is not None:
        statement = statement.where(DeliveryItem.device_id.in_(device_ids))
    result = session.execute(
        statement.values(state=ItemState.PENDING.value, attempts=0, not_before=now, updated_at=now).execution_options(
            synchronize_session=False
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def counts(session: Session) -> dict[str, int]:
    """Items per state."""
    rows = session.execute(select(DeliveryItem.state, func.count()).group_by(DeliveryItem.state)).all()
    return {str(state): int(number) for state, number in rows}


# --- call records for the CA log ---


@dataclass(frozen=True)
class StoredCall:
    id: int
    call: CallRecordIn


def unforwarded(session: Session, limit: int) -> list[StoredCall]:
    """Call records not yet in the MDM's CA log, oldest first. Forwarding is at least once: a forwarder that
    dies between appending and marking appends those records again."""
    rows = session.scalars(
        select(CallRecord).where(CallRecord.forwarded_at.is_(None)).order_by(CallRecord.id).limit(limit)
    )
    return [
        StoredCall(
            int(row.id),
            CallRecordIn(
                row.device_id,
                aware(row.occurred_at),
                row.channel,
                row.request_summary,
                row.response_status,
                row.error,
                row.correlation_id,
            ),
        )
        for row in rows
    ]


def mark_forwarded(session: Session, record_ids: Sequence[int], now: dt.datetime) -> None:
    begin_write(session)
    session.execute(
        update(CallRecord)
        .where(CallRecord.id.in_(record_ids))
        .values(forwarded_at=now)
        .execution_options(synchronize_session=False)
    )
