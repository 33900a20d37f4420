"""The fast path for ``POST /api/v1/devices/{id}/samples`` (``mdm/api/fastpath.py``) answers exactly as the
route does: the same requests go to an app with the fast path and to one without it, each on its own copy of
one database (so both see the same devices, credentials, cursors and nonces) and on the same stopped clock,
and must come back with the same status, headers and bytes. On SQLite, and on PostgreSQL when
POSTUREBRIDGE_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from tests.conftest import postgres_url_or_skip
from tests.unit.mdm.world import NOW, World

from posturebridge.common.database import make_engine, migrate
from posturebridge.common.settings import Settings
from posturebridge.mdm.api.fastpath import CheckIns, check_in_device
from posturebridge.mdm.app import create_app
from posturebridge.mdm.domain import EnrollmentStatus
from posturebridge.mdm.service import devices

pytestmark = pytest.mark.integration

LATER = NOW + dt.timedelta(minutes=5)
"""The apps' clock: stopped, so both evaluate at the same instant."""


@dataclass
class Twins:
    """Two copies of one MDM database and what the table's requests need to know about it."""

    urls: tuple[str, str]
    settings: Settings
    device_id: str
    token: str
    other_device_id: str
    other_token: str
    unenrolled_id: str
    unenrolled_token: str

    def apps(self) -> tuple[ASGIApp, ASGIApp]:
        fast, routed = (
            create_app(self.settings, make_engine(url), clock=lambda: LATER, fast_paths=flag)
            for url, flag in zip(self.urls, (True, False), strict=True)
        )
        return fast, routed


def _twin(url: str, tmp_path: Path) -> tuple[str, Iterator[None]]:
    """A copy of the database at ``url`` (no connection to it may be open), and its removal."""
    if url.startswith("sqlite"):
        copy = tmp_path / "twin.db"
        shutil.copyfile(str(make_url(url).database), copy)
        return f"sqlite:///{copy}", iter([None])
    admin = create_engine(postgres_url_or_skip(), isolation_level="AUTOCOMMIT")
    name = f"pb_test_twin_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(url).database}"'))

    def drop() -> Iterator[None]:
        yield None
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(url).set(database=name).render_as_string(hide_password=False), drop()


@pytest.fixture
def twins(database_url: str, tmp_path: Path) -> Iterator[Twins]:
    engine = make_engine(database_url)
    migrate(engine, "mdm")
    world = World.with_policy(sessionmaker(engine, expire_on_commit=False), NOW)
    device, other, unenrolled = world.enroll(), world.enroll(), world.enroll()
    world.run(
        lambda s: devices.change_enrollment_status(
            s, world.organisation_id, unenrolled.device.id, EnrollmentStatus.UNENROLLED, NOW, world.cache
        )
    )
    engine.dispose()
    twin_url, cleanup = _twin(database_url, tmp_path)
    settings = Settings(data_dir=tmp_path, host="127.0.0.1")
    yield Twins(
        (database_url, twin_url),
        settings,
        device.device.id,
        device.device_token,
        other.device.id,
        other.device_token,
        unenrolled.device.id,
        unenrolled.device_token,
    )
    for _ in cleanup:
        pass


Request = tuple[str, str, dict[str, str], bytes | str | dict[str, Any] | list[Any] | None, bool]
"""Method, path, headers, body (bytes or text as sent, else as JSON), and whether the request line is a
check-in's (the fast path then reads the body, and hands it on to the routes unless it is a JSON object)."""


def _wire(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status_code, list(response.headers.items()), response.content


async def _send(client: httpx.AsyncClient, request: Request) -> httpx.Response:
    method, path, headers, body, _taken = request
    if isinstance(body, bytes | str):
        return await client.request(method, path, headers=headers, content=body)
    if body is None:
        return await client.request(method, path, headers=headers)
    return await client.request(method, path, headers=headers, json=body)


def _assert_same_answers(fast: ASGIApp, routed: ASGIApp, requests: list[Request]) -> list[httpx.Response]:
    async def compare() -> list[httpx.Response]:
        answers = []
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(fast), base_url="http://testserver") as fast_client,
            httpx.AsyncClient(transport=httpx.ASGITransport(routed), base_url="http://testserver") as routed_client,
        ):
            for request in requests:
                answer = await _send(fast_client, request)
                method, path, taken = request[0], answer.request.url.path, request[4]
                assert (check_in_device(method, path) is not None) == taken, request
                assert _wire(answer) == _wire(await _send(routed_client, request)), request
                answers.append(answer)
        return answers

    return asyncio.run(compare())


def _sample(sequence: object, nonce: str, os_version: str = "17.4", **fields: Any) -> dict[str, Any]:
    return {
        "sequence": sequence,
        "nonce": nonce,
        "sampledDateTime": NOW.isoformat(),
        "osVersion": os_version,
        "passcodePresent": True,
        **fields,
    }


