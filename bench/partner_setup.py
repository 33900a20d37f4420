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
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy.orm import sessionmaker
from tests.integration.directory.conftest import AdjustableClock, DirectoryServer
from tests.integration.partner.conftest import World, build_world

from posturebridge.common.database import make_engine, migrate
from posturebridge.common.settings import Settings
from posturebridge.common.tls import client_context, ensure_tls
from posturebridge.directory.app import create_app as create_directory_app
from posturebridge.directory.context import Directory
from posturebridge.mdm.app import create_app as create_mdm_app
from posturebridge.mdm.config import MdmConfig


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


def start(devices: int) -> tuple[World, list[uvicorn.Server]]:
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
    return build_world(server, mdm_url, mdm_engine, devices), servers


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
