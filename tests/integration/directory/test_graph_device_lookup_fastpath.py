"""The fast path for ``GET /devices?$filter=deviceId eq '…'`` (``directory/graph/fastpath.py``) answers exactly
as the ``/devices`` list route does: the same requests go to an app with the fast path and to one without it
(each with its own directory, so their caches and throttling buckets see the same history) and must come back
with the same status, headers and bytes, up to the fresh request-id and the error's date. On SQLite, and on
PostgreSQL when POSTUREBRIDGE_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import sessionmaker
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from posturebridge.common.clock import utcnow
from posturebridge.common.database import make_engine, migrate, unit_of_work
from posturebridge.common.settings import Settings
from posturebridge.directory import tenants
from posturebridge.directory.app import create_app
from posturebridge.directory.auth.tokens import AppPrincipal
from posturebridge.directory.context import Directory
from posturebridge.directory.graph.fastpath import DeviceLookups, device_lookup
from posturebridge.directory.graph.throttling import Limits, Throttler
from posturebridge.directory.models import Device, Tenant

pytestmark = pytest.mark.integration

# Three reads per window for the application in the tenant; everything else out of reach.
LIMITS = {field.name: [1000, 600] for field in fields(Limits)} | {"app_tenant_resource_units": [3, 600]}


@dataclass
class World:
    settings: Settings
    engine: Engine
    tenant_id: str
    device_id: str  # a device of the tenant
    foreign_device_id: str  # a device of another tenant
    reader_token: str  # Device.Read.All
    other_token: str  # User.Read.All only

    def set_throttling(self, document: dict[str, Any]) -> None:
        with unit_of_work(sessionmaker(self.engine)) as session:
            tenant = session.get(Tenant, self.tenant_id)
            assert tenant is not None
            tenant.throttling = document
            session.commit()

    def directory(self) -> Directory:
        """A directory of its own: token and tenant caches, throttling buckets (on a stopped clock, so the
        two apps' buckets refill alike however slow the machine is)."""
        directory = Directory.build(self.settings, sessionmaker(self.engine, expire_on_commit=False))
        directory.throttler = Throttler(clock=lambda: 1000.0)
        return directory

    def app(self, *, fast_paths: bool) -> ASGIApp:
        return create_app(self.settings, self.engine, self.directory(), fast_paths=fast_paths)


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app``, then the app's lifespan run to its end (the fast path closes its connection)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver") as client:
        yield client
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, str]:
        return next(messages)

    async def send(message: Any) -> None:
        pass

    await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)


def _add_tenant(session: Any, devices: list[dict[str, Any]]) -> Tenant:
    now = utcnow()
    prefix = f"t{uuid.uuid4().hex[:10]}"
    tenant = tenants.create_tenant(
        session, display_name=f"Tenant {prefix}", initial_domain_prefix=prefix, verified_domain=None, now=now
    )
    session.flush()
    for values in devices:
        session.add(Device(id=str(uuid.uuid4()), tenant_id=tenant.id, created_date_time=now, **values))
    return tenant


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    engine = make_engine(database_url)
    migrate(engine, "directory")
    device_id, foreign_device_id = str(uuid.uuid4()), str(uuid.uuid4())
    device = {
        "device_id": device_id,
        "display_name": "Postes de réception — Zürich",  # non-ASCII: the JSON escaping must match too
        "operating_system": "iOS",
        "operating_system_version": "17.5",
        "trust_type": "Workplace",
        "is_compliant": True,
        "is_managed": True,
        "registration_date_time": utcnow(),
        "extension_attributes": {"extensionAttribute1": "BYOD"},
        "physical_ids": ["[USER-GID]:abc"],
        "system_labels": [],
        "alternative_security_ids": [],
    }
    with unit_of_work(sessionmaker(engine, expire_on_commit=False)) as session:
        tenant_id = _add_tenant(session, [device]).id
        _add_tenant(session, [{**device, "device_id": foreign_device_id}])
        session.commit()
    settings = Settings(data_dir=tmp_path, host="127.0.0.1")
    issuer = Directory.build(settings, sessionmaker(engine, expire_on_commit=False)).tokens

    def app_token(role: str) -> str:
        """Signed as the token endpoint signs a client-credentials grant of ``role`` on Microsoft Graph."""
        client = AppPrincipal(str(uuid.uuid4()), str(uuid.uuid4()), "lookup test", credential_type=1)
        graph, now = "https://graph.microsoft.com", utcnow()
        return issuer.app_token(
            base_url="https://login.test", tenant_id=tenant_id, client=client, audience=graph, roles=[role], now=now
        )[0]

    reader, other = app_token("Device.Read.All"), app_token("User.Read.All")
    yield World(settings, engine, tenant_id, device_id, foreign_device_id, reader, other)
    engine.dispose()


