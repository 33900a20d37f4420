"""Shared by the partner benchmarks: the real directory (HTTPS) and MDM (HTTP) in uvicorn threads on
loopback, and a tenant with N linked Windows devices built by the partner integration tests' world builder
(``tests/integration/partner/conftest.py``), so the benchmark measures exactly what the tests exercise.

Run from the repository root with ``PYTHONPATH=src:bench:.``.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker
from tests.integration.directory.conftest import AdjustableClock, DirectoryServer, seed_tenant
from tests.integration.directory.intune_support import PartnerWorld, add_device, onboard, seed_world
from tests.integration.partner.bulk_support import seed_bulk
from tests.integration.partner.conftest import LinkedDevice, World, build_world
from tests.integration.partner.test_onboarding import IOS_POLICY

from posturebridge.common.clock import utcnow
from posturebridge.common.database import make_engine, migrate, unit_of_work
from posturebridge.common.settings import Settings
from posturebridge.common.tls import client_context, ensure_tls
from posturebridge.directory.app import create_app as create_directory_app
from posturebridge.directory.context import Directory
from posturebridge.mdm.app import create_app as create_mdm_app
from posturebridge.mdm.client import MdmClient
from posturebridge.mdm.config import MdmConfig
from posturebridge.mdm.service import credentials
from posturebridge.partner.channels import ChannelRegistry
from posturebridge.partner.channels.intune import IntuneChannel, IntuneSetup
from posturebridge.partner.delivery import DeliveryContext
from posturebridge.partner.graph_client import Credential, GraphClient, MsalHttpClient, MsalTokens
from posturebridge.partner.retry import RetryPolicy
from posturebridge.partner.settings import INTUNE_RESOURCE, PartnerSettings


def _serve(app: Any, listener: socket.socket, **tls: str) -> uvicorn.Server:
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1, **tls)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True).start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return server


def _listener() -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    return listener


@dataclass
class Services:
    directory: DirectoryServer
    mdm_url: str
    mdm_engine: Engine
    servers: list[uvicorn.Server]


def services() -> Services:
    """The directory (HTTPS) and the MDM (HTTP) served on loopback, each with a fresh SQLite database."""
    data_dir = Path(tempfile.mkdtemp(prefix="pb-partner-bench-"))
    listener = _listener()
    port = listener.getsockname()[1]
    settings = Settings(data_dir=data_dir, directory_port=port)
    tls = ensure_tls(data_dir / "tls", "127.0.0.1")
    engine = make_engine(f"sqlite:///{data_dir / 'directory.db'}")
    migrate(engine, "directory")
    directory = Directory.build(settings, sessionmaker(engine, expire_on_commit=False))
    clock = AdjustableClock()
    directory.clock = clock
    app = create_directory_app(settings, engine, directory)
    servers = [_serve(app, listener, ssl_certfile=str(tls.server_cert), ssl_keyfile=str(tls.server_key))]
    server = DirectoryServer(
        f"https://127.0.0.1:{port}", tls.ca_cert, client_context(tls.ca_cert), directory, clock, app
    )
    mdm_engine = make_engine(f"sqlite:///{data_dir / 'mdm.db'}")
    migrate(mdm_engine, "mdm")
    mdm_listener = _listener()
    mdm_app = create_mdm_app(settings, mdm_engine, config=MdmConfig(feed_poll_interval_seconds=0.05))
    servers.append(_serve(mdm_app, mdm_listener))
    mdm_url = f"http://127.0.0.1:{mdm_listener.getsockname()[1]}"
    assert httpx.get(f"{mdm_url}/healthz").status_code == 200
    return Services(server, mdm_url, mdm_engine, servers)


def start(devices: int, bulk: int = 0) -> tuple[World, list[uvicorn.Server]]:
    """A tenant with ``devices`` Windows devices enrolled through the MDM API and ``bulk`` more written
    straight into both databases (``seed_bulk``)."""
    found = services()
    world = build_world(found.directory, found.mdm_url, found.mdm_engine, devices)
    if bulk:
        seed_bulk(world, found.mdm_engine, bulk)
    return world, found.servers


def start_intune(devices: int) -> tuple[World, PartnerWorld, list[uvicorn.Server]]:
    """A customer tenant ready for the Intune partner channel (``intune_support.seed_world``: Entra ID P1,
    Intune licences, the partner's multi-tenant application consented, the partner added for iOS and its
    group assigned) and ``devices`` iPhones of the tenant's user, enrolled in the MDM and registered in Entra."""
    found = services()
    tenant = seed_tenant(found.directory)
    partner = seed_world(found.directory, tenant)
    onboard(partner)
    with unit_of_work(sessionmaker(found.mdm_engine, expire_on_commit=False)) as session:
        org = credentials.create_organisation(session, f"Org {uuid.uuid4().hex[:6]}", utcnow())
        session.commit()
    world = World(
        found.directory, tenant, found.mdm_url, org.client.id, org.client.secret, partner.app_id, partner.secret
    )
    with world.mdm() as admin:
        admin.create_policy(IOS_POLICY)
        user = admin.create_user("megan", userPrincipalName=tenant.user.upn, displayName="Megan Bowen")
        for _ in range(devices):
            _, entra_id = add_device(found.directory, tenant.id, tenant.user.id)
            token = admin.create_enrollment_token(user_id=user.id, platform="iOS").token
            assert token is not None
            with MdmClient(found.mdm_url) as anonymous:
                enrolled = anonymous.enroll(token, platform="iOS", model="iPhone15,2", os_version="17.5")
            admin.set_entra_device_id(enrolled.device_id, entra_id)
            agent = MdmClient.for_device(found.mdm_url, enrolled.device_token)
            world.devices.append(LinkedDevice(enrolled.device_id, entra_id, agent, os_version="17.5"))
    return world, partner, found.servers


def intune_context(world: World, partner: PartnerWorld, database_url: str, concurrency: int = 4) -> DeliveryContext:
    """The delivery context ``bootstrap.build`` makes for the Intune partner channel, with its default polling."""
    engine = make_engine(database_url)
    migrate(engine, "partner")
    defaults = PartnerSettings()
    verify = world.directory.ssl_context
    http = httpx.Client(verify=verify, timeout=15.0)
    tokens = MsalTokens(
        Credential(partner.app_id, partner.secret),
        world.directory.authority(world.tenant.id),
        http=MsalHttpClient(verify=verify, timeout=15.0),
        instance_discovery=False,
    )
    graph = GraphClient(world.directory.url, tokens, http)
    intune = GraphClient(world.directory.url, tokens, http, scope=f"{INTUNE_RESOURCE}/.default")
    setup = IntuneSetup(
        graph, intune, world.tenant.id, partner.group_id, defaults.enrollment_url, defaults.remediation_url
    )
    registry = ChannelRegistry()
    mdm = world.mdm()
    registry.register(
        IntuneChannel(
            setup, mdm, poll_seconds=defaults.message_poll_seconds, timeout_seconds=defaults.message_timeout_seconds
        )
    )
    return DeliveryContext(
        sessions=sessionmaker(engine, expire_on_commit=False),
        mdm=mdm,
        channels=registry,
        policy=RetryPolicy(defaults.backoff_base_seconds, defaults.backoff_cap_seconds, defaults.max_attempts),
        owner="bench",
        concurrency=concurrency,
    )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
