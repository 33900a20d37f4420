"""Custom connectors: an administrator's HTTP action (method, URL template, headers, body template,
credentials) that workflow rules run for a device, e.g. ``PATCH …/v1.0/devices(deviceId='{{
device.entraDeviceId }}')`` with ``{"isCompliant": {{ trigger.sensorsCompliant | tojson }}, "isManaged":
true}`` to Microsoft Graph as the tenant's MDM application.

Credentials: none, HTTP basic, a static bearer token, or OAuth 2.0 client credentials against any token
endpoint (Entra's ``…/oauth2/v2.0/token`` included); tokens are cached until shortly before they expire.
The secret part (password, token, client secret) is stored apart and never rendered by the API.

``ConnectorCaller`` is the only network I/O here; it is built once by the app (its ``httpx.Client`` is the
composition root's) and never raises for a failed call: it answers a ``ConnectorResponse`` saying what
happened and whether trying again may help (timeouts, 408, 429, 5xx).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from posturebridge.common.ids import new_id
from posturebridge.mdm.models import CustomConnector
from posturebridge.mdm.service import templating
from posturebridge.mdm.service.errors import BadRequest, Conflict, NotFound
from posturebridge.mdm.service.transactions import begin_write

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
AUTH_TYPES = ("none", "basic", "bearer", "oauth2ClientCredentials")
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
TOKEN_MARGIN_SECONDS = 60.0
SUMMARY_BODY_CHARS = 512


@dataclass(frozen=True)
class ConnectorAuth:
    """Non-secret credential fields; which ones matter depends on ``type``."""

    type: str = "none"
    username: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    scope: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "username": self.username,
            "tokenUrl": self.token_url,
            "clientId": self.client_id,
            "scope": self.scope,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConnectorAuth:
        return cls(
            str(data.get("type", "none")),
            data.get("username"),
            data.get("tokenUrl"),
            data.get("clientId"),
            data.get("scope"),
        )


@dataclass(frozen=True)
class ConnectorSpec:
    name: str
    method: str
    url_template: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body_template: str | None = None
    auth: ConnectorAuth = field(default_factory=ConnectorAuth)
    secret: str | None = None
    """Password (basic), token (bearer) or client secret (OAuth); ``None`` on replace keeps the stored one."""
    timeout_seconds: float = 10.0


def _validate(spec: ConnectorSpec, secret: str | None) -> None:
    if spec.method not in METHODS:
        raise BadRequest(f"{spec.method!r} is not one of: {', '.join(METHODS)}", target="method")
    if not spec.url_template.startswith(("https://", "http://")):
        raise BadRequest("must start with https:// (or http://)", target="urlTemplate")
    auth = spec.auth
    if auth.type not in AUTH_TYPES:
        raise BadRequest(f"{auth.type!r} is not one of: {', '.join(AUTH_TYPES)}", target="auth.type")
    required = {
        "basic": {"auth.username": auth.username, "auth.secret": secret},
        "bearer": {"auth.secret": secret},
        "oauth2ClientCredentials": {
            "auth.tokenUrl": auth.token_url,
            "auth.clientId": auth.client_id,
            "auth.secret": secret,
        },
    }.get(auth.type, {})
    for target, value in required.items():
        if not value:
            raise BadRequest(f"is required for {auth.type} credentials", target=target)
    if auth.token_url is not None and not auth.token_url.startswith(("https://", "http://")):
        raise BadRequest("must be an https:// URL", target="auth.tokenUrl")
    if any(name.lower() == "authorization" for name in spec.headers) and auth.type != "none":
        raise BadRequest("the credentials set Authorization; leave it out of the headers", target="headers")
    templates = {"urlTemplate": spec.url_template, **{f"headers.{k}": v for k, v in spec.headers.items()}}
    if spec.body_template is not None:
        templates["bodyTemplate"] = spec.body_template
    templating.check(templates)


def _unique_name(session: Session, organisation_id: str, name: str, connector_id: str | None = None) -> None:
    statement = select(CustomConnector.id).where(
        CustomConnector.organisation_id == organisation_id, CustomConnector.name == name
    )
    if connector_id is not None:
        statement = statement.where(CustomConnector.id != connector_id)
    if session.scalar(statement) is not None:
        raise Conflict(f"a custom connector named {name!r} exists", target="name", code="nameInUse")


def _store(row: CustomConnector, spec: ConnectorSpec, secret: str | None, now: dt.datetime) -> None:
    row.name, row.method, row.url_template = spec.name, spec.method, spec.url_template
    row.headers = dict(spec.headers)
    row.body_template = spec.body_template
    row.auth = spec.auth.to_dict()
    row.secret = secret if spec.auth.type != "none" else None
    row.timeout_seconds = spec.timeout_seconds
    row.updated_at = now


def create_connector(session: Session, organisation_id: str, spec: ConnectorSpec, now: dt.datetime) -> CustomConnector:
    begin_write(session)
    _validate(spec, spec.secret)
    _unique_name(session, organisation_id, spec.name)
    row = CustomConnector(id=new_id(), organisation_id=organisation_id, created_at=now)
    _store(row, spec, spec.secret, now)
    session.add(row)
    return row


def replace_connector(
    session: Session, organisation_id: str, connector_id: str, spec: ConnectorSpec, now: dt.datetime
) -> CustomConnector:
    begin_write(session)
    row = get_connector(session, organisation_id, connector_id)
    same_credentials = ConnectorAuth.from_dict(row.auth).type == spec.auth.type
    secret = spec.secret if spec.secret is not None else (row.secret if same_credentials else None)
    _validate(spec, secret)
    _unique_name(session, organisation_id, spec.name, connector_id)
    _store(row, spec, secret, now)
    return row


def get_connector(session: Session, organisation_id: str, connector_id: str) -> CustomConnector:
    row = session.scalar(
        select(CustomConnector).where(
            CustomConnector.id == connector_id, CustomConnector.organisation_id == organisation_id
        )
    )
    if row is None:
        raise NotFound(f"custom connector {connector_id} not found", target="connectorId", code="connectorNotFound")
    return row


def list_connectors(session: Session, organisation_id: str) -> list[CustomConnector]:
    return list(
        session.scalars(
            select(CustomConnector)
            .where(CustomConnector.organisation_id == organisation_id)
            .order_by(CustomConnector.name)
        )
    )


def delete_connector(session: Session, organisation_id: str, connector_id: str, rules_using: list[str]) -> None:
    begin_write(session)
    row = get_connector(session, organisation_id, connector_id)
    if rules_using:
        raise Conflict(
            f"workflow rules run this connector: {', '.join(rules_using)}; change them first",
            target="connectorId",
            code="connectorInUse",
        )
    session.delete(row)


# --- calling ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectorRequest:
    """A connector call with its templates rendered for one device."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: str | None
    auth: ConnectorAuth
    secret: str | None
    timeout_seconds: float
    correlation_id: str

    def summary(self) -> str:
        """What the CA log shows: method, URL and body (never the headers, which may carry secrets)."""
        body = f" {self.body[:SUMMARY_BODY_CHARS]}" if self.body else ""
        return f"{self.method} {self.url}{body}"[:2048]


