"""Fleet simulator: sustained posture samples per second from N simulated devices (1,000) in one asyncio
process against a ``posturebridge serve mdm`` process (SQLite), with check-in latency p50/p99.

Every device enrols, then checks in back to back (``--interval 0``: the figure is what the MDM sustains
with ``--concurrency`` requests in flight) or on a schedule; churn flips posture so compliance changes and
the change feed is written too. Four compliance policies (iOS, Android, macOS, Windows) apply. The
sustained figure is ``afterEnrolment.samplesPerSecond``: samples from the moment the last device enrolled.

    PYTHONPATH=src:bench python bench/fleet.py [--devices 1000] [--duration 30] [--interval 0] [--concurrency 32]
    PYTHONPATH=src:bench python bench/fleet.py --small     # seconds, for tests
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform as host
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy.orm import sessionmaker

from mdm_setup import start_server
from posturebridge.common.database import make_engine, migrate, unit_of_work
from posturebridge.demo.mdm_seed import MINIMUM_OS, policy_document
from posturebridge.device.fleet import DEFAULT_MIX, Fleet, FleetConfig, FleetSummary, parse_platform_mix
from posturebridge.mdm.async_client import AsyncMdmClient
from posturebridge.mdm.client import MdmClient
from posturebridge.mdm.service import credentials

POLICIES = [policy_document(platform) for platform in MINIMUM_OS]


def run(
    devices: int, duration: float, interval: float, concurrency: int, churn: float
) -> tuple[FleetSummary, FleetSummary | None]:
    """The run's summary, and the summary at the moment the last device had enrolled."""
    with tempfile.TemporaryDirectory(prefix="pb-fleet-") as workdir:
        url = f"sqlite:///{workdir}/mdm.db"
        engine = make_engine(url)
        migrate(engine, "mdm")
        with unit_of_work(sessionmaker(engine, expire_on_commit=False)) as session:
            organisation = credentials.create_organisation(session, "Bench", dt.datetime.now(dt.UTC))
            session.commit()
        engine.dispose()
        process, base = start_server(url, Path(workdir))
        try:
            with MdmClient.with_api_key(base, organisation.api_key.secret) as admin:
                for policy in POLICIES:
                    admin.create_policy(policy)
                token = admin.create_enrollment_token(max_uses=devices).token
            assert token is not None
            config = FleetConfig(
                devices=devices,
                mix=parse_platform_mix(DEFAULT_MIX),
                enrollment_token=token,
                churn=churn,
                interval=interval,
                duration=duration,
                concurrency=concurrency,
                seed=1,
            )

            async def main() -> tuple[FleetSummary, FleetSummary | None]:
                async with AsyncMdmClient(base) as client:
                    fleet = Fleet(config, client, clock=lambda: dt.datetime.now(dt.UTC))
                    running = asyncio.create_task(fleet.run())
                    enrolled: FleetSummary | None = None
                    while not running.done():
                        await asyncio.wait([running], timeout=0.2)
                        now = fleet.summary()
                        tried = now.enrolled + sum(n for kind, n in now.errors.items() if kind.startswith("enrol:"))
                        if enrolled is None and tried == devices:
                            enrolled = now
                    return await running, enrolled

            return asyncio.run(main())
        finally:
            process.terminate()
            process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--churn", type=float, default=1.0, help="posture changes per device per minute")
    parser.add_argument("--small", action="store_true", help="20 devices for 2 s")
    args = parser.parse_args()
    if args.small:
        args.devices, args.duration = 20, 2.0
    summary, enrolled = run(args.devices, args.duration, args.interval, args.concurrency, args.churn)
    load = os.getloadavg()
    steady: dict[str, float | None] = {"samplesPerSecond": None}
    if enrolled is not None and summary.elapsed_s > enrolled.elapsed_s:
        window = summary.elapsed_s - enrolled.elapsed_s
        steady = {
            "enrolmentSeconds": round(enrolled.elapsed_s, 1),
            "windowSeconds": round(window, 1),
            "samplesPerSecond": round((summary.samples - enrolled.samples) / window, 1),
        }
    result = {
        "machine": f"{host.processor() or host.machine()}, {os.cpu_count()} CPUs, load {load[0]:.2f}",
        "config": {k: getattr(args, k) for k in ("devices", "duration", "interval", "concurrency", "churn")},
        "afterEnrolment": steady,
        **summary.to_dict(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
