"""Check-in ingest: posture samples per second and p99 latency, each evaluated against the organisation's
policies (5) with N enrolled devices (10,000), on SQLite and PostgreSQL.

Three figures per database: the service function alone (one thread, one transaction per sample: parse,
replay check, evaluation, device update, feed entry on a transition), the same with ``check_in_many``
taking ``--batch`` samples per transaction, and end to end over HTTP against a
``posturebridge serve mdm`` process: ``--connections`` device clients at once (each waits for its answer
before sending the next sample) in ``--client-processes`` other processes. Every sample flips its device
between compliant and not, so every check-in also writes a change-feed entry.

    PYTHONPATH=src:bench python bench/mdm_checkin.py [--devices 10000] [--samples 5000] [--postgres URL]
    PYTHONPATH=src:bench python bench/mdm_checkin.py --small     # seconds, for tests
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform as host
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from sqlalchemy.orm import sessionmaker

from mdm_setup import drop_database, fresh_database, percentile, sample, seed, start_server
from posturebridge.cli.common import load_settings
from posturebridge.common.database import make_engine, unit_of_work
from posturebridge.mdm.service import compliance
from posturebridge.mdm.service.compliance import ConfigurationCache
from posturebridge.runner import bind_socket, serve

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
    started, cpu = time.perf_counter(), time.process_time()
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
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    engine.dispose()
    return {**_figures(samples, elapsed, latencies), "cpu_ms": cpu * 1000 / samples}


def http_ingest(
    base: str,
    devices: list[tuple[str, str, str]],
    samples: int,
    connections: int,
    processes: int = 2,
    first_sequence: int = 1_000_000,
) -> dict[str, float]:
    """``connections`` device clients in ``processes`` other processes, each sending its devices' samples one
    after the other over a keep-alive connection and waiting for each answer (aiohttp on asyncio: the
    lightest real HTTP client at hand, so that the clients, which share the two cores, take as little as
    possible from the server). Every answer must be a 200 that accepted the sample.

    Throughput is counted from the common start to the last answer; client CPU is reported beside it."""
    processes = max(1, min(processes, connections))
    start_at = time.time() + 1.0 + 0.5 * processes  # every client process has imported and connected by then
    children = []
    with tempfile.TemporaryDirectory() as jobs:
        for index in range(processes):
            count = samples // processes + (1 if index < samples % processes else 0)
            share = connections // processes + (1 if index < connections % processes else 0)
            job = {
                "base": base,
                "devices": devices[index::processes],
                "samples": count,
                "connections": share,
                "first_sequence": first_sequence,
                "start_at": start_at,
            }
            path = Path(jobs) / f"client-{index}.json"
            path.write_text(json.dumps(job))
            command = [sys.executable, str(Path(__file__).resolve()), "--client", str(path)]
            children.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True))
        reports = []
        for child in children:
            out, _ = child.communicate(timeout=600)
            if child.returncode != 0:
                raise RuntimeError(f"a client process failed ({child.returncode})")
            reports.append(json.loads(out))
    latencies = [lag for report in reports for lag in report["latencies"]]
    failures = sum(report["failures"] for report in reports)
    if failures:
        raise RuntimeError(f"{failures} check-ins were not accepted: {reports[0]['first_failure']}")
    elapsed = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    figures = _figures(len(latencies), elapsed, latencies)
    figures["client_cpu_s"] = sum(r["cpu_s"] for r in reports)
    return figures


def _client(job: dict[str, Any]) -> dict[str, Any]:
    """One client process of ``http_ingest`` (``--client``, the job as JSON on stdin)."""
    import asyncio
    import resource

    import aiohttp

    devices = [tuple(d) for d in job["devices"]]
    connections, samples = job["connections"], job["samples"]
    latencies: list[float] = []
    failures: list[str] = []

    async def device_client(session: aiohttp.ClientSession, offset: int, count: int) -> None:
        mine = devices[offset::connections]
        sequences: dict[str, int] = {}
        for index in range(count):
            device_id, token, platform = mine[index % len(mine)]
            sequence = sequences[device_id] = sequences.get(device_id, job["first_sequence"]) + 1
            body = sample(platform, sequence, compliant=sequence % 2 == 0)
            begin = time.perf_counter()
            async with session.post(
                f"{job['base']}/api/v1/devices/{device_id}/samples",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                answer = await response.json()
            latencies.append(time.perf_counter() - begin)
            if response.status != 200 or answer.get("disposition") != "accepted":
                failures.append(f"{response.status} {answer}")

    async def drive() -> tuple[float, float]:
        connector = aiohttp.TCPConnector(limit=connections)
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.get(f"{job['base']}/healthz") as response:
                await response.read()
            await asyncio.sleep(max(0.0, job["start_at"] - time.time()))
            started = time.time()
            counts = [samples // connections + (1 if i < samples % connections else 0) for i in range(connections)]
            await asyncio.gather(*(device_client(session, i, counts[i]) for i in range(connections)))
            return started, time.time()

    started, ended = asyncio.run(drive())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "latencies": latencies,
        "failures": len(failures),
        "first_failure": failures[0] if failures else None,
        "started": started,
        "ended": ended,
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _figures(count: int, elapsed: float, latencies: list[float]) -> dict[str, float]:
    return {
        "samples": count,
        "per_second": count / elapsed if elapsed else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def run(
    database: str,
    devices: int,
    samples: int,
    batch: int,
    http_samples: int,
    connections: int,
    processes: int,
    http_runs: int,
    postgres: str,
    routes_only: bool = False,
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
            servers = {"http": start_server(url, Path(workdir))}
            if routes_only:
                servers[ROUTES_ONLY] = _start_without_fast_path(url, Path(workdir))
            try:
                runs: dict[str, list[dict[str, float]]] = {path: [] for path in servers}
                for attempt in range(http_runs):
                    for index, (path, (process, base)) in enumerate(servers.items()):
                        cpu = cpu_seconds(process.pid)
                        first = 1_000_000 * (1 + attempt * len(servers) + index)
                        figures = http_ingest(base, fleet, http_samples, connections, processes, first)
                        figures["cpu_ms"] = (cpu_seconds(process.pid) - cpu) * 1000 / figures["samples"]
                        figures["load"] = os.getloadavg()[0]
                        runs[path].append(figures)
            finally:
                for process, _ in servers.values():
                    process.terminate()
                    process.wait(timeout=15)
        finally:
            drop_database(url, admin)
    best = {path: max(every, key=lambda figures: figures["per_second"]) for path, every in runs.items()}
    return {
        "database": database,
        "devices": devices,
        "enrol_s": seeding,
        "service": service,
        f"service, {batch} per transaction": batched,
        **best,
        "http_runs": runs,
    }


ROUTES_ONLY = "http, routes only"
"""The A/B row: the same server with the check-in fast path off (``create_app(fast_paths=False)``)."""


def _start_without_fast_path(url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``serve mdm`` as ``start_server`` runs it, but every check-in answered by the FastAPI route. The socket
    is bound and listening here, so the first request waits in its backlog until the server accepts."""
    sock = bind_socket("127.0.0.1", 0, "mdm")
    env = {**os.environ, "POSTUREBRIDGE_MDM_DATABASE_URL": url, "POSTUREBRIDGE_LOG_LEVEL": "critical"}
    command = [sys.executable, str(Path(__file__).resolve()), "--serve-routes-only", str(sock.fileno()), str(workdir)]
    with sock:
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, pass_fds=(sock.fileno(),))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    if httpx.get(f"{base}/healthz", timeout=60).status_code != 200:
        process.kill()
        raise RuntimeError("the MDM without the fast path did not start")
    return process, base


