"""A small synchronous client of Microsoft Graph and of the Intune partner endpoints, for the partner service.

Tokens come from msal's ``ConfidentialClientApplication`` (client credentials with a secret or a
certificate); msal caches them and renews them before they expire. Against the local directory msal gets an
``httpx.Client`` that trusts only the directory's CA and ``instance_discovery=False``; against
login.microsoftonline.com it runs unchanged.

Calls return :class:`ApiResponse` (status 0 when there was no answer) instead of raising: the delivery
channels turn every answer into a queue outcome and a CA log record. ``call`` is for the few calls outside
the queue (endpoint discovery, tenant provisioning, lookups): it retries retryable answers itself, honouring
Retry-After through ``retry.RetryPolicy``, with the clock and the sleep injected.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import msal

from posturebridge.common.clock import utcnow
from posturebridge.partner.retry import RetryPolicy, Verdict

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
"""Graph's scope, the same whatever URL Graph is served at (the local directory knows it by this name)."""
MAX_BATCH = 20


class GraphError(Exception):
    """A call outside the queue failed for good: ``status_code`` (0: no answer), Graph's ``code``."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(f"{message} ({code}, HTTP {status_code})" if status_code else message)
        self.status_code = status_code
        self.code = code
        self.message = message


class TokenError(GraphError):
    """The token endpoint refused the partner's credentials."""


class TokenSource(Protocol):
    def token(self, scope: str) -> str: ...


class MsalHttpClient(httpx.Client):
    """msal passes the certificate credential's ``client_assertion`` as bytes; requests sends bytes form
    values as their text, httpx as ``b'…'``. Decoding them keeps msal working over httpx."""

    def post(self, url: httpx.URL | str, **kwargs: Any) -> httpx.Response:
        data = kwargs.get("data")
        if isinstance(data, dict):
            kwargs["data"] = {k: v.decode() if isinstance(v, bytes) else v for k, v in data.items()}
        return super().post(url, **kwargs)


@dataclass(frozen=True)
class Credential:
    """A client secret, or a certificate (PEM holding the private key, and its SHA-1 thumbprint)."""

    client_id: str
    secret: str | None = None
    certificate_path: Path | None = None
    certificate_thumbprint: str | None = None

    def for_msal(self) -> str | dict[str, str]:
        if self.secret:
            return self.secret
        if self.certificate_path and self.certificate_thumbprint:
            pem = self.certificate_path.read_text()
            return {"private_key": pem, "thumbprint": self.certificate_thumbprint, "public_certificate": pem}
        raise TokenError(0, "invalid_client", f"application {self.client_id} has neither a secret nor a certificate")


class MsalTokens:
    """App-only tokens of one application in one tenant, through msal."""

    def __init__(
        self, credential: Credential, authority: str, *, http: httpx.Client, instance_discovery: bool = True
    ) -> None:
        self._app = msal.ConfidentialClientApplication(
            credential.client_id,
            client_credential=credential.for_msal(),
            authority=authority,
            http_client=http,
            instance_discovery=instance_discovery,
        )
        self._lock = threading.Lock()

    def token(self, scope: str) -> str:
        with self._lock:  # msal's cache is thread-safe, but one token request per scope is enough
            try:
                result = self._app.acquire_token_for_client(scopes=[scope])
            except (httpx.HTTPError, ValueError) as exc:
                raise TokenError(0, "unreachable", f"no token for {scope}: {exc}") from exc
        if "access_token" not in result:
            raise TokenError(
                int(result.get("status_code", 400) or 400) if isinstance(result.get("status_code"), int) else 400,
                str(result.get("error", "token_error")),
                str(result.get("error_description", "the token endpoint refused the request")).splitlines()[0],
            )
        return str(result["access_token"])


@dataclass(frozen=True)
class ApiResponse:
    """One answer: ``status`` 0 means there was none (timeout, refused connection)."""

    status: int
    headers: Mapping[str, str]
    body: Any
    correlation_id: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def retry_after(self) -> str | None:
        for name, value in self.headers.items():
            if name.lower() == "retry-after":
                return value
        return None

    def error_text(self) -> str | None:
        """Graph's ``code: message`` (or the OData v3 ``odata.error``), the transport error, or None if ok."""
        if self.ok:
            return None
        if self.error:
            return self.error
        body = self.body
        if isinstance(body, dict):
            info = body.get("error") or body.get("odata.error")
            if isinstance(info, dict):
                message = info.get("message")
                if isinstance(message, dict):
                    message = message.get("value")
                return f"{info.get('code')}: {message}"
        return f"HTTP {self.status}"


