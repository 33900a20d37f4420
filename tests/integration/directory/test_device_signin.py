"""Device-bound sign-in: srv_challenge nonces, device proofs on token requests, PKeyAuth in the browser.

Only a valid, fresh, unreplayed proof by an enabled registered device's key makes a sign-in come from
that device (``deviceid`` in the access token); every other proof is a sign-in from an unknown device.
"""

from __future__ import annotations

import base64
import datetime as dt
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from sqlalchemy import select

from posturebridge.device.keys import generate_device_key
from posturebridge.directory.models import Device
from tests.integration.directory.browser import authorize_url, redirect_params, sign_in
from tests.integration.directory.conftest import DirectoryServer, SeededTenant
from tests.integration.directory.helpers import (
    RegisteredDevice,
    browser_code,
    claims_of,
    device_proof,
    drs_token,
    redeem,
    register,
    srv_challenge,
)


@pytest.fixture
def device(directory_server: DirectoryServer, tenant: SeededTenant) -> RegisteredDevice:
    return register(directory_server, tenant, tenant.user)


def _token_with(server: DirectoryServer, tenant: SeededTenant, credential: str | None) -> dict[str, object]:
    code = browser_code(server, tenant, tenant.user, tenant.public_app, "openid offline_access")
    response = redeem(server, tenant, tenant.public_app, code, device_credential=credential)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _set_enabled(server: DirectoryServer, device_id: str, enabled: bool) -> None:
    with server.session() as session:
        session.scalars(select(Device).where(Device.device_id == device_id)).one().account_enabled = enabled
        session.commit()