def build_request(row: CustomConnector, variables: Mapping[str, Any], correlation_id: str) -> ConnectorRequest:
    """Render the connector's templates; ``TemplateRenderError`` names what is missing."""
    url = templating.render(row.url_template, variables, what="urlTemplate")
    headers = {name: templating.render(text, variables, what=f"headers.{name}") for name, text in row.headers.items()}
    body = templating.render(row.body_template, variables, what="bodyTemplate") if row.body_template else None
    if body is not None and not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"
    auth = ConnectorAuth.from_dict(row.auth)
    return ConnectorRequest(row.method, url, headers, body, auth, row.secret, row.timeout_seconds, correlation_id)


@dataclass(frozen=True)
class ConnectorResponse:
    status: int | None
    """The HTTP status of the call (``None``: no answer, or the token request failed)."""
    error: str | None
    retryable: bool = False
    retry_after_seconds: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None


class ConnectorError(Exception):
    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class ConnectorCaller:
    """Sends connector requests; caches OAuth tokens per (token URL, client, scope, secret) until expiry."""

    def __init__(self, http: httpx.Client, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._http = http
        self._monotonic = monotonic
        self._tokens: dict[tuple[str, str, str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def call(self, request: ConnectorRequest) -> ConnectorResponse:
        try:
            headers = {**request.headers, **self._authorization(request)}
        except ConnectorError as exc:
            return ConnectorResponse(exc.status, str(exc), exc.retryable)
        headers["client-request-id"] = request.correlation_id
        try:
            response = self._http.request(
                request.method,
                request.url,
                headers=headers,
                content=request.body.encode() if request.body is not None else None,
                timeout=request.timeout_seconds,
            )
        except httpx.TimeoutException:
            return ConnectorResponse(None, f"no answer within {request.timeout_seconds:g} s", retryable=True)
        except httpx.HTTPError as exc:
            return ConnectorResponse(None, f"the request failed: {exc}", retryable=True)
        if response.is_success:
            return ConnectorResponse(response.status_code, None)
        if response.status_code == 401 and request.auth.type == "oauth2ClientCredentials":
            self._forget(request)
        return ConnectorResponse(
            response.status_code,
            f"HTTP {response.status_code}: {_excerpt(response)}",
            retryable=response.status_code in RETRYABLE_STATUSES,
            retry_after_seconds=_retry_after(response),
        )

    def _authorization(self, request: ConnectorRequest) -> dict[str, str]:
        auth = request.auth
        if auth.type == "basic":
            pair = f"{auth.username}:{request.secret}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        if auth.type == "bearer":
            return {"Authorization": f"Bearer {request.secret}"}
        if auth.type == "oauth2ClientCredentials":
            return {"Authorization": f"Bearer {self._token(request)}"}
        return {}

    def _key(self, request: ConnectorRequest) -> tuple[str, str, str, str]:
        auth = request.auth
        secret = hashlib.sha256((request.secret or "").encode()).hexdigest()
        return (auth.token_url or "", auth.client_id or "", auth.scope or "", secret)

    def _forget(self, request: ConnectorRequest) -> None:
        with self._lock:
            self._tokens.pop(self._key(request), None)

    def _token(self, request: ConnectorRequest) -> str:
        key = self._key(request)
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and self._monotonic() < cached[1]:
                return cached[0]
        auth = request.auth
        data = {
            "grant_type": "client_credentials",
            "client_id": auth.client_id or "",
            "client_secret": request.secret or "",
        }
        if auth.scope:
            data["scope"] = auth.scope
        try:
            response = self._http.post(auth.token_url or "", data=data, timeout=request.timeout_seconds)
        except httpx.HTTPError as exc:
            raise ConnectorError(f"the token endpoint did not answer: {exc}", retryable=True) from exc
        if not response.is_success:
            raise ConnectorError(
                f"the token endpoint refused: HTTP {response.status_code}: {_excerpt(response)}",
                retryable=response.status_code in RETRYABLE_STATUSES,
                status=response.status_code,
            )
        try:
            answer = response.json()
            token = str(answer["access_token"])
            lifetime = float(answer.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConnectorError("the token endpoint answered without an access_token", retryable=False) from exc
        expires = self._monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, lifetime / 2)
        with self._lock:
            self._tokens[key] = (token, expires)
        return token


def _excerpt(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):  # Graph: {"error": {"code", "message"}}
        return f"{error.get('code')}: {error.get('message')}"[:300]
    if isinstance(error, str):  # OAuth: {"error", "error_description"}
        return f"{error}: {body.get('error_description', '')}"[:300]
    return response.text[:300]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None
