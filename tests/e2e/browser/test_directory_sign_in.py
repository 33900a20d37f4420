"""The directory's sign-in in a real Chromium: authorization code + PKCE with the sign-in and consent pages,
the code delivered to a loopback redirect; and a PKeyAuth sign-in where the test plays the broker, answering
the directory's challenge with the device key, so the sign-in comes from the registered device."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest

from posturebridge.common.clock import utcnow
from posturebridge.device import pkeyauth
from posturebridge.device.keys import generate_device_key
from posturebridge.directory import tenants
from posturebridge.directory.models import Tenant
from tests.integration.directory.browser import authorize_url, pkce_pair
from tests.integration.directory.conftest import DirectoryServer, SeededTenant
from tests.integration.directory.graph_support import app_token, graph
from tests.integration.directory.helpers import RegisteredDevice, claims_of, register

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Route

pytestmark = pytest.mark.e2e


@dataclass
class Loopback:
    """A native app's loopback redirect listener (RFC 8252 §7.3): it takes the authorization response."""

    url: str
    received: list[dict[str, str]] = field(default_factory=list)


@contextmanager
def loopback_listener() -> Iterator[Loopback]:
    found: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            target = urlsplit(self.path)
            if target.path != "/callback":  # the browser also asks for /favicon.ico
                self.send_error(404)
                return
            found.append({key: values[0] for key, values in parse_qs(target.query).items()})
            body = b"<!doctype html><title>Signed in</title><p id='done'>You can close this window.</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Loopback(f"http://127.0.0.1:{server.server_address[1]}/callback", found)
    finally:
        server.shutdown()
        server.server_close()


def _native_app(server: DirectoryServer, tenant: SeededTenant, redirect_uri: str) -> str:
    """A public client of the tenant with `redirect_uri`; nobody has consented to it yet."""
    with server.session() as session:
        row = session.get(Tenant, tenant.id)
        assert row is not None
        created = tenants.add_application(
            session, row, display_name="Contoso native app", now=utcnow(), public_client_redirect_uris=[redirect_uri]
        )
        session.commit()
        return created.application.app_id


def _redeem(server: DirectoryServer, tenant: SeededTenant, client_id: str, code: str, **form: str) -> dict[str, Any]:
    with server.client() as http:
        response = http.post(
            f"/{tenant.id}/oauth2/v2.0/token",
            data={"grant_type": "authorization_code", "client_id": client_id, "code": code, **form},
        )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _authorize(
    server: DirectoryServer,
    tenant: SeededTenant,
    client_id: str,
    loopback: Loopback,
    scope: str,
    challenge: str,
    state: str,
) -> str:
    """The authorization code request (PKCE S256) a native app opens in the browser."""
    return authorize_url(
        server.url,
        tenant.id,
        client_id=client_id,
        response_type="code",
        redirect_uri=loopback.url,
        scope=scope,
        state=state,
        code_challenge=challenge,
        code_challenge_method="S256",
    )


def _sign_in(page: Page, login: str, password: str) -> None:
    page.locator("#login").fill(login)
    page.locator("#passwd").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_user_signs_in_and_consents_in_chromium_and_the_code_reaches_the_loopback_redirect(
    directory_server: DirectoryServer, tenant: SeededTenant, context: BrowserContext
) -> None:
    with loopback_listener() as loopback:
        client_id = _native_app(directory_server, tenant, loopback.url)
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(12)
        page = context.new_page()
        page.goto(
            _authorize(
                directory_server, tenant, client_id, loopback, "openid offline_access User.Read", challenge, state
            )
        )
        assert page.locator("#passwd").is_visible()
        _sign_in(page, tenant.user.upn, tenant.user.password)
        page.get_by_text("Permissions requested").wait_for()
        assert page.get_by_text("User.Read").first.is_visible()
        page.get_by_role("button", name="Accept").click()
        page.wait_for_url(f"{loopback.url}?*")
        assert page.locator("#done").is_visible()
        (answer,) = loopback.received
    assert answer["state"] == state and "error" not in answer
    tokens = _redeem(
        directory_server, tenant, client_id, answer["code"], redirect_uri=loopback.url, code_verifier=verifier
    )
    claims = claims_of(str(tokens["access_token"]))
    assert claims["oid"] == tenant.user.id and claims["scp"] == "User.Read"
    assert "deviceid" not in claims  # nothing proved a device


