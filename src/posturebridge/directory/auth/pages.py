"""Browser-facing routes of the identity platform: authorize, sign-in, consent, admin consent, PKeyAuth.

Paths as Entra serves them: ``/{tenant}/oauth2/v2.0/authorize`` (GET starts, POST is the sign-in form),
``/{tenant}/Consent/Set`` (the consent form), ``/common/DeviceAuthPKeyAuth`` (PKeyAuth SubmitUrl),
``/{tenant}/adminconsent`` and ``/{tenant}/v2.0/adminconsent`` (learn.microsoft.com/entra/
identity-platform/v2-admin-consent). Pages are server-rendered Jinja2 templates; the only script is
the auto-submit of ``response_mode=form_post``. The decisions live in `authorize` and `consent`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from posturebridge.common.database import unit_of_work
from posturebridge.directory.auth import tickets
from posturebridge.directory.auth.authorize import (
    AuthorizeParams,
    Client,
    RedirectableError,
    SignInError,
    admin_approval_required,
    check_client,
    check_request,
    check_user_may_use,
    consent_need,
    grant_user_consent,
    issue_code,
    resolve_path_tenant,
    sign_in,
)
from posturebridge.directory.auth.consent import grant_admin_consent, permission_views, requested_permissions
from posturebridge.directory.auth.devices import (
    advertises_pkeyauth,
    challenge_location,
    from_pkeyauth,
    issue_nonce,
    parse_pkeyauth_authorization,
)
from posturebridge.directory.auth.errors import OAuthError
from posturebridge.directory.auth.resources import RequestedScopes
from posturebridge.directory.context import Directory
from posturebridge.directory.models import Device, Tenant, User
from posturebridge.directory.registration.ca import find_device_ca
from posturebridge.directory.tenants import can_grant_admin_consent

_TEMPLATES = Environment(
    loader=PackageLoader("posturebridge.directory", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_NO_CACHE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache", "X-Frame-Options": "DENY"}
PKEYAUTH_SUBMIT_PATH = "/common/DeviceAuthPKeyAuth"
# The CertAuthorities Entra names in its PKeyAuth challenges when no tenant is known (device-identity.md §3.3).
_DEFAULT_CERT_AUTHORITY = "CN=MS-Organization-Access,DC=windows,DC=net"


def render(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_TEMPLATES.get_template(template).render(**context), status_code=status_code, headers=_NO_CACHE)


def error_page(error: OAuthError) -> HTMLResponse:
    body = error.body()
    return render(
        "error.html",
        400,
        code=error.code,
        message=error.message,
        trace_id=body["trace_id"],
        correlation_id=body["correlation_id"],
        timestamp=body["timestamp"],
    )


def _with(uri: str, separator: str, values: Mapping[str, str]) -> str:
    joiner = separator if separator not in uri else "&"
    return f"{uri}{joiner}{urlencode(values)}"


def respond(client: Client, params: AuthorizeParams, values: dict[str, str]) -> Response:
    """Deliver an authorization response (or error) in the requested response_mode."""
    if params.state:
        values = {**values, "state": params.state}
    if params.mode == "form_post":
        return render("form_post.html", action=client.redirect_uri, hidden=values)
    separator = "#" if params.mode == "fragment" else "?"
    return RedirectResponse(_with(client.redirect_uri, separator, values), status_code=302, headers=_NO_CACHE)


def respond_error(client: Client, params: AuthorizeParams, error: OAuthError) -> Response:
    return respond(client, params, {"error": error.error, "error_description": error.body()["error_description"]})


@dataclass(frozen=True)
class BrowserRequest:
    """What the flow needs from an HTTP request."""

    base_url: str
    session_cookie: str | None
    user_agent: str | None
    pkeyauth_header: str | None
    authorization: str | None
    ip_address: str | None

    @classmethod
    def of(cls, request: Request) -> BrowserRequest:
        return cls(
            base_url=str(request.base_url).rstrip("/"),
            session_cookie=request.cookies.get(tickets.SESSION_COOKIE),
            user_agent=request.headers.get("user-agent"),
            pkeyauth_header=request.headers.get("x-ms-pkeyauth") or request.headers.get("x-ms-pkeyauth+"),
            authorization=request.headers.get("authorization"),
            ip_address=request.client.host if request.client else None,
        )


@dataclass(frozen=True)
class AdminParams:
    client_id: str
    redirect_uri: str
    state: str
    scope: str
    version: int  # 1: /adminconsent, 2: /v2.0/adminconsent

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], version: int) -> AdminParams:
        return cls(
            client_id=str(values.get("client_id") or ""),
            redirect_uri=str(values.get("redirect_uri") or ""),
            state=str(values.get("state") or ""),
            scope=str(values.get("scope") or ""),
            version=version,
        )

    def hidden_fields(self) -> dict[str, str]:
        fields = {"client_id": self.client_id, "redirect_uri": self.redirect_uri, "state": self.state}
        if self.scope:
            fields["scope"] = self.scope
        return {name: value for name, value in fields.items() if value}

    def redirect(self, values: dict[str, str]) -> Response:
        if self.state:
            values = {**values, "state": self.state}
        return RedirectResponse(_with(self.redirect_uri, "?", values), status_code=302, headers=_NO_CACHE)

    def error(self, error: str, description: str) -> Response:
        if self.version == 2:
            return self.redirect({"admin_consent": "True", "error": error, "error_description": description})
        return self.redirect({"error": error, "error_description": description})


class Flows:
    """The authorize and admin consent flows; every method runs in a worker thread with its own session."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    # --- shared helpers ---------------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return self.directory.clock()

    def _session_user(self, session: Session, browser: BrowserRequest, tenant: Tenant | None) -> User | None:
        claims = tickets.read(self.directory.tokens, "session", browser.session_cookie, self._now())
        if claims is None:
            return None
        user = session.get(User, claims.get("sub"))
        if user is None or not user.account_enabled or (tenant is not None and user.tenant_id != tenant.id):
            return None
        return user

    def _set_session(self, response: Response, user: User) -> Response:
        value = tickets.issue(
            self.directory.tokens,
            "session",
            {"sub": user.id, "tid": user.tenant_id, "amr": ["pwd"]},
            self._now(),
            tickets.SESSION_LIFETIME,
        )
        response.set_cookie(
            tickets.SESSION_COOKIE,
            value,
            max_age=int(tickets.SESSION_LIFETIME.total_seconds()),
            path="/",
            secure=True,
            httponly=True,
            samesite="lax",
        )
        return response

    def _device_of(self, device_ticket: str | None, user: User) -> str | None:
        claims = tickets.read(self.directory.tokens, "device", device_ticket, self._now())
        if claims is None or claims.get("tid") != user.tenant_id:
            return None
        device_id = claims.get("did")
        return device_id if isinstance(device_id, str) else None

    def _sign_in_page(
        self,
        action: str,
        hidden: dict[str, str],
        *,
        login: str = "",
        error: SignInError | None = None,
        heading: str = "Sign in",
        purpose: str | None = None,
    ) -> HTMLResponse:
        return render(
            "signin.html", action=action, hidden=hidden, login=login, error=error, heading=heading, purpose=purpose
        )

    # --- authorize --------------------------------------------------------------------------------

    def _open(
        self, session: Session, tenant_name: str, params: AuthorizeParams
    ) -> tuple[Tenant | None, Client, RequestedScopes]:
        tenant = resolve_path_tenant(session, tenant_name)
        client = check_client(session, tenant, tenant_name, params.client_id, params.redirect_uri)
        try:
            scopes = check_request(params, client, tenant_name)
        except RedirectableError as failure:
            raise _Redirect(respond_error(client, params, failure.error)) from None
        return tenant, client, scopes

    def _guarded(self, run: Callable[[Session], Response]) -> Response:
        with unit_of_work(self.directory.sessions) as session:
            try:
                response = run(session)
            except _Redirect as redirect:
                return redirect.response
            except OAuthError as error:
                return error_page(error)
            session.commit()
            return response

    def start(self, tenant_name: str, params: AuthorizeParams, browser: BrowserRequest) -> Response:
        def run(session: Session) -> Response:
            tenant, client, scopes = self._open(session, tenant_name, params)
            if advertises_pkeyauth(browser.user_agent, browser.pkeyauth_header):
                return self._pkeyauth_challenge(session, tenant_name, tenant, params, browser)
            return self._continue(session, tenant_name, tenant, client, params, scopes, None, browser)

        return self._guarded(run)

    def _pkeyauth_challenge(
        self,
        session: Session,
        tenant_name: str,
        tenant: Tenant | None,
        params: AuthorizeParams,
        browser: BrowserRequest,
    ) -> Response:
        now = self._now()
        nonce = issue_nonce(session, tenant.id if tenant else None, now)
        context = tickets.issue(
            self.directory.tokens,
            "pkeyauth",
            {"tn": tenant_name, "q": params.hidden_fields(), "n": nonce},
            now,
            tickets.FLOW_LIFETIME,
        )
        ca = find_device_ca(session, tenant.id) if tenant is not None else None
        location = challenge_location(
            cert_authorities=ca.name if ca is not None else _DEFAULT_CERT_AUTHORITY,
            context=context,
            nonce=nonce,
            submit_url=browser.base_url + PKEYAUTH_SUBMIT_PATH,
            tenant_id=tenant.id if tenant else None,
        )
        return RedirectResponse(location, status_code=302, headers=_NO_CACHE)

    def pkeyauth_response(self, browser: BrowserRequest) -> Response:
        """The client's answer at SubmitUrl: verify the device, then go on with the original request."""

        def run(session: Session) -> Response:
            answer = parse_pkeyauth_authorization(browser.authorization) or {}
            context = tickets.read(self.directory.tokens, "pkeyauth", answer.get("Context"), self._now())
            if context is None:
                raise OAuthError(
                    "invalid_request", 50155, "Device authentication failed: the PKeyAuth context is invalid."
                )
            evidence = from_pkeyauth(
                session,
                answer.get("AuthToken"),
                nonce=str(context["n"]),
                submit_url=browser.base_url + PKEYAUTH_SUBMIT_PATH,
                now=self._now(),
            )
            device_ticket = None
            if evidence.device_id is not None:
                device_ticket = tickets.issue(
                    self.directory.tokens,
                    "device",
                    {"did": evidence.device_id, "tid": _device_tenant(session, evidence.device_id)},
                    self._now(),
                    tickets.FLOW_LIFETIME,
                )
            tenant_name = str(context["tn"])
            params = AuthorizeParams.from_mapping(context["q"])
            tenant, client, scopes = self._open(session, tenant_name, params)
            return self._continue(session, tenant_name, tenant, client, params, scopes, device_ticket, browser)

        return self._guarded(run)

    def _continue(
        self,
        session: Session,
        tenant_name: str,
        tenant: Tenant | None,
        client: Client,
        params: AuthorizeParams,
        scopes: RequestedScopes,
        device_ticket: str | None,
        browser: BrowserRequest,
    ) -> Response:
        user = self._session_user(session, browser, tenant)
        if user is None or params.prompt in ("login", "select_account"):
            if params.prompt == "none":
                return respond_error(
                    client,
                    params,
                    OAuthError(
                        "login_required",
                        50058,
                        "A silent sign-in request was sent but no user is signed in. The cookies used to represent the "
                        "user's session were not sent in the request to Azure AD.",
                    ),
                )
            hidden = params.hidden_fields() | ({"device_ticket": device_ticket} if device_ticket else {})
            login = params.login_hint or (user.user_principal_name if user is not None else "")
            return self._sign_in_page(f"/{tenant_name}/oauth2/v2.0/authorize", hidden, login=login)
        return self._after_sign_in(session, tenant_name, client, params, scopes, user, device_ticket, browser)

    def sign_in(self, tenant_name: str, form: Mapping[str, str], browser: BrowserRequest) -> Response:
        params = AuthorizeParams.from_mapping(form)
        device_ticket = form.get("device_ticket") or None

        def run(session: Session) -> Response:
            tenant, client, scopes = self._open(session, tenant_name, params)
            try:
                user = sign_in(session, tenant, form.get("login", ""), form.get("passwd", ""))
            except SignInError as failure:
                hidden = params.hidden_fields() | ({"device_ticket": device_ticket} if device_ticket else {})
                action = f"/{tenant_name}/oauth2/v2.0/authorize"
                return self._sign_in_page(action, hidden, login=form.get("login", ""), error=failure)
            try:
                check_user_may_use(client, user)
            except RedirectableError as failure:
                return respond_error(client, params, failure.error)
            response = self._after_sign_in(session, tenant_name, client, params, scopes, user, device_ticket, browser)
            return self._set_session(response, user)

        return self._guarded(run)

    def _after_sign_in(
        self,
        session: Session,
        tenant_name: str,
        client: Client,
        params: AuthorizeParams,
        scopes: RequestedScopes,
        user: User,
        device_ticket: str | None,
        browser: BrowserRequest,
    ) -> Response:
        now = self._now()
        try:
            check_user_may_use(client, user)
            need = consent_need(
                session, user, client, scopes, tenant_name=tenant_name, always=params.prompt == "consent", now=now
            )
            if need.scopes or params.prompt == "consent":
                if params.prompt == "none":
                    raise RedirectableError(
                        OAuthError(
                            "consent_required",
                            65001,
                            f"The user or administrator has not consented to use the application with ID "
                            f"'{client.application.app_id}' named '{client.application.display_name}'. Send an "
                            "interactive authorization request for this user and resource.",
                        )
                    )
                if need.admin_only and not can_grant_admin_consent(session, user.tenant_id, user.id):
                    raise admin_approval_required(client)
                flow = tickets.issue(
                    self.directory.tokens,
                    "consent",
                    {
                        "sub": user.id,
                        "tid": user.tenant_id,
                        "cid": client.application.app_id,
                        "ruri": client.redirect_uri,
                        "scope": params.scope,
                        "dev": device_ticket,
                    },
                    now,
                    tickets.FLOW_LIFETIME,
                )
                return render(
                    "consent.html",
                    action=f"/{tenant_name}/Consent/Set",
                    hidden=params.hidden_fields() | {"flow": flow},
                    app_name=client.application.display_name,
                    publisher=None,
                    permissions=need.views,
                    admin=False,
                    user=user.user_principal_name,
                    tenant_name=tenant_name,
                )
        except RedirectableError as failure:
            return respond_error(client, params, failure.error)
        code = issue_code(
            session,
            user,
            client,
            params,
            device_id=self._device_of(device_ticket, user),
            auth_methods=["pwd"],
            now=now,
        )
        return respond(client, params, {"code": code})

    def consent(self, tenant_name: str, form: Mapping[str, str], browser: BrowserRequest) -> Response:
        params = AuthorizeParams.from_mapping(form)

        def run(session: Session) -> Response:
            _, client, scopes = self._open(session, tenant_name, params)
            now = self._now()
            flow = tickets.read(self.directory.tokens, "consent", form.get("flow"), now)
            if (
                flow is None
                or flow.get("cid") != client.application.app_id
                or flow.get("ruri") != client.redirect_uri
                or flow.get("scope") != params.scope
            ):
                raise OAuthError(
                    "invalid_request", 50058, "The consent request has expired or is invalid; sign in again."
                )
            user = session.get(User, flow["sub"])
            if user is None or not user.account_enabled:
                raise OAuthError("invalid_grant", 50057, "The user account is disabled.")
            if form.get("decision") != "accept":
                return respond_error(
                    client,
                    params,
                    OAuthError("access_denied", 65004, "User declined to consent to access the app."),
                )
            try:
                need = consent_need(session, user, client, scopes, tenant_name=tenant_name, always=False, now=now)
                grant_user_consent(session, user, client, need, ip_address=browser.ip_address, now=now)
            except RedirectableError as failure:
                return respond_error(client, params, failure.error)
            device_ticket = flow.get("dev")
            code = issue_code(
                session,
                user,
                client,
                params,
                device_id=self._device_of(device_ticket if isinstance(device_ticket, str) else None, user),
                auth_methods=["pwd"],
                now=now,
            )
            return respond(client, params, {"code": code})

        return self._guarded(run)

    # --- admin consent ----------------------------------------------------------------------------

    def _admin_open(self, session: Session, tenant_name: str, params: AdminParams) -> tuple[Tenant | None, Client]:
        if params.version == 2 and tenant_name.lower() == "common":
            raise OAuthError(
                "invalid_request",
                50059,
                "No tenant-identifying information found in either the request or implied by any provided "
                "credentials. Use a tenant id, a verified domain or 'organizations' for admin consent, not 'common'.",
            )
        tenant = resolve_path_tenant(session, tenant_name)
        if not params.redirect_uri:
            raise OAuthError(
                "invalid_request", 900144, "The request body must contain the following parameter: 'redirect_uri'."
            )
        client = check_client(session, tenant, tenant_name, params.client_id, params.redirect_uri)
        if params.version == 2 and not params.scope:
            raise _Redirect(
                params.error("invalid_request", _description(900144, "The request must contain the 'scope' parameter."))
            )
        return tenant, client

    def admin_start(self, tenant_name: str, params: AdminParams, browser: BrowserRequest) -> Response:
        def run(session: Session) -> Response:
            tenant, client = self._admin_open(session, tenant_name, params)
            user = self._session_user(session, browser, tenant)
            if user is None:
                return self._admin_sign_in_page(tenant_name, params, client)
            return self._admin_review(session, tenant_name, params, client, user)

        return self._guarded(run)

    def _admin_sign_in_page(
        self, tenant_name: str, params: AdminParams, client: Client, error: SignInError | None = None, login: str = ""
    ) -> HTMLResponse:
        path = "/v2.0/adminconsent" if params.version == 2 else "/adminconsent"
        return self._sign_in_page(
            f"/{tenant_name}{path}",
            params.hidden_fields(),
            login=login,
            error=error,
            heading="Sign in with an administrator account",
            purpose=f"{client.application.display_name} needs permission to access resources in your organization.",
        )

    def admin_sign_in(
        self, tenant_name: str, form: Mapping[str, str], version: int, browser: BrowserRequest
    ) -> Response:
        params = AdminParams.from_mapping(form, version)

        def run(session: Session) -> Response:
            tenant, client = self._admin_open(session, tenant_name, params)
            try:
                user = sign_in(session, tenant, form.get("login", ""), form.get("passwd", ""))
            except SignInError as failure:
                return self._admin_sign_in_page(tenant_name, params, client, failure, form.get("login", ""))
            return self._set_session(self._admin_review(session, tenant_name, params, client, user), user)

        return self._guarded(run)

    def _admin_review(
        self, session: Session, tenant_name: str, params: AdminParams, client: Client, user: User
    ) -> Response:
        now = self._now()
        if not can_grant_admin_consent(session, user.tenant_id, user.id):
            return params.error(
                "consent_required" if params.version == 2 else "permission_denied",
                _description(
                    90094,
                    f"The app '{client.application.display_name}' needs permission to access resources in your "
                    "organization that only an admin can grant. Please ask an admin to grant permission to this app "
                    "before you can use it.",
                ),
            )
        tenant = session.get(Tenant, user.tenant_id)
        assert tenant is not None
        check_client(session, tenant, tenant_name, params.client_id, params.redirect_uri)
        try:
            requested = requested_permissions(session, tenant, client.application, params.scope, now=now)
        except OAuthError as error:
            return params.error(error.error, error.body()["error_description"])
        flow = tickets.issue(
            self.directory.tokens,
            "adminconsent",
            {
                "sub": user.id,
                "tid": tenant.id,
                "cid": client.application.app_id,
                "ruri": client.redirect_uri,
                "scope": params.scope,
                "v": params.version,
            },
            now,
            tickets.FLOW_LIFETIME,
        )
        return render(
            "consent.html",
            action=f"/{tenant_name}/adminconsent/decision",
            hidden=params.hidden_fields() | {"flow": flow},
            app_name=client.application.display_name,
            publisher=None,
            permissions=permission_views(session, tenant, requested, now=now),
            admin=True,
            user=user.user_principal_name,
            tenant_name=tenant.display_name,
        )

    def admin_decision(self, tenant_name: str, form: Mapping[str, str], browser: BrowserRequest) -> Response:
        def run(session: Session) -> Response:
            now = self._now()
            flow = tickets.read(self.directory.tokens, "adminconsent", form.get("flow"), now)
            if flow is None or flow.get("cid") != form.get("client_id") or flow.get("ruri") != form.get("redirect_uri"):
                raise OAuthError(
                    "invalid_request", 50058, "The consent request has expired or is invalid; sign in again."
                )
            params = AdminParams.from_mapping({**form, "scope": flow.get("scope", "")}, int(flow["v"]))
            _, client = self._admin_open(session, tenant_name, params)
            user = session.get(User, flow["sub"])
            tenant = session.get(Tenant, flow["tid"])
            if user is None or tenant is None or not user.account_enabled:
                raise OAuthError("invalid_grant", 50057, "The user account is disabled.")
            if form.get("decision") != "accept":
                if params.version == 2:
                    description = _description(65004, "The resource owner or authorization server denied the request.")
                    return params.error("consent_required", description)
                return params.error("permission_denied", "The admin canceled the request")
            if not can_grant_admin_consent(session, tenant.id, user.id):
                return params.error("permission_denied", _description(90094, "Admin consent is required."))
            try:
                requested = requested_permissions(session, tenant, client.application, params.scope, now=now)
            except OAuthError as error:
                return params.error(error.error, error.body()["error_description"])
            grant_admin_consent(
                session, tenant, user, client.application, requested, ip_address=browser.ip_address, now=now
            )
            if params.version == 2:
                return params.redirect({"admin_consent": "True", "tenant": tenant.id, "scope": params.scope})
            return params.redirect({"tenant": tenant.id, "admin_consent": "True"})

        return self._guarded(run)


