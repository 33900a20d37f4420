"""Microsoft Graph under ``/v1.0`` and ``/beta``: one implementation, mounted twice.

Every route takes a :class:`GraphRequest` (token checked, throttled, a session). Errors of any kind in
these paths leave as Graph's error JSON; an unknown path is 400 ``BadRequest`` "Resource not found for
the segment '…'." as Graph answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from posturebridge.directory.context import Directory
from posturebridge.directory.graph import (
    audit_logs,
    batch,
    compliance_partners,
    conditional_access,
    custom_security_attributes,
    devices,
    directory_objects,
    mobility,
    users,
)
from posturebridge.directory.graph.core import GraphRequest, error_response, open_graph_request
from posturebridge.directory.graph.errors import GraphError, bad_request

VERSIONS = ("v1.0", "beta")


def _context(directory: Directory, version: str) -> Callable[[Request], AsyncIterator[GraphRequest]]:
    # An async dependency runs on the event loop: no thread hop before the route (sync routes still run in
    # the thread pool, where their database work belongs). The session rolls back unless the route committed.
    async def dependency(request: Request) -> AsyncIterator[GraphRequest]:
        context = open_graph_request(directory, request, version)
        try:
            yield context
        finally:
            context.session.close()

    return dependency


def _is_graph_path(path: str) -> bool:
    return any(path == f"/{version}" or path.startswith(f"/{version}/") for version in VERSIONS)


ODATA_PARAMETERS = [
    {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
    for name in ("$filter", "$select", "$top", "$orderby", "$count", "$search", "$skiptoken", "$expand")
] + [{"name": "ConsistencyLevel", "in": "header", "required": False, "schema": {"type": "string"}}]
JSON_BODY = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}


def _describe_odata(api: APIRouter) -> None:
    """Document what the routes read from the raw request (OData options, JSON bodies) in the OpenAPI
    description, so clients and the schemathesis run in the test suite see the real surface."""
    for route in api.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        extra: dict[str, Any] = dict(route.openapi_extra or {})
        methods = route.methods or set()
        if "GET" in methods:
            extra["parameters"] = ODATA_PARAMETERS
        if methods & {"POST", "PATCH"}:
            extra["requestBody"] = JSON_BODY
        route.openapi_extra = extra


def install(app: FastAPI, directory: Directory) -> None:
    for version in VERSIONS:
        api = APIRouter(prefix=f"/{version}", tags=[f"Microsoft Graph {version}"])
        context = _context(directory, version)
        for module in (
            users,
            devices,
            directory_objects,
            audit_logs,
            conditional_access,
            custom_security_attributes,
            compliance_partners,
            mobility,
        ):
            module.register(api, context)
        batch.register(api, context, version)

        @api.api_route("/{segment:path}", methods=["GET", "POST", "PATCH", "PUT", "DELETE"], include_in_schema=False)
        def unknown(segment: str) -> JSONResponse:
            first = segment.split("/", 1)[0].split("(", 1)[0]
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{first}'.")

        _describe_odata(api)
        app.include_router(api)

    @app.exception_handler(GraphError)
    async def graph_error(request: Request, error: GraphError) -> JSONResponse:
        return error_response(error, request)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {"loc": ("request",), "msg": "invalid"}
        name = str(first["loc"][-1])
        if _is_graph_path(request.url.path):
            return error_response(bad_request(f"Invalid value specified for property '{name}'."), request)
        return JSONResponse({"detail": error.errors()}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if _is_graph_path(request.url.path):
            code = {405: "Request_BadRequest", 404: "Request_ResourceNotFound"}.get(error.status_code, "BadRequest")
            return error_response(GraphError(error.status_code, code, str(error.detail)), request)
        return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)
