"""Directory load: client-credentials tokens/s and device lookups/s on a tenant of N devices, and paging
through every device with the server's memory sampled.

The directory runs as its own process (`posturebridge serve directory`); this script is the concurrent
client (asyncio + httpx) in another process. Prints requests/s, p50 and p99 for each phase.

    .venv/bin/python bench/directory_load.py                       # SQLite, 100,000 devices
    .venv/bin/python bench/directory_load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/pb_bench
    .venv/bin/python bench/directory_load.py --devices 2000 --seconds 2   # the quick version the tests run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert
from sqlalchemy.orm import sessionmaker

from posturebridge.common.clock import utcnow
from posturebridge.common.database import make_engine, migrate, unit_of_work
from posturebridge.common.tls import ensure_tls
from posturebridge.directory import tenants
from posturebridge.directory.models import Device


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def seed(database_url: str, devices: int) -> dict[str, Any]:
    engine = make_engine(database_url)
    migrate(engine, "directory")
    now = utcnow()
    with unit_of_work(sessionmaker(engine, expire_on_commit=False)) as session:
        prefix = f"bench{uuid.uuid4().hex[:8]}"
        tenant = tenants.create_tenant(
            session, display_name="Bench", initial_domain_prefix=prefix, verified_domain=None, now=now
        )
        created = tenants.add_application(session, tenant, display_name="bench", now=now)
        tenants.grant_application_permissions(session, tenant, created.service_principal, ["Device.Read.All"], now=now)
        session.commit()
        tenant_id, client_id, secret = tenant.id, created.application.app_id, created.client_secret
    device_ids = [str(uuid.uuid4()) for _ in range(devices)]
    with engine.begin() as connection:
        for start in range(0, devices, 5000):
            connection.execute(
                insert(Device),
                [
                    {
                        "id": str(uuid.uuid4()),
                        "tenant_id": tenant_id,
                        "device_id": device_id,
                        "display_name": f"DEVICE-{start + offset:06d}",
                        "account_enabled": True,
                        "operating_system": "iOS",
                        "operating_system_version": "17.5",
                        "trust_type": "Workplace",
                        "is_compliant": True,
                        "is_managed": True,
                        "profile_type": "RegisteredDevice",
                        "created_date_time": now,
                        "registration_date_time": now,
                        "extension_attributes": {},
                        "physical_ids": [],
                        "system_labels": [],
                        "alternative_security_ids": [],
                    }
                    for offset, device_id in enumerate(device_ids[start : start + 5000])
                ],
            )
    engine.dispose()
    return {"tenant_id": tenant_id, "client_id": client_id, "secret": secret, "device_ids": device_ids}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def hammer(make_request: Any, seconds: float, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            ok = await make_request()
            latencies.append(time.perf_counter() - started)
            errors += 0 if ok else 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": errors,
        "per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


async def run(url: str, ca: Path, data: dict[str, Any], seconds: float, concurrency: int, pid: int) -> dict[str, Any]:
    context = ssl.create_default_context(cafile=str(ca))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, verify=context, limits=limits, timeout=30.0) as client:
        form = {
            "grant_type": "client_credentials",
            "client_id": data["client_id"],
            "client_secret": data["secret"],
            "scope": "https://graph.microsoft.com/.default",
        }

        async def token() -> bool:
            response = await client.post(f"/{data['tenant_id']}/oauth2/v2.0/token", data=form)
            return response.status_code == 200

        await token()
        tokens = await hammer(token, seconds, concurrency)
        access = (await client.post(f"/{data['tenant_id']}/oauth2/v2.0/token", data=form)).json()["access_token"]
        headers = {"Authorization": f"Bearer {access}"}
        device_ids = data["device_ids"]

        async def lookup() -> bool:
            device_id = random.choice(device_ids)
            response = await client.get(
                "/v1.0/devices", params={"$filter": f"deviceId eq '{device_id}'"}, headers=headers
            )
            return response.status_code == 200 and response.json()["value"][0]["deviceId"] == device_id

        lookups = await hammer(lookup, seconds, concurrency)

        rss_samples = [rss_kib(pid)]
        next_url: str | None = "/v1.0/devices?$top=999&$select=id,deviceId"
        listed = 0
        started = time.perf_counter()
        pages = 0
        while next_url:
            body = (await client.get(next_url, headers=headers)).json()
            listed += len(body["value"])
            next_url = body.get("@odata.nextLink", "").replace(url, "") or None
            pages += 1
            if pages % 10 == 0:
                rss_samples.append(rss_kib(pid))
        rss_samples.append(rss_kib(pid))
        listing = {
            "devices": listed,
            "pages": pages,
            "seconds": time.perf_counter() - started,
            "rss_kib_first": rss_samples[0],
            "rss_kib_max": max(rss_samples),
            "rss_kib_last": rss_samples[-1],
        }
    return {"tokens": tokens, "lookups": lookups, "listing": listing}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary directory")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        database_url = args.database_url or f"sqlite:///{data_dir / 'directory.db'}"
        data = seed(database_url, args.devices)
        ensure_tls(data_dir / "tls", "127.0.0.1")
        port = free_port()
        env = {**os.environ, "POSTUREBRIDGE_DIRECTORY_DATABASE_URL": database_url}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "posturebridge",
                "serve",
                "directory",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
            ],
            env=env,
        )
        try:
            url = f"https://127.0.0.1:{port}"
            context = ssl.create_default_context(cafile=str(data_dir / "tls" / "ca.pem"))
            for _ in range(300):
                try:
                    if httpx.get(f"{url}/healthz", verify=context).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            result = asyncio.run(
                run(url, data_dir / "tls" / "ca.pem", data, args.seconds, args.concurrency, server.pid)
            )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    result["config"] = {
        "devices": args.devices,
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "database": database_url.split(":", 1)[0],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"database {result['config']['database']}, {args.devices:,} devices, {args.concurrency} concurrent clients")
    for name in ("tokens", "lookups"):
        r = result[name]
        print(
            f"{name:8s} {r['per_second']:8.0f}/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  "
            f"({r['requests']:,} requests, {r['errors']} errors)"
        )
    listing = result["listing"]
    print(
        f"listing  {listing['devices']:,} devices in {listing['pages']} pages, {listing['seconds']:.1f} s; server RSS "
        f"{listing['rss_kib_first'] / 1024:.0f} MiB before, max {listing['rss_kib_max'] / 1024:.0f} MiB, "
        f"{listing['rss_kib_last'] / 1024:.0f} MiB after"
    )


if __name__ == "__main__":
    main()