def test_check_ins_answer_as_the_route(twins: Twins) -> None:
    own = {"Authorization": f"Bearer {twins.token}"}
    path = f"/api/v1/devices/{twins.device_id}/samples"
    other_path = f"/api/v1/devices/{twins.other_device_id}/samples"
    json_type = {"Content-Type": "application/json"}
    requests: list[Request] = [
        ("POST", path, own, _sample(1, "n1"), True),  # accepted, compliant
        ("POST", path, own, _sample(2, "n2", "16.0"), True),  # accepted, a transition to noncompliant
        ("POST", path, own, _sample(1, "n3"), True),  # stale: ignored
        ("POST", path, own, _sample(3, "n2"), True),  # replayed nonce: 409
        ("POST", path, own, _sample(4, "n4", "not a version"), True),  # invalid osVersion: 400
        ("POST", path, own, {"nonce": "n5", "sampledDateTime": NOW.isoformat()}, True),  # no sequence
        ("POST", path, own, _sample("four", "n6"), True),  # a wrong type
        ("POST", path, own, _sample(5, "n7", sampledDateTime=(LATER + dt.timedelta(days=1)).isoformat()), True),
        ("POST", path, {**own, "Content-Type": "application/json; charset=utf-8"}, b'{"sequence": 6}', True),
        ("POST", path, {**own, **json_type}, '{"sequence": 7, "nonce": "n8", "sampledDateTime": "x"}', True),
        ("POST", f"{path}?ignored=1", own, _sample(8, "n9"), True),
        ("POST", path, {}, _sample(9, "n10"), True),  # no credential: 401
        ("POST", path, {"Authorization": f"Basic {twins.token}"}, _sample(9, "n10"), True),
        ("POST", path, {"Authorization": "Bearer"}, _sample(9, "n10"), True),
        ("POST", path, {"Authorization": "Bearer no-such-credential"}, _sample(9, "n10"), True),  # 401
        ("POST", other_path, own, _sample(9, "n10"), True),  # another device's: 404
        ("POST", "/api/v1/devices/no%20such/samples", own, _sample(9, "n10"), True),
        (
            "POST",
            f"/api/v1/devices/{twins.unenrolled_id}/samples",
            {"Authorization": f"Bearer {twins.unenrolled_token}"},
            _sample(1, "u1"),
            True,
        ),
        ("POST", other_path, {"Authorization": f"Bearer {twins.other_token}"}, _sample(1, "o1"), True),
        # Handed on to the route (body included): not a JSON object sent as JSON.
        ("POST", path, {**own, **json_type}, b'{"sequence": 1,', True),
        ("POST", path, {**own, **json_type}, b"", True),
        ("POST", path, {**own, **json_type}, b"null", True),
        ("POST", path, own, [_sample(10, "n11")], True),
        ("POST", path, own, "just text", True),
        ("POST", path, {**own, "Content-Type": "text/plain"}, b'{"sequence": 10}', True),
        ("POST", path, {"Content-Type": "application/json"}, b"{not json", True),
        ("POST", path, {**own, "Content-Type": "application/json"}, b"\xff\xfe", True),
        # Not the check-in at all.
        ("GET", path, own, None, False),
        ("POST", f"{path}/", own, _sample(10, "n12"), False),
        ("POST", "/api/v1/devices//samples", own, _sample(10, "n12"), False),
        ("POST", f"/api/v1/devices/{twins.device_id}/x/samples", own, _sample(10, "n12"), False),
        ("POST", path, own, json.dumps(_sample(10, "n13")).encode(), True),  # no content type: left to the route
    ]
    fast, routed = twins.apps()
    answers = _assert_same_answers(fast, routed, requests)
    statuses = [answer.status_code for answer in answers]
    assert statuses[:4] == [200, 200, 200, 409]
    assert [answer.json()["disposition"] for answer in answers[:3]] == ["accepted", "accepted", "ignoredStale"]
    assert [answer.json()["complianceState"] for answer in answers[:3]] == ["compliant", *["inGracePeriod"] * 2]
    assert statuses[4:10] == [400] * 6
    assert statuses[10] == 200
    assert statuses[11:19] == [401, 401, 401, 401, 404, 404, 403, 200]
    assert statuses[19:] == [400] * 8 + [405, 307, 404, 404, 400]
    assert answers[11].headers["WWW-Authenticate"] == 'Bearer realm="mdm"'
    assert answers[0].headers["content-type"] == "application/json"


def test_a_database_failure_answers_as_the_route(twins: Twins, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, routed = twins.apps()

    async def unavailable(_arrival: object) -> None:
        raise OperationalError("INSERT …", {}, Exception("database is locked"))

    for app in (fast, routed):
        monkeypatch.setattr(app.state.mdm.check_ins, "take", unavailable)  # type: ignore[attr-defined]
    path = f"/api/v1/devices/{twins.device_id}/samples"
    [answer] = _assert_same_answers(
        fast, routed, [("POST", path, {"Authorization": f"Bearer {twins.token}"}, _sample(1, "n1"), True)]
    )
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"


def test_the_fast_path_answers_check_ins_without_the_routes(twins: Twins) -> None:
    async def routes(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await PlainTextResponse("the routes", status_code=418)(scope, receive, send)

    fast, _routed = twins.apps()
    context = fast.state.mdm  # type: ignore[attr-defined]

    async def scenario() -> None:
        app = CheckIns(routes, context, {})
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver") as client:
            own = {"Authorization": f"Bearer {twins.token}"}
            path = f"/api/v1/devices/{twins.device_id}/samples"
            taken = await client.post(path, headers=own, json=_sample(1, "n1"))
            assert taken.status_code == 200
            assert taken.json()["deviceId"] == twins.device_id
            json_type = {**own, "Content-Type": "application/json"}
            for body in [b"[1", b"", b"null", b"[]", b'"text"', b"1", b"\xff\xfe"]:
                assert (await client.post(path, headers=json_type, content=body)).status_code == 418, body
            text_type = {**own, "Content-Type": "text/plain"}
            assert (await client.post(path, headers=text_type, content=b"{}")).status_code == 418
            assert (await client.post(path, headers=own, content=b"{}")).status_code == 418  # no content type
            assert (await client.get(path, headers=own)).status_code == 418

    asyncio.run(scenario())
