"""What every Graph route shares: the caller behind the bearer token, permission checks, the error
handler, throttling and the response envelope (``@odata.context``, request ids).

Token rules (learn.microsoft.com/graph/errors, graph-facts.md §9): a missing, malformed, expired,
wrong-audience or unknown-tenant token is 401 ``InvalidAuthenticationToken``; a valid token without
any of the permissions a call needs is 403 ``Authorization_RequestDenied``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from posturebridge.directory.audit import Initiator
from posturebridge.directory.auth.tokens import GRAPH_AUDIENCES, InvalidToken
from posturebridge.directory.context import Directory
from posturebridge.directory.graph.errors import GraphError, access_denied
from posturebridge.directory.graph.throttling import Throttler, throttling_config
from posturebridge.directory.models import User

GRAPH_ROOT = "https://graph.microsoft.com"


def invalid_token(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message, headers={"WWW-Authenticate": "Bearer"})


@dataclass(frozen=True)
class Caller:
    """Who is calling Graph: an application (app-only token) or a user through an application."""

    tenant_id: str
    app_id: str
    object_id: str  # service principal id (app-only) or user id (delegated)
    roles: frozenset[str]
    scopes: frozenset[str]
    user_id: str | None
    ip_address: str | None

    @property
    def is_app_only(self) -> bool:
        return self.user_id is None

    def granted(self, permissions: Iterable[str]) -> bool:
        wanted = set(permissions)
        return bool(wanted & (self.roles if self.is_app_only else self.scopes))

    def require(self, *permissions: str) -> None:
        """403 unless the token carries at least one of ``permissions`` (roles for apps, scp for users)."""
        if not self.granted(permissions):
            raise access_denied()


def authenticate(directory: Directory, request: Request) -> Caller:
    header = request.headers.get("authorization")
    if not header:
        raise invalid_token("Access token is empty.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise invalid_token("Access token is empty.")
    try:
        claims = directory.tokens.validate(token.strip(), audiences=GRAPH_AUDIENCES, now=directory.clock())
    except InvalidToken as exc:
        raise invalid_token(str(exc)) from None
    tenant_id = str(claims["tid"])
    if directory.tenant_settings(tenant_id) is None:
        raise invalid_token(f"The tenant for tenant guid '{tenant_id}' does not exist.")
    user_id = claims.get("oid") if claims.get("idtyp") == "user" else None
    client = request.client
    return Caller(
        tenant_id=tenant_id,
        app_id=str(claims.get("azp", "")),
        object_id=str(claims.get("oid", "")),
        roles=frozenset(claims.get("roles", [])),
        scopes=frozenset(str(claims.get("scp", "")).split()),
        user_id=str(user_id) if user_id else None,
        ip_address=client.host if client else None,
    )


@dataclass
class GraphRequest:
    """One Graph call: the directory, the caller, the API version and a session (rolled back unless committed)."""

    directory: Directory
    caller: Caller
    version: str  # "v1.0" or "beta"
    session: Session
    request: Request

    @property
    def now(self) -> dt.datetime:
        return self.directory.clock()

    @property
    def beta(self) -> bool:
        return self.version == "beta"

    def context_url(self, fragment: str) -> str:
        return context_url(self.version, fragment)

    def initiator(self) -> Initiator:
        """Who the audit entries of this call name: the signed-in user through the app, or the app itself."""
        caller = self.caller
        if caller.user_id:
            user = self.session.get(User, caller.user_id)
            return Initiator(
                app_id=caller.app_id,
                user_id=caller.user_id,
                user_principal_name=user.user_principal_name if user else None,
                user_display_name=user.display_name if user else None,
                ip_address=caller.ip_address,
            )
        return Initiator(app_id=caller.app_id, service_principal_id=caller.object_id, ip_address=caller.ip_address)


def context_url(version: str, fragment: str) -> str:
    """``@odata.context``: ``https://graph.microsoft.com/{version}/$metadata#{fragment}``."""
    return f"{GRAPH_ROOT}/{version}/$metadata#{fragment}"


def open_graph_request(directory: Directory, request: Request, version: str) -> GraphRequest:
    """Authenticate and throttle the call and open its session. The caller closes ``session``."""
    return GraphRequest(directory, admit(directory, request), version, directory.sessions(), request)


def admit(directory: Directory, request: Request) -> Caller:
    """The caller, once its token is valid and the call is within the tenant's throttling limits (no I/O on the
    hot path: the token check and the tenant's settings are cached); the throttling headers of the answer go
    to ``request.state.graph_headers``."""
    caller = authenticate(directory, request)
    throttler: Throttler = directory.throttler
    settings = directory.tenant_settings(caller.tenant_id)
    if settings is not None and settings.throttling:
        throttler.configure(caller.tenant_id, throttling_config(settings.throttling))
        decision = throttler.decide(
            app_id=caller.app_id,
            tenant_id=caller.tenant_id,
            method=request.method,
            path=request.url.path.split("/", 2)[-1],
            query=dict(request.query_params),
        )
        if not decision.allowed:
            assert decision.error is not None
            error = decision.error
            raise GraphError(
                error.status_code, error.code, error.message, headers={**decision.headers, **error.headers}
            )
        request.state.graph_headers = dict(decision.headers)
    return caller


def request_ids(request: Request) -> tuple[str, str]:
    request_id = getattr(request.state, "request_id", None) or str(uuid.uuid4())
    request.state.request_id = request_id
    return request_id, request.headers.get("client-request-id") or request_id


def error_response(error: GraphError, request: Request) -> JSONResponse:
    request_id, client_request_id = request_ids(request)
    body = {
        "error": {
            "code": error.code,
            "message": error.message,
            "innerError": {
                "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }
    headers = {"request-id": request_id, "client-request-id": client_request_id, **error.headers}
    return JSONResponse(body, status_code=error.status_code, headers=headers)


def json_response(request: Request, body: Any, status_code: int = 200) -> Response:
    request_id, client_request_id = request_ids(request)
    headers = {
        "request-id": request_id,
        "client-request-id": client_request_id,
        "OData-Version": "4.0",
        **getattr(request.state, "graph_headers", {}),
    }
    if status_code == 204:
        return Response(status_code=204, headers=headers)
    content = json.dumps(body, separators=(",", ":"), default=str)
    return Response(content, status_code=status_code, headers=headers, media_type="application/json")
