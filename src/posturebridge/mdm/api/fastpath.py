"""A lean path for the MDM's hottest call: a device agent's check-in, ``POST /api/v1/devices/{id}/samples``.

An ASGI layer in front of FastAPI's router. It answers that one request with what the route uses: the same
bearer parsing and credential hash (``device_credential``), the same group commit and rendering
(``agent.answer_check_in``), and for a refusal the app's own exception handlers, so the status, headers and
body are the route's, without linear route matching over the administration routes, dependency solving and
FastAPI's request handling, which cost about as much CPU as the check-in itself.

It must never answer a request the route would answer differently. It takes only a JSON object sent as
``application/json``; anything else (another content type or none, an empty body, JSON that does not parse
or is not an object) is handed to the routes untouched, body included, and answered there. The sample
itself (its schema, sequence, nonce, time) is validated where the route has it validated: by the check-in
service, in the writer's transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from fastapi.security import HTTPBearer
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from posturebridge.mdm.api.agent import answer_check_in
from posturebridge.mdm.api.context import MdmContext, device_credential

_CHECK_IN: Final = re.compile("/api/v1/devices/([^/]+)/samples")
"""The route's path, ``{device_id}`` matching as Starlette's ``str`` convertor does (one segment)."""
_bearer: Final = HTTPBearer(auto_error=False)

Handlers = Mapping[Any, Callable[[Request, Any], Response | Awaitable[Response]]]
"""The app's exception handlers by exception class or status (FastAPI's ``app.exception_handlers``)."""


def check_in_device(method: str, path: str, root_path: str = "") -> str | None:
    """The device id of a check-in request the fast path may take, or None. Pure: decides on the request line."""
    if method != "POST" or root_path:
        return None
    match = _CHECK_IN.fullmatch(path)
    return None if match is None else match.group(1)


def _json_object(content_type: str | None, body: bytes) -> dict[str, Any] | None:
    """The body as FastAPI hands it to the route when it is a JSON object sent as JSON; otherwise None."""
    if not body or content_type is None or content_type.partition(";")[0].strip().lower() != "application/json":
        return None  # without a content type FastAPI's strict content type leaves the body unparsed
    try:
        parsed = json.loads(body)
    except Exception:  # not JSON: the route answers with its validation error
        return None
    return parsed if isinstance(parsed, dict) else None


class CheckIns:
    """ASGI middleware: answers device check-ins as the route does, hands every other request to ``app``.

    ``handlers`` are the FastAPI app's exception handlers (``app.exception_handlers``): a refusal is
    answered by the handler the route's refusal would have reached; an error without one (an unexpected
    one) is raised, as from the route, to the server error handler outside this layer."""

    def __init__(self, app: ASGIApp, context: MdmContext, handlers: Handlers) -> None:
        self.app = app
        self.context = context
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        device_id = (
            check_in_device(scope["method"], scope["path"], scope.get("root_path", ""))
            if scope["type"] == "http"
            else None
        )
        if device_id is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        body = await request.body()
        sample = _json_object(request.headers.get("content-type"), body)
        if sample is None:
            await self.app(scope, _replay(body, receive), send)
            return
        try:
            credential = await device_credential(await _bearer(request))
            response = await answer_check_in(self.context, device_id, sample, credential)
        except Exception as refused:
            response = await self._refusal(request, refused)
        await response(scope, receive, send)

    async def _refusal(self, request: Request, error: Exception) -> Response:
        """The answer of the exception handler for ``error``, looked up as Starlette's ExceptionMiddleware does."""
        for kind in type(error).__mro__:
            handler = self.handlers.get(kind)
            if handler is not None and kind is not Exception:
                answer = handler(request, error)
                if not isinstance(answer, Response):
                    return await answer
                return answer
        raise error


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` for the routes after the body was read here: the body once more, then the client's."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
