"""The fleet simulator against the real MDM over loopback: what it reports is what the MDM recorded."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import select

from posturebridge.demo.mdm_seed import MINIMUM_OS, policy_document
from posturebridge.device.agent import DevicePlatform
from posturebridge.device.fleet import (
    Fleet,
    FleetConfig,
    FleetError,
    FleetSummary,
    RegistrationTarget,
    parse_platform_mix,
)
from posturebridge.directory.models import Device
from posturebridge.mdm.async_client import AsyncMdmClient
from posturebridge.mdm.client import MdmClient
from tests.integration.device.conftest import World
from tests.integration.mdm.conftest import LiveMdm, live_mdm  # noqa: F401  (fixture)
from tests.support import free_port

pytestmark = pytest.mark.integration

# Outdated OS or no passcode makes a device noncompliant at once (no grace period), so churn shows in the feed.
POLICIES = [policy_document(platform) for platform in MINIMUM_OS]


def _run(url: str, config: FleetConfig) -> tuple[Fleet, FleetSummary]:
    async def main() -> tuple[Fleet, FleetSummary]:
        async with AsyncMdmClient(url) as client:
            fleet = Fleet(config, client, clock=lambda: dt.datetime.now(dt.UTC))
            return fleet, await fleet.run()

    return asyncio.run(main())


def _feed_transitions(admin: MdmClient) -> Counter[str]:
    found: Counter[str] = Counter()
    after = 0
    while True:
        page = admin.feed(after, limit=500)
        for entry in page.entries:
            if entry.kind == "complianceStateChanged" and entry.device_id is not None:
                found[entry.device_id] += 1
        after = page.next_after
        if not page.has_more:
            return found


def test_a_fleet_run_agrees_with_the_mdm_inventory_and_feed(live_mdm: LiveMdm) -> None:  # noqa: F811
    organisation = live_mdm.fabrikam  # alone in its organisation: every device and feed entry is the fleet's
    with live_mdm.admin(organisation) as admin:
        for policy in POLICIES:
            admin.create_policy(policy)
        token = admin.create_enrollment_token(max_uses=20).token
        assert token is not None
        config = FleetConfig(
            devices=20,
            mix=parse_platform_mix("ios=40,android=30,macos=15,windows=15"),
            enrollment_token=token,
            churn=120.0,  # two changes per device per second on average: the 3 s run surely changes compliance
            interval=0.25,
            duration=3.0,
            concurrency=8,
            seed=7,
        )
        fleet, summary = _run(live_mdm.url, config)

        inventory = {device.id: device for device in admin.iter_devices()}
        feed = _feed_transitions(admin)

    assert summary.errors == {}
    assert summary.enrolled == 20 and len(inventory) == 20
    assert Counter(device.platform for device in fleet.devices) == {
        DevicePlatform.IOS: 8,
        DevicePlatform.ANDROID: 6,
        DevicePlatform.MACOS: 3,
        DevicePlatform.WINDOWS: 3,
    }
    assert summary.samples > 20 * 4 and summary.flips > 0
    assert summary.latency_p50_ms is not None and summary.latency_p99_ms is not None
    assert summary.latency_p50_ms <= summary.latency_p99_ms
    assert summary.compliance == dict(Counter(device.compliance_state for device in inventory.values()))
    assert {"compliant", "noncompliant"} <= set(summary.compliance)
    for device in fleet.devices:
        assert device.device_id is not None
        assert inventory[device.device_id].compliance_state == device.compliance_state
        assert feed[device.device_id] == device.transitions, device
    assert sum(feed.values()) > 20  # more transitions than the enrolments' first evaluations


def test_a_refused_enrolment_token_stops_the_fleet_with_one_line(live_mdm: LiveMdm) -> None:  # noqa: F811
    config = FleetConfig(devices=3, mix={DevicePlatform.IOS: 1}, enrollment_token="pbe_not-a-token", duration=1)
    with pytest.raises(FleetError, match="refused the enrolment token"):
        _run(live_mdm.url, config)


def test_an_unreachable_mdm_stops_the_fleet_with_one_line() -> None:
    config = FleetConfig(devices=3, mix={DevicePlatform.IOS: 1}, enrollment_token="pbe_x", duration=1)
    with pytest.raises(FleetError, match="did not answer"):
        _run(f"http://127.0.0.1:{free_port()}", config)


def test_a_fraction_of_the_fleet_registers_through_the_broker(world: World) -> None:
    token = world.admin.create_enrollment_token(max_uses=3).token
    assert token is not None
    user = world.tenant.user
    config = FleetConfig(
        devices=3,
        mix=parse_platform_mix("ios=1,android=1,macos=1"),
        enrollment_token=token,
        interval=1.0,
        duration=20.0,
        user_names=[world.mdm_user_name],
        register_fraction=1.0,
        registration=RegistrationTarget(
            directory_url=world.directory.url,
            tenant_id=world.tenant.id,
            broker=world.endpoints.broker,
            accounts={world.mdm_user_name: (user.upn, user.password)},
            ca_bundle=str(world.directory.ca_file),
        ),
        seed=3,
    )
    fleet, summary = _run(world.mdm.url, config)
    assert summary.errors == {} and summary.registered == 3
    inventory = {device.id: device for device in world.admin.iter_devices()}
    with world.directory.session() as session:
        for device in fleet.devices:
            assert device.device_id is not None and device.entra_device_id is not None
            assert inventory[device.device_id].entra_device_id == device.entra_device_id
            row = session.scalars(select(Device).where(Device.device_id == device.entra_device_id)).one()
            assert row.tenant_id == world.tenant.id
