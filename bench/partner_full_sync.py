"""Full sync: N linked Windows devices, a partner with an empty database reads the whole MDM feed and
writes every device's state to the directory; once with throttling off and once with 20% 429
(Retry-After 1 s) + 5% 500 injected by the directory. Prints wall time and devices/s.

    PYTHONPATH=src:bench:. python bench/partner_full_sync.py [--devices 200] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import select, update
from tests.integration.partner.conftest import World, partner_context

from partner_setup import start
from posturebridge.directory.models import Device
from posturebridge.partner.worker import Worker

FAULTS = {"mode": "off", "faults": {"rate": 0.25, "statuses": [429, 429, 429, 429, 500], "retryAfter": 1}}


def reset_directory(world: World) -> None:
    with world.directory.session() as session:
        session.execute(
            update(Device).where(Device.tenant_id == world.tenant.id).values(is_compliant=None, is_managed=None)
        )
        session.commit()


def run(world: World, concurrency: int, faults: dict[str, object]) -> tuple[float, int]:
    reset_directory(world)
    world.set_faults(faults)
    database = Path(tempfile.mkdtemp(prefix="pb-partner-")) / "partner.db"
    ctx = partner_context(world, f"sqlite:///{database}", concurrency=concurrency)
    expected = world.mdm_view()
    worker = Worker(ctx, feed_wait=1.0, idle=0.05)
    started = time.monotonic()
    worker.start()
    try:
        while world.directory_view() != expected:
            time.sleep(0.05)
        elapsed = time.monotonic() - started
    finally:
        worker.stop()
    with world.directory.session() as session:
        count = len(session.scalars(select(Device.id).where(Device.tenant_id == world.tenant.id)).all())
    return elapsed, count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    world, servers = start(args.devices)
    for device in world.devices[::2]:
        world.check_in(device, False)
    try:
        for label, faults in (("throttling off", {"mode": "off"}), ("20% 429 + 5% 500", FAULTS)):
            elapsed, count = run(world, args.concurrency, faults)
            print(f"{label}: {count} devices in {elapsed:.2f} s ({count / elapsed:.0f} devices/s)")
    finally:
        for server in servers:
            server.should_exit = True


if __name__ == "__main__":
    main()
