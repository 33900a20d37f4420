"""One simulated device: Intelligent Hub (MDM enrolment, check-ins, notifications) plus the broker
(Entra registration, device-bound sign-in), as a real HTTP client of the MDM and the directory.

The flows, as the seed describes them:

- enrolment and posture: ``POST /api/v1/enroll`` with an enrolment token, then posture samples
  (``sequence``, ``nonce``, ``sampledDateTime`` from the injected clock) at ``POST /devices/{id}/samples``;
- registration: follow a registration deep link (`posturebridge.device.deeplinks`, strict), sign the
  user in with authorization code + PKCE through the directory's sign-in form, register (or, on
  Windows, join) the device key with the Device Registration Service, hand the Entra deviceId to the
  MDM (``PUT /device/entraDeviceId``);
- sign-in to an app: a ``srv_challenge`` nonce, a device proof over it in ``x-ms-DeviceCredential``
  on the token request (authorization code when interactive, the broker's refresh token when silent).
  A Conditional Access refusal comes back as `SignInBlocked` with what the user should do next.

Everything the device must remember lives in its state file (`posturebridge.device.state`), saved
after each step, so a restarted agent carries on. The agent never imports the MDM's or the directory's
internals: it speaks HTTP to both (the MDM through `posturebridge.mdm.client`).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
from cryptography import x509
from cryptography.x509.oid import NameOID

from posturebridge.device.browser import first_form, new_pkce
from posturebridge.device.deeplinks import DeepLinkError, LinkForm, RegistrationLink, parse_registration_link
from posturebridge.device.deeplinks import registration_link as build_registration_link
from posturebridge.device.keys import (
    DeviceKey,
    DeviceKeyError,
    certificate_request_body,
    certificate_signing_request,
    generate_device_key,
    load_private_key_pem,
    private_key_to_pem,
    same_public_key,
    sign_device_proof,
)
from posturebridge.device.platforms import Platform as BrokerPlatform
from posturebridge.device.state import AgentState, AgentStateError, load_state, save_state
from posturebridge.mdm.client import MdmApiError, MdmClient
from posturebridge.mdm.schemas import CheckInResponse, DeviceOut, NotificationOut, SensorReportOut

# The DRS resource and the delegated scope a broker asks for before it registers a device
# (device-identity.md §1.2).
DRS_SCOPE = "urn:ms-drs:enterpriseregistration.windows.net/user_impersonation"
DRS_JOIN_PATH = "/EnrollmentServer/device/?api-version=2.0"
DRS_TARGET_DOMAIN = "enterpriseregistration.windows.net"
DEVICE_CREDENTIAL_HEADER = "x-ms-DeviceCredential"
JOIN_TYPE_JOINED = 0
JOIN_TYPE_REGISTERED = 4
_TRUST_TYPES = {JOIN_TYPE_JOINED: "AzureAd", JOIN_TYPE_REGISTERED: "Workplace"}
_MAX_BROWSER_STEPS = 10
_AADSTS = re.compile(r"AADSTS(\d+)")
DEFAULT_TIMEOUT = 30.0

Clock = Callable[[], dt.datetime]


class DevicePlatform(StrEnum):
    """The device's platform, spelled as the MDM's API spells it."""

    IOS = "iOS"
    IPADOS = "iPadOS"
    ANDROID = "android"
    MACOS = "macOS"
    WINDOWS = "windows"
    LINUX = "linux"


@dataclass(frozen=True)
class _PlatformProfile:
    drs_device_type: str
    """``DeviceType`` in the join body, which the directory stores as the device's operatingSystem."""
    join_type: int
    broker_platform: BrokerPlatform | None
    """The platform whose Hub and broker the deep links module knows; None where only the wsonehub form applies."""
    model: str
    os_version: str


