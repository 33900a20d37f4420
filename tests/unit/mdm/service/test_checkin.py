"""Check-in: a newer sample is evaluated, an older one ignored, a replay or bad sample refused with
nothing stored, and a device can only report for itself."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.mdm.domain import SampleReplayedError, ValidationError
from posturebridge.mdm.domain.errors import SampleFromTheFutureError
from posturebridge.mdm.models import DeviceAction, FeedEntry, Notification
from posturebridge.mdm.service import compliance
from posturebridge.mdm.service.errors import NotFound
from tests.unit.mdm.world import NOW, World

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    world = World(sessions, NOW)
    world.organisation()
    world.policy()
    return world


def test_a_compliant_sample_makes_the_device_compliant_and_records_the_transition(world: World) -> None:
    device_id = world.enroll().device.id
    result = world.check_in(device_id, world.sample("17.4"), NOW + HOUR)
    assert result.accepted and result.evaluation.state.value == "compliant"
    device = world.device(device_id)
    assert (device.compliance_state, device.is_compliant, device.last_seen_at) == ("compliant", True, NOW + HOUR)
    assert device.evaluation["complianceState"] == "compliant"
    assert world.entries_of(device_id)[-1] == ("notEvaluated", "compliant")


def test_a_failing_sample_starts_the_grace_period_and_notifies_the_user(world: World) -> None:
    device_id = world.enroll().device.id
    result = world.check_in(device_id, world.sample("16.7"), NOW)
    assert result.evaluation.state.value == "inGracePeriod"
    assert world.device(device_id).is_compliant is True
    assert any("16.7 is older than the minimum 17.0" in line for line in result.evaluation.explanation)
    [action] = world.run(lambda s: s.query(DeviceAction).all(), commit=False)
    assert (action.action_type, action.device_id) == ("notification", device_id)
    [note] = world.run(lambda s: s.query(Notification).all(), commit=False)
    assert note.device_id == device_id and note.deep_link == compliance.COMPLIANCE_DEEP_LINK
    assert world.device(device_id).next_evaluation_at == NOW + dt.timedelta(hours=24)


def test_an_older_sample_is_ignored(world: World) -> None:
    device_id = world.enroll().device.id
    world.check_in(device_id, world.sample("17.4", sequence=10), NOW)
    result = world.check_in(device_id, world.sample("16.0", sequence=5), NOW + HOUR)
    assert not result.accepted and result.disposition == "ignoredStale"
    device = world.device(device_id)
    assert device.compliance_state == "compliant"
    assert device.latest_sample is not None and device.latest_sample["osVersion"] == "17.4"
    assert device.last_seen_at == NOW + HOUR


def test_a_replayed_sample_is_refused_and_nothing_is_stored(world: World) -> None:
    device_id = world.enroll().device.id
    sample = world.sample("17.4")
    world.check_in(device_id, sample, NOW)
    before = world.device(device_id)
    entries = world.count(FeedEntry)
    with pytest.raises(SampleReplayedError):
        world.check_in(device_id, sample, NOW + HOUR)
    after = world.device(device_id)
    assert (after.last_seen_at, after.sample_cursor) == (before.last_seen_at, before.sample_cursor)
    assert world.count(FeedEntry) == entries


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"osVersion": "25.0"}, "osVersion"),
        ({"osVersion": "seventeen"}, "osVersion"),
        ({"bitLockerEnabled": True}, "bitLockerEnabled"),
        ({"sequence": -1}, "sequence"),
        ({"sampledDateTime": "yesterday"}, "sampledDateTime"),
        ({"batteryLevel": 3}, "batteryLevel"),
    ],
)
def test_an_invalid_sample_names_the_field_and_stores_nothing(
    world: World, changes: dict[str, object], path: str
) -> None:
    device_id = world.enroll().device.id
    entries = world.count(FeedEntry)
    with pytest.raises(ValidationError) as raised:
        world.check_in(device_id, {**world.sample(), **changes}, NOW)
    assert path in {e.path for e in raised.value.errors}
    assert world.device(device_id).latest_sample is None
    assert world.count(FeedEntry) == entries


def test_a_sample_from_the_future_is_refused(world: World) -> None:
    device_id = world.enroll().device.id
    with pytest.raises(SampleFromTheFutureError):
        world.check_in(device_id, world.sample(at=NOW + HOUR), NOW)


def test_a_device_cannot_report_for_another_organisations_device(world: World) -> None:
    mine = world.enroll().device.id
    other = world.organisation("Fabrikam").organisation.id
    world.policy(organisation_id=other)
    theirs = world.enroll(organisation_id=other).device.id
    with pytest.raises(NotFound):
        world.run(lambda s: compliance.check_in(s, mine, theirs, world.sample(), NOW, world.cache))
    assert world.device(theirs).latest_sample is None
    assert world.feed(other)[-1].value == "notEvaluated"
