"""Service functions of delivery: read the MDM feed into the queue, deliver what is due through the channels,
forward call records to the MDM's CA log. Each is one step; ``worker.py`` loops them.

Every step opens its own unit of work and commits once. HTTP calls happen outside any transaction: a
claim commits its leases, the channels call the directory, and the completion commits the outcomes and
the call records together.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.clock import utcnow
from posturebridge.common.database import unit_of_work
from posturebridge.mdm.client import FeedPositionExpiredError, MdmApiError, MdmClient
from posturebridge.mdm.schemas import DeviceOut, FeedEntryOut
from posturebridge.partner import queue
from posturebridge.partner.channels import ChannelRegistry, Delivery
from posturebridge.partner.queue import Change, Claimed, Completion, DeviceState
from posturebridge.partner.retry import RetryPolicy

if TYPE_CHECKING:
    from posturebridge.partner.gate import DirectoryGate

log = logging.getLogger(__name__)

DEVICE_KINDS = frozenset({"complianceStateChanged", "enrollmentStatusChanged", "entraDeviceIdChanged"})


@dataclass
class DeliveryContext:
    """What the delivery steps share; built once by ``bootstrap``."""

    sessions: sessionmaker[Session]
    mdm: MdmClient
    channels: ChannelRegistry
    policy: RetryPolicy
    owner: str
    clock: Callable[[], dt.datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)
    concurrency: int = 8
    lease: dt.timedelta = dt.timedelta(minutes=2)
    feed_page_size: int = 500
    gates: dict[str, dt.datetime] = field(default_factory=dict)
    """Channel -> not before: a whole request of the channel was throttled with Retry-After."""
    gate: DirectoryGate | None = None
    """Scope, licences and device-link conflicts: devices it refuses are held with a reason, not sent."""


# --- feed -> queue ---


def snapshot_of(device: DeviceOut) -> dict[str, Any]:
    """A device from the MDM's listing in the shape of the feed's device snapshot."""
    return {
        "id": device.id,
        "platform": device.platform,
        "enrollmentStatus": device.enrollment_status,
        "userId": device.user_id,
        "entraDeviceId": device.entra_device_id,
        "complianceState": device.compliance_state,
        "isCompliant": device.is_compliant,
        "osVersion": device.os_version,
        "model": device.model,
        "lastSeenDateTime": device.last_seen_date_time.isoformat() if device.last_seen_date_time else None,
    }


def changes_of(entries: Iterable[FeedEntryOut], channels: ChannelRegistry) -> list[Change]:
    """The feed entries that say something about a device of a delivered platform."""
    found = []
    for entry in entries:
        snapshot = entry.payload.get("device")
        if entry.kind not in DEVICE_KINDS or not isinstance(snapshot, dict):
            continue
        state = DeviceState.from_snapshot(snapshot)
        channel = channels.route(state.platform)
        if channel is not None:
            found.append(Change(entry.sequence, state, channel))
    return found


def pull_feed(ctx: DeliveryContext, wait: float) -> queue.IngestResult:
    """Read the next feed page (holding up to ``wait`` seconds for one) and enqueue it with the cursor."""
    with unit_of_work(ctx.sessions) as session:
        after = queue.cursor_position(session)
    try:
        page = ctx.mdm.feed(after, limit=ctx.feed_page_size, wait=wait)
    except FeedPositionExpiredError:
        log.warning("feed entries after %s were pruned before the partner read them: resynchronising", after)
        return resynchronise(ctx)
    with unit_of_work(ctx.sessions) as session:
        result = queue.ingest(session, changes_of(page.entries, ctx.channels), page.next_after, ctx.clock())
        session.commit()
    return result


def resynchronise(ctx: DeliveryContext) -> queue.IngestResult:
    """Enqueue every device as the MDM lists it, versioned with the feed position read before the listing,
    and continue the feed from there."""
    position = ctx.mdm.feed_position().last_sequence
    changes = []
    for device in ctx.mdm.iter_devices():
        state = DeviceState.from_snapshot(snapshot_of(device))
        channel = ctx.channels.route(state.platform)
        if channel is not None:
            changes.append(Change(position, state, channel))
    with unit_of_work(ctx.sessions) as session:
        result = queue.ingest(session, changes, position, ctx.clock())
        session.commit()
    return result


# --- queue -> directory ---


def open_channels(ctx: DeliveryContext, now: dt.datetime) -> list[str]:
    return [name for name in ctx.channels.names if ctx.gates.get(name, now) <= now]


def deliver_due(ctx: DeliveryContext, pool: Executor) -> int:
    """Claim what is due, deliver it concurrently in chunks, record the outcomes. Returns items claimed."""
    now = ctx.clock()
    channels = open_channels(ctx, now)
    if not channels:
        return 0
    limit = ctx.concurrency * max(c.chunk_size for c in (ctx.channels.get(n) for n in channels) if c is not None)
    with unit_of_work(ctx.sessions) as session:
        claimed = queue.claim(session, ctx.owner, now, limit=limit, lease=ctx.lease, channels=channels)
        session.commit()
    if not claimed:
        return 0
    count = len(claimed)
    if ctx.gate is not None:
        reasons = ctx.gate.check(claimed, now)
        hold(ctx, [(item, reasons[item.device_id], ()) for item in claimed if item.device_id in reasons])
        claimed = [item for item in claimed if item.device_id not in reasons]
    unchanged = [item for item in claimed if item.already_written]
    if unchanged:
        finish(ctx, [Completion(i.device_id, i.version, i.state, None) for i in unchanged])
    futures: list[Future[list[Delivery]]] = []
    by_channel: dict[str, list[Claimed]] = defaultdict(list)
    for item in claimed:
        if not item.already_written:
            by_channel[item.channel].append(item)
    for name, items in by_channel.items():
        channel = ctx.channels.get(name)
        assert channel is not None
        for start in range(0, len(items), channel.chunk_size):
            futures.append(pool.submit(channel.deliver, items[start : start + channel.chunk_size]))
    for future in as_completed(futures):
        try:
            deliveries = future.result()
        except Exception:  # a channel bug must not strand the chunk: its leases expire and it is retried
            log.exception("a delivery chunk failed")
            continue
        finish(ctx, [judge(ctx, delivery) for delivery in gated(ctx, deliveries)])
    return count


def gated(ctx: DeliveryContext, deliveries: list[Delivery]) -> list[Delivery]:
    """The deliveries to judge; the ones the gate says no retry can cure are held instead."""
    if ctx.gate is None:
        return deliveries
    judged, held = [], []
    for delivery in deliveries:
        reason = ctx.gate.after(delivery)
        if reason is None:
            judged.append(delivery)
        else:
            held.append((delivery.item, reason, delivery.calls))
    hold(ctx, held)
    return judged


def hold(ctx: DeliveryContext, held: list[tuple[Claimed, str, tuple[queue.CallRecordIn, ...]]]) -> None:
    """Rest items as held with their reason, and a "not reported" entry for each device's CA log."""
    if not held or ctx.gate is None:
        return
    now = ctx.clock()
    with unit_of_work(ctx.sessions) as session:
        for item, reason, calls in held:
            queue.hold(
                session,
                ctx.owner,
                item.device_id,
                item.version,
                reason,
                (*calls, ctx.gate.record_of(item.device_id, reason, now)),
                now,
            )
        session.commit()
    for item, reason, _ in held:
        log.info("device %s not reported: %s", item.device_id, reason)