def _wire(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body, with this response's request-id and the error's date replaced."""
    request_id = response.headers["request-id"]
    headers = [(name, "<request-id>" if value == request_id else value) for name, value in response.headers.items()]
    body = re.sub(rb'"date":"[^"]*"', b'"date":"<date>"', response.content.replace(request_id.encode(), b"<id>"))
    return response.status_code, headers, body


def _assert_same_answers(world: World, requests: list[tuple[str, dict[str, str], bool]]) -> list[httpx.Response]:
    """Each request to both apps, in turn; the flag says whether the fast path must take it."""

    async def compare() -> list[httpx.Response]:
        answers = []
        async with serving(world.app(fast_paths=True)) as fast, serving(world.app(fast_paths=False)) as routed:
            for url, headers, taken in requests:
                answer = await fast.get(url, headers=headers)
                path, query = answer.request.url.path, answer.request.url.query
                assert (device_lookup("GET", path, query) is not None) == taken, url
                assert _wire(answer) == _wire(await routed.get(url, headers=headers)), url
                answers.append(answer)
        return answers

    return asyncio.run(compare())


def test_lookups_answer_as_the_list_route(world: World) -> None:
    reader = {"Authorization": f"Bearer {world.reader_token}"}
    other = {"Authorization": f"Bearer {world.other_token}"}
    device, upper = world.device_id, world.device_id.upper()

    def lookup(device_id: str, extra: str = "", version: str = "v1.0") -> str:
        return f"/{version}/devices?$filter=deviceId eq '{device_id}'{extra}"

    answers = _assert_same_answers(
        world,
        [
            (lookup(device), reader, True),
            (lookup(device, version="beta"), reader, True),
            (lookup(upper), reader, True),
            (lookup(str(uuid.uuid4())), reader, True),
            (lookup(world.foreign_device_id), reader, True),
            (lookup(device, "&$select=id,deviceId,displayName"), reader, True),
            (lookup(device, "&$select=ID,DeviceId,extensionAttributes"), reader, True),
            (lookup(device, "&$select=id,noSuchProperty"), reader, False),
            (lookup(device), {**reader, "client-request-id": "1d9a4c1e-0000-4000-8000-000000000001"}, True),
            (lookup(device), {}, True),
            (lookup(device), {"Authorization": "Bearer not-a-jwt"}, True),
            (lookup(device), {"Authorization": f"Basic {world.reader_token}"}, True),
            (lookup(device), other, True),
            (f"/v1.0/devices?$filter=deviceid eq '{device}'", reader, False),
            (f"/v1.0/devices?$filter=deviceId eq '{device}' and accountEnabled eq true", reader, False),
            ("/v1.0/devices?$filter=deviceId eq 'not-a-guid'", reader, False),
            ("/v1.0/devices?$filter=displayName eq 'Postes'", reader, False),
            (lookup(device, "&$top=1"), reader, False),
            (lookup(device, "&$count=true"), {**reader, "ConsistencyLevel": "eventual"}, False),
            (lookup(device, f"&$filter=deviceId eq '{uuid.uuid4()}'"), reader, False),
            (lookup(device, "&api-version=1"), reader, False),
            (f"/v1.0/devices/?$filter=deviceId eq '{device}'", reader, False),
        ],
    )
    assert [item["deviceId"] for item in answers[0].json()["value"]] == [device]
    assert [item["deviceId"] for item in answers[2].json()["value"]] == [device]
    assert answers[3].json()["value"] == answers[4].json()["value"] == []
    assert [answer.status_code for answer in answers[9:13]] == [401, 401, 401, 403]


def test_throttled_and_failing_lookups_answer_as_the_list_route(world: World) -> None:
    reader = {"Authorization": f"Bearer {world.reader_token}"}
    url = f"/v1.0/devices?$filter=deviceId eq '{world.device_id}'"
    world.set_throttling({"mode": "documented"})
    documented = _assert_same_answers(world, [(url, reader, True)])
    assert documented[0].headers["x-ms-resource-unit"] == "1"
    world.set_throttling({"mode": "custom", "custom": LIMITS})
    limited = _assert_same_answers(world, [(url, reader, True)] * 4 + [(f"{url}&$select=id", reader, True)])
    assert [answer.status_code for answer in limited] == [200, 200, 200, 429, 429]
    assert limited[2].headers["x-ms-throttle-limit-percentage"] == "1.00"
    assert limited[3].headers["Retry-After"] == "200"
    world.set_throttling({"mode": "off", "faults": {"rate": 1.0, "statuses": [503]}})
    failing = _assert_same_answers(world, [(url, reader, True)])
    assert failing[0].status_code == 503


def test_the_fast_path_answers_lookups_without_the_routes(world: World) -> None:
    async def routes(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await PlainTextResponse("the routes", status_code=418)(scope, receive, send)

    async def scenario() -> None:
        async with serving(DeviceLookups(routes, world.directory(), world.engine)) as client:
            reader = {"Authorization": f"Bearer {world.reader_token}"}
            lookup = f"/v1.0/devices?$filter=deviceId eq '{world.device_id}'"
            found = await client.get(lookup, headers=reader)
            assert found.status_code == 200
            assert found.headers["content-type"] == "application/json"
            assert [item["deviceId"] for item in found.json()["value"]] == [world.device_id]
            assert (await client.get("/v1.0/devices?$top=1", headers=reader)).status_code == 418
            assert (await client.post(lookup, headers=reader)).status_code == 418

    asyncio.run(scenario())


def test_a_lookup_after_the_database_dropped_the_connection_is_answered(world: World) -> None:
    if world.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL can end another session's connection; SQLite has none to end")
    reader = {"Authorization": f"Bearer {world.reader_token}"}
    lookup = f"/v1.0/devices?$filter=deviceId eq '{world.device_id}'"

    async def scenario() -> None:
        async with serving(world.app(fast_paths=True)) as client:
            assert (await client.get(lookup, headers=reader)).status_code == 200
            with world.engine.connect() as admin:
                ended = admin.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            assert ended >= 1
            again = await client.get(lookup, headers=reader)
            assert again.status_code == 200
            assert [item["deviceId"] for item in again.json()["value"]] == [world.device_id]

    asyncio.run(scenario())
