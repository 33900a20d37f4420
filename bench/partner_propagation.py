"""Propagation: a check-in that flips a device's compliance, until the directory's device record shows it
(MDM commit -> feed -> partner queue -> channel). p50/p99 over N flips, one at a time.

- ``--channel windows``: Windows devices, Graph ``PATCH /devices`` as the tenant's MDM application, paced as
  ``bootstrap`` paces it (``pacing.py`` defaults);
- ``--channel intune``: iPhones through the Intune partner compliance channel (``DataUploadMessages``,
  processed by the directory in the background; the partner polls each message with its default interval).

    PYTHONPATH=src:bench:. python bench/partner_propagation.py [--flips 200] [--devices 10] [--channel intune]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

from tests.integration.partner.conftest import partner_context

from partner_setup import intune_context, percentile, start, start_intune
from posturebridge.partner.pacing import Pacer
from posturebridge.partner.worker import Worker


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flips", type=int, default=200)
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--channel", choices=("windows", "intune"), default="windows")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    database = f"sqlite:///{Path(tempfile.mkdtemp(prefix='pb-partner-')) / 'partner.db'}"
    if args.channel == "intune":
        world, partner, servers = start_intune(args.devices)
        ctx = intune_context(world, partner, database)
    else:
        world, servers = start(args.devices)
        ctx = partner_context(world, database, pacer=Pacer())
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
    figures = {
        "channel": args.channel,
        "flips": len(latencies),
        "devices": args.devices,
        "p50": round(percentile(latencies, 0.5), 4),
        "p99": round(percentile(latencies, 0.99), 4),
        "max": round(max(latencies), 4),
        "load": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"channel={args.channel} flips={len(latencies)} devices={args.devices}")
    print(
        f"check-in -> directory record: p50 {figures['p50'] * 1000:.0f} ms, p99 {figures['p99'] * 1000:.0f} ms, "
        f"max {figures['max'] * 1000:.0f} ms (load {figures['load']:.2f})"
    )


if __name__ == "__main__":
    main()
