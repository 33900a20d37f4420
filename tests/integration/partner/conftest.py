"""The real MDM (HTTP, uvicorn thread) and the real directory (HTTPS, the directory tests' ``directory_server``)
on loopback, seeded as a tenant whose Windows devices are managed by our MDM application, and a partner
delivery context wired to both exactly as ``partner.bootstrap`` wires it (msal tokens, Graph over TLS).

``World`` holds the tenant, the MDM organisation, N enrolled Windows devices linked to Entra device
records, and helpers to flip a device's compliance by a real check-in and to read the directory's view.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.clock import utcnow
from posturebridge.common.database import make_engine, migrate, unit_of_work
from posturebridge.common.settings import Settings
from posturebridge.directory.models import Device, Tenant
from posturebridge.mdm.app import create_app as create_mdm_app
from posturebridge.mdm.client import MdmClient
from posturebridge.mdm.config import MdmConfig
from posturebridge.mdm.service import credentials
from posturebridge.partner.channels import ChannelRegistry
from posturebridge.partner.channels.windows import WindowsChannel
from posturebridge.partner.delivery import DeliveryContext
from posturebridge.partner.graph_client import Credential, GraphClient, MsalHttpClient, MsalTokens
from posturebridge.partner.pacing import Pacer
from posturebridge.partner.retry import RetryPolicy
from tests.integration.directory.conftest import (  # noqa: F401  (fixtures)
    DirectoryServer,
    SeededTenant,
    _reset_clock,
    directory_server,
    seed_tenant,
)
from tests.integration.directory.helpers import add_windows_mdm_application
from tests.support import free_port

pytestmark = pytest.mark.integration

WINDOWS_POLICY = {
    "displayName": "Windows baseline",
    "platform": "windows",
    "rules": [{"type": "passcodeRequired"}],
    "scheduledActions": [{"actionType": "block"}],
    "assignment": {"allDevices": True},
}


@dataclass
class LiveMdm:
    url: str
    engine: Any


@contextlib.contextmanager
def serve_app(app: Any, port: int) -> Iterator[str]:
    """``app`` served by uvicorn (lifespan on) in a background thread on ``port``; yields its URL once /healthz
    answers and stops it (graceful shutdown, lifespan off) on exit."""
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=1
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    else:
        pytest.fail(f"the service on port {port} did not start")
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def live_mdm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveMdm]:
    data_dir: Path = tmp_path_factory.mktemp("mdm")
    settings = Settings(data_dir=data_dir)
    engine = make_engine(settings.database_url("mdm"))
    migrate(engine, "mdm")
    app = create_mdm_app(
        settings, engine, config=MdmConfig(sweep_interval_seconds=0.5, feed_poll_interval_seconds=0.05)
    )
    try:
        with serve_app(app, free_port()) as url:
            yield LiveMdm(url, engine)
    finally:
        engine.dispose()


@dataclass
class LinkedDevice:
    mdm_id: str
    entra_device_id: str
    agent: MdmClient
    sequence: int = 0
    compliant: bool = True
    os_version: str = "10.0.22631.3007"


@dataclass
class World:
    directory: DirectoryServer
    tenant: SeededTenant
    mdm_url: str
    mdm_client_id: str
    mdm_client_secret: str
    windows_app_id: str
    windows_secret: str
    devices: list[LinkedDevice] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def mdm(self) -> MdmClient:
        return MdmClient.with_client_credentials(self.mdm_url, self.mdm_client_id, self.mdm_client_secret)

    def check_in(self, device: LinkedDevice, compliant: bool) -> None:
        """A real check-in whose sample makes the device compliant (passcode present) or not."""
        with self.lock:
            device.sequence += 1
            sequence = device.sequence
        device.agent.check_in(
            device.mdm_id,
            {
                "sequence": sequence,
                "nonce": uuid.uuid4().hex,
                "sampledDateTime": utcnow().isoformat(),
                "osVersion": device.os_version,
                "passcodePresent": compliant,
            },
        )
        device.compliant = compliant

    def directory_view(self) -> dict[str, tuple[bool | None, bool | None]]:
        """Entra deviceId -> (isManaged, isCompliant) as the directory stores them."""
        with self.directory.session() as session:
            rows = session.scalars(select(Device).where(Device.tenant_id == self.tenant.id)).all()
            return {row.device_id: (row.is_managed, row.is_compliant) for row in rows}

    def mdm_view(self) -> dict[str, tuple[bool, bool]]:
        """Entra deviceId -> (managed, compliant) as the MDM sees its devices now."""
        with self.mdm() as mdm:
            return {
                d.entra_device_id: (
                    d.enrollment_status == "enrolled",
                    d.enrollment_status == "enrolled" and d.is_compliant,
                )
                for d in mdm.iter_devices()
                if d.entra_device_id
            }

    def set_faults(self, document: dict[str, Any]) -> None:
        with self.directory.session() as session:
            row = session.get(Tenant, self.tenant.id)
            assert row is not None
            row.throttling = document
            session.commit()


def build_world(directory: DirectoryServer, mdm_url: str, mdm_engine: Any, devices: int) -> World:
    tenant = seed_tenant(directory)
    now = utcnow()
    app_id, secret = add_windows_mdm_application(directory, tenant.id, permissions=["Device.ReadWrite.All"])
    with unit_of_work(sessionmaker(mdm_engine, expire_on_commit=False)) as session:
        org = credentials.create_organisation(session, f"Org {uuid.uuid4().hex[:6]}", utcnow())
        session.commit()
    world = World(directory, tenant, mdm_url, org.client.id, org.client.secret, app_id, secret)
    with world.mdm() as admin:
        admin.create_policy(WINDOWS_POLICY)
        with directory.session() as session:
            for number in range(devices):
                token = admin.create_enrollment_token(platform="windows").token
                assert token is not None
                with MdmClient(mdm_url) as anonymous:
                    enrolled = anonymous.enroll(
                        token, platform="windows", model="Surface", os_version="10.0.22631.3007"
                    )
                entra_id = str(uuid.uuid4())
                session.add(
                    Device(
                        id=str(uuid.uuid4()),
                        tenant_id=tenant.id,
                        device_id=entra_id,
                        display_name=f"PC-{number}",
                        operating_system="Windows",
                        operating_system_version="10.0.22631.3007",
                        trust_type="AzureAd",
                        mdm_app_id=app_id,
                        created_date_time=now,
                        registration_date_time=now,
                    )
                )
                admin.set_entra_device_id(enrolled.device_id, entra_id)
                world.devices.append(
                    LinkedDevice(enrolled.device_id, entra_id, MdmClient.for_device(mdm_url, enrolled.device_token))
                )
            session.commit()
    return world


def partner_context(
    world: World,
    database_url: str,
    *,
    owner: str = "worker-1",
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    concurrency: int = 4,
    max_attempts: int = 12,
    pacer: Pacer | None = None,
) -> DeliveryContext:
    """The delivery context ``bootstrap.build`` makes, against the loopback services (optional recording
    transport under the Graph client)."""
    engine = make_engine(database_url)
    migrate(engine, "partner")
    verify = world.directory.ssl_context
    http = httpx.Client(verify=verify, timeout=15.0, transport=transport)
    tokens = MsalTokens(
        Credential(world.windows_app_id, world.windows_secret),
        world.directory.authority(world.tenant.id),
        http=MsalHttpClient(verify=verify, timeout=15.0),
        instance_discovery=False,
    )
    graph = GraphClient(world.directory.url, tokens, http, clock=clock)
    registry = ChannelRegistry()
    registry.register(WindowsChannel(graph, clock=clock, pacer=pacer))
    return DeliveryContext(
        sessions=sessionmaker(engine, expire_on_commit=False),
        mdm=world.mdm(),
        channels=registry,
        policy=RetryPolicy(base_seconds=0.2, cap_seconds=2.0, max_attempts=max_attempts),
        owner=owner,
        clock=clock,
        rng=random.Random(7),
        concurrency=concurrency,
        lease=dt.timedelta(seconds=30),
    )


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def session_of(ctx: DeliveryContext) -> Session:
    return ctx.sessions()
