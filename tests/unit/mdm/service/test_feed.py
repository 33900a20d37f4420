"""The change feed: dense per-organisation sequence numbers committed in order, so a reader never skips
an entry even with concurrent writers; retention tells a late reader to resynchronise; organisations
never see each other's entries."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time

import pytest
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.database import unit_of_work
from posturebridge.mdm.service import feed
from posturebridge.mdm.service.errors import BadRequest, FeedPositionExpired
from posturebridge.mdm.service.feed import FeedKind, NewFeedEntry
from posturebridge.mdm.service.transactions import begin_write
from tests.unit.mdm.world import NOW, World


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    world = World(sessions, NOW)
    world.organisation()
    return world


def _entry(value: str) -> NewFeedEntry:
    return NewFeedEntry(FeedKind.COMPLIANCE_STATE, "device", None, value)


def test_sequences_are_dense_and_start_at_one(world: World) -> None:
    world.run(lambda s: feed.append(s, world.organisation_id, [_entry("a"), _entry("b")], NOW))
    world.run(lambda s: feed.append(s, world.organisation_id, [_entry("c")], NOW))
    assert [(e.sequence, e.value) for e in world.feed()] == [(1, "a"), (2, "b"), (3, "c")]
    page = world.run(lambda s: feed.read(s, world.organisation_id, 1, 1), commit=False)
    assert [e.sequence for e in page.entries] == [2] and page.has_more and page.next_after == 2


def test_a_rolled_back_writer_leaves_no_hole(world: World) -> None:
    world.run(lambda s: feed.append(s, world.organisation_id, [_entry("lost")], NOW), commit=False)
    world.run(lambda s: feed.append(s, world.organisation_id, [_entry("kept")], NOW))
    assert [(e.sequence, e.value) for e in world.feed()] == [(1, "kept")]


def test_a_position_beyond_the_feed_is_refused(world: World) -> None:
    with pytest.raises(BadRequest) as raised:
        world.feed(after=5)
    assert raised.value.target == "after" and raised.value.code == "feedPositionUnknown"


def test_a_reader_behind_retention_must_resynchronise(world: World) -> None:
    world.run(lambda s: feed.append(s, world.organisation_id, [_entry("old1"), _entry("old2")], NOW))
    world.run(lambda s: feed.append(s, world.organisation_id, [_entry("new")], NOW + dt.timedelta(days=8)))
    world.run(lambda s: feed.prune(s, NOW + dt.timedelta(days=8), dt.timedelta(days=7)))
    with pytest.raises(FeedPositionExpired):
        world.feed(after=1)
    assert [e.value for e in world.feed(after=2)] == ["new"]
    assert world.run(lambda s: feed.position(s, world.organisation_id), commit=False) == (3, 2)


def test_organisations_never_see_each_others_entries(world: World) -> None:
    other = world.organisation("Fabrikam").organisation.id
    world.run(lambda s: feed.append(s, world.organisation_id, [_entry("contoso")], NOW))
    world.run(lambda s: feed.append(s, other, [_entry("fabrikam")], NOW))
    assert [e.value for e in world.feed()] == ["contoso"]
    assert [(e.sequence, e.value) for e in world.feed(other)] == [(1, "fabrikam")]


def test_concurrent_writers_never_let_a_reader_skip_an_entry(world: World) -> None:
    """Writers hold their transaction open after numbering; the reader polls all the time. A reader that
    saw sequence n+1 before n committed would advance past n and never see it."""
    writers, per_writer = 4, 15
    total = writers * per_writer
    seen: list[int] = []
    problems: list[str] = []
    done = threading.Event()

    def write(index: int) -> None:
        rng = random.Random(index)
        try:
            for number in range(per_writer):
                with unit_of_work(world.sessions) as session:
                    begin_write(session)
                    feed.append(session, world.organisation_id, [_entry(f"{index}-{number}")], NOW)
                    time.sleep(rng.uniform(0, 0.004))
                    session.commit()
        except BaseException as error:
            problems.append(repr(error))

    def read() -> None:
        after = 0
        deadline = time.monotonic() + 60
        while after < total and time.monotonic() < deadline and not problems:
            with unit_of_work(world.sessions) as session:
                entries = feed.read(session, world.organisation_id, after, 1000).entries
                sequences = [e.sequence for e in entries]
            if sequences != list(range(after + 1, after + 1 + len(sequences))):
                problems.append(f"after {after} the reader got {sequences}")
                return
            seen.extend(sequences)
            if sequences:
                after = sequences[-1]
        done.set()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    reader = threading.Thread(target=read)
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reader.join()
    assert problems == []
    assert seen == list(range(1, total + 1))
    assert len({e.value for e in world.feed()}) == total
