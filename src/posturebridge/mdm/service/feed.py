"""The change feed: every transition of a device's compliance state, enrolment status or Entra device
ID (and every "sync directory services" request), numbered per organisation, written in the
transaction that makes the change.

Sequence numbers are dense per organisation (1, 2, 3, …) and commit in order: ``append`` takes the
organisation's ``feed_counters`` row lock with ``UPDATE … RETURNING`` and holds it until the writer
commits, so a second writer gets the next number only after the first one's entries are visible. A
rolled-back writer rolls its numbers back too, so there are never holes; a reader that sees a hole
knows retention removed entries it had not read. Callers append last, just before committing, to keep
the lock short.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from posturebridge.mdm.models import FeedCounter, FeedEntry
from posturebridge.mdm.service.errors import BadRequest, FeedPositionExpired

FEED_WRITTEN = "posturebridge.mdm.feed_written"
"""``session.info`` key set when a transaction wrote feed entries (the app wakes waiting readers)."""


class FeedKind(StrEnum):
    COMPLIANCE_STATE = "complianceStateChanged"
    ENROLLMENT_STATUS = "enrollmentStatusChanged"
    ENTRA_DEVICE_ID = "entraDeviceIdChanged"
    DIRECTORY_SYNC = "directorySyncRequested"


@dataclass(frozen=True)
class NewFeedEntry:
    kind: FeedKind
    device_id: str | None
    previous_value: str | None
    value: str | None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FeedPage:
    entries: tuple[FeedEntry, ...]
    after: int
    last_sequence: int

    @property
    def next_after(self) -> int:
        return self.entries[-1].sequence if self.entries else self.after

    @property
    def has_more(self) -> bool:
        return self.next_after < self.last_sequence


def create_counter(session: Session, organisation_id: str) -> None:
    session.add(FeedCounter(organisation_id=organisation_id, last_sequence=0, pruned_through=0))


def append(session: Session, organisation_id: str, entries: Sequence[NewFeedEntry], now: dt.datetime) -> list[int]:
    """Number and insert ``entries``; their sequence numbers. Call it last in the transaction."""
    if not entries:
        return []
    session.flush()  # the changes this entry records go first; the counter lock is taken last
    connection = session.connection()
    taken = {"organisation_id_": organisation_id, "count": len(entries)}
    last = int(connection.execute(_TAKE_SEQUENCES, taken).scalar_one())
    first = last - len(entries) + 1
    rows = [
        {
            "organisation_id": organisation_id,
            "sequence": first + index,
            "kind": entry.kind.value,
            "device_id": entry.device_id,
            "previous_value": entry.previous_value,
            "value": entry.value,
            "occurred_at": now,
            "payload": entry.payload,
        }
        for index, entry in enumerate(entries)
    ]
    connection.execute(_INSERT_ENTRIES, rows[0] if len(rows) == 1 else rows)
    session.info[FEED_WRITTEN] = True
    return list(range(first, last + 1))


_COUNTERS = cast(Table, FeedCounter.__table__)
_TAKE_SEQUENCES = (
    update(_COUNTERS)
    .where(_COUNTERS.c.organisation_id == bindparam("organisation_id_"))
    .values(last_sequence=_COUNTERS.c.last_sequence + bindparam("count"))
    .returning(_COUNTERS.c.last_sequence)
)
_INSERT_ENTRIES = insert(cast(Table, FeedEntry.__table__))


def read(session: Session, organisation_id: str, after: int, limit: int) -> FeedPage:
    """The entries after ``after``; ``FeedPositionExpired`` if retention removed some of them."""
    counter = session.execute(
        select(FeedCounter.last_sequence, FeedCounter.pruned_through).where(
            FeedCounter.organisation_id == organisation_id
        )
    ).one()
    last_sequence, pruned_through = counter
    if after < pruned_through:
        raise _expired(after, pruned_through)
    if after > last_sequence:
        raise BadRequest(
            f"after={after} is beyond the last sequence number of this feed ({last_sequence}); "
            "the consumer must resynchronise",
            target="after",
            code="feedPositionUnknown",
        )
    entries = tuple(
        session.scalars(
            select(FeedEntry)
            .where(FeedEntry.organisation_id == organisation_id, FeedEntry.sequence > after)
            .order_by(FeedEntry.sequence)
            .limit(limit)
        )
    )
    if entries and entries[0].sequence != after + 1:
        # Retention ran between the two statements: the reader would skip what it never saw.
        raise _expired(after, entries[0].sequence - 1)
    return FeedPage(entries, after, max(last_sequence, entries[-1].sequence if entries else 0))


def position(session: Session, organisation_id: str) -> tuple[int, int]:
    """(last sequence handed out, last sequence removed by retention) of the organisation's feed."""
    last, pruned = session.execute(
        select(FeedCounter.last_sequence, FeedCounter.pruned_through).where(
            FeedCounter.organisation_id == organisation_id
        )
    ).one()
    return int(last), int(pruned)


def prune(session: Session, now: dt.datetime, retention: dt.timedelta) -> int:
    """Remove entries older than ``retention``; remember per organisation how far it went."""
    cutoff = now - retention
    expired = session.execute(
        select(FeedEntry.organisation_id, func.max(FeedEntry.sequence))
        .where(FeedEntry.occurred_at < cutoff)
        .group_by(FeedEntry.organisation_id)
    ).all()
    removed = 0
    for organisation_id, through in expired:
        result = session.execute(
            delete(FeedEntry).where(FeedEntry.organisation_id == organisation_id, FeedEntry.sequence <= through)
        )
        removed += int(getattr(result, "rowcount", 0) or 0)
        session.execute(
            update(FeedCounter)
            .where(FeedCounter.organisation_id == organisation_id, FeedCounter.pruned_through < through)
            .values(pruned_through=through)
            .execution_options(synchronize_session=False)
        )
    return removed


def _expired(after: int, pruned_through: int) -> FeedPositionExpired:
    return FeedPositionExpired(
        f"entries after {after} up to {pruned_through} were removed by feed retention; resynchronise: read "
        "lastSequence from GET /api/v1/feed/position, list GET /api/v1/devices, then continue after lastSequence",
        target="after",
    )
