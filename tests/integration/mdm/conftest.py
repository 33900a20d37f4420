"""The real MDM app served by uvicorn on a free loopback port in a background thread, with a clock the
test can move forward, exercised through ``posturebridge.mdm.client`` over HTTP."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy.orm import sessionmaker

from posturebridge.common.database import make_engine, migrate, unit_of_work
from posturebridge.common.settings import Settings
from posturebridge.mdm.app import create_app
from posturebridge.mdm.client import MdmClient
from posturebridge.mdm.config import MdmConfig
from posturebridge.mdm.service import credentials

pytestmark = pytest.mark.integration


class MovableClock:
    """Real time plus an offset the test moves forward (validity and grace periods in seconds)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


def start_mdm(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "POSTUREBRIDGE_LOG_LEVEL": "critical"}
    command = [sys.executable, "-m", "posturebridge", "serve", "mdm", "--port", str(port), "--data-dir", str(data_dir)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the MDM exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("the MDM did not start")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveMdm:
    url: str
    clock: MovableClock
    contoso: credentials.NewOrganisation
    fabrikam: credentials.NewOrganisation

    def admin(self, organisation: credentials.NewOrganisation | None = None) -> MdmClient:
        org = organisation or self.contoso
        return MdmClient.with_client_credentials(self.url, org.client.id, org.client.secret)


@pytest.fixture(scope="module")
def live_mdm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveMdm]:
    data_dir: Path = tmp_path_factory.mktemp("mdm")
    settings = Settings(data_dir=data_dir)
    engine = make_engine(settings.database_url("mdm"))
    migrate(engine, "mdm")
    with unit_of_work(sessionmaker(engine, expire_on_commit=False)) as session:
        contoso = credentials.create_organisation(session, "Contoso", dt.datetime.now(dt.UTC))
        fabrikam = credentials.create_organisation(session, "Fabrikam", dt.datetime.now(dt.UTC))
        session.commit()
    clock = MovableClock()
    config = MdmConfig(sweep_interval_seconds=0.1, feed_poll_interval_seconds=0.1)
    app = create_app(settings, engine, config=config, clock=clock)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    else:
        pytest.fail("the MDM did not start")
    try:
        yield LiveMdm(url, clock, contoso, fabrikam)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
