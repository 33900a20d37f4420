"""The scheduled sweep: verdicts change on time without a check-in (validity period, grace period,
policy changes), and several sweepers never evaluate a device twice."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.mdm.service import policies, settings
from tests.unit.mdm.world import IOS_POLICY, NOW, World

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    world = World(sessions, NOW)
    world.organisation()
    world.policy()
    return world


def test_a_device_that_stops_checking_in_becomes_noncompliant_when_validity_ends(world: World) -> None:
    device_id = world.enroll().device.id
    world.check_in(device_id, world.sample("17.4"), NOW)
    assert world.device(device_id).next_evaluation_at == NOW + 30 * DAY
    assert world.sweep(NOW + 30 * DAY - dt.timedelta(seconds=1)) == 0
    assert world.sweep(NOW + 30 * DAY) == 1
    device = world.device(device_id)
    assert (device.compliance_state, device.is_compliant) == ("noncompliant", False)
    assert world.entries_of(device_id)[-1] == ("compliant", "noncompliant")
    assert any("validity period ended" in line for line in device.evaluation["explanation"])


def test_the_grace_period_expires_on_time(world: World) -> None:
    device_id = world.enroll().device.id
    world.check_in(device_id, world.sample("16.7"), NOW)
    assert world.device(device_id).compliance_state == "inGracePeriod"
    world.sweep(NOW + 24 * HOUR - dt.timedelta(seconds=1))
    assert world.device(device_id).compliance_state == "inGracePeriod"
    world.sweep(NOW + 24 * HOUR)
    assert world.device(device_id).compliance_state == "noncompliant"
    assert world.entries_of(device_id)[-2:] == [("notEvaluated", "inGracePeriod"), ("inGracePeriod", "noncompliant")]


def test_a_policy_change_re_evaluates_every_device(world: World) -> None:
    device_id = world.enroll().device.id
    world.check_in(device_id, world.sample("17.4"), NOW)
    [policy] = world.run(lambda s: policies.list_policies(s, world.organisation_id), commit=False)
    stricter = {**IOS_POLICY, "rules": [{"type": "osMinimumVersion", "version": "18.0"}]}
    world.run(lambda s: policies.replace_policy(s, world.organisation_id, policy.id, stricter, NOW + HOUR))
    assert world.sweep(NOW + HOUR) == 1
    assert world.device(device_id).compliance_state == "inGracePeriod"


def test_turning_on_secure_by_default_makes_unassigned_devices_noncompliant(world: World) -> None:
    device_id = world.enroll("linux", "22.04", model="ThinkPad").device.id
    assert world.device(device_id).compliance_state == "notApplicable"
    body = {"secureByDefault": True, "deviceComplianceCheckinThresholdDays": 30}
    world.run(lambda s: settings.set_compliance_settings(s, world.organisation_id, body, NOW))
    world.sweep(NOW)
    assert world.device(device_id).compliance_state == "noncompliant"


def test_concurrent_sweepers_evaluate_each_device_once(world: World) -> None:
    ids = [world.enroll().device.id for _ in range(30)]
    for device_id in ids:
        world.check_in(device_id, world.sample("17.4"), NOW)
    at = NOW + 31 * DAY
    counts: list[int] = []
    errors: list[BaseException] = []

    def sweeper() -> None:
        try:
            while (count := world.sweep(at, batch=3)) > 0:
                counts.append(count)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=sweeper) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(counts) == len(ids)
    for device_id in ids:
        assert world.entries_of(device_id)[-1] == ("compliant", "noncompliant")
        assert len(world.entries_of(device_id)) == 3