class Broker:
    """What the broker does around the web view: advertise PKeyAuth, catch the challenge redirect, load
    SubmitUrl with the device's answer."""

    def __init__(self, directory: DirectoryServer, device: RegisteredDevice, *, forge: bool = False) -> None:
        self.directory = directory
        self.device = device
        self.forge = forge
        self.challenges: list[pkeyauth.PKeyAuthChallenge] = []

    def attach(self, context: BrowserContext) -> None:
        context.set_extra_http_headers({pkeyauth.ADVERTISE_HEADER: pkeyauth.VERSION})
        context.route("**/oauth2/v2.0/authorize?*", self._authorize)
        context.route("**/common/DeviceAuthPKeyAuth", self._submit)

    def _authorize(self, route: Route) -> None:
        answer = route.fetch(max_redirects=0)
        location = answer.headers.get("location", "")
        if answer.status != 302 or not pkeyauth.is_challenge(location):
            route.fulfill(response=answer)
            return
        # The web view cannot load urn:http-auth:…: the broker catches it, and then loads SubmitUrl itself
        # (`answer_challenge`; a redirect fulfilled here would not pass through `_submit`).
        self.challenges.append(pkeyauth.parse_challenge(location))
        route.fulfill(status=200, content_type="text/html", body="<p id='pkeyauth'>Checking your device</p>")

    def answer_challenge(self, page: Page) -> None:
        assert page.locator("#pkeyauth").is_visible(), "the directory sent no PKeyAuth challenge"
        page.goto(self.challenges[-1].submit_url)

    def _submit(self, route: Route) -> None:
        challenge = self.challenges[-1]
        key = generate_device_key() if self.forge else self.device.key  # a forger has the certificate, not the key
        token = pkeyauth.auth_token(challenge, key, self.device.certificate_der, self.directory.clock())
        headers = {**route.request.headers, "authorization": pkeyauth.authorization(challenge, token)}
        route.continue_(headers=headers)


@pytest.mark.parametrize("forged", [False, True], ids=["device key", "forged"])
def test_a_pkeyauth_sign_in_in_chromium_comes_from_the_device_only_with_its_key(
    directory_server: DirectoryServer, tenant: SeededTenant, context: BrowserContext, forged: bool
) -> None:
    device = register(directory_server, tenant, tenant.user)
    broker = Broker(directory_server, device, forge=forged)
    broker.attach(context)
    with loopback_listener() as loopback:
        client_id = _native_app(directory_server, tenant, loopback.url)
        verifier, challenge = pkce_pair()
        page = context.new_page()
        page.goto(_authorize(directory_server, tenant, client_id, loopback, "openid", challenge, "s"))
        broker.answer_challenge(page)
        _sign_in(page, tenant.user.upn, tenant.user.password)
        page.wait_for_url(f"{loopback.url}?*")
        (answer,) = loopback.received
    (seen,) = broker.challenges
    assert seen.submit_url == f"{directory_server.url}/common/DeviceAuthPKeyAuth"
    assert seen.tenant_id == tenant.id and any(f"OU={tenant.id}" in item for item in seen.cert_authorities)
    tokens = _redeem(
        directory_server, tenant, client_id, answer["code"], redirect_uri=loopback.url, code_verifier=verifier
    )
    claims = claims_of(str(tokens["access_token"]))
    with graph(directory_server, app_token(directory_server, tenant, ["AuditLog.Read.All"])) as admin:
        log = admin.get(f"/v1.0/auditLogs/signIns?$filter=appId eq '{client_id}'")
    assert log.status_code == 200, log.text
    (entry,) = log.json()["value"]
    if forged:
        assert "deviceid" not in claims  # refused: the sign-in is from an unknown device
        assert not entry["deviceDetail"].get("deviceId")
    else:
        assert claims["deviceid"] == device.device_id
        assert entry["deviceDetail"]["deviceId"] == device.device_id  # the sign-in log shows the device
