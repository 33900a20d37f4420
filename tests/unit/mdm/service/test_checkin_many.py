"""Check-ins that arrive together are taken in one transaction, each exactly as it would be alone: a
refused sample leaves the others standing, samples of one device see each other in order, and the
feed stays gap-free in arrival order."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.mdm.domain import SampleReplayedError, ValidationError
from posturebridge.mdm.models import DeviceAction
from posturebridge.mdm.service import compliance
from posturebridge.mdm.service.compliance import Arrival, CheckInResult
from posturebridge.mdm.service.errors import NotFound
from tests.unit.mdm.world import NOW, World

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    world = World(sessions, NOW)
    world.organisation()
    world.policy()
    return world


def _many(world: World, arrivals: list[Arrival], at: dt.datetime) -> list[CheckInResult | Exception]:
    return list(world.run(lambda s: compliance.check_in_many(s, arrivals, at, world.cache)))


def test_a_refused_sample_leaves_the_others_of_its_batch_standing(world: World) -> None:
    good, bad, replayed, other = (world.enroll().device.id for _ in range(4))
    first = world.sample("17.4", sequence=1)
    world.check_in(replayed, first, NOW)
    before = world.device(replayed)
    outcomes = _many(
        world,
        [
            Arrival(good, good, world.sample("17.4")),
            Arrival(replayed, replayed, {**first, "nonce": "another"}),
            Arrival(bad, bad, world.sample("16.7")),
            Arrival(good, other, world.sample("17.4")),
            Arrival(bad, bad, {**world.sample(), "osVersion": "seventeen"}),
        ],
        NOW + HOUR,
    )
    assert [type(o) for o in outcomes] == [CheckInResult, SampleReplayedError, CheckInResult, NotFound, ValidationError]
    assert world.device(good).compliance_state == "compliant"
    assert world.device(bad).compliance_state == "inGracePeriod"
    after = world.device(replayed)
    assert (after.last_seen_at, after.sample_cursor) == (before.last_seen_at, before.sample_cursor)
    assert world.device(other).latest_sample is None
    [action] = world.run(lambda s: s.query(DeviceAction).all(), commit=False)
    assert action.device_id == bad


def test_the_feed_of_a_batch_is_gap_free_in_arrival_order(world: World) -> None:
    a, b = world.enroll().device.id, world.enroll().device.id
    last = world.feed()[-1].sequence
    _many(world, [Arrival(b, b, world.sample("16.7")), Arrival(a, a, world.sample("17.4"))], NOW)
    entries = world.feed(after=last)
    assert [e.sequence for e in entries] == [last + 1, last + 2]
    assert [(e.device_id, e.value) for e in entries] == [(b, "inGracePeriod"), (a, "compliant")]
    assert entries[0].payload["device"]["complianceState"] == "inGracePeriod"


def test_samples_of_one_device_in_one_batch_are_taken_in_order(world: World) -> None:
    device_id = world.enroll().device.id
    newer, older = world.sample("17.4", sequence=10), world.sample("16.0", sequence=5)
    outcomes = _many(world, [Arrival(device_id, device_id, newer), Arrival(device_id, device_id, older)], NOW)
    assert [o.disposition for o in outcomes if isinstance(o, CheckInResult)] == ["accepted", "ignoredStale"]
    device = world.device(device_id)
    assert device.latest_sample is not None and device.latest_sample["osVersion"] == "17.4"
    assert world.entries_of(device_id)[-1] == ("notEvaluated", "compliant")


def test_a_batch_stores_what_the_same_samples_one_at_a_time_store(world: World) -> None:
    one, many = world.enroll().device.id, world.enroll().device.id
    bodies = [world.sample("16.7", sequence=1), world.sample("17.4", sequence=2), world.sample("16.0", sequence=3)]
    for body in bodies:
        world.check_in(one, body, NOW)
    _many(world, [Arrival(many, many, body) for body in bodies], NOW)
    alone, together = world.device(one), world.device(many)
    for column in ("compliance_state", "is_compliant", "last_seen_at", "next_evaluation_at", "os_version"):
        assert getattr(alone, column) == getattr(together, column), column
    assert (alone.latest_sample, alone.sample_cursor) == (together.latest_sample, together.sample_cursor)
    assert alone.prior_evaluation == together.prior_evaluation
    assert {**alone.evaluation, "deviceId": None} == {**together.evaluation, "deviceId": None}
    assert world.entries_of(one) == world.entries_of(many)
