"""The authorize endpoint with msal and with a plain HTTP client: sign-in, consent, response modes, errors."""

from __future__ import annotations

from urllib.parse import urlsplit

import msal
from sqlalchemy import select

from posturebridge.directory.models import DirectoryAudit, OAuth2PermissionGrant
from tests.integration.directory.browser import (
    authorize_url,
    follow,
    form_of,
    pkce_pair,
    redirect_params,
    sign_in,
    submit,
)
from tests.integration.directory.conftest import DirectoryServer, SeededTenant
from tests.integration.directory.helpers import claims_of


def _authorize(server: DirectoryServer, tenant: SeededTenant, tenant_path: str | None = None, **params: str) -> str:
    defaults = {
        "client_id": tenant.confidential_app.client_id,
        "response_type": "code",
        "redirect_uri": tenant.confidential_app.redirect_uri,
        "scope": "openid User.Read",
        "state": "xyz",
    }
    return authorize_url(server.url, tenant_path or tenant.id, **(defaults | params))


def test_msal_public_client_code_flow_with_consent_then_silent_refresh(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    app = msal.PublicClientApplication(
        tenant.public_app.client_id,
        authority=directory_server.authority(tenant.id),
        instance_discovery=False,
        http_client=directory_server.msal_http_client(),
    )
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=tenant.public_app.redirect_uri)
    with directory_server.client() as http:
        page = http.get(flow["auth_uri"])
        assert page.status_code == 200 and 'name="passwd"' in page.text
        consent = sign_in(http, page, tenant.user.upn, tenant.user.password)
        assert "Permissions requested" in consent.text and "User.Read" in consent.text
        response = follow(http, submit(http, consent, decision="accept"), tenant.public_app.redirect_uri)
    result = app.acquire_token_by_auth_code_flow(flow, redirect_params(response))
    assert "access_token" in result, result
    claims = claims_of(result["access_token"])
    assert claims["scp"] == "User.Read"
    assert claims["oid"] == tenant.user.id
    assert "deviceid" not in claims
    assert result["id_token_claims"]["preferred_username"] == tenant.user.upn

    account = app.get_accounts()[0]
    refreshed = app.acquire_token_silent(["User.Read"], account=account, force_refresh=True)
    assert refreshed is not None and "access_token" in refreshed, refreshed
    assert refreshed["token_source"] == "identity_provider"
    assert refreshed["access_token"] != result["access_token"]

    with directory_server.session() as session:
        grants = [
            (grant.consent_type, grant.principal_id, grant.scope)
            for grant in session.scalars(
                select(OAuth2PermissionGrant).where(OAuth2PermissionGrant.tenant_id == tenant.id)
            )
        ]
        activities = set(
            session.scalars(select(DirectoryAudit.activity_display_name).where(DirectoryAudit.tenant_id == tenant.id))
        )
    assert grants == [("Principal", tenant.user.id, "User.Read")]
    assert "Consent to application" in activities