class _Redirect(Exception):
    """Unwinds a flow with a ready redirect response."""

    def __init__(self, response: Response) -> None:
        super().__init__("redirect")
        self.response = response


def _description(code: int, message: str) -> str:
    return str(OAuthError("x", code, message).body()["error_description"])


def _device_tenant(session: Session, device_id: str) -> str | None:
    return session.scalars(select(Device.tenant_id).where(Device.device_id == device_id)).first()


def router(directory: Directory) -> APIRouter:
    api = APIRouter(tags=["identity platform pages"], include_in_schema=False)
    flows = Flows(directory)
    stylesheet = (resources.files("posturebridge.directory") / "templates" / "posturebridge.css").read_text()

    async def form_of(request: Request) -> dict[str, str]:
        return {key: value for key, value in (await request.form()).items() if isinstance(value, str)}

    @api.get("/shared/posturebridge.css")
    async def css() -> Response:
        return Response(stylesheet, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    @api.get("/{tenant}/oauth2/v2.0/authorize")
    async def authorize(tenant: str, request: Request) -> Response:
        params = AuthorizeParams.from_mapping(request.query_params)
        return await run_in_threadpool(flows.start, tenant, params, BrowserRequest.of(request))

    @api.post("/{tenant}/oauth2/v2.0/authorize")
    async def authorize_sign_in(tenant: str, request: Request) -> Response:
        return await run_in_threadpool(flows.sign_in, tenant, await form_of(request), BrowserRequest.of(request))

    @api.post("/{tenant}/Consent/Set")
    async def consent(tenant: str, request: Request) -> Response:
        return await run_in_threadpool(flows.consent, tenant, await form_of(request), BrowserRequest.of(request))

    @api.get(PKEYAUTH_SUBMIT_PATH)
    async def pkeyauth(request: Request) -> Response:
        return await run_in_threadpool(flows.pkeyauth_response, BrowserRequest.of(request))

    def admin_routes(version: int) -> tuple[Callable[..., Any], Callable[..., Any]]:
        async def start(tenant: str, request: Request) -> Response:
            params = AdminParams.from_mapping(request.query_params, version)
            return await run_in_threadpool(flows.admin_start, tenant, params, BrowserRequest.of(request))

        async def sign_in(tenant: str, request: Request) -> Response:
            form = await form_of(request)
            return await run_in_threadpool(flows.admin_sign_in, tenant, form, version, BrowserRequest.of(request))

        return start, sign_in

    for version, path in ((1, "/{tenant}/adminconsent"), (2, "/{tenant}/v2.0/adminconsent")):
        start, sign_in = admin_routes(version)
        api.add_api_route(path, start, methods=["GET"])
        api.add_api_route(path, sign_in, methods=["POST"])

    @api.post("/{tenant}/adminconsent/decision")
    async def admin_decision(tenant: str, request: Request) -> Response:
        return await run_in_threadpool(flows.admin_decision, tenant, await form_of(request), BrowserRequest.of(request))

    return api
