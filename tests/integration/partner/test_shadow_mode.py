"""Shadow mode end to end: the partner records what it would write and who would lose access under the
tenant's CA policies (the directory's What If API), writes nothing, and writes it all once enforcement
starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from posturebridge.common.clock import utcnow
from posturebridge.common.database import unit_of_work
from posturebridge.directory import tenants
from posturebridge.directory.models import Application, Device, DeviceRegisteredPrincipal, ServicePrincipal, Tenant
from posturebridge.partner import queue
from posturebridge.partner.channels.windows import WindowsChannel
from posturebridge.partner.shadow import EXCHANGE_ONLINE, channels_for_mode
from posturebridge.partner.worker import Worker
from tests.integration.directory.conftest import DirectoryServer
from tests.integration.partner.conftest import LiveMdm, World, build_world, partner_context, wait_until

pytestmark = pytest.mark.integration

REQUIRE_COMPLIANT = {
    "displayName": "Office 365 needs a compliant device",
    "state": "enabled",
    "conditions": {
        "clientAppTypes": ["all"],
        "users": {"includeUsers": ["All"]},
        "applications": {"includeApplications": ["Office365"]},
    },
    "grantControls": {"operator": "OR", "builtInControls": ["compliantDevice"]},
}


def _grant_and_register(world: World) -> None:
    """The MDM application may read policies and users; the first device is the user's and is compliant today."""
    now = utcnow()
    with world.directory.session() as session:
        tenant = session.get(Tenant, world.tenant.id)
        application = session.scalars(select(Application).where(Application.app_id == world.windows_app_id)).one()
        principal = session.scalars(
            select(ServicePrincipal).where(
                ServicePrincipal.app_id == application.app_id, ServicePrincipal.tenant_id == world.tenant.id
            )
        ).one()
        assert tenant is not None
        tenants.grant_application_permissions(
            session, tenant, principal, ["Policy.ReadWrite.ConditionalAccess", "User.Read.All"], now=now
        )
        for device in world.devices:
            row = session.scalars(select(Device).where(Device.device_id == device.entra_device_id)).one()
            row.is_compliant, row.is_managed = True, True
        first = session.scalars(select(Device).where(Device.device_id == world.devices[0].entra_device_id)).one()
        session.add(
            DeviceRegisteredPrincipal(device_object_id=first.id, user_id=world.tenant.user.id, relationship="user")
        )
        session.commit()


def test_shadow_mode_records_the_write_and_who_would_lose_access_but_writes_nothing(
    directory_server: DirectoryServer, live_mdm: LiveMdm, tmp_path: Path
) -> None:
    world = build_world(directory_server, live_mdm.url, live_mdm.engine, devices=2)
    _grant_and_register(world)
    ctx = partner_context(world, f"sqlite:///{tmp_path / 'partner.db'}")
    enforcing = ctx.channels
    channel = enforcing.get("windows")
    assert isinstance(channel, WindowsChannel)
    created = channel.graph.call("POST", "/identity/conditionalAccess/policies", json_body=REQUIRE_COMPLIANT)
    assert created.status == 201, created.body
    ctx.channels = channels_for_mode(True, enforcing, channel.graph, ctx.sessions, ctx.clock())
    before = world.directory_view()

    worker = Worker(ctx, feed_wait=1.0, idle=0.1)
    worker.start()
    try:
        first, second = world.devices
        world.check_in(first, compliant=False)
        world.check_in(second, compliant=True)

        def shadowed_both() -> bool:
            with unit_of_work(ctx.sessions) as session:
                return queue.counts(session).get(queue.ItemState.SHADOWED, 0) == 2

        wait_until(shadowed_both, 30, "both devices to be shadowed")
        with world.mdm() as mdm:
            wait_until(lambda: len(mdm.ca_log(first.mdm_id)) > 0, 30, "the shadow entry in the CA log")
            log_entry = mdm.ca_log(first.mdm_id)[-1]
    finally:
        worker.stop()

    assert world.directory_view() == before, "shadow mode wrote to the directory"
    with unit_of_work(ctx.sessions) as session:
        records = {r["deviceId"]: r for r in queue.shadow_records(session)}
    lost = records[first.mdm_id]["lostAccess"]
    assert records[first.mdm_id]["wouldWrite"] == {"isManaged": True, "isCompliant": False}
    assert records[first.mdm_id]["directoryBefore"] is not None
    assert records[first.mdm_id]["directoryBefore"]["isCompliant"] is True
    assert lost == [
        {
            "userId": world.tenant.user.id,
            "userPrincipalName": world.tenant.user.upn,
            "application": EXCHANGE_ONLINE,
            "policies": ["Office 365 needs a compliant device"],
        }
    ]
    assert records[second.mdm_id]["lostAccess"] == []
    assert log_entry.channel == "shadow mode"
    assert f"would lose access: {world.tenant.user.upn}" in log_entry.request_summary

    # Enforcement: the shadowed items are written for real.
    with unit_of_work(ctx.sessions) as session:
        assert queue.release_shadowed(session, utcnow()) == 2
        session.commit()
    ctx.channels = enforcing
    worker = Worker(ctx, idle=0.1, consume_feed=False)
    worker.start()
    try:
        wait_until(lambda: world.directory_view() == world.mdm_view(), 30, "enforcement to write the states")
    finally:
        worker.stop()
    assert world.directory_view()[first.entra_device_id] == (True, False)


def test_a_shadowed_device_that_is_not_in_the_directory_says_so(
    directory_server: DirectoryServer, live_mdm: LiveMdm, tmp_path: Path
) -> None:
    world = build_world(directory_server, live_mdm.url, live_mdm.engine, devices=1)
    ctx = partner_context(world, f"sqlite:///{tmp_path / 'partner.db'}")
    channel = ctx.channels.get("windows")
    assert isinstance(channel, WindowsChannel)
    with directory_server.session() as session:
        session.query(Device).filter(Device.device_id == world.devices[0].entra_device_id).delete()
        session.commit()
    ctx.channels = channels_for_mode(True, ctx.channels, channel.graph, ctx.sessions, ctx.clock())
    worker = Worker(ctx, feed_wait=1.0, idle=0.1)
    worker.start()
    try:
        world.check_in(world.devices[0], compliant=False)
        with world.mdm() as mdm:
            wait_until(lambda: len(mdm.ca_log(world.devices[0].mdm_id)) > 0, 30, "the shadow entry")
            entry = mdm.ca_log(world.devices[0].mdm_id)[-1]
    finally:
        worker.stop()
    assert entry.request_summary.endswith("the device is not in the directory")
