"""Reliability as tests: a compliance storm under injected 429s and 5xx, kill -9 of the worker during a storm,
two workers on PostgreSQL. Each ends with every device's directory record equal to the MDM's view."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from posturebridge.common.clock import utcnow
from posturebridge.common.database import unit_of_work
from posturebridge.partner import queue
from posturebridge.partner.channels import Delivery
from posturebridge.partner.delivery import DeliveryContext
from posturebridge.partner.queue import Claimed
from posturebridge.partner.retry import parse_retry_after
from posturebridge.partner.worker import Worker
from tests.integration.directory.conftest import DirectoryServer
from tests.integration.partner.conftest import LiveMdm, World, build_world, partner_context, wait_until

pytestmark = pytest.mark.integration

FAULTS = {"mode": "off", "faults": {"rate": 0.25, "statuses": [429, 429, 429, 429, 500], "retryAfter": 1}}


def storm(world: World, changes: int, seed: int) -> None:
    """``changes`` check-ins on random devices, each flipping compliance at random, four at a time."""
    rng = random.Random(seed)
    plan = [(rng.choice(world.devices), rng.random() < 0.5) for _ in range(changes)]
    by_device: dict[str, list[bool]] = defaultdict(list)
    for device, compliant in plan:
        by_device[device.mdm_id].append(compliant)
    devices = {d.mdm_id: d for d in world.devices}

    def run(mdm_id: str) -> None:  # one device's check-ins stay in order
        for compliant in by_device[mdm_id]:
            world.check_in(devices[mdm_id], compliant)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(run, by_device))


@dataclass
class Exchange:
    sent: dt.datetime
    received: dt.datetime
    batch: bool
    targets: list[str]
    status: int
    retry_after: str | None
    items: dict[str, tuple[int, str | None]]  # target -> (status, Retry-After)


class RecordingTransport(httpx.BaseTransport):
    """The real TLS transport, noting when each Graph request went out and what came back."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[Exchange] = []
        self.lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        sent = utcnow()
        path = request.url.path.removeprefix("/v1.0")
        is_batch = path == "/$batch"
        requests = json.loads(request.content)["requests"] if is_batch else []
        targets = [r["url"] for r in requests] if is_batch else [path]
        response = self.inner.handle_request(request)
        response.read()
        received = utcnow()
        items: dict[str, tuple[int, str | None]] = {}
        if is_batch and response.status_code == 200:
            urls = {r["id"]: r["url"] for r in requests}
            for answer in response.json()["responses"]:
                headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
                items[urls[answer["id"]]] = (answer["status"], headers.get("retry-after"))
        else:
            items = {t: (response.status_code, response.headers.get("retry-after")) for t in targets}
        with self.lock:
            self.exchanges.append(
                Exchange(
                    sent, received, is_batch, targets, response.status_code, response.headers.get("retry-after"), items
                )
            )
        return response

    def close(self) -> None:
        self.inner.close()

    def retry_after_violations(self) -> list[str]:
        """Requests for a device (or batches) sent before a Retry-After they were given had passed."""
        found: list[str] = []
        allowed: dict[str, dt.datetime] = {}
        channel_allowed: dt.datetime | None = None
        for exchange in sorted(self.exchanges, key=lambda e: e.sent):
            if exchange.batch and channel_allowed and exchange.sent < channel_allowed:
                found.append(f"a $batch at {exchange.sent} before the batch Retry-After ({channel_allowed})")
            for target in exchange.targets:
                if target in allowed and exchange.sent < allowed[target]:
                    found.append(f"{target} sent at {exchange.sent}, Retry-After allowed {allowed[target]}")
            if exchange.batch and exchange.status == 429:
                wait = parse_retry_after(exchange.retry_after, exchange.received)
                if wait is not None:
                    channel_allowed = exchange.received + wait
            for target, (status, retry_after) in exchange.items.items():
                wait = parse_retry_after(retry_after, exchange.received)
                if status == 429 and wait is not None:
                    allowed[target] = exchange.received + wait
        return found


@pytest.fixture(scope="module")
def world(directory_server: DirectoryServer, live_mdm: LiveMdm) -> World:
    """One tenant and 20 linked Windows devices for the module; each test starts a fresh partner database,
    which reads the whole feed again, and checks convergence against the MDM's view at its end."""
    return build_world(directory_server, live_mdm.url, live_mdm.engine, devices=20)


def dead_letters(ctx: DeliveryContext) -> list[str]:
    with unit_of_work(ctx.sessions) as session:
        return [item.device_id for item in queue.dead_letters(session)]


def test_a_storm_under_throttling_and_server_errors_converges_without_early_retries(
    world: World, directory_server: DirectoryServer, tmp_path: Path
) -> None:
    world.set_faults(FAULTS)
    recorder = RecordingTransport(httpx.HTTPTransport(verify=directory_server.ssl_context))
    ctx = partner_context(world, f"sqlite:///{tmp_path / 'partner.db'}", transport=recorder)
    worker = Worker(ctx, feed_wait=0.5, idle=0.1)
    worker.start()
    try:
        storm(world, 300, seed=11)
        wait_until(lambda: world.directory_view() == world.mdm_view(), 90, "every device to converge")
    finally:
        worker.stop()
        world.set_faults({"mode": "off"})
    statuses = [status for e in recorder.exchanges for status, _ in e.items.values()]
    assert statuses.count(429) > 0 and any(s >= 500 for s in statuses), "the faults were not injected"
    assert recorder.retry_after_violations() == []
    assert dead_letters(ctx) == []


