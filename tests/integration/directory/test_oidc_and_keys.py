"""OpenID Connect discovery, JWKS and key rotation, token-endpoint errors and token checks at Graph
(learn.microsoft.com/entra/identity-platform/v2-protocols-oidc, access-token-claims-reference)."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest

from posturebridge.directory.auth import keys
from tests.integration.directory.conftest import DirectoryServer, SeededTenant
from tests.integration.directory.graph_support import app_token, graph

pytestmark = pytest.mark.integration


def test_discovery_document_by_guid_and_by_domain(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    with directory_server.client() as http:
        by_id = http.get(f"/{tenant.id}/v2.0/.well-known/openid-configuration").json()
        by_domain = http.get(f"/{tenant.domain}/v2.0/.well-known/openid-configuration").json()
        unknown = http.get("/nope.example/v2.0/.well-known/openid-configuration")
    assert by_id == by_domain
    assert by_id["issuer"] == f"{directory_server.url}/{tenant.id}/v2.0"
    assert by_id["token_endpoint"] == f"{directory_server.url}/{tenant.id}/oauth2/v2.0/token"
    assert by_id["jwks_uri"] == f"{directory_server.url}/{tenant.id}/discovery/v2.0/keys"
    assert "private_key_jwt" in by_id["token_endpoint_auth_methods_supported"]
    assert unknown.status_code == 400 and unknown.json()["error_codes"] == [90002]


def test_access_tokens_verify_against_the_published_keys(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    token = app_token(directory_server, tenant, ["Device.Read.All"])
    with directory_server.client() as http:
        jwks = http.get(f"/{tenant.id}/discovery/v2.0/keys").json()
    header = jwt.get_unverified_header(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(
        token, jwt.PyJWK(key).key, algorithms=["RS256"], audience="00000003-0000-0000-c000-000000000000"
    )
    assert claims["iss"] == f"{directory_server.url}/{tenant.id}/v2.0"
    assert claims["tid"] == tenant.id and claims["ver"] == "2.0" and claims["idtyp"] == "app"
    assert claims["roles"] == ["Device.Read.All"]
    assert claims["exp"] - claims["iat"] == 3599


def test_rotation_keeps_the_old_key_published_until_its_tokens_expire(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    old_token = app_token(directory_server, tenant, ["Device.Read.All"])
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    with directory_server.session() as session:
        keys.rotate(session, directory_server.clock())
        session.commit()
    directory_server.directory.keys.invalidate()
    new_token = app_token(directory_server, tenant, ["Device.Read.All"])
    assert jwt.get_unverified_header(new_token)["kid"] != old_kid
    with directory_server.client() as http:
        kids = {k["kid"] for k in http.get(f"/{tenant.id}/discovery/v2.0/keys").json()["keys"]}
    assert old_kid in kids, "tokens signed before the rotation still verify"
    with graph(directory_server, old_token) as client:
        assert client.get("/v1.0/devices").status_code == 200
    directory_server.clock.advance(keys.KEY_PUBLISH_GRACE + dt.timedelta(minutes=1))
    directory_server.directory.keys.invalidate()
    with directory_server.client() as http:
        kids = {k["kid"] for k in http.get(f"/{tenant.id}/discovery/v2.0/keys").json()["keys"]}
    assert old_kid not in kids


@pytest.mark.parametrize(
    ("form", "status", "error", "code"),
    [
        (
            {
                "grant_type": "client_credentials",
                "client_secret": "wrong",
                "scope": "https://graph.microsoft.com/.default",
            },
            401,
            "invalid_client",
            7000215,
        ),
        (
            {"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"},
            401,
            "invalid_client",
            7000218,
        ),
        (
            {"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/User.Read"},
            400,
            "invalid_scope",
            1002012,
        ),
        (
            {"grant_type": "client_credentials", "scope": "https://nowhere.example/.default"},
            400,
            "invalid_resource",
            500011,
        ),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
        ({}, 400, "invalid_request", 900144),
    ],
    ids=["wrong-secret", "no-credential", "not-default-scope", "unknown-resource", "unsupported-grant", "no-grant"],
)
def test_token_endpoint_errors_in_entras_shape(
    directory_server: DirectoryServer, tenant: SeededTenant, form: dict[str, str], status: int, error: str, code: int
) -> None:
    app = tenant.confidential_app
    body = {"client_id": app.client_id, **form}
    if form.get("client_secret") is None and form.get("grant_type") == "client_credentials" and code != 7000218:
        body["client_secret"] = app.secret
    with directory_server.client() as http:
        response = http.post(f"/{tenant.id}/oauth2/v2.0/token", data=body)
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["error"] == error
    assert payload["error_codes"] == [code]
    assert payload["error_description"].startswith(f"AADSTS{code}: ")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(payload)


def test_graph_refuses_expired_and_foreign_audience_tokens(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    token = app_token(directory_server, tenant, ["Device.Read.All"])
    with directory_server.client() as http:
        exchange = http.post(
            f"/{tenant.id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": tenant.confidential_app.client_id,
                "client_secret": tenant.confidential_app.secret,
                "scope": "https://outlook.office365.com/.default",
            },
        )
    assert exchange.status_code == 200, exchange.text
    with graph(directory_server, exchange.json()["access_token"]) as client:
        wrong = client.get("/v1.0/devices")
        assert wrong.status_code == 401 and wrong.json()["error"]["message"] == "Invalid audience."
    with graph(directory_server, token) as client:
        assert client.get("/v1.0/devices").status_code == 200
        directory_server.clock.advance(dt.timedelta(hours=2))
        expired = client.get("/v1.0/devices")
        assert expired.status_code == 401
        assert expired.json()["error"] == {
            **expired.json()["error"],
            "code": "InvalidAuthenticationToken",
            "message": "Lifetime validation failed, the token is expired.",
        }


def test_a_token_issued_after_the_directory_clock_moved_forward_is_valid_by_that_clock(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    directory_server.clock.advance(dt.timedelta(hours=3))  # iat/nbf three hours ahead of the wall clock
    token = app_token(directory_server, tenant, ["Device.Read.All"])
    with graph(directory_server, token) as client:
        assert client.get("/v1.0/devices").status_code == 200
        directory_server.clock.advance(dt.timedelta(hours=2))
        assert client.get("/v1.0/devices").status_code == 401
