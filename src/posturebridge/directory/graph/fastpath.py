"""A lean path for the directory's hottest Graph call: ``GET /{v1.0|beta}/devices?$filter=deviceId eq '<guid>'``
(optionally with ``$select``), the lookup partners and clients make for every device they meet.

An ASGI layer in front of FastAPI's router. It answers that one request shape with what the ``/devices``
list route uses (``admit`` for the token, tenant and throttling; the route's permission check; the route's
rendering; ``json_response`` and ``error_response`` for the wire), so the status, headers and body are the
route's, without route matching, dependency solving, a session and the thread-pool hop, which cost several
times the lookup itself. The lookup is one indexed probe on a connection of its own in autocommit (no
pool checkout, ping, BEGIN or ROLLBACK per call), run on the event loop like the token check before it.

It must never answer a request the routes would answer differently: anything not in exactly that shape
(another option, a repeated one, an invalid ``$select``, a filter written any other way) goes to the routes
untouched, and the decision is taken before the request is authenticated or charged to a throttling bucket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final
from urllib.parse import parse_qsl

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from posturebridge.directory.context import Directory
from posturebridge.directory.graph import devices
from posturebridge.directory.graph.core import Caller, admit, error_response, json_response
from posturebridge.directory.graph.errors import GraphError
from posturebridge.directory.graph.odata import parse_query

_VERSIONS: Final = {"/v1.0/devices": "v1.0", "/beta/devices": "beta"}
_HEX: Final = "[0-9A-Fa-f]"
_DEVICE_ID_EQ: Final = re.compile(rf"deviceId eq '({_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}})'")


@dataclass(frozen=True, slots=True)
class DeviceLookup:
    """A request the fast path answers: the API version, the deviceId as sent, the ``$select`` names."""

    version: str
    device_id: str
    selected: tuple[str, ...] | None


class _Declined(Exception):
    pass


@lru_cache(maxsize=256)
def _selected(raw: str | None) -> tuple[str, ...] | None:
    """``$select`` as the route parses it; an invalid one is left to the route (raises ``_Declined``)."""
    if raw is None:
        return None
    try:
        return parse_query(
            {"$select": raw}, consistency_level=None, catalogue=devices.CATALOGUE, signing_key=b""
        ).select
    except GraphError:
        raise _Declined from None


def device_lookup(method: str, path: str, query_string: bytes) -> DeviceLookup | None:
    """The lookup this request is, or None when the routes must answer it. Pure: decides on the request line."""
    version = _VERSIONS.get(path)
    if version is None or method != "GET":
        return None
    options = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    if len(options) != query_string.count(b"&") + 1 or not options.keys() <= {"$filter", "$select"}:
        return None  # a repeated parameter, or one the fast path does not serve
    match = _DEVICE_ID_EQ.fullmatch(options.get("$filter", ""))
    if match is None:
        return None
    try:
        selected = _selected(options.get("$select"))
    except _Declined:
        return None
    return DeviceLookup(version, match.group(1), selected)


class DeviceLookups:
    """ASGI middleware: answers :func:`device_lookup` requests, hands every other one to ``app``.

    Its connection is used from the event loop only, one statement at a time, and replaced when the database
    drops it (the lookup is retried once on a new one, as the pool's ping would have done)."""

    def __init__(self, app: ASGIApp, directory: Directory, engine: Engine) -> None:
        self.app = app
        self.directory = directory
        self.engine = engine
        self._connection: Connection | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lookup = (
            device_lookup(scope["method"], scope["path"], scope["query_string"]) if scope["type"] == "http" else None
        )
        if lookup is None:
            await self.app(scope, receive, send)
            if scope["type"] == "lifespan":
                self.close()  # the server has stopped
            return
        response = self.answer(Request(scope, receive), lookup)
        await response(scope, receive, send)

    def answer(self, request: Request, lookup: DeviceLookup) -> Response:
        """What the list route answers, in the order it checks: token and throttling, permission, query."""
        try:
            caller = admit(self.directory, request)
            caller.require(*devices.READ)
        except GraphError as error:
            return error_response(error, request)
        return json_response(request, self._page(caller, lookup))

    def _page(self, caller: Caller, lookup: DeviceLookup) -> dict[str, Any]:
        try:
            return self._lookup(caller, lookup)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        return self._lookup(caller, lookup)  # the database dropped the connection: once more, on a new one

    def _lookup(self, caller: Caller, lookup: DeviceLookup) -> dict[str, Any]:
        if self._connection is None:
            self._connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            return devices.device_id_page(self._connection, caller, lookup.version, lookup.device_id, lookup.selected)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Return the connection to the engine's pool (a new one is taken on the next lookup)."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()