def start_worker(world: World, database_url: str, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "POSTUREBRIDGE_PARTNER_DATABASE_URL": database_url,
        "POSTUREBRIDGE_PARTNER_MDM_URL": world.mdm_url,
        "POSTUREBRIDGE_PARTNER_MDM_CLIENT_ID": world.mdm_client_id,
        "POSTUREBRIDGE_PARTNER_MDM_CLIENT_SECRET": world.mdm_client_secret,
        "POSTUREBRIDGE_PARTNER_TENANT_ID": world.tenant.id,
        "POSTUREBRIDGE_PARTNER_GRAPH_URL": world.directory.url,
        "POSTUREBRIDGE_PARTNER_AUTHORITY_HOST": world.directory.url,
        "POSTUREBRIDGE_PARTNER_CA_BUNDLE": str(world.directory.ca_file),
        "POSTUREBRIDGE_PARTNER_WINDOWS_CLIENT_ID": world.windows_app_id,
        "POSTUREBRIDGE_PARTNER_WINDOWS_CLIENT_SECRET": world.windows_secret,
        "POSTUREBRIDGE_PARTNER_BACKOFF_BASE_SECONDS": "0.2",
        "POSTUREBRIDGE_PARTNER_BACKOFF_CAP_SECONDS": "2",
        "POSTUREBRIDGE_PARTNER_LEASE_SECONDS": "3",
        "POSTUREBRIDGE_PARTNER_FEED_WAIT_SECONDS": "0.5",
        "POSTUREBRIDGE_PARTNER_IDLE_SECONDS": "0.1",
    }
    command = [
        sys.executable,
        "-c",
        "from posturebridge.cli.partner import app; app(prog_name='posturebridge partner')",
        "worker",
        "--data-dir",
        str(data_dir),
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_kill_9_during_a_storm_loses_no_acknowledged_change(world: World, tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'partner.db'}"
    rng = random.Random(5)
    process = start_worker(world, database_url, tmp_path)
    try:
        storming = threading.Thread(target=storm, args=(world, 100, 3))
        storming.start()
        while storming.is_alive():
            time.sleep(rng.uniform(0.3, 1.5))
            process.send_signal(signal.SIGKILL)
            process.wait()
            process = start_worker(world, database_url, tmp_path)
        storming.join()
        wait_until(lambda: world.directory_view() == world.mdm_view(), 60, "every device to converge after restarts")
        ctx = partner_context(world, database_url)
        with world.mdm() as mdm:
            last = mdm.feed_position().last_sequence

        def consumed() -> bool:
            with unit_of_work(ctx.sessions) as session:
                return queue.cursor_position(session) == last

        wait_until(consumed, 30, "every acknowledged feed entry to be consumed")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0  # a graceful stop
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert dead_letters(ctx) == []
    assert world.directory_view() == world.mdm_view()


class RecordingChannel:
    """Wraps the real Windows channel and notes which worker sent which version of a device, and when."""

    def __init__(
        self, inner: object, owner: str, log: list[tuple[str, str, int, float, float]], chunk_size: int | None = None
    ) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[attr-defined]
        # A small chunk makes each claim small, so both workers take part even on a fast machine.
        self.chunk_size = chunk_size or inner.chunk_size  # type: ignore[attr-defined]
        self.owner = owner
        self.log = log

    def deliver(self, items: Sequence[Claimed]) -> list[Delivery]:
        start = time.monotonic()
        result: list[Delivery] = self.inner.deliver(items)  # type: ignore[attr-defined]
        end = time.monotonic()
        self.log.extend((i.device_id, self.owner, i.version, start, end) for i in items)
        return result


def test_two_workers_on_postgresql_never_send_a_device_twice_at_once_and_keep_its_order(
    world: World, postgres_database_factory: object
) -> None:
    database_url = postgres_database_factory()  # type: ignore[operator]
    world.set_faults({"mode": "off", "faults": {"rate": 0.1, "statuses": [429, 503], "retryAfter": 1}})
    log: list[tuple[str, str, int, float, float]] = []
    workers = []
    for owner in ("worker-a", "worker-b"):
        ctx = partner_context(world, database_url, owner=owner, concurrency=1)
        windows = ctx.channels.get("windows")
        ctx.channels.register(RecordingChannel(windows, owner, log, chunk_size=2))  # type: ignore[arg-type]
        workers.append(Worker(ctx, feed_wait=0.5, idle=0.05))
    for worker in workers:
        worker.start()
    try:
        storm(world, 100, seed=23)
        wait_until(lambda: world.directory_view() == world.mdm_view(), 60, "every device to converge")
    finally:
        for worker in workers:
            worker.stop()
        world.set_faults({"mode": "off"})
    assert {owner for _, owner, _, _, _ in log} == {"worker-a", "worker-b"}
    sends: dict[str, list[tuple[float, float, int, str]]] = defaultdict(list)
    for device, owner, version, start, end in log:
        sends[device].append((start, end, version, owner))
    for device, attempts in sends.items():
        attempts.sort()
        for (_s1, end1, v1, o1), (start2, _e2, v2, o2) in itertools.pairwise(attempts):
            assert start2 >= end1, f"{device} sent by {o1} and {o2} at once"
            assert v2 >= v1, f"{device}: version {v2} sent after {v1}"
    assert dead_letters(workers[0].ctx) == []