# Registry of platforms; defaults are plausible current devices (inferred), the caller may override them.
_PROFILES: Mapping[DevicePlatform, _PlatformProfile] = MappingProxyType(
    {
        DevicePlatform.IOS: _PlatformProfile("iOS", JOIN_TYPE_REGISTERED, BrokerPlatform.IOS, "iPhone15,2", "17.4.1"),
        DevicePlatform.IPADOS: _PlatformProfile(
            "iPadOS", JOIN_TYPE_REGISTERED, BrokerPlatform.IOS, "iPad14,3", "17.4.1"
        ),
        DevicePlatform.ANDROID: _PlatformProfile(
            "Android", JOIN_TYPE_REGISTERED, BrokerPlatform.ANDROID, "Pixel 8", "14"
        ),
        DevicePlatform.MACOS: _PlatformProfile(
            "macOS", JOIN_TYPE_REGISTERED, BrokerPlatform.MACOS, "MacBookPro18,3", "14.4.1"
        ),
        DevicePlatform.WINDOWS: _PlatformProfile(
            "Windows", JOIN_TYPE_JOINED, None, "Surface Laptop 5", "10.0.22631.3447"
        ),
        DevicePlatform.LINUX: _PlatformProfile("Linux", JOIN_TYPE_REGISTERED, None, "ThinkPad X1 Carbon", "22.04"),
    }
)


def platform_defaults(platform: DevicePlatform) -> tuple[str, str]:
    """(model, OS version) a new simulated device of `platform` reports unless told otherwise."""
    profile = _PROFILES[platform]
    return profile.model, profile.os_version


def posture_sample(posture: Mapping[str, Any], sequence: int, now: dt.datetime) -> dict[str, Any]:
    """A check-in body: the posture (MDM wire names) with its sequence, a fresh nonce and the sample time."""
    return {**posture, "sequence": sequence, "nonce": secrets.token_hex(16), "sampledDateTime": _timestamp(now)}


# --- errors and results --------------------------------------------------------------------------


class AgentError(Exception):
    """The agent cannot do what was asked in its current state (not enrolled, already registered, ...)."""


class SignInError(AgentError):
    """The directory refused a sign-in step for a reason other than Conditional Access."""

    def __init__(self, message: str, *, error: str = "", error_code: int | None = None, status_code: int = 0) -> None:
        super().__init__(message)
        self.error = error
        self.error_code = error_code
        self.status_code = status_code


class DirectoryUnreachableError(AgentError):
    """The directory could not be reached (connection, TLS or timeout failure)."""


class InteractionRequiredError(SignInError):
    """The directory shows the sign-in form and the agent was given no password to fill it in."""


class RegistrationError(AgentError):
    """The Device Registration Service refused the join request ([MS-DVRJ] ErrorDetails)."""

    def __init__(self, error_type: str, message: str, status_code: int) -> None:
        super().__init__(f"{error_type}: {message} (HTTP {status_code})")
        self.error_type = error_type
        self.message = message
        self.status_code = status_code


@dataclass(frozen=True)
class TokenResponse:
    """A successful token response (OAuth names, as on the wire)."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    id_token: str | None = None


@dataclass(frozen=True)
class SignInBlocked:
    """The directory refused the sign-in under Conditional Access (or because of the device).

    `remediation` is where the user goes next: the registration deep link when the device is unknown
    (AADSTS50097), the MDM's compliance page for the device when it is not compliant (AADSTS53000),
    None when the code has no device-side remedy.
    """

    error_code: int
    description: str
    remediation: str | None


@dataclass(frozen=True)
class Registration:
    entra_device_id: str
    trust_type: str
    tenant_id: str
    user_principal_name: str
    link: RegistrationLink


@dataclass(frozen=True)
class BrokerApplication:
    """The broker's client registration in the tenant (until the directory ships a first-party broker)."""

    client_id: str
    redirect_uri: str


@dataclass(frozen=True)
class AgentEndpoints:
    mdm_url: str
    directory_url: str
    broker: BrokerApplication
    tenant: str = "organizations"
    """The authority's tenant segment before registration; afterwards the agent uses the tenant it registered in."""
    compliance_page: str = "{mdm_url}/compliance/{device_id}"
    """The MDM's compliance page of the device without its signed link token: where the user is sent only when
    the MDM cannot hand out a link (the page then says to open it from the Hub)."""


class ProofSigner(Protocol):
    """Signs the device proof; `keys.sign_device_proof` in production, swappable in tests."""

    def __call__(
        self,
        key: DeviceKey,
        *,
        nonce: str,
        audience: str,
        client_id: str,
        now: dt.datetime,
        device_certificate: bytes | None = None,
    ) -> str: ...


# --- the agent -----------------------------------------------------------------------------------