@dataclass(frozen=True)
class BatchItem:
    method: str
    url: str
    """Relative to the Graph version, e.g. ``/devices(deviceId='…')``."""
    body: Any = None


@dataclass
class GraphClient:
    """Graph at ``base_url`` (without the version) with tokens for ``scope``."""

    base_url: str
    tokens: TokenSource
    http: httpx.Client
    version: str = "v1.0"
    scope: str = GRAPH_SCOPE
    policy: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=6))
    clock: Callable[[], dt.datetime] = utcnow
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def url(self, path: str) -> str:
        if path.startswith(("https://", "http://")):
            return path
        return f"{self.base_url.rstrip('/')}/{self.version}/{path.lstrip('/')}"

    def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        scope: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        """One request, no retry; a token problem or a transport error is an answer with status 0."""
        correlation = str(uuid.uuid4())
        try:
            token = self.tokens.token(scope or self.scope)
        except TokenError as exc:
            return ApiResponse(exc.status_code, {}, None, correlation, f"token: {exc}")
        sent = {"Authorization": f"Bearer {token}", "client-request-id": correlation, **(headers or {})}
        try:
            response = self.http.request(method, self.url(path), json=json_body, headers=sent)
        except httpx.HTTPError as exc:
            return ApiResponse(0, {}, None, correlation, f"{type(exc).__name__}: {exc}")
        body: Any = None
        if response.content:
            try:
                body = response.json()
            except ValueError:
                body = response.text[:500]
        return ApiResponse(response.status_code, dict(response.headers), body, correlation)

    def call(self, method: str, path: str, *, json_body: Any = None, scope: str | None = None) -> ApiResponse:
        """A request retried on retryable answers (Retry-After honoured); a final failure raises GraphError.
        Callers that expect a particular error status (409 …) read it from the answer: 4xx is returned."""
        attempts = 0
        while True:
            answer = self.send(method, path, json_body=json_body, scope=scope)
            if answer.ok or (400 <= answer.status < 500 and answer.status not in (401, 408, 429)):
                return answer
            now = self.clock()
            decision = self.policy.decide(answer.status, answer.retry_after, attempts, now, self.rng)
            if decision.verdict == Verdict.DEAD:
                raise GraphError(answer.status, _code(answer), f"{method} {path}: {answer.error_text()}")
            attempts += decision.counts
            self.sleep(max((decision.not_before - now).total_seconds(), 0.0))

    def batch(self, items: Sequence[BatchItem]) -> tuple[ApiResponse, list[ApiResponse]]:
        """``POST /$batch`` of up to 20 requests: the batch's own answer, and one answer per item (the
        batch's own answer repeated for every item when the batch itself failed)."""
        if not 0 < len(items) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH} requests")
        requests = []
        for index, item in enumerate(items):
            request: dict[str, Any] = {"id": str(index + 1), "method": item.method, "url": item.url}
            if item.body is not None:
                request["body"] = item.body
                request["headers"] = {"Content-Type": "application/json"}
            requests.append(request)
        answer = self.send("POST", "/$batch", json_body={"requests": requests})
        if not answer.ok or not isinstance(answer.body, dict) or not isinstance(answer.body.get("responses"), list):
            return answer, [answer] * len(items)
        by_id = {str(r.get("id")): r for r in answer.body["responses"] if isinstance(r, dict)}
        results = []
        for index in range(len(items)):
            found = by_id.get(str(index + 1))
            if found is None:
                results.append(ApiResponse(0, {}, None, answer.correlation_id, "missing from the batch response"))
                continue
            results.append(
                ApiResponse(
                    int(found.get("status", 0)),
                    {str(k): str(v) for k, v in (found.get("headers") or {}).items()},
                    found.get("body"),
                    f"{answer.correlation_id}#{index + 1}",
                )
            )
        return answer, results

    def pages(self, path: str) -> Iterator[dict[str, Any]]:
        """Every item of a collection, following ``@odata.nextLink``."""
        url: str | None = path
        while url:
            answer = self.call("GET", url)
            if not answer.ok or not isinstance(answer.body, dict):
                raise GraphError(answer.status, _code(answer), f"GET {url}: {answer.error_text()}")
            yield from answer.body.get("value", [])
            url = answer.body.get("@odata.nextLink")


def _code(answer: ApiResponse) -> str:
    body = answer.body
    if isinstance(body, dict):
        info = body.get("error") or body.get("odata.error")
        if isinstance(info, dict) and info.get("code"):
            return str(info["code"])
    return "unreachable" if answer.status == 0 else f"http{answer.status}"


def odata_quote(value: str) -> str:
    """A string literal inside an OData URL: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"), sort_keys=True)