def test_declined_consent_redirects_with_access_denied_and_grants_nothing(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    with directory_server.client() as http:
        consent = sign_in(http, http.get(_authorize(directory_server, tenant)), tenant.user.upn, tenant.user.password)
        params = redirect_params(submit(http, consent, decision="cancel"))
    assert params["error"] == "access_denied"
    assert params["error_description"].startswith("AADSTS65004")
    assert params["state"] == "xyz"
    with directory_server.session() as session:
        assert (
            session.scalars(select(OAuth2PermissionGrant).where(OAuth2PermissionGrant.tenant_id == tenant.id)).first()
            is None
        )


def test_second_authorize_uses_the_sign_in_session_and_prior_consent(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    with directory_server.client() as http:
        consent = sign_in(http, http.get(_authorize(directory_server, tenant)), tenant.user.upn, tenant.user.password)
        assert "code" in redirect_params(submit(http, consent, decision="accept"))
        silent = http.get(_authorize(directory_server, tenant, prompt="none", state="again"))
        params = redirect_params(silent)
    assert "code" in params and params["state"] == "again"


def test_prompt_none_without_a_session_is_login_required(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    with directory_server.client() as http:
        params = redirect_params(http.get(_authorize(directory_server, tenant, prompt="none")))
    assert params["error"] == "login_required"
    assert params["error_description"].startswith("AADSTS50058")


def test_wrong_password_shows_the_form_again_with_aadsts50126(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    with directory_server.client() as http:
        again = sign_in(http, http.get(_authorize(directory_server, tenant)), tenant.user.upn, "not-the-password")
    assert again.status_code == 200
    assert "AADSTS50126" in again.text
    assert "invalid username or password" in again.text
    assert form_of(again).fields["client_id"] == tenant.confidential_app.client_id
    assert "ESTSAUTH" not in again.cookies


def test_disabled_user_is_told_aadsts50057(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    with directory_server.client() as http:
        page = http.get(_authorize(directory_server, tenant))
        again = sign_in(http, page, tenant.disabled_user.upn, tenant.disabled_user.password)
    assert again.status_code == 200 and "AADSTS50057" in again.text


def test_unregistered_redirect_uri_shows_aadsts50011_and_never_redirects(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    with directory_server.client() as http:
        response = http.get(_authorize(directory_server, tenant, redirect_uri="https://evil.example/cb"))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "AADSTS50011" in response.text


def test_unknown_client_and_unknown_tenant_show_the_error_page(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    with directory_server.client() as http:
        unknown_client = http.get(
            _authorize(directory_server, tenant, client_id="00000000-0000-0000-0000-000000000001")
        )
        unknown_tenant = http.get(_authorize(directory_server, tenant, tenant_path="nowhere.example"))
    assert unknown_client.status_code == 400 and "AADSTS700016" in unknown_client.text
    assert unknown_tenant.status_code == 400 and "AADSTS90002" in unknown_tenant.text


def test_other_request_errors_are_redirected_with_state(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    with directory_server.client() as http:
        token_type = redirect_params(http.get(_authorize(directory_server, tenant, response_type="token")))
        pkce_method = redirect_params(
            http.get(_authorize(directory_server, tenant, code_challenge="a" * 43, code_challenge_method="S512"))
        )
        no_scope = redirect_params(http.get(_authorize(directory_server, tenant, scope="")))
        common = redirect_params(http.get(_authorize(directory_server, tenant, tenant_path="common")))
    assert token_type["error"] == "unsupported_response_type" and token_type["state"] == "xyz"
    assert pkce_method["error"] == "invalid_request"
    assert no_scope["error"] == "invalid_scope"
    assert common["error"] == "invalid_request" and common["error_description"].startswith("AADSTS50194")


def test_form_post_and_fragment_response_modes(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    with directory_server.client() as http:
        consent = sign_in(
            http,
            http.get(_authorize(directory_server, tenant, response_mode="form_post")),
            tenant.user.upn,
            tenant.user.password,
        )
        posted = submit(http, consent, decision="accept")
        fragment = http.get(_authorize(directory_server, tenant, response_mode="fragment", prompt="none"))
    assert posted.status_code == 200
    form = form_of(posted)
    assert form.action == tenant.confidential_app.redirect_uri and form.method == "post"
    assert form.fields["state"] == "xyz" and form.fields["code"]
    assert "document.forms.hiddenform.submit()" in posted.text
    location = urlsplit(fragment.headers["location"])
    assert location.query == "" and "code=" in location.fragment


def test_plain_pkce_is_checked_at_redemption(directory_server: DirectoryServer, tenant: SeededTenant) -> None:
    verifier, _ = pkce_pair()
    app = tenant.public_app
    with directory_server.client() as http:
        url = _authorize(
            directory_server,
            tenant,
            client_id=app.client_id,
            redirect_uri=app.redirect_uri,
            scope="openid",
            code_challenge=verifier,
            code_challenge_method="plain",
        )
        code = redirect_params(sign_in(http, http.get(url), tenant.user.upn, tenant.user.password))["code"]
        form = {
            "grant_type": "authorization_code",
            "client_id": app.client_id,
            "code": code,
            "redirect_uri": app.redirect_uri,
        }
        wrong = http.post(f"/{tenant.id}/oauth2/v2.0/token", data=form | {"code_verifier": "x" * 43})
        right = http.post(f"/{tenant.id}/oauth2/v2.0/token", data=form | {"code_verifier": verifier})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert right.status_code == 200, right.text


def test_common_endpoint_signs_in_a_user_of_a_multi_tenant_app(
    directory_server: DirectoryServer, tenant: SeededTenant
) -> None:
    from posturebridge.directory.models import Application

    with directory_server.session() as session:
        application = session.get(Application, tenant.public_app.object_id)
        assert application is not None
        application.sign_in_audience = "AzureADMultipleOrgs"
        session.commit()
    app = msal.PublicClientApplication(
        tenant.public_app.client_id,
        authority=f"{directory_server.url}/organizations",
        instance_discovery=False,
        http_client=directory_server.msal_http_client(),
    )
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=tenant.public_app.redirect_uri)
    with directory_server.client() as http:
        consent = sign_in(http, http.get(flow["auth_uri"]), tenant.user.upn, tenant.user.password)
        response = submit(http, consent, decision="accept")
    result = app.acquire_token_by_auth_code_flow(flow, redirect_params(response))
    assert "access_token" in result, result
    assert claims_of(result["access_token"])["tid"] == tenant.id
