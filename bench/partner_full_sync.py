"""Full sync: a partner with an empty database reads the whole MDM feed (over HTTP) and writes every linked
Windows device's state to the directory (Graph ``$batch`` over HTTPS). Half the devices are non-compliant.

Runs, each with a fresh partner database and the directory's device records reset:

1. throttling off, pacing off: devices per second until every device is written (or ``--max-seconds``);
2. Graph's documented limits on (tenant size S: 3,000 writes per 150 s per app and tenant, i.e. 20/s, on a
   3,000 write burst), pacing with its defaults (it starts at 20 requests/s), for ``--seconds``;
3. the same limits, pacing started far too fast (``--fast-rate``), to show that it finds the limit;
4. (``drained``) the same limits with the directory's write bucket already empty, as for a sync that has been
   writing for a while, pacing with its defaults: the steady state, whatever the machine's own speed.

For 2 and 3: writes/s the directory accepted after the first ``--warmup`` seconds against the limit, and the
share of requests throttled (429) in that time, from the pacer's counts and from the directory's records.
``--faults`` adds the old run with 20% 429 (Retry-After 1 s) + 5% 500 injected.

    PYTHONPATH=src:bench:. python bench/partner_full_sync.py [--devices 100000] [--seconds 180] [--json]

The first ``--enrolled`` devices are enrolled through the MDM API; the rest are seeded with SQL
(``partner_setup.seed_bulk``).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from tests.integration.partner.conftest import World, partner_context

from partner_setup import start
from posturebridge.directory.graph.throttling import Throttler, throttling_config
from posturebridge.directory.models import Device
from posturebridge.partner.pacing import Pacer, PacingConfig
from posturebridge.partner.worker import Worker

FAULTS = {"mode": "off", "faults": {"rate": 0.25, "statuses": [429, 429, 429, 429, 500], "retryAfter": 1}}
DOCUMENTED = {"mode": "documented", "size": "S"}
WRITE_LIMIT = 3_000 / 150  # writes per second per application and tenant (graph-facts.md §9)


def reset_directory(world: World) -> None:
    with world.directory.session() as session:
        session.execute(
            update(Device).where(Device.tenant_id == world.tenant.id).values(is_compliant=None, is_managed=None)
        )
        session.commit()


def written(world: World) -> int:
    """Devices the partner has written since the reset."""
    with world.directory.session() as session:
        query = select(func.count()).where(Device.tenant_id == world.tenant.id, Device.is_managed.is_not(None))
        return int(session.scalar(query) or 0)


def prepare(world: World, throttling: dict[str, Any], drained: bool = False) -> None:
    reset_directory(world)
    world.set_faults(throttling)
    throttler = Throttler(clock=time.monotonic)  # full buckets, as for a new application
    if drained:
        throttler.configure(world.tenant.id, throttling_config(throttling))
        while throttler.decide(
            app_id=world.windows_app_id, tenant_id=world.tenant.id, method="PATCH", path="/v1.0/devices/drain"
        ).allowed:
            pass
    world.directory.directory.throttler = throttler
    time.sleep(2.5)  # the directory caches a tenant's settings for 2 s


def worker_for(world: World, concurrency: int, pacer: Pacer | None) -> Worker:
    database = Path(tempfile.mkdtemp(prefix="pb-partner-")) / "partner.db"
    ctx = partner_context(world, f"sqlite:///{database}", concurrency=concurrency, pacer=pacer)
    return Worker(ctx, feed_wait=1.0, idle=0.05)


def full_sync(world: World, total: int, concurrency: int, throttling: dict[str, Any], limit: float) -> dict[str, Any]:
    """Until every device is written (or ``limit`` seconds): devices and devices/s."""
    prepare(world, throttling)
    worker = worker_for(world, concurrency, None)
    started = time.monotonic()
    worker.start()
    try:
        count = 0
        while count < total and time.monotonic() - started < limit:
            time.sleep(0.5)
            count = written(world)
        elapsed = time.monotonic() - started
    finally:
        worker.stop()
    return {"devices": count, "of": total, "seconds": round(elapsed, 2), "devicesPerSecond": round(count / elapsed, 1)}


def paced(
    world: World, concurrency: int, config: PacingConfig, seconds: float, warmup: float, drained: bool = False
) -> dict[str, Any]:
    """``seconds`` of full sync under the documented limits with a pacer: what it achieved after ``warmup``."""
    prepare(world, DOCUMENTED, drained)
    pacer = Pacer(config)
    worker = worker_for(world, concurrency, pacer)
    started = time.monotonic()
    worker.start()
    try:
        time.sleep(warmup)
        at_warmup = written(world)
        time.sleep(seconds - warmup)
        at_end = written(world)
    finally:
        worker.stop()
    stats = pacer.stats()
    settled = stats.totals(since=started + warmup, until=started + seconds)
    first = stats.totals(until=started + warmup)
    window = seconds - warmup
    return {
        "initialRate": config.initial_rate,
        "drained": drained,
        "seconds": seconds,
        "warmup": warmup,
        "limitPerSecond": WRITE_LIMIT,
        "writesPerSecond": round(settled.accepted / window, 2),
        "ofLimit": round(settled.accepted / window / WRITE_LIMIT, 3),
        "devicesWrittenPerSecond": round((at_end - at_warmup) / window, 2),
        "sent": settled.sent,
        "throttled": settled.throttled,
        "throttledShare": round(settled.throttled / max(settled.sent, 1), 4),
        "warmupSent": first.sent,
        "warmupThrottled": first.throttled,
        "finalRate": round(stats.rate, 2),
        "decreases": stats.decreases,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--enrolled", type=int, default=20, help="devices enrolled through the MDM API")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=1_800.0, help="cap of the throttling-off run")
    parser.add_argument("--seconds", type=float, default=180.0, help="length of each run under the limits")
    parser.add_argument("--warmup", type=float, default=30.0)
    parser.add_argument("--fast-rate", type=float, default=1_000.0, help="pacer start of the fast run")
    parser.add_argument(
        "--runs", default="off,documented,fast,drained", help="of off,faults,documented,fast,drained,drainedfast"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    enrolled = min(args.enrolled, args.devices)
    built = time.monotonic()
    world, servers = start(enrolled, bulk=args.devices - enrolled)
    for device in world.devices[::2]:
        world.check_in(device, False)
    figures: dict[str, Any] = {"devices": args.devices, "setupSeconds": round(time.monotonic() - built, 1)}
    try:
        wanted = set(args.runs.split(","))
        if "off" in wanted:
            figures["off"] = full_sync(world, args.devices, args.concurrency, {"mode": "off"}, args.max_seconds)
            figures["off"]["load"] = os.getloadavg()[0]
        if "faults" in wanted:
            figures["faults"] = full_sync(world, args.devices, args.concurrency, FAULTS, args.max_seconds)
        runs = [("documented", PacingConfig(), False)] if "documented" in wanted else []
        if "fast" in wanted:
            runs.append(("documentedFastStart", PacingConfig(initial_rate=args.fast_rate), False))
        if "drained" in wanted:
            runs.append(("documentedDrained", PacingConfig(), True))
        if "drainedfast" in wanted:
            runs.append(("documentedDrainedFastStart", PacingConfig(initial_rate=args.fast_rate), True))
        for name, config, drained in runs:
            figures[name] = paced(world, args.concurrency, config, args.seconds, args.warmup, drained)
            figures[name]["load"] = os.getloadavg()[0]
    finally:
        for server in servers:
            server.should_exit = True
    if args.json:
        print(json.dumps(figures))
        return
    print(f"{args.devices} linked Windows devices (set-up {figures['setupSeconds']} s)")
    if "off" in figures:
        off = figures["off"]
        print(
            f"throttling off: {off['devices']} of {off['of']} devices in {off['seconds']} s "
            f"({off['devicesPerSecond']} devices/s), load {off['load']:.2f}"
        )
    if "faults" in figures:
        faults = figures["faults"]
        print(
            f"20% 429 + 5% 500: {faults['devices']} devices in {faults['seconds']} s ({faults['devicesPerSecond']}/s)"
        )
    for name, _, drained in runs:
        run = figures[name]
        bucket = "empty" if drained else "full"
        print(
            f"documented limits (write bucket {bucket} at the start), pacer from {run['initialRate']:g}/s, "
            f"{run['seconds']:g} s: after {run['warmup']:g} s "
            f"{run['writesPerSecond']} writes/s = {run['ofLimit']:.1%} of {run['limitPerSecond']:g}/s "
            f"({run['devicesWrittenPerSecond']} devices/s by the directory), throttled {run['throttled']} of "
            f"{run['sent']} ({run['throttledShare']:.2%}); warm-up {run['warmupThrottled']} of {run['warmupSent']} "
            f"throttled; rate now {run['finalRate']}/s, load {run['load']:.2f}"
        )


if __name__ == "__main__":
    main()
