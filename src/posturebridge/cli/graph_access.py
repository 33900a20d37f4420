"""A Microsoft Graph session for command-line tools: the local directory (from demo.json) or a real tenant.

Tokens come from msal's confidential client (client secret), exactly as against Entra ID; the only
differences for the local directory are its authority URL and its CA bundle.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from posturebridge.common.errors import CommandError

GRAPH_SCOPE = ["https://graph.microsoft.com/.default"]


@dataclass(frozen=True)
class GraphTarget:
    authority: str
    graph_url: str  # e.g. https://graph.microsoft.com/v1.0
    client_id: str
    client_secret: str
    ca_bundle: str | None = None

    @classmethod
    def from_demo(cls, demo_json: Path) -> GraphTarget:
        try:
            demo = json.loads(demo_json.read_text())
            return cls(
                demo["authority"],
                demo["graph_url"],
                demo["admin_app"]["client_id"],
                demo["admin_app"]["client_secret"],
                demo.get("ca_bundle"),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(f"cannot read {demo_json}: {exc}") from None


class GraphSession:
    """httpx client with a bearer token; raises CommandError with Graph's error message on failure."""

    def __init__(self, target: GraphTarget) -> None:
        import msal  # half a second to import; only the export and import commands need it

        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=target.ca_bundle) if target.ca_bundle else True
        )
        self._http = httpx.Client(verify=verify, timeout=30.0, trust_env=False)
        local = not target.authority.startswith("https://login.microsoftonline.com/")
        app = msal.ConfidentialClientApplication(
            target.client_id,
            client_credential=target.client_secret,
            authority=target.authority,
            instance_discovery=not local,
            http_client=self._http,
        )
        try:
            result = app.acquire_token_for_client(scopes=GRAPH_SCOPE)
        except (ValueError, httpx.HTTPError) as exc:
            raise CommandError(f"cannot reach {target.authority}: {exc}") from None
        if "access_token" not in result:
            raise CommandError(f"sign-in failed: {result.get('error_description') or result.get('error')}")
        self._base = target.graph_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {result['access_token']}"}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GraphSession:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _check(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise CommandError(f"Graph answered {response.status_code}: {message}")
        return response.json() if response.content else None

    def list(self, path: str) -> Iterator[dict[str, Any]]:
        url: str | None = f"{self._base}{path}"
        while url:
            body = self._check(self._http.get(url, headers=self._headers))
            yield from body.get("value", [])
            url = body.get("@odata.nextLink")

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._check(self._http.post(f"{self._base}{path}", json=body, headers=self._headers))
        return result

    def get(self, path: str) -> dict[str, Any]:
        result: dict[str, Any] = self._check(self._http.get(f"{self._base}{path}", headers=self._headers))
        return result

    def patch(self, path: str, body: dict[str, Any]) -> None:
        self._check(self._http.patch(f"{self._base}{path}", json=body, headers=self._headers))
