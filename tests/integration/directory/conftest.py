"""The real directory app served over HTTPS on a free loopback port, and a freshly seeded tenant per test.

``directory_server`` (session scope): uvicorn in a background thread, TLS from ``common.tls.ensure_tls``,
SQLite in a temporary directory migrated with ``common.database.migrate``. Its clock is adjustable
(``directory_server.clock.advance(...)``, reset after every test). ``tenant`` (function scope): a new
tenant seeded through ``directory.tenants`` with an administrator, a user, a disabled user, a
confidential client (secret) and a public client. The lead's Graph tests reuse both.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from posturebridge.common.clock import utcnow
from posturebridge.common.database import make_engine, migrate, unit_of_work
from posturebridge.common.settings import Settings
from posturebridge.common.tls import client_context, ensure_tls
from posturebridge.directory import catalog, tenants
from posturebridge.directory.app import create_app
from posturebridge.directory.context import Directory

GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
PUBLIC_REDIRECT_URI = "http://localhost/callback"
WEB_REDIRECT_URI = "https://app.example/callback"


@dataclass
class AdjustableClock:
    """UTC now plus an offset the tests may move forward."""

    offset: dt.timedelta = field(default_factory=dt.timedelta)

    def __call__(self) -> dt.datetime:
        return utcnow() + self.offset

    def advance(self, delta: dt.timedelta) -> None:
        self.offset += delta


class MsalHttpClient(httpx.Client):
    """msal hands the certificate credential's client_assertion over as bytes; requests encodes bytes form
    values as their text, httpx as ``b'…'``. This adapter decodes them, so msal's certificate credential
    works over httpx exactly as over requests."""

    def post(self, url: httpx.URL | str, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        data = kwargs.get("data")
        if isinstance(data, dict):
            kwargs["data"] = {key: value.decode() if isinstance(value, bytes) else value for key, value in data.items()}
        return super().post(url, **kwargs)


@dataclass
class DirectoryServer:
    url: str
    ca_file: Path
    ssl_context: ssl.SSLContext
    directory: Directory
    clock: AdjustableClock
    app: FastAPI

    def session(self) -> AbstractContextManager[Session]:
        return unit_of_work(self.directory.sessions)

    def client(self, **options: object) -> httpx.Client:
        """An HTTP client that trusts only the test CA (immune to REQUESTS_CA_BUNDLE and friends)."""
        return httpx.Client(verify=self.ssl_context, base_url=self.url, timeout=10.0, **options)  # type: ignore[arg-type]

    def msal_http_client(self) -> httpx.Client:
        """An httpx client for msal: trusts only the test CA and sends msal's bytes form values as text."""
        return MsalHttpClient(verify=self.ssl_context, timeout=10.0)

    def authority(self, tenant_id: str) -> str:
        return f"{self.url}/{tenant_id}"


@pytest.fixture(scope="session")
def directory_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DirectoryServer]:
    data_dir = tmp_path_factory.mktemp("directory")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    settings = Settings(data_dir=data_dir, host="127.0.0.1", directory_port=port)
    tls = ensure_tls(data_dir / "tls", "127.0.0.1")
    engine = make_engine(f"sqlite:///{data_dir / 'directory.db'}")
    migrate(engine, "directory")
    clock = AdjustableClock()
    directory = Directory.build(settings, sessionmaker(engine, expire_on_commit=False))
    directory.clock = clock
    app = create_app(settings, engine, directory)
    config = uvicorn.Config(
        app,
        ssl_certfile=str(tls.server_cert),
        ssl_keyfile=str(tls.server_key),
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the directory did not start")
        time.sleep(0.02)
    try:
        yield DirectoryServer(
            f"https://127.0.0.1:{port}", tls.ca_cert, client_context(tls.ca_cert), directory, clock, app
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
        engine.dispose()


@pytest.fixture(autouse=True)
def _reset_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "directory_server" in request.fixturenames:
        server: DirectoryServer = request.getfixturevalue("directory_server")
        server.clock.offset = dt.timedelta()


@dataclass(frozen=True)
class SeededUser:
    id: str
    upn: str
    password: str


@dataclass(frozen=True)
class SeededApp:
    client_id: str
    object_id: str
    service_principal_id: str
    secret: str
    redirect_uri: str


@dataclass(frozen=True)
class SeededTenant:
    id: str
    domain: str
    admin: SeededUser
    user: SeededUser
    disabled_user: SeededUser
    confidential_app: SeededApp
    public_app: SeededApp


@pytest.fixture
def tenant(directory_server: DirectoryServer) -> SeededTenant:
    return seed_tenant(directory_server)


def seed_tenant(directory_server: DirectoryServer) -> SeededTenant:
    """A new tenant with an administrator, a user, a disabled user, a confidential and a public client."""
    prefix = f"t{uuid.uuid4().hex[:12]}"
    domain = f"{prefix}.example"
    now = utcnow()
    with directory_server.session() as session:
        created = tenants.create_tenant(
            session, display_name=f"Tenant {prefix}", initial_domain_prefix=prefix, verified_domain=domain, now=now
        )

        def user(alias: str, name: str, *, enabled: bool = True) -> SeededUser:
            password = f"Pw-{uuid.uuid4().hex[:10]}!"
            row = tenants.add_user(
                session,
                created,
                user_principal_name=f"{alias}@{domain}",
                display_name=name,
                password=password,
                now=now,
                account_enabled=enabled,
            )
            session.flush()
            return SeededUser(row.id, row.user_principal_name, password)

        admin, member, disabled = (
            user("admin", "Ada Admin"),
            user("megan", "Megan Bowen"),
            user("gone", "Gone", enabled=False),
        )
        admin_row = session.get(tenants.User, admin.id)
        assert admin_row is not None
        tenants.assign_directory_role(session, created, admin_row, GLOBAL_ADMINISTRATOR, now=now)

        def app(name: str, **options: object) -> SeededApp:
            new = tenants.add_application(session, created, display_name=name, now=now, **options)  # type: ignore[arg-type]
            redirect = (new.application.web_redirect_uris or new.application.public_client_redirect_uris)[0]
            return SeededApp(
                new.application.app_id, new.application.id, new.service_principal.id, new.client_secret, redirect
            )

        confidential = app("Contoso web app", redirect_uris=[WEB_REDIRECT_URI])
        public = app("Contoso broker", public_client_redirect_uris=[PUBLIC_REDIRECT_URI])
        session.commit()
    assert catalog.MICROSOFT_GRAPH_APP_ID
    return SeededTenant(created.id, domain, admin, member, disabled, confidential, public)
