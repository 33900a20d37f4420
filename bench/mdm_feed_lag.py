"""Feed lag: from the commit of a compliance transition to a consumer waiting on ``GET /api/v1/feed``.

A ``posturebridge serve mdm`` process; one consumer long-polls the feed (``wait``) while a driver sends
check-ins that each flip a device's compliance state. The lag of an entry is the consumer's receive
time minus the entry's ``occurredDateTime`` (stamped inside the transaction, just before the commit),
so it is an upper bound of commit-to-consumer time. Same machine, same clock.

    PYTHONPATH=src:bench python bench/mdm_feed_lag.py [--transitions 500] [--postgres URL]
    PYTHONPATH=src:bench python bench/mdm_feed_lag.py --small
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mdm_setup import drop_database, fresh_database, percentile, sample, seed, start_server
from posturebridge.mdm.client import MdmClient

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def measure(base: str, client_id: str, secret: str, fleet: list[tuple[str, str, str]], transitions: int) -> list[float]:
    lags: list[float] = []
    ready = threading.Event()
    with MdmClient.with_client_credentials(base, client_id, secret) as admin:
        start_after = admin.feed_position().last_sequence

    def consume() -> None:
        with MdmClient.with_client_credentials(base, client_id, secret) as consumer:
            after = start_after
            consumer.feed_position()  # token fetched before the clock starts
            ready.set()
            deadline = time.monotonic() + 60 + transitions
            while len(lags) < transitions and time.monotonic() < deadline:
                page = consumer.feed(after, limit=100, wait=5)
                received = dt.datetime.now(dt.UTC)
                for entry in page.entries:
                    if entry.kind == "complianceStateChanged":
                        lags.append((received - entry.occurred_date_time).total_seconds())
                after = page.next_after

    reader = threading.Thread(target=consume)
    reader.start()
    ready.wait(10)
    agents = {device_id: MdmClient.for_device(base, token) for device_id, token, _ in fleet}
    sequences: dict[str, int] = {}
    for index in range(transitions):
        device_id, _, platform = fleet[index % len(fleet)]
        sequence = sequences[device_id] = sequences.get(device_id, 10_000) + 1
        agents[device_id].check_in(device_id, sample(platform, sequence, compliant=sequence % 2 == 0))
        time.sleep(0.005)  # a consumer that is waiting, not one that is catching up
    reader.join(timeout=60)
    for agent in agents.values():
        agent.close()
    return lags


def run(database: str, transitions: int, devices: int, postgres: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as workdir:
        url, admin = fresh_database(database, Path(workdir), postgres)
        try:
            organisation, fleet = seed(url, devices)
            process, base = start_server(url, Path(workdir))
            try:
                lags = measure(base, organisation.client.id, organisation.client.secret, fleet, transitions)
            finally:
                process.terminate()
                process.wait(timeout=15)
        finally:
            drop_database(url, admin)
    return {
        "database": database,
        "entries": len(lags),
        "p50_ms": percentile(lags, 0.5) * 1000,
        "p99_ms": percentile(lags, 0.99) * 1000,
        "max_ms": max(lags) * 1000 if lags else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transitions", type=int, default=500)
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server URL; '' to skip PostgreSQL")
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args(argv)
    if args.small:
        args.transitions, args.devices = 10, 3
    print("# MDM feed lag, commit to a waiting consumer")
    print("| database | entries | p50 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for database in ["sqlite", "postgres"] if args.postgres else ["sqlite"]:
        f = run(database, args.transitions, args.devices, args.postgres)
        print(f"| {database} | {f['entries']} | {f['p50_ms']:.1f} | {f['p99_ms']:.1f} | {f['max_ms']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
