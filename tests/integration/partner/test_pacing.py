"""Pacing against the real directory: the tenant's write limit set low (200 writes per 20 s, 10/s), a full sync
of 600 devices by a worker whose pacer starts ten times too fast. It finds the limit by its first 429s and
then writes just under it, with hardly a 429, until the end; every device ends in the MDM's state."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from posturebridge.partner.pacing import Pacer, PacingConfig
from posturebridge.partner.worker import Worker
from tests.integration.directory.conftest import DirectoryServer
from tests.integration.partner.bulk_support import seed_bulk
from tests.integration.partner.conftest import LiveMdm, build_world, partner_context, wait_until

pytestmark = pytest.mark.integration

ROOMY = [1_000_000, 10]
LOW_WRITE_LIMIT = {
    "mode": "custom",
    "custom": {
        "app_tenant_resource_units": ROOMY,
        "app_tenant_writes": [200, 20],
        "tenant_writes": ROOMY,
        "app_resource_units": ROOMY,
        "app_writes": ROOMY,
        "conditional_access": [1, 1],
    },
}
LIMIT = 10.0
WARMUP, SECONDS = 10.0, 30.0


def test_the_worker_settles_just_under_a_low_write_limit(
    directory_server: DirectoryServer, live_mdm: LiveMdm, tmp_path: Path
) -> None:
    world = build_world(directory_server, live_mdm.url, live_mdm.engine, devices=2)
    seed_bulk(world, live_mdm.engine, 598)
    world.set_faults(LOW_WRITE_LIMIT)
    time.sleep(2.5)  # the directory caches a tenant's settings for 2 s
    pacer = Pacer(PacingConfig(initial_rate=10 * LIMIT))
    ctx = partner_context(world, f"sqlite:///{tmp_path / 'partner.db'}", concurrency=4, pacer=pacer)
    worker = Worker(ctx, feed_wait=1.0, idle=0.05)
    started = time.monotonic()
    worker.start()
    try:
        time.sleep(SECONDS)
        stats = pacer.stats()
        settled = stats.totals(since=started + WARMUP, until=started + SECONDS)
        assert stats.totals(until=started + WARMUP).throttled > 0, "it never met the limit"
        assert settled.throttled <= 0.02 * settled.sent, settled
        assert settled.accepted >= 0.85 * LIMIT * (SECONDS - WARMUP), settled
        assert settled.accepted <= LIMIT * (SECONDS - WARMUP) + 40, settled  # the server's refill and a batch
        assert pacer.rate <= 1.1 * LIMIT
        world.set_faults({"mode": "off"})
        expected = world.mdm_view()
        wait_until(lambda: world.directory_view() == expected, 60, "every device in the MDM's state")
    finally:
        worker.stop()
