"""The delivery queue as a specification: coalescing, versioning, the cursor, leases, retries, dead letters.

Every test runs on SQLite and, when POSTUREBRIDGE_TEST_POSTGRES_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import defaultdict

import pytest
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.database import unit_of_work
from posturebridge.partner import queue
from posturebridge.partner.models import CallRecord, DeliveryItem
from posturebridge.partner.queue import CallRecordIn, Change, Completion, DeviceState
from posturebridge.partner.retry import RetryPolicy
from tests.unit.partner.conftest import T0

LEASE = dt.timedelta(minutes=2)
POLICY = RetryPolicy(base_seconds=1, cap_seconds=60, max_attempts=3)


def state(device: str, compliant: bool, entra: str | None = "e-1", platform: str = "windows") -> DeviceState:
    snapshot = {
        "id": device,
        "platform": platform,
        "enrollmentStatus": "enrolled",
        "entraDeviceId": entra,
        "isCompliant": compliant,
        "complianceState": "compliant" if compliant else "noncompliant",
    }
    return DeviceState.from_snapshot(snapshot)


def change(sequence: int, device: str, compliant: bool, entra: str | None = "e-1") -> Change:
    return Change(sequence, state(device, compliant, entra), "windows")


def ingest(sessions: sessionmaker[Session], changes: list[Change], position: int, now: dt.datetime = T0) -> None:
    with unit_of_work(sessions) as session:
        queue.ingest(session, changes, position, now)
        session.commit()


def claim(
    sessions: sessionmaker[Session], owner: str = "w1", now: dt.datetime = T0, limit: int = 50
) -> list[queue.Claimed]:
    with unit_of_work(sessions) as session:
        found = queue.claim(session, owner, now, limit=limit, lease=LEASE)
        session.commit()
    return found


def complete(sessions: sessionmaker[Session], owner: str, done: list[Completion], now: dt.datetime = T0) -> list[str]:
    with unit_of_work(sessions) as session:
        dead = queue.complete(session, owner, done, now)
        session.commit()
    return dead


def delivered(item: queue.Claimed) -> Completion:
    return Completion(item.device_id, item.version, item.state, 204)


def failed(item: queue.Claimed, status: int, now: dt.datetime, retry_after: str | None = None) -> Completion:
    decision = POLICY.decide(status, retry_after, item.attempts, now, random.Random(1))
    return Completion(item.device_id, item.version, item.state, status, decision, f"HTTP {status}")


def row(sessions: sessionmaker[Session], device: str) -> DeliveryItem:
    with unit_of_work(sessions) as session:
        found = session.get(DeliveryItem, device)
        assert found is not None
        session.expunge(found)
        return found


def test_only_the_newest_state_of_a_device_is_queued(sessions: sessionmaker[Session]) -> None:
    ingest(sessions, [change(1, "d1", True), change(2, "d1", False), change(3, "d2", True)], 3)
    claimed = {item.device_id: item for item in claim(sessions)}
    assert set(claimed) == {"d1", "d2"}
    assert claimed["d1"].version == 2 and claimed["d1"].state.is_compliant is False


def test_replaying_feed_entries_changes_nothing_and_the_cursor_moves_with_the_enqueue(
    sessions: sessionmaker[Session],
) -> None:
    ingest(sessions, [change(1, "d1", True), change(2, "d1", False)], 2)
    ingest(sessions, [change(1, "d1", True), change(2, "d1", True)], 2)  # a second reader of the same page
    with unit_of_work(sessions) as session:
        assert queue.cursor_position(session) == 2
    item = row(sessions, "d1")
    assert item.version == 2 and item.desired["isCompliant"] is False


def test_an_enqueue_that_rolls_back_leaves_neither_items_nor_the_cursor(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as session:
        queue.ingest(session, [change(1, "d1", True)], 1, T0)  # no commit: the crash before it
    with unit_of_work(sessions) as session:
        assert queue.cursor_position(session) == 0
        assert session.get(DeliveryItem, "d1") is None


def test_a_leased_device_is_not_claimed_again_until_its_lease_expires(sessions: sessionmaker[Session]) -> None:
    ingest(sessions, [change(1, "d1", True)], 1)
    assert [i.device_id for i in claim(sessions, "w1")] == ["d1"]
    assert claim(sessions, "w2", T0 + LEASE / 2) == []
    taken = claim(sessions, "w2", T0 + LEASE + dt.timedelta(seconds=1))  # w1 died
    assert [i.device_id for i in taken] == ["d1"]
    # w1 comes back late: its completion is fenced off, w2's counts.
    assert complete(sessions, "w1", [delivered(taken[0])]) == []
    assert row(sessions, "d1").state == "leased"
    complete(sessions, "w2", [delivered(taken[0])])
    assert row(sessions, "d1").state == "delivered"


def test_a_newer_state_that_arrives_in_flight_is_sent_after_the_older_one(sessions: sessionmaker[Session]) -> None:
    ingest(sessions, [change(1, "d1", True)], 1)
    first = claim(sessions)[0]
    ingest(sessions, [change(2, "d1", False)], 2)
    assert claim(sessions, "w2") == []  # still leased: never two sends of one device at once
    complete(sessions, "w1", [delivered(first)])
    second = claim(sessions, "w2")
    assert [(i.version, i.state.is_compliant) for i in second] == [(2, False)]


def test_a_state_equal_to_the_delivered_one_needs_no_second_write(sessions: sessionmaker[Session]) -> None:
    ingest(sessions, [change(1, "d1", True)], 1)
    complete(sessions, "w1", [delivered(claim(sessions)[0])])
    ingest(sessions, [change(2, "d1", False), change(3, "d1", True)], 3)
    again = claim(sessions)
    assert [(i.version, i.already_written) for i in again] == [(3, True)]


def test_retry_after_holds_the_item_exactly_that_long_and_does_not_count(sessions: sessionmaker[Session]) -> None:
    ingest(sessions, [change(1, "d1", True)], 1)
    item = claim(sessions)[0]
    complete(sessions, "w1", [failed(item, 429, T0, retry_after="7")])
    assert claim(sessions, now=T0 + dt.timedelta(seconds=6.9)) == []
    again = claim(sessions, now=T0 + dt.timedelta(seconds=7))
    assert [i.attempts for i in again] == [0]


def test_a_newer_state_does_not_jump_a_retry_after(sessions: sessionmaker[Session]) -> None:
    ingest(sessions, [change(1, "d1", True)], 1)
    complete(sessions, "w1", [failed(claim(sessions)[0], 429, T0, retry_after="30")])
    ingest(sessions, [change(2, "d1", False)], 2, T0 + dt.timedelta(seconds=1))
    assert claim(sessions, now=T0 + dt.timedelta(seconds=29)) == []
    assert [i.version for i in claim(sessions, now=T0 + dt.timedelta(seconds=30))] == [2]


def test_repeated_server_errors_end_in_the_dead_letter_state_and_retry_revives_it(
    sessions: sessionmaker[Session],
) -> None:
    ingest(sessions, [change(1, "d1", True)], 1)
    now = T0
    dead: list[str] = []
    for _ in range(POLICY.max_attempts):
        items = claim(sessions, now=now)
        assert len(items) == 1
        dead = complete(sessions, "w1", [failed(items[0], 503, now)], now)
        now += dt.timedelta(minutes=5)
    assert dead == ["d1"]
    item = row(sessions, "d1")
    assert item.state == "dead" and item.attempts == 3 and "HTTP 503" in (item.last_error or "")
    with unit_of_work(sessions) as session:
        assert [d.device_id for d in queue.dead_letters(session)] == ["d1"]
        assert queue.retry_dead(session, now) == 1
        session.commit()
    assert [i.attempts for i in claim(sessions, now=now)] == [0]


def test_a_client_error_is_dead_lettered_at_once_but_a_newer_state_is_still_tried(
    sessions: sessionmaker[Session],
) -> None:
    ingest(sessions, [change(1, "d1", True), change(2, "d2", True)], 2)
    items = {i.device_id: i for i in claim(sessions)}
    ingest(sessions, [change(3, "d2", False, entra="e-2")], 3)
    complete(sessions, "w1", [failed(items["d1"], 404, T0), failed(items["d2"], 404, T0)])
    assert row(sessions, "d1").state == "dead"
    assert row(sessions, "d2").state == "pending"


def test_an_unlinked_device_waits_for_its_entra_device_id(sessions: sessionmaker[Session]) -> None:
    ingest(sessions, [change(1, "d1", True, entra=None)], 1)
    assert claim(sessions) == []
    ingest(sessions, [change(2, "d1", True, entra="e-9")], 2)
    assert [i.state.entra_device_id for i in claim(sessions)] == ["e-9"]


def test_call_records_are_kept_with_the_completion_until_forwarded(sessions: sessionmaker[Session]) -> None:
    ingest(sessions, [change(1, "d1", True)], 1)
    item = claim(sessions)[0]
    call = CallRecordIn("d1", T0, "Graph (Windows MDM)", "PATCH /devices", 204, None, "c-1")
    complete(sessions, "w1", [Completion(item.device_id, item.version, item.state, 204, calls=(call,))])
    with unit_of_work(sessions) as session:
        records = queue.unforwarded(session, 10)
        assert [(r.call.device_id, r.call.correlation_id) for r in records] == [("d1", "c-1")]
        queue.mark_forwarded(session, [records[0].id], T0)
        session.commit()
    with unit_of_work(sessions) as session:
        assert queue.unforwarded(session, 10) == []
        assert session.get(CallRecord, records[0].id) is not None


def test_concurrent_claimers_never_hold_the_same_device(sessions: sessionmaker[Session], database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("row locks with SKIP LOCKED are a PostgreSQL feature; SQLite serialises whole transactions")
    ingest(sessions, [change(i, f"d{i}", True) for i in range(1, 201)], 200)
    held: dict[str, list[str]] = defaultdict(list)
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def worker(owner: str) -> None:
        barrier.wait()
        while items := claim(sessions, owner, limit=7):
            with lock:
                for item in items:
                    held[item.device_id].append(owner)

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(held) == 200
    assert all(len(owners) == 1 for owners in held.values())
    assert len({owner for owners in held.values() for owner in owners}) > 1