def judge(ctx: DeliveryContext, delivery: Delivery) -> Completion:
    """Turn a channel's answer into a queue completion through the retry policy."""
    item = delivery.item
    if delivery.ok:
        return Completion(
            item.device_id, item.version, item.state, delivery.status, None, None, delivery.calls, delivery.shadow
        )
    now = ctx.clock()
    decision = ctx.policy.decide(delivery.status, delivery.retry_after, item.attempts, now, ctx.rng)
    if delivery.throttled_channel and decision.not_before > now:
        gate = ctx.gates.get(item.channel)
        ctx.gates[item.channel] = max(gate, decision.not_before) if gate else decision.not_before
    return Completion(
        item.device_id, item.version, item.state, delivery.status, decision, delivery.error, delivery.calls
    )


def finish(ctx: DeliveryContext, completions: list[Completion]) -> None:
    with unit_of_work(ctx.sessions) as session:
        dead = queue.complete(session, ctx.owner, completions, ctx.clock())
        session.commit()
    for device_id in dead:
        log.warning("device %s was dead-lettered", device_id)


def next_wake(ctx: DeliveryContext, idle: float) -> float:
    """Seconds to sleep before the next due item (at most ``idle``)."""
    now = ctx.clock()
    with unit_of_work(ctx.sessions) as session:
        due = queue.next_due(session, now)
    moments = [m for m in (due, *ctx.gates.values()) if m is not None and m > now]
    if due is not None and due <= now and open_channels(ctx, now):
        return 0.0
    if not moments:
        return idle
    return max(min(min(moments) - now, dt.timedelta(seconds=idle)).total_seconds(), 0.0)


# --- call records -> the MDM's CA log ---


def forward_calls(ctx: DeliveryContext, pool: Executor, limit: int = 200) -> int:
    """Append call records to their devices' CA logs in the MDM; returns how many were forwarded."""
    with unit_of_work(ctx.sessions) as session:
        records = queue.unforwarded(session, limit)
    if not records:
        return 0

    def append(stored: queue.StoredCall) -> int | None:
        call = stored.call
        try:
            ctx.mdm.append_ca_log(
                call.device_id,
                occurred=call.occurred_at,
                channel=call.channel,
                request_summary=call.request_summary,
                response_status=call.response_status,
                error=call.error,
                correlation_id=call.correlation_id,
            )
        except MdmApiError as exc:
            if exc.status_code in (0, 429) or exc.status_code >= 500:
                return None  # the MDM is away: try again later
            log.warning("CA log entry for device %s refused: %s", call.device_id, exc)
        return stored.id

    done = [record_id for record_id in pool.map(append, records) if record_id is not None]
    if done:
        with unit_of_work(ctx.sessions) as session:
            queue.mark_forwarded(session, done, ctx.clock())
            session.commit()
    return len(done)