def test_srv_challenge_returns_a_nonce(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    first, second = srv_challenge(directory_server, tenant.id), srv_challenge(directory_server, "common")
    assert first and second and first != second


def test_valid_proof_puts_deviceid_in_the_token_and_the_refresh_token_remembers_it(
    directory_server: DirectoryServer, tenant: SeededTenant, device: RegisteredDevice
) -> None:
    proof = device_proof(directory_server, tenant, device, srv_challenge(directory_server, tenant.id))
    body = _token_with(directory_server, tenant, proof)
    assert claims_of(str(body["access_token"]))["deviceid"] == device.device_id

    with directory_server.client() as http:
        refreshed = http.post(
            f"/{tenant.id}/oauth2/v2.0/token",
            data={
                "grant_type": "refresh_token",
                "client_id": tenant.public_app.client_id,
                "refresh_token": body["refresh_token"],
            },
        )
    assert refreshed.status_code == 200, refreshed.text
    assert claims_of(refreshed.json()["access_token"])["deviceid"] == device.device_id

    _set_enabled(directory_server, device.device_id, False)
    with directory_server.client() as http:
        after_disable = http.post(
            f"/{tenant.id}/oauth2/v2.0/token",
            data={
                "grant_type": "refresh_token",
                "client_id": tenant.public_app.client_id,
                "refresh_token": refreshed.json()["refresh_token"],
            },
        )
    assert after_disable.status_code == 400
    assert after_disable.json()["error_codes"] == [135011]


def test_no_proof_is_a_sign_in_from_an_unknown_device(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    assert "deviceid" not in claims_of(str(_token_with(directory_server, tenant, None)["access_token"]))


def test_proof_forged_with_another_key_is_ignored(
    directory_server: DirectoryServer, tenant: SeededTenant, device: RegisteredDevice
) -> None:
    nonce = srv_challenge(directory_server, tenant.id)
    forger = generate_device_key()
    forged = jwt.encode(
        {
            "aud": f"{directory_server.url}/{tenant.id}/oauth2/v2.0/token",
            "iss": tenant.public_app.client_id,
            "client_id": tenant.public_app.client_id,
            "request_nonce": nonce,
            "iat": int(directory_server.clock().timestamp()),
        },
        forger.private_key,
        algorithm="RS256",
        headers={"x5c": [base64.b64encode(device.certificate_der).decode()]},
    )
    assert "deviceid" not in claims_of(str(_token_with(directory_server, tenant, forged)["access_token"]))


def test_proof_for_another_device_is_ignored(
    directory_server: DirectoryServer, tenant: SeededTenant, device: RegisteredDevice
) -> None:
    other = register(directory_server, tenant, tenant.user, token=drs_token(directory_server, tenant, tenant.user))
    nonce = srv_challenge(directory_server, tenant.id)
    # Signed by this device's key but presenting the other device's certificate.
    mixed = jwt.encode(
        {
            "aud": f"{directory_server.url}/{tenant.id}/oauth2/v2.0/token",
            "client_id": tenant.public_app.client_id,
            "request_nonce": nonce,
            "iat": int(directory_server.clock().timestamp()),
        },
        device.key.private_key,
        algorithm="RS256",
        headers={"x5c": [base64.b64encode(other.certificate_der).decode()]},
    )
    assert "deviceid" not in claims_of(str(_token_with(directory_server, tenant, mixed)["access_token"]))


def test_replayed_nonce_is_ignored(
    directory_server: DirectoryServer, tenant: SeededTenant, device: RegisteredDevice
) -> None:
    nonce = srv_challenge(directory_server, tenant.id)
    first = _token_with(directory_server, tenant, device_proof(directory_server, tenant, device, nonce))
    replay = _token_with(directory_server, tenant, device_proof(directory_server, tenant, device, nonce))
    assert claims_of(str(first["access_token"]))["deviceid"] == device.device_id
    assert "deviceid" not in claims_of(str(replay["access_token"]))


def test_expired_nonce_is_ignored(
    directory_server: DirectoryServer, tenant: SeededTenant, device: RegisteredDevice
) -> None:
    nonce = srv_challenge(directory_server, tenant.id)
    code = browser_code(directory_server, tenant, tenant.user, tenant.public_app, "openid")
    directory_server.clock.advance(dt.timedelta(minutes=6))
    proof = device_proof(directory_server, tenant, device, nonce)  # the proof itself is fresh
    response = redeem(directory_server, tenant, tenant.public_app, code, device_credential=proof)
    assert response.status_code == 200, response.text
    assert "deviceid" not in claims_of(response.json()["access_token"])


def test_disabled_device_is_an_unknown_device(
    directory_server: DirectoryServer, tenant: SeededTenant, device: RegisteredDevice
) -> None:
    _set_enabled(directory_server, device.device_id, False)
    proof = device_proof(directory_server, tenant, device, srv_challenge(directory_server, tenant.id))
    assert "deviceid" not in claims_of(str(_token_with(directory_server, tenant, proof)["access_token"]))


def _pkeyauth_start(server: DirectoryServer, tenant: SeededTenant) -> dict[str, str]:
    url = authorize_url(
        server.url,
        tenant.id,
        client_id=tenant.public_app.client_id,
        response_type="code",
        redirect_uri=tenant.public_app.redirect_uri,
        scope="openid",
    )
    # A webview intercepts the urn: redirect; httpx's client cannot even parse it, so use the bare transport.
    with httpx.HTTPTransport(verify=server.ssl_context) as transport:
        response = transport.handle_request(
            httpx.Request("GET", url, headers={"User-Agent": "Mozilla/5.0 PKeyAuth/1.0"})
        )
        response.read()
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}:{location.path}" == "urn:http-auth:PKeyAuth"
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def _auth_token(challenge: dict[str, str], device: RegisteredDevice, now: dt.datetime) -> str:
    return jwt.encode(
        {"aud": challenge["SubmitUrl"], "nonce": challenge["nonce"], "iat": int(now.timestamp())},
        device.key.private_key,
        algorithm="RS256",
        headers={"x5c": [base64.b64encode(device.certificate_der).decode()]},
    )


def _answer(
    server: DirectoryServer, tenant: SeededTenant, challenge: dict[str, str], auth_token: str | None
) -> dict[str, str]:
    token_part = f'AuthToken="{auth_token}",' if auth_token else ""
    with server.client() as http:
        page = http.get(
            challenge["SubmitUrl"],
            headers={"Authorization": f'PKeyAuth {token_part}Context="{challenge["Context"]}",Version="1.0"'},
        )
        assert page.status_code == 200, page.text
        code = redirect_params(sign_in(http, page, tenant.user.upn, tenant.user.password))["code"]
    with server.client() as http:
        response = http.post(
            f"/{tenant.id}/oauth2/v2.0/token",
            data={
                "grant_type": "authorization_code",
                "client_id": tenant.public_app.client_id,
                "code": code,
                "redirect_uri": tenant.public_app.redirect_uri,
            },
        )
    assert response.status_code == 200, response.text
    return claims_of(response.json()["access_token"])


def test_pkeyauth_challenge_and_valid_response_bind_the_browser_sign_in_to_the_device(
    directory_server: DirectoryServer, tenant: SeededTenant, device: RegisteredDevice
) -> None:
    challenge = _pkeyauth_start(directory_server, tenant)
    assert challenge["Version"] == "1.0" and challenge["TenantId"] == tenant.id
    assert challenge["SubmitUrl"] == f"{directory_server.url}/common/DeviceAuthPKeyAuth"
    assert f"OU={tenant.id}" in challenge["CertAuthorities"]
    claims = _answer(directory_server, tenant, challenge, _auth_token(challenge, device, directory_server.clock()))
    assert claims["deviceid"] == device.device_id


def test_pkeyauth_without_a_certificate_or_with_a_forged_token_is_an_unknown_device(
    directory_server: DirectoryServer, tenant: SeededTenant, device: RegisteredDevice
) -> None:
    no_certificate = _answer(directory_server, tenant, _pkeyauth_start(directory_server, tenant), None)
    challenge = _pkeyauth_start(directory_server, tenant)
    forged = jwt.encode(
        {"aud": challenge["SubmitUrl"], "nonce": challenge["nonce"], "iat": int(directory_server.clock().timestamp())},
        generate_device_key().private_key,
        algorithm="RS256",
        headers={"x5c": [base64.b64encode(device.certificate_der).decode()]},
    )
    assert "deviceid" not in no_certificate
    assert "deviceid" not in _answer(directory_server, tenant, challenge, forged)
