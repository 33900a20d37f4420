"""Propagation: a check-in that flips a Windows device's compliance, until the directory's device record
shows it (MDM commit -> feed -> partner queue -> Graph PATCH). p50/p99 over N flips, one at a time.

    PYTHONPATH=src:bench:. python bench/partner_propagation.py [--flips 200] [--devices 10]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from tests.integration.partner.conftest import partner_context

from partner_setup import percentile, start
from posturebridge.partner.worker import Worker


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flips", type=int, default=200)
    parser.add_argument("--devices", type=int, default=10)
    args = parser.parse_args()
    world, servers = start(args.devices)
    database = Path(tempfile.mkdtemp(prefix="pb-partner-")) / "partner.db"
    ctx = partner_context(world, f"sqlite:///{database}")
    worker = Worker(ctx, feed_wait=5.0, idle=0.05)
    worker.start()
    rng = random.Random(1)
    latencies: list[float] = []
    try:
        for _ in range(args.flips):
            device = rng.choice(world.devices)
            wanted = not device.compliant
            started = time.monotonic()
            world.check_in(device, wanted)
            while world.directory_view()[device.entra_device_id][1] is not wanted:
                time.sleep(0.002)
            latencies.append(time.monotonic() - started)
    finally:
        worker.stop()
        for server in servers:
            server.should_exit = True
    print(f"flips={len(latencies)} devices={args.devices}")
    print(
        f"check-in -> directory record: p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
