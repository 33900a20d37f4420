"""Check-in ingest: posture samples per second and p99 latency, each evaluated against the organisation's
policies (5) with N enrolled devices (10,000), on SQLite and PostgreSQL.

Three figures per database: the service function alone (one thread, one transaction per sample: parse,
replay check, evaluation, device update, feed entry on a transition), the same with ``check_in_many``
taking ``--batch`` samples per transaction, and end to end over HTTP against a
``posturebridge serve mdm`` process with several client threads. Every sample flips its device between
compliant and not, so every check-in also writes a change-feed entry.

    PYTHONPATH=src:bench python bench/mdm_checkin.py [--devices 10000] [--samples 5000] [--postgres URL]
    PYTHONPATH=src:bench python bench/mdm_checkin.py --small     # seconds, for tests
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform as host
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy.orm import sessionmaker

from mdm_setup import drop_database, fresh_database, percentile, sample, seed, start_server
from posturebridge.common.database import make_engine, unit_of_work
from posturebridge.mdm.client import MdmClient
from posturebridge.mdm.service import compliance
from posturebridge.mdm.service.compliance import ConfigurationCache

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def service_ingest(
    url: str,
    devices: list[tuple[str, str, str]],
    samples: int,
    batch: int = 1,
    sequences: dict[str, int] | None = None,
) -> dict[str, float]:
    """``batch`` 1: ``check_in``, one transaction per sample; more: ``check_in_many``, ``batch`` per transaction.

    Latency is per transaction (what a sample waits for its commit)."""
    engine = make_engine(url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    cache = ConfigurationCache()
    latencies: list[float] = []
    sequences = {} if sequences is None else sequences
    started = time.perf_counter()
    for first in range(0, samples, batch):
        arrivals = []
        for index in range(first, min(first + batch, samples)):
            device_id, _, platform = devices[index % len(devices)]
            sequence = sequences[device_id] = sequences.get(device_id, 0) + 1
            body = sample(platform, sequence, compliant=sequence % 2 == 0)
            arrivals.append(compliance.Arrival(device_id, device_id, body))
        begin = time.perf_counter()
        with unit_of_work(sessions) as session:
            now = dt.datetime.now(dt.UTC)
            if batch == 1:
                compliance.check_in(session, arrivals[0].device_id, arrivals[0].device_id, arrivals[0].body, now, cache)
            else:
                outcomes = compliance.check_in_many(session, arrivals, now, cache)
                if refused := [o for o in outcomes if isinstance(o, Exception)]:
                    raise RuntimeError(f"samples refused: {refused[:3]}")
            session.commit()
        latencies.append(time.perf_counter() - begin)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return _figures(samples, elapsed, latencies)


def http_ingest(base: str, devices: list[tuple[str, str, str]], samples: int, threads: int) -> dict[str, float]:
    latencies: list[float] = []
    lock = threading.Lock()
    per_thread = samples // threads

    def drive(offset: int) -> None:
        mine = devices[offset::threads]
        sequences: dict[str, int] = {}
        shared = httpx.Client(timeout=30, trust_env=False)  # one connection pool per thread, like an agent fleet proxy
        clients = {
            device_id: MdmClient.for_device(base, token, http=shared) for device_id, token, _ in mine[:per_thread]
        }
        local: list[float] = []
        for index in range(per_thread):
            device_id, _, platform = mine[index % len(mine)]
            client = clients.get(device_id) or clients[mine[index % len(clients)][0]]
            sequence = sequences[device_id] = sequences.get(device_id, 100) + 1
            begin = time.perf_counter()
            client.check_in(device_id, sample(platform, sequence, compliant=sequence % 2 == 0))
            local.append(time.perf_counter() - begin)
        shared.close()
        with lock:
            latencies.extend(local)

    workers = [threading.Thread(target=drive, args=(i,)) for i in range(threads)]
    started = time.perf_counter()  # includes the threads' set-up, which is small
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    return _figures(len(latencies), elapsed, latencies)


def _figures(count: int, elapsed: float, latencies: list[float]) -> dict[str, float]:
    return {
        "samples": count,
        "per_second": count / elapsed if elapsed else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def run(
    database: str, devices: int, samples: int, batch: int, http_samples: int, threads: int, postgres: str
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as workdir:
        url, admin = fresh_database(database, Path(workdir), postgres)
        try:
            seeded_at = time.perf_counter()
            _, fleet = seed(url, devices)
            seeding = time.perf_counter() - seeded_at
            sequences: dict[str, int] = {}
            service = service_ingest(url, fleet, samples, 1, sequences)
            batched = service_ingest(url, fleet, samples, batch, sequences)
            process, base = start_server(url, Path(workdir))
            try:
                http = http_ingest(base, fleet, http_samples, threads)
            finally:
                process.terminate()
                process.wait(timeout=15)
        finally:
            drop_database(url, admin)
    return {
        "database": database,
        "devices": devices,
        "enrol_s": seeding,
        "service": service,
        f"service, {batch} per transaction": batched,
        "http": http,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=50, help="samples per transaction of the batched figure")
    parser.add_argument("--http-samples", type=int, default=4_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server URL; '' to skip PostgreSQL")
    parser.add_argument("--small", action="store_true", help="a few seconds, for tests")
    args = parser.parse_args(argv)
    if args.small:
        args.devices, args.samples, args.batch, args.http_samples, args.threads = 30, 60, 10, 40, 2
    print(f"# MDM check-in ingest — {host.python_version()}, {args.devices} devices, 5 policies")
    print("| database | path | samples | samples/s | p50 ms | p99 ms |")
    print("|---|---|---:|---:|---:|---:|")
    for database in ["sqlite", "postgres"] if args.postgres else ["sqlite"]:
        figures = run(database, args.devices, args.samples, args.batch, args.http_samples, args.threads, args.postgres)
        for path in ("service", f"service, {args.batch} per transaction", "http"):
            f = figures[path]
            print(
                f"| {database} | {path} | {f['samples']:,.0f} | {f['per_second']:,.0f} | "
                f"{f['p50_ms']:.2f} | {f['p99_ms']:.2f} |"
            )
        print(f"<!-- {database}: enrolling {args.devices} devices took {figures['enrol_s']:.1f} s -->")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
