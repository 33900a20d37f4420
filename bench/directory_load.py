"""Directory load: client-credentials tokens/s and device lookups/s on a tenant of N devices, and paging
through every device with the server's memory sampled.

The directory runs as its own process (`posturebridge serve directory`); the load comes from another
process: wrk (Debian package `wrk`, C, with a Lua script that picks a random device per request) when it
is installed, else this script's asyncio + httpx client, which saturates near 200 requests/s on this
machine and then measures itself more than the server. Prints requests/s, p50 and p99 for each phase.

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
import re
import shutil
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


def _own_rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kib(pid: int) -> int:
    """Resident memory of the server process and its worker children."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    children.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return _own_rss_kib(pid) + sum(_own_rss_kib(child) for child in children)


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


async def run(
    url: str, ca: Path, data: dict[str, Any], seconds: float, concurrency: int, pid: int, *, load: bool
) -> dict[str, Any]:
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
        tokens = await hammer(token, seconds, concurrency) if load else {}
        access = (await client.post(f"/{data['tenant_id']}/oauth2/v2.0/token", data=form)).json()["access_token"]
        headers = {"Authorization": f"Bearer {access}"}
        device_ids = data["device_ids"]

        async def lookup() -> bool:
            device_id = random.choice(device_ids)
            response = await client.get(
                "/v1.0/devices", params={"$filter": f"deviceId eq '{device_id}'"}, headers=headers
            )
            return response.status_code == 200 and response.json()["value"][0]["deviceId"] == device_id

        lookups = await hammer(lookup, seconds, concurrency) if load else {}

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


WRK_LOOKUP = """
local ids = {%s}
request = function()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "/v1.0/devices?$filter=deviceId%%20eq%%20'" .. id .. "'", {["Authorization"] = "Bearer %s"})
end
"""
WRK_TOKEN = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "%s"
"""


def _wrk_seconds(text: str) -> float:
    value, unit = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def run_wrk(url: str, script: str, seconds: float, concurrency: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        out = subprocess.run(
            ["wrk", "-t2", f"-c{concurrency}", f"-d{max(1, int(seconds))}s", "--latency", "-s", handle.name, url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    if set(latency) != {"50", "99"}:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests": requests,
        "errors": int(bad.group(1)) if bad else 0,
        "per_second": float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _wrk_seconds(latency["50"]) * 1000,
        "p99_ms": _wrk_seconds(latency["99"]) * 1000,
    }


def run_with_wrk(url: str, data: dict[str, Any], seconds: float, concurrency: int, ca: Path) -> dict[str, Any]:
    form = str(
        httpx.QueryParams(
            {
                "grant_type": "client_credentials",
                "client_id": data["client_id"],
                "client_secret": data["secret"],
                "scope": "https://graph.microsoft.com/.default",
            }
        )
    )
    tokens = run_wrk(f"{url}/{data['tenant_id']}/oauth2/v2.0/token", WRK_TOKEN % form, seconds, concurrency)
    access = httpx.post(
        f"{url}/{data['tenant_id']}/oauth2/v2.0/token",
        data=dict(httpx.QueryParams(form)),
        verify=ssl.create_default_context(cafile=str(ca)),
    ).json()["access_token"]
    ids = ",".join(f'"{device_id}"' for device_id in data["device_ids"])
    lookups = run_wrk(url, WRK_LOOKUP % (ids, access), seconds, concurrency)
    return {"tokens": tokens, "lookups": lookups}


def _load(averages: tuple[float, float, float]) -> str:
    return " ".join(f"{value:.2f}" for value in averages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary directory")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--server-workers", type=int, default=1, help="directory processes (serve --workers)")
    parser.add_argument(
        "--client", choices=["auto", "wrk", "python"], default="auto", help="load generator (auto: wrk when installed)"
    )
    args = parser.parse_args()
    load_before = os.getloadavg()  # the machine is shared: figures mean little without its load beside them
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
                "--workers",
                str(args.server_workers),
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
            client = "wrk" if args.client == "wrk" or (args.client == "auto" and shutil.which("wrk")) else "python"
            ca = data_dir / "tls" / "ca.pem"
            result = asyncio.run(
                run(url, ca, data, args.seconds, args.concurrency, server.pid, load=client == "python")
            )
            if client == "wrk":
                result.update(run_with_wrk(url, data, args.seconds, args.concurrency, ca))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    result["config"] = {
        "devices": args.devices,
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "database": database_url.split(":", 1)[0],
        "client": client,
        "server_workers": args.server_workers,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"database {result['config']['database']}, {args.devices:,} devices, {args.concurrency} concurrent "
        f"connections from {client}; load average (1/5/15 min) {_load(load_before)} before, "
        f"{_load(result['config']['load_average_after'])} after"
    )
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
