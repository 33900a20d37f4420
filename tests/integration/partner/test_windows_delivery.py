"""Windows devices end to end: a check-in flips compliance in the MDM, the partner reads the feed and writes
``isManaged``/``isCompliant`` to the directory as the tenant's MDM application; every call lands in the
device's CA log; reconcile finds and repairs drift."""

from __future__ import annotations

from pathlib import Path

import pytest

from posturebridge.common.database import unit_of_work
from posturebridge.directory.models import Device
from posturebridge.partner import queue
from posturebridge.partner.reconcile import reconcile
from posturebridge.partner.worker import Worker
from tests.integration.directory.conftest import DirectoryServer
from tests.integration.partner.conftest import LiveMdm, build_world, partner_context, wait_until

pytestmark = pytest.mark.integration


def test_a_compliance_flip_reaches_the_directory_and_the_ca_log(
    directory_server: DirectoryServer, live_mdm: LiveMdm, tmp_path: Path
) -> None:
    world = build_world(directory_server, live_mdm.url, live_mdm.engine, devices=3)
    ctx = partner_context(world, f"sqlite:///{tmp_path / 'partner.db'}")
    worker = Worker(ctx, feed_wait=1.0, idle=0.1)
    worker.start()
    try:
        first, second, _third = world.devices
        world.check_in(first, compliant=False)
        world.check_in(second, compliant=True)
        wait_until(lambda: world.directory_view() == world.mdm_view(), 30, "the directory to match the MDM")
        view = world.directory_view()
        assert view[first.entra_device_id] == (True, False)
        assert view[second.entra_device_id] == (True, True)
        with world.mdm() as mdm:
            wait_until(lambda: len(mdm.ca_log(first.mdm_id)) > 0, 30, "the CA log entry")
            entry = mdm.ca_log(first.mdm_id)[-1]
        assert entry.channel == "Graph (Windows MDM)"
        assert f"devices(deviceId='{first.entra_device_id}')" in entry.request_summary
        assert '"isCompliant":false' in entry.request_summary
        assert entry.response_status == 204 and entry.error is None and entry.correlation_id
    finally:
        worker.stop()


def test_reconcile_reports_drift_in_a_dry_run_and_repairs_it_otherwise(
    directory_server: DirectoryServer, live_mdm: LiveMdm, tmp_path: Path
) -> None:
    world = build_world(directory_server, live_mdm.url, live_mdm.engine, devices=2)
    ctx = partner_context(world, f"sqlite:///{tmp_path / 'partner.db'}")
    graph = ctx.channels.get("windows").graph  # type: ignore[union-attr]
    tampered = world.devices[0]
    with directory_server.session() as session:  # someone else changed the record behind our back
        row = session.query(Device).filter(Device.device_id == tampered.entra_device_id).one()
        row.is_compliant, row.is_managed = True, False
        session.commit()
    world.check_in(world.devices[1], compliant=False)  # the MDM changed; nothing delivered it yet

    dry = reconcile(ctx.sessions, ctx.mdm, graph, ctx.channels, ctx.clock(), dry_run=True)
    drifted = {d.entra_device_id: d.differences for d in dry.drifts}
    assert dry.checked == 2 and dry.queued == 0
    assert drifted[tampered.entra_device_id]["isManaged"] == (True, False)
    assert drifted[world.devices[1].entra_device_id]["isCompliant"] == (False, None)
    with unit_of_work(ctx.sessions) as session:
        assert queue.counts(session) == {}

    report = reconcile(ctx.sessions, ctx.mdm, graph, ctx.channels, ctx.clock(), dry_run=False)
    assert report.queued == 2
    worker = Worker(ctx, idle=0.1, consume_feed=False)
    worker.start()
    try:
        wait_until(lambda: world.directory_view() == world.mdm_view(), 30, "the repair")
    finally:
        worker.stop()
    again = reconcile(ctx.sessions, ctx.mdm, graph, ctx.channels, ctx.clock(), dry_run=True)
    assert again.drifts == [] and again.in_sync == 2