def _serve_routes_only(fd: int, workdir: str) -> None:
    import functools

    from posturebridge.mdm import app as mdm_app

    mdm_app.create_app = functools.partial(mdm_app.create_app, fast_paths=False)  # type: ignore[assignment]
    serve(load_settings(data_dir=Path(workdir)), "mdm", fd=fd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=50, help="samples per transaction of the batched figure")
    parser.add_argument("--http-samples", type=int, default=4_000)
    parser.add_argument("--connections", type=int, default=64, help="device clients over HTTP, all at once")
    parser.add_argument("--client-processes", type=int, default=2, help="processes the device clients run in")
    parser.add_argument("--http-runs", type=int, default=3, help="HTTP runs on the same server; the best is shown")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server URL; '' to skip PostgreSQL")
    parser.add_argument("--small", action="store_true", help="a few seconds, for tests")
    parser.add_argument(
        "--ab", action="store_true", help="alternate each HTTP run with one against a server without the fast path"
    )
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--serve-routes-only", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_routes_only:
        _serve_routes_only(int(args.serve_routes_only[0]), args.serve_routes_only[1])
        return 0
    if args.client:
        print(json.dumps(_client(json.loads(Path(args.client).read_text()))))
        return 0
    if args.small:
        args.devices, args.samples, args.batch, args.http_samples, args.connections = 30, 60, 10, 40, 4
        args.http_runs = 1
    print(f"# MDM check-in ingest — {host.python_version()}, {args.devices} devices, 5 policies")
    print(f"# load average {os.getloadavg()[0]:.1f} at the start; CPU ms per sample: the MDM's own process")
    print("| database | path | samples | samples/s | p50 ms | p99 ms | CPU ms/sample |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for database in ["sqlite", "postgres"] if args.postgres else ["sqlite"]:
        figures = run(
            database,
            args.devices,
            args.samples,
            args.batch,
            args.http_samples,
            args.connections,
            args.client_processes,
            args.http_runs,
            args.postgres,
            args.ab,
        )
        for path in ("service", f"service, {args.batch} per transaction", *figures["http_runs"]):
            f = figures[path]
            print(
                f"| {database} | {path} | {f['samples']:,.0f} | {f['per_second']:,.0f} | "
                f"{f['p50_ms']:.2f} | {f['p99_ms']:.2f} | {f['cpu_ms']:.2f} |"
            )
        for path, runs in figures["http_runs"].items():
            every = ", ".join(f"{f['per_second']:,.0f} ({f['cpu_ms']:.2f} ms, load {f['load']:.1f})" for f in runs)
            print(f"<!-- {database}: {path} runs {every} samples/s (CPU ms/sample, load after) -->")
        print(
            f"<!-- {database}: enrolling {args.devices} devices took {figures['enrol_s']:.1f} s; the HTTP clients "
            f"used {figures['http']['client_cpu_s']:.1f} CPU s; load average now {os.getloadavg()[0]:.1f} -->"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