class DeviceAgent:
    """One device. Not thread-safe: a device does one thing at a time."""

    def __init__(
        self,
        state_path: Path,
        state: AgentState,
        endpoints: AgentEndpoints,
        *,
        clock: Clock,
        directory_http: httpx.Client | None = None,
        mdm_http: httpx.Client | None = None,
        sign_proof: ProofSigner = sign_device_proof,
    ) -> None:
        self.platform = DevicePlatform(state.platform)
        self._path = state_path
        self._state = state
        self._endpoints = endpoints
        self._clock = clock
        self._own_directory_http = directory_http is None
        self._directory = directory_http or httpx.Client(timeout=DEFAULT_TIMEOUT, trust_env=False)
        self._own_mdm_http = mdm_http is None
        self._mdm_http = mdm_http or httpx.Client(timeout=DEFAULT_TIMEOUT, trust_env=False)
        self._sign_proof = sign_proof

    @classmethod
    def create(
        cls,
        state_path: Path,
        platform: DevicePlatform | str,
        endpoints: AgentEndpoints,
        *,
        clock: Clock,
        model: str | None = None,
        os_version: str | None = None,
        display_name: str | None = None,
        directory_http: httpx.Client | None = None,
        mdm_http: httpx.Client | None = None,
        sign_proof: ProofSigner = sign_device_proof,
    ) -> DeviceAgent:
        """A new device with an empty state file; refuses to overwrite an existing one."""
        if state_path.exists():
            raise AgentStateError(f"{state_path} already holds a device; load it instead")
        wanted = DevicePlatform(platform)
        profile = _PROFILES[wanted]
        state = AgentState(
            platform=wanted.value,
            model=model or profile.model,
            os_version=os_version or profile.os_version,
            display_name=display_name or f"{profile.drs_device_type} {model or profile.model}",
        )
        save_state(state_path, state)
        return cls(
            state_path,
            state,
            endpoints,
            clock=clock,
            directory_http=directory_http,
            mdm_http=mdm_http,
            sign_proof=sign_proof,
        )

    @classmethod
    def load(
        cls,
        state_path: Path,
        endpoints: AgentEndpoints,
        *,
        clock: Clock,
        directory_http: httpx.Client | None = None,
        mdm_http: httpx.Client | None = None,
        sign_proof: ProofSigner = sign_device_proof,
    ) -> DeviceAgent:
        """The device a state file describes, as it was when last saved."""
        return cls(
            state_path,
            load_state(state_path),
            endpoints,
            clock=clock,
            directory_http=directory_http,
            mdm_http=mdm_http,
            sign_proof=sign_proof,
        )

    def close(self) -> None:
        if self._own_directory_http:
            self._directory.close()
        if self._own_mdm_http:
            self._mdm_http.close()

    def __enter__(self) -> DeviceAgent:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def state(self) -> AgentState:
        return self._state

    def _save(self, **changes: Any) -> None:
        self._state = replace(self._state, **changes)
        save_state(self._path, self._state)

    # --- MDM: enrolment, check-in, notifications ---

    def _mdm(self) -> MdmClient:
        if self._state.mdm_device_token is None or self._state.mdm_device_id is None:
            raise AgentError("the device is not enrolled in the MDM")
        return MdmClient.for_device(self._endpoints.mdm_url, self._state.mdm_device_token, http=self._mdm_http)

    def enrol(
        self,
        enrolment_token: str,
        user: str | None,
        *,
        ownership: str | None = None,
        serial_number: str | None = None,
        udid: str | None = None,
        imei: str | None = None,
    ) -> DeviceOut:
        """Enrol in the MDM with an enrolment token for `user` (the MDM user name); keeps the device credential."""
        if self._state.mdm_device_id is not None:
            raise AgentError(f"the device is already enrolled as {self._state.mdm_device_id}")
        client = MdmClient(self._endpoints.mdm_url, http=self._mdm_http)
        answer = client.enroll(
            enrolment_token,
            platform=self.platform.value,
            model=self._state.model,
            os_version=self._state.os_version,
            udid=udid,
            serial_number=serial_number,
            imei=imei,
            ownership=ownership,
            user_name=user,
        )
        self._save(mdm_device_id=answer.device_id, mdm_device_token=answer.device_token, user_name=user)
        return answer.device

    def check_in(self, posture_changes: Mapping[str, Any] | None = None) -> CheckInResponse:
        """Report the device's posture (after applying `posture_changes`, in the MDM's wire names).

        The sequence is reserved in the state file before the sample is sent, so a crash after the send
        can never make the next sample reuse it (the MDM refuses a reused sequence as a replay).
        """
        client = self._mdm()
        posture = {"osVersion": self._state.os_version, **self._state.posture, **dict(posture_changes or {})}
        sequence = self._state.sample_sequence + 1
        self._save(posture=posture, sample_sequence=sequence)
        return client.check_in(str(self._state.mdm_device_id), posture_sample(posture, sequence, self._clock()))

    def notifications(self, *, unread_only: bool = False) -> list[NotificationOut]:
        """The Hub inbox: notifications the MDM sent to this device, newest first as the MDM orders them."""
        return self._mdm().inbox(unread_only=unread_only)

    def report_sensors(self, results: Mapping[str, str | bool | int | float]) -> SensorReportOut:
        """Report sensor results read now (Workspace ONE sensors: ``bitlocker_status=on``, ``hybrid_joined=true``)."""
        return self._mdm().report_sensors(str(self._state.mdm_device_id), results, self._clock())

    def compliance_page_url(self) -> str:
        """A signed link to this device's compliance page on the MDM (what a blocked sign-in shows the user)."""
        if self._state.mdm_device_id is None:
            raise AgentError("the device is not enrolled in the MDM")
        try:
            return self._mdm().compliance_page_link().url
        except MdmApiError:
            pass
        return self._endpoints.compliance_page.format(
            mdm_url=self._endpoints.mdm_url.rstrip("/"), device_id=self._state.mdm_device_id
        )

    def registration_link(self) -> str:
        """The deep link that starts registration on this device's Hub.

        The wsonehub form is one link for every platform (seed: "All should work now with"); the deep
        links module builds it per broker platform, so Windows and Linux take the macOS one (identical).
        """
        platform = _PROFILES[self.platform].broker_platform or BrokerPlatform.MACOS
        return build_registration_link(platform)

    # --- broker: registration ---

    def parse_link(self, deep_link: str) -> RegistrationLink:
        """The registration link, if this device's Hub understands it; otherwise DeepLinkError."""
        broker = _PROFILES[self.platform].broker_platform
        if broker is not None:
            return parse_registration_link(deep_link, platform=broker)
        link = parse_registration_link(deep_link)
        if link.form is not LinkForm.HUB:
            raise DeepLinkError(
                f"a {link.form} link is not for {self.platform.value}; only the wsonehub form works there",
                part="platform",
                link=deep_link,
            )
        return link

    def register(self, deep_link: str, username: str, password: str, *, mdm_app_id: str | None = None) -> Registration:
        """Follow a registration deep link: sign the user in, register (Windows: join) the device, tell the MDM."""
        link = self.parse_link(deep_link)
        if self._state.entra_device_id is not None:
            raise AgentError(f"the device is already registered as {self._state.entra_device_id}")
        self._mdm()  # enrolled first: the Entra device ID has to reach the MDM record
        profile = _PROFILES[self.platform]
        if mdm_app_id is not None and profile.join_type != JOIN_TYPE_JOINED:
            raise AgentError("an MDM application is named only when a Windows device joins")
        tokens, tenant_id = self._registration_sign_in(username, password)
        key = self._device_key()
        if key is None:
            key = generate_device_key()
            # Kept before the DRS call: a device object made for a key the agent then lost would be useless.
            self._save(device_key_pem=private_key_to_pem(key).decode("ascii"))
        certificate_der, upn = self._join(key, tokens.access_token, profile, mdm_app_id)
        certificate = x509.load_der_x509_certificate(certificate_der)
        entra_device_id = str(certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
        trust_type = _TRUST_TYPES[profile.join_type]
        self._save(
            tenant_id=tenant_id,
            entra_device_id=entra_device_id,
            trust_type=trust_type,
            device_certificate=base64.b64encode(certificate_der).decode("ascii"),
            user_principal_name=upn or username,
            refresh_token=tokens.refresh_token,
            entra_device_id_reported=False,
        )
        self.report_registration()
        return Registration(entra_device_id, trust_type, tenant_id, upn or username, link)

    def report_registration(self) -> DeviceOut:
        """Hand the Entra device ID to the MDM (the registration callback); safe to repeat after a failure."""
        if self._state.entra_device_id is None:
            raise AgentError("the device is not registered in the directory")
        device = self._mdm().report_entra_device_id(self._state.entra_device_id)
        self._save(entra_device_id_reported=True)
        return device

    def _registration_sign_in(self, username: str, password: str) -> tuple[TokenResponse, str]:
        """The broker's sign-in for the DRS resource; (tokens, the user's tenant id from client_info)."""
        tenant = self._endpoints.tenant
        scope = f"{DRS_SCOPE} openid offline_access"
        code, verifier = self._authorization_code(tenant, scope, username, password)
        response = self._call_directory(
            "POST",
            self._token_endpoint(tenant),
            data={
                "grant_type": "authorization_code",
                "client_id": self._endpoints.broker.client_id,
                "code": code,
                "redirect_uri": self._endpoints.broker.redirect_uri,
                "code_verifier": verifier,
                "scope": scope,
                "client_info": "1",
            },
        )
        outcome = self._token_outcome(response, save_refresh_token=False)
        if isinstance(outcome, SignInBlocked):
            raise SignInError(
                f"the registration sign-in was blocked: {outcome.description}", error_code=outcome.error_code
            )
        return outcome, _tenant_of(_json_object(response))

    def _join(
        self, key: DeviceKey, access_token: str, profile: _PlatformProfile, mdm_app_id: str | None
    ) -> tuple[bytes, str | None]:
        """``POST /EnrollmentServer/device/`` with the device key's CSR; (DER device certificate, the user's UPN)."""
        attributes: dict[str, str] = {"ReuseDevice": "true", "ReturnClientSid": "true"}
        if mdm_app_id is not None:
            attributes["MdmAppId"] = mdm_app_id
        body = {
            "CertificateRequest": certificate_request_body(certificate_signing_request(key), key.algorithm),
            "TransportKey": base64.b64encode(key.public_key_pem()).decode("ascii"),
            "TargetDomain": DRS_TARGET_DOMAIN,
            "DeviceType": profile.drs_device_type,
            "OSVersion": self._state.os_version,
            "DeviceDisplayName": self._state.display_name,
            "JoinType": profile.join_type,
            "Attributes": attributes,
        }
        response = self._call_directory(
            "POST",
            self._endpoints.directory_url.rstrip("/") + DRS_JOIN_PATH,
            json=body,
            headers={"Authorization": f"Bearer {access_token}"},
        )
        answer = _json_object(response)
        if response.status_code != 200:
            raise RegistrationError(
                str(answer.get("ErrorType", "httpError")),
                str(answer.get("Message", response.text[:200])),
                response.status_code,
            )
        try:
            certificate_der = base64.b64decode(answer["Certificate"]["RawBody"], validate=True)
            certificate = x509.load_der_x509_certificate(certificate_der)
        except (KeyError, TypeError, ValueError):
            raise RegistrationError(
                "InvalidResponse", "the DRS answer carries no DER device certificate", 200
            ) from None
        if not same_public_key(certificate.public_key(), key.public_key):
            raise RegistrationError("InvalidCertificate", "the DRS issued a certificate for another key", 200)
        if not certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
            raise RegistrationError("InvalidCertificate", "the device certificate names no deviceId", 200)
        user = answer.get("User")
        upn = user.get("Upn") if isinstance(user, dict) else None
        return certificate_der, upn if isinstance(upn, str) and upn else None

    # --- broker: device-bound sign-in ---

    def sign_in(
        self,
        resource_scope: str,
        *,
        interactive: bool = True,
        username: str | None = None,
        password: str | None = None,
    ) -> TokenResponse | SignInBlocked:
        """A token for `resource_scope` from this device: interactive (authorization code, the sign-in
        form filled in with `password` if the directory asks) or silent (the broker's refresh token).

        Interactive sign-in is for the user registered on the device unless `username` names another
        (an unregistered device has none). The device proof goes on the token request whenever the
        device is registered; without one, the sign-in comes from an unknown device.
        """
        tenant = self._state.tenant_id or self._endpoints.tenant
        scope = f"{resource_scope} openid offline_access"
        form: dict[str, str]
        if interactive:
            username = username or self._state.user_principal_name
            if username is None:
                raise AgentError("no user is registered on this device's broker; name the user to sign in")
            code, verifier = self._authorization_code(tenant, scope, username, password)
            form = {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self._endpoints.broker.redirect_uri,
                "code_verifier": verifier,
            }
        else:
            if self._state.refresh_token is None:
                raise InteractionRequiredError(
                    "no refresh token: sign in interactively first", error="interaction_required"
                )
            form = {"grant_type": "refresh_token", "refresh_token": self._state.refresh_token}
        form |= {"client_id": self._endpoints.broker.client_id, "scope": scope}
        headers = self._device_credential(tenant)
        return self._token_outcome(
            self._call_directory("POST", self._token_endpoint(tenant), data=form, headers=headers)
        )

    def _device_credential(self, tenant: str) -> dict[str, str]:
        """The x-ms-DeviceCredential header over a fresh srv_challenge nonce; none before registration."""
        key = self._device_key()
        if key is None or self._state.device_certificate is None:
            return {}
        endpoint = self._token_endpoint(tenant)
        challenge = self._call_directory("POST", endpoint, data={"grant_type": "srv_challenge"})
        if challenge.status_code != 200:
            raise _sign_in_error(challenge)
        nonce = str(_json_object(challenge).get("Nonce") or "")
        if not nonce:
            raise SignInError("the srv_challenge answer carries no Nonce", status_code=challenge.status_code)
        proof = self._sign_proof(
            key,
            nonce=nonce,
            audience=endpoint,
            client_id=self._endpoints.broker.client_id,
            now=self._clock(),
            device_certificate=base64.b64decode(self._state.device_certificate),
        )
        return {DEVICE_CREDENTIAL_HEADER: proof}

    def _call_directory(self, method: str, url: str, **options: Any) -> httpx.Response:
        """One request to the directory; a transport failure becomes DirectoryUnreachableError."""
        try:
            return self._directory.request(method, url, **options)
        except httpx.HTTPError as error:
            raise DirectoryUnreachableError(f"the directory did not answer {method} {url}: {error}") from error

    def _device_key(self) -> DeviceKey | None:
        if self._state.device_key_pem is None:
            return None
        try:
            return load_private_key_pem(self._state.device_key_pem.encode("ascii"))
        except DeviceKeyError as error:
            raise AgentStateError(f"the state file's device key is unusable: {error}") from None

    def _token_endpoint(self, tenant: str) -> str:
        return f"{self._endpoints.directory_url.rstrip('/')}/{tenant}/oauth2/v2.0/token"

    def _token_outcome(
        self, response: httpx.Response, *, save_refresh_token: bool = True
    ) -> TokenResponse | SignInBlocked:
        if response.status_code == 200:
            body = _json_object(response)
            if not isinstance(body.get("access_token"), str):
                raise SignInError("the token response carries no access_token", status_code=200)
            tokens = TokenResponse(
                access_token=str(body["access_token"]),
                token_type=str(body.get("token_type", "Bearer")),
                expires_in=int(body.get("expires_in", 0)),
                scope=str(body.get("scope", "")),
                refresh_token=body.get("refresh_token"),
                id_token=body.get("id_token"),
            )
            # The directory rotates refresh tokens: the old one is spent, so keep the new one at once.
            if save_refresh_token and tokens.refresh_token is not None:
                self._save(refresh_token=tokens.refresh_token)
            return tokens
        body = _json_object(response)
        codes = body.get("error_codes")
        code = int(codes[0]) if isinstance(codes, list) and codes else None
        if code is not None and code in _REMEDIATIONS:
            return SignInBlocked(code, str(body.get("error_description", "")), _REMEDIATIONS[code](self))
        raise _sign_in_error(response)

    def _authorization_code(self, tenant: str, scope: str, username: str, password: str | None) -> tuple[str, str]:
        """Drive the authorize endpoint and its sign-in form to an authorization code; (code, PKCE verifier)."""
        pkce = new_pkce()
        state = secrets.token_urlsafe(16)
        query = {
            "client_id": self._endpoints.broker.client_id,
            "response_type": "code",
            "redirect_uri": self._endpoints.broker.redirect_uri,
            "scope": scope,
            "state": state,
            "code_challenge": pkce.challenge,
            "code_challenge_method": pkce.method,
            "login_hint": username,
        }
        base = self._endpoints.directory_url.rstrip("/")
        response = self._call_directory("GET", f"{base}/{tenant}/oauth2/v2.0/authorize?{urlencode(query)}")
        submitted = False
        for _ in range(_MAX_BROWSER_STEPS):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if _without_query(location) == _without_query(self._endpoints.broker.redirect_uri):
                    return _code_from(location, state), pkce.verifier
                if not location.startswith(base + "/"):
                    raise SignInError(f"the sign-in redirected outside the directory, to {location}")
                response = self._call_directory("GET", location)
                continue
            form = first_form(response.text) if response.status_code == 200 else None
            if form is not None and "Consent/Set" in form.action:
                # A broker is pre-consented; one that is asked for consent has not been set up in the tenant.
                raise SignInError(
                    f"the directory asks {username} to consent to the broker application", error="consent_required"
                )
            if form is None or "passwd" not in form.fields:
                raise SignInError(_page_problem(response), status_code=response.status_code)
            if submitted:
                raise SignInError(f"the directory refused the sign-in of {username}: {_page_problem(response)}")
            if password is None:
                raise InteractionRequiredError(
                    f"the directory asks {username} to sign in and no password was given", error="interaction_required"
                )
            fields = {**form.fields, "login": username, "passwd": password}
            response = self._call_directory("POST", urljoin(str(response.url), form.action), data=fields)
            submitted = True
        raise SignInError("the sign-in did not reach the broker's redirect URI")


# Conditional Access and device codes a sign-in can be refused with, and where each sends the user
# (learn.microsoft.com/entra/identity-platform/reference-error-codes; device-identity.md §2.6).
_REMEDIATIONS: Mapping[int, Callable[[DeviceAgent], str | None]] = MappingProxyType(
    {
        50097: DeviceAgent.registration_link,  # DeviceAuthenticationRequired: the device is not registered
        53000: DeviceAgent.compliance_page_url,  # DeviceNotCompliant
        53001: lambda _agent: None,  # DeviceNotDomainJoined
        53002: lambda _agent: None,  # ApplicationUsedIsNotAnApprovedApp
        53003: lambda _agent: None,  # BlockedByConditionalAccess
        135011: lambda _agent: None,  # the device is disabled in the directory
    }
)


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _timestamp(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("the agent's clock must return timezone-aware datetimes")
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _sign_in_error(response: httpx.Response) -> SignInError:
    body = _json_object(response)
    codes = body.get("error_codes")
    code = int(codes[0]) if isinstance(codes, list) and codes else None
    description = str(body.get("error_description") or response.text[:200])
    return SignInError(
        f"{body.get('error', 'http_error')}: {description}",
        error=str(body.get("error", "")),
        error_code=code,
        status_code=response.status_code,
    )


def _code_from(location: str, state: str) -> str:
    parts = urlsplit(location)
    values = {key: items[0] for key, items in parse_qs(parts.query or parts.fragment).items()}
    if values.get("state") != state:
        raise SignInError("the authorization response does not carry the state the broker sent")
    if "error" in values:
        description = values.get("error_description", "")
        found = _AADSTS.search(description)
        raise SignInError(
            f"{values['error']}: {description}",
            error=values["error"],
            error_code=int(found.group(1)) if found else None,
        )
    if not values.get("code"):
        raise SignInError("the authorization response carries no code")
    return values["code"]


def _page_problem(response: httpx.Response) -> str:
    found = _AADSTS.search(response.text)
    if found:
        return f"AADSTS{found.group(1)} (HTTP {response.status_code})"
    return f"unexpected page (HTTP {response.status_code})"


def _tenant_of(token_body: dict[str, Any]) -> str:
    """The tenant from ``client_info`` (base64url JSON ``{"uid", "utid"}``, as MSAL reads it)."""
    raw = token_body.get("client_info")
    if not isinstance(raw, str):
        raise SignInError("the token response carries no client_info, so the tenant is unknown")
    try:
        info = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:
        raise SignInError("the token response's client_info is not base64url JSON") from None
    tenant = info.get("utid") if isinstance(info, dict) else None
    if not isinstance(tenant, str) or not tenant:
        raise SignInError("the token response's client_info names no tenant")
    return tenant
